/**
 * Inline runtime: the same replica hosts on the main thread, with an
 * in-process transport that delivers each turn's envelopes on the next
 * macrotask (setImmediate), so timers and I/O interleave as they would
 * for a user who embeds synod without workers.
 */
import type { BenchCluster } from './driver.js';
import type { Envelope } from './envelope.js';
import { ReplicaHost, type HostConfig } from './host.js';

/** Envelopes queued between turns; the protocol's windows bound it, this catches a runaway. */
const QUEUE_MAX = 1_000_000;

export async function startInline(cfgs: HostConfig[]): Promise<BenchCluster> {
  let queue: Array<{ from: number; to: number; env: Envelope }> = [];
  let scheduled = false;
  const hosts: ReplicaHost[] = [];
  const deliver = (): void => {
    scheduled = false;
    const q = queue;
    queue = [];
    for (const { from, to, env } of q) hosts[to]?.onEnvelope(from, env);
  };
  for (const cfg of cfgs) {
    const from = cfg.id;
    hosts.push(
      new ReplicaHost(cfg, {
        send(to, env) {
          if (queue.length >= QUEUE_MAX) throw new Error(`inline transport queue above ${QUEUE_MAX} envelopes`);
          queue.push({ from, to, env });
          if (!scheduled) {
            scheduled = true;
            setImmediate(deliver);
          }
        },
      }),
    );
  }
  return {
    start: () => hosts.forEach((h) => h.start()),
    measure: () => hosts.forEach((h) => h.measure()),
    stop: () => Promise.resolve(hosts.map((h) => h.stop())),
    probe: () => Promise.resolve(hosts.map((h) => h.probe())),
    close: () => {
      hosts.forEach((h) => h.close());
      queue = [];
      return Promise.resolve();
    },
  };
}
