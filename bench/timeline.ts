/**
 * `npm run bench -- --timeline FILE.svg [--policy P --replicas R --proposers N ...]`:
 * a short real run drawn as a ballot timeline. R replicas, each the
 * runtime's ReplicaDriver in a worker of its own over the MessageChannel mesh
 * (timeline-worker.ts), the first N propose one value each at the same
 * moment (a duel), and the run ends when every replica has learned every
 * value (or after TIMELINE_MS_MAX). The workers' logs are lined up on one
 * clock, each receipt is paired with its send (a MessagePort delivers in
 * order), and the picture is src/report/timeline-svg.ts's, in real ms.
 */
import { writeFileSync } from 'node:fs';
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import { majority } from '../src/paxos/quorum.js';
import { decode } from '../src/paxos/codec.js';
import type { Message } from '../src/paxos/messages.js';
import type { PolicySpec } from '../src/contention/registry.js';
import { BallotRecorder, TIMELINE_EVENTS_MAX, type TimelineData } from '../src/report/ballot-timeline.js';
import { timelineSvg } from '../src/report/timeline-svg.js';
import { spawnWorker } from './spawn.js';
import type { TapEntry, TimelineReply, TimelineWorkerData } from './timeline-worker.js';

/** A duel that has not settled by then is drawn as far as it got. */
export const TIMELINE_MS_MAX = 5000;

export interface TimelineRun {
  replicas: number;
  proposers: number;
  policy: PolicySpec;
  seed: number;
}

function decoded(wire: unknown): Message | null {
  const m = decode(wire);
  return typeof m === 'string' ? null : m;
}

/** One recorder fed in time order from every worker's log: sends first (so each receipt finds its send), then receipts. */
export function mergeLogs(logs: ReadonlyArray<readonly TapEntry[]>, replicas: number, truncated: boolean): TimelineData {
  const t0 = Math.min(...logs.flatMap((l) => l.map((e) => e[1])));
  const recorder = new BallotRecorder(replicas, replicas, majority(replicas), 'ms');
  const inFlight = new Map<string, Message[]>();
  const sends = logs.flatMap((l, node) => l.flatMap((e) => (e[0] === 's' ? [{ node, e }] : []))).sort((a, b) => a.e[1] - b.e[1]);
  let lastKey = '';
  let lastMsg: Message | null = null;
  for (const { node, e } of sends) {
    const [, at, to, broadcast, wire] = e;
    const key = `${node}:${broadcast}`;
    const msg: Message | null = key === lastKey ? lastMsg : decoded(wire);
    [lastKey, lastMsg] = [key, msg];
    if (msg === null) continue;
    recorder.sent(at - t0, node, to, msg);
    if (to !== node) inFlight.set(`${node}>${to}`, [...(inFlight.get(`${node}>${to}`) ?? []), msg]);
  }
  const rest = logs.flatMap((l, node) => l.flatMap((e) => (e[0] === 's' ? [] : [{ node, e }]))).sort((a, b) => a.e[1] - b.e[1]);
  for (const { node, e } of rest) {
    if (e[0] === 'l') {
      recorder.learned(e[1] - t0, node, [{ slot: e[2], value: e[3], ballots: 0 }]);
      continue;
    }
    const [, at, from, tuple] = e as ['r', number, number, unknown[]];
    // The same message object as its send: the recorder knows when it left.
    const msg = inFlight.get(`${from}>${node}`)?.shift() ?? decoded(tuple);
    if (msg !== null) recorder.received(at - t0, from, node, msg);
  }
  const data = recorder.data();
  data.events.sort((a, b) => a.at - b.at);
  if (truncated && data.truncatedAt === null) data.truncatedAt = Math.max(...data.events.map((e) => e.at));
  return data;
}

function mesh(n: number): Array<Array<MessagePort | null>> {
  const ports: Array<Array<MessagePort | null>> = Array.from({ length: n }, () => new Array<MessagePort | null>(n).fill(null));
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      const ch = new MessageChannel();
      (ports[a] as Array<MessagePort | null>)[b] = ch.port1;
      (ports[b] as Array<MessagePort | null>)[a] = ch.port2;
    }
  }
  return ports;
}

/** Runs the duel on worker threads; returns the merged timeline and whether every replica learned every value. */
export async function recordRealTimeline(run: TimelineRun): Promise<{ data: TimelineData; settled: boolean; elapsed_ms: number }> {
  const ports = mesh(run.replicas);
  const workers: Worker[] = [];
  const learned = new Array<number>(run.replicas).fill(0);
  const logs: TapEntry[][] = new Array<TapEntry[]>(run.replicas);
  let truncated = false;
  const t0 = performance.now();
  try {
    await new Promise<void>((resolve, reject) => {
      let dumped = 0;
      let ready = 0;
      const timer = setTimeout(() => dumpAll(), TIMELINE_MS_MAX);
      const dumpAll = (): void => {
        clearTimeout(timer);
        for (const w of workers) w.postMessage({ kind: 'dump' });
      };
      for (let id = 0; id < run.replicas; id++) {
        const own = (ports[id] ?? []).filter((p): p is MessagePort => p !== null);
        const data: TimelineWorkerData = {
          id, nodes: run.replicas, policy: run.policy, seed: run.seed, values: id < run.proposers ? [`n${id}.v0`] : [],
          ports: ports[id] ?? [], logMax: TIMELINE_EVENTS_MAX,
        };
        const w = spawnWorker('timeline-worker', data, own);
        workers.push(w);
        w.on('error', (e: Error) => reject(new Error(`timeline worker ${id} failed: ${e.message.split('\n')[0] ?? ''}`)));
        w.on('message', (r: TimelineReply) => {
          if (r.kind === 'ready') {
            // Every replica set up before anyone proposes: the proposers start together.
            if (++ready === run.replicas) for (const x of workers) x.postMessage({ kind: 'start' });
            return;
          }
          if (r.kind === 'learned') {
            learned[id] = r.count;
            if (learned.every((c) => c >= run.proposers)) dumpAll();
            return;
          }
          logs[id] = r.entries;
          truncated ||= r.truncated;
          if (++dumped === run.replicas) resolve();
        });
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return { data: mergeLogs(logs, run.replicas, truncated), settled: learned.every((c) => c >= run.proposers), elapsed_ms: performance.now() - t0 };
}

export async function writeRealTimeline(file: string, run: TimelineRun, command: string): Promise<string> {
  const { data, settled } = await recordRealTimeline(run);
  const title = `Ballot timeline, worker runtime: ${run.policy.name}, ${run.replicas} replicas, ${run.proposers} proposers (one value each, at once)${settled ? '' : ' - NOT settled'}`;
  writeFileSync(file, timelineSvg(data, title, command));
  return `timeline of a real run (${data.events.length} events${settled ? '' : ', not settled'}) in ${file}`;
}
