/**
 * The persist-before-anything trap of a lean hot path (issue 12): one persist
 * per turn must hold back that turn's messages AND its decisions, including a
 * decision that counts the node's own vote, until the records are durable.
 * With one node (a quorum of one) a proposal is decided in the very step that
 * votes for it: the vote and the decision that counts it sit in one Ready.
 */
import { describe, expect, it } from 'vitest';
import { createPolicy, policySpec } from '../src/contention/registry.js';
import { applyReady, type ReadySink } from '../src/paxos/ready.js';
import { Replica } from '../src/paxos/replica.js';

function oneNode(policy: string): Replica {
  return Replica.start({ id: 0, nodes: 1, policy: createPolicy(policySpec(policy)), random: () => 0.5, sync_ms: 1e9 }, 0);
}

/** A sink that logs what it was asked to do, in order; its persist answers `durable`. */
function loggingSink(durable: boolean): { sink: ReadySink; log: string[] } {
  const log: string[] = [];
  const sink: ReadySink = {
    persist: (records) => {
      log.push(`persist ${records.map((r) => r.k).join(',')}`);
      return durable;
    },
    send: (to, msg) => void log.push(`send ${to} ${msg.t}`),
    decided: (ds) => void log.push(`decided ${ds.map((d) => `${d.slot}=${d.value}`).join(',')}`),
  };
  return { sink, log };
}

describe('persist before send and before decide', () => {
  for (const policy of ['exponential', 'leader'] as const) {
    it(`${policy}: the node's own vote and the decision that counts it come in one Ready, the persist first`, () => {
      const r = oneNode(policy);
      if (policy === 'leader') {
        // Elect itself (a heartbeat at start), then apply that step's effects.
        r.tick(0);
        r.endTurn(0);
        applyReady(0, r.takeReady(), loggingSink(true).sink);
      }
      r.propose('v', 1);
      r.endTurn(1);
      const ready = r.takeReady();
      expect(ready.persist.map((x) => x.k)).toContain('accept');
      expect(ready.decisions).toEqual([{ slot: 0, value: 'v', ballots: 1 }]);
      const { sink, log } = loggingSink(true);
      expect(applyReady(0, ready, sink)).toBe(true);
      expect(log[0]).toMatch(/^persist .*accept/);
      expect(log.at(-1)).toBe('decided 0=v');
    });

    it(`${policy}: when the persist fails, nothing of that Ready is sent or decided`, () => {
      const r = oneNode(policy);
      if (policy === 'leader') {
        r.tick(0);
        r.endTurn(0);
        applyReady(0, r.takeReady(), loggingSink(true).sink);
      }
      r.propose('v', 1);
      r.endTurn(1);
      const { sink, log } = loggingSink(false);
      expect(applyReady(0, r.takeReady(), sink)).toBe(false);
      expect(log).toHaveLength(1);
      expect(log[0]).toMatch(/^persist /);
    });
  }
});
