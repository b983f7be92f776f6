/**
 * The fault layer's own bounds (docs/reliability.md, "Where the faults
 * happen"): delayed messages wait in a heap of at most MAX_HELD (65,536);
 * past that a delayed message is dropped and counted, never queued without
 * bound. Driven directly, with a fake inner transport and a frozen clock.
 */
import { describe, expect, it } from 'vitest';
import { FaultyTransport, MAX_HELD } from '../src/runtime/fault-transport.js';
import { emptyTransportStats, type Transport } from '../src/runtime/transport.js';

function innerTransport(sent: unknown[][]): Transport {
  return { id: 0, stats: emptyTransportStats(), setReceiver: () => undefined, send: (to, wire) => void sent.push([to, wire]), flush: () => undefined, close: () => undefined };
}

describe('fault layer', () => {
  it('holds at most MAX_HELD delayed messages; the rest are dropped and counted', () => {
    const sent: unknown[][] = [];
    const t = new FaultyTransport(innerTransport(sent), 2, { seed: 1, state: { spec: { delay_ms: [1000, 1000] }, partition: null } }, () => 0);
    try {
      for (let k = 0; k < MAX_HELD + 10; k++) t.send(1, [k]);
      expect(MAX_HELD).toBe(65_536);
      expect(t.faults).toMatchObject({ delayed: MAX_HELD, held_high_water: MAX_HELD, held_overflow: 10 });
      expect(sent).toEqual([]);
    } finally {
      t.close();
    }
  });
});
