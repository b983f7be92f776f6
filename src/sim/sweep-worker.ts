/** A sweep worker: runs the seeds it is sent, one at a time, and posts each outcome back. */
import { parentPort } from 'node:worker_threads';
import type { RunSpec } from './flags.js';
import { runSeed } from './run-seed.js';

export interface SeedTask {
  id: number;
  spec: RunSpec;
  seed: number;
}

export type SeedReply = { id: number; outcome: import('./outcome.js').SeedOutcome } | { id: number; error: string };

const port = parentPort;
if (port === null) throw new Error('sweep-worker runs only as a worker thread');
port.on('message', (t: SeedTask) => {
  let reply: SeedReply;
  try {
    reply = { id: t.id, outcome: runSeed(t.spec, t.seed).outcome };
  } catch (e) {
    reply = { id: t.id, error: (e as Error).message.split('\n')[0] ?? String(e) };
  }
  port.postMessage(reply);
});
