/**
 * Runs seed tasks on a bounded set of worker threads (one task in flight per
 * worker, so nothing queues unboundedly in a port), in task order, calling
 * back as each finishes. One thread runs in this thread, without workers.
 * Every worker is terminated before `runSeeds` settles, on success or failure.
 */
import { Worker } from 'node:worker_threads';
import type { RunSpec } from './flags.js';
import type { SeedOutcome } from './outcome.js';
import { runSeed } from './run-seed.js';
import type { SeedReply, SeedTask } from './sweep-worker.js';

export const THREADS_MAX = 64;

export interface Task {
  spec: RunSpec;
  seed: number;
}

function spawn(): Worker {
  const fromTs = import.meta.url.endsWith('.ts');
  const entry = new URL(`./sweep-worker.${fromTs ? 'ts' : 'js'}`, import.meta.url);
  if (!fromTs) return new Worker(entry);
  return new Worker(new URL('./boot.mjs', import.meta.url), { workerData: { __entry: entry.href } });
}

/** Runs every task; `done(i, outcome)` as task i finishes (in any order across workers). Rejects on the first failure. */
export async function runSeeds(tasks: readonly Task[], threads: number, done: (i: number, o: SeedOutcome) => void): Promise<void> {
  if (!Number.isInteger(threads) || threads < 1 || threads > THREADS_MAX) throw new RangeError(`threads must be an integer in 1..${THREADS_MAX}, got ${threads}`);
  if (threads === 1 || tasks.length <= 1) {
    tasks.forEach((t, i) => done(i, runSeed(t.spec, t.seed).outcome));
    return;
  }
  const workers: Worker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let next = 0;
      let finished = 0;
      const feed = (w: Worker): void => {
        if (next >= tasks.length) return;
        const t = tasks[next] as Task;
        const msg: SeedTask = { id: next++, spec: t.spec, seed: t.seed };
        w.postMessage(msg);
      };
      for (let k = 0; k < Math.min(threads, tasks.length); k++) {
        const w = spawn();
        workers.push(w);
        w.on('message', (r: SeedReply) => {
          if ('error' in r) return reject(new Error(`seed ${tasks[r.id]?.seed}: ${r.error}`));
          try {
            done(r.id, r.outcome);
          } catch (e) {
            return reject(e);
          }
          if (++finished === tasks.length) return resolve();
          feed(w);
        });
        w.on('error', (e: Error) => reject(new Error(`sweep worker failed: ${e.message.split('\n')[0] ?? String(e)}`)));
        w.on('exit', (code: number) => {
          if (finished < tasks.length) reject(new Error(`sweep worker exited with code ${code}`));
        });
        feed(w);
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
