/**
 * GcMeter (src/runtime/gc-meter.ts), behind the bench's per-replica GC
 * figures: it counts the collections of its window only, minor and major
 * add up to the total, and a stopped meter counts nothing more.
 */
import { describe, expect, it } from 'vitest';
import { GcMeter } from '../src/runtime/gc-meter.js';

/** Allocates short-lived objects until the young generation has been collected a few times. */
function churn(bytes: number): number {
  // Kept in a small ring so that the allocations escape (optimized code would not allocate them at all).
  const ring: number[][] = new Array<number[]>(1024);
  for (let i = 0; i < bytes / 64; i++) ring[i & 1023] = [i, i + 1, i + 2, i + 3];
  return ring.length;
}

/** Churns, then lets a turn pass (perf_hooks delivers gc entries asynchronously). */
async function churnAndSettle(bytes: number): Promise<void> {
  churn(bytes);
  await new Promise((r) => setImmediate(r));
}

describe('GcMeter', () => {
  it('counts the scavenges of its window, and minor plus major time is the total', async () => {
    const meter = new GcMeter();
    meter.start();
    await churnAndSettle(256 * 1024 * 1024);
    const f = meter.stop();
    expect(f.gc_minor_count).toBeGreaterThan(0);
    expect(f.gc_minor_ms).toBeGreaterThan(0);
    expect(f.gc_ms).toBe(f.gc_minor_ms + f.gc_major_ms);
  });

  it('a stopped meter reports the same figures again and counts nothing after stop', async () => {
    const meter = new GcMeter();
    meter.start();
    churn(64 * 1024 * 1024);
    const first = meter.stop();
    await churnAndSettle(128 * 1024 * 1024);
    expect(meter.stop()).toEqual(first);
  });

  it('start begins a new window: earlier collections are not counted', async () => {
    const meter = new GcMeter();
    meter.start();
    await churnAndSettle(128 * 1024 * 1024);
    const busy = meter.stop();
    meter.start();
    const idle = meter.stop();
    expect(busy.gc_minor_count).toBeGreaterThan(0);
    expect(idle.gc_minor_count).toBe(0);
  });
});
