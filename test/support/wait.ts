import type { Cluster } from '../../src/cluster/index.js';

/** Waits for a condition instead of sleeping a fixed time before an assertion: polls every 10 ms, fails after `bound_ms` naming what it waited for. */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, bound_ms = 10_000): Promise<void> {
  const end = performance.now() + bound_ms;
  while (!(await condition())) {
    if (performance.now() > end) throw new Error(`still waiting after ${bound_ms} ms for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Waits until each of `replicas` has decided every slot up to `top` (polls every 25 ms, at most 10 s), then returns their logs. */
export async function settledLogs(c: Pick<Cluster, 'decidedLog'>, top: number, replicas: readonly number[] = [0, 1, 2]): Promise<string[][]> {
  let logs: string[][] = [];
  for (let t = 0; t < 400; t++) {
    logs = await Promise.all(replicas.map(async (i) => (await c.decidedLog(i)).values));
    if (logs.every((l) => l.length > top)) return logs;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`logs did not reach slot ${top}: lengths ${logs.map((l) => l.length).join(', ')}`);
}
