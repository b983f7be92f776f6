/**
 * A replica for the bench's `--timeline` run: the runtime's own ReplicaDriver
 * over the MessageChannel mesh (PortTransport) with memory storage, in a
 * worker of its own, plus a tap that logs what the timeline needs and the
 * runtime does not report: every message the replica's Ready sends
 * (self-addressed ones included), every message it receives, every decision
 * it learns, each with the worker's clock (performance.timeOrigin + now, so
 * the main thread can line the workers up). The tap reads the Ready the
 * driver takes (a wrapper on `takeReady`) and the envelopes the transport
 * hands in; the driver itself is unchanged.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { createPolicy, type PolicySpec } from '../src/contention/registry.js';
import { encode, type Wire } from '../src/paxos/codec.js';
import type { Message } from '../src/paxos/messages.js';
import { Replica } from '../src/paxos/replica.js';
import { SeededRandom } from '../src/base/random.js';
import { ReplicaDriver } from '../src/runtime/driver.js';
import { PortTransport } from '../src/runtime/port-transport.js';
import { forEachTuple, type Transport } from '../src/runtime/transport.js';
import { MemoryStorage } from '../src/storage/memory.js';

export interface TimelineWorkerData {
  id: number;
  nodes: number;
  policy: PolicySpec;
  seed: number;
  /** Values this replica proposes when told to start. */
  values: string[];
  /** Index: peer id; null at this replica's own id. */
  ports: Array<MessagePort | null>;
  /** Bound on logged entries (a livelocked run still ends). */
  logMax: number;
}

/** ['s', at, to, broadcast id, wire] | ['r', at, from, wire] | ['l', at, slot, value]. */
export type TapEntry = ['s', number, number, number, Wire] | ['r', number, number, unknown[]] | ['l', number, number, string];

export type TimelineCommand = { kind: 'start' } | { kind: 'dump' };
export type TimelineReply = { kind: 'ready' } | { kind: 'learned'; count: number } | { kind: 'log'; entries: TapEntry[]; truncated: boolean };

const port = parentPort;
if (port === null) throw new Error('timeline-worker runs only as a worker thread');
const init = workerData as TimelineWorkerData;
const clock = (): number => performance.timeOrigin + performance.now();
const log: TapEntry[] = [];
let truncated = false;
const note = (e: TapEntry): void => {
  if (log.length < init.logMax) log.push(e);
  else truncated = true;
};

const replica = Replica.start(
  { id: init.id, nodes: init.nodes, policy: createPolicy(init.policy), random: new SeededRandom((init.seed * 65_537 + init.id) | 0).asFunction() },
  performance.now(),
);
let broadcast = 0;
let last: Message | null = null;
const take = replica.takeReady.bind(replica);
replica.takeReady = () => {
  const ready = take();
  const at = clock();
  for (const o of ready.messages) {
    if (o.msg !== last) broadcast++;
    last = o.msg;
    note(['s', at, o.to, broadcast, encode(o.msg)]);
  }
  for (const d of ready.decisions) note(['l', at, d.slot, d.value]);
  return ready;
};

const inner = new PortTransport(init.id, init.nodes, init.ports);
const tap: Transport = {
  id: init.id,
  get stats() {
    return inner.stats;
  },
  setReceiver: (fn) =>
    inner.setReceiver((from, batch) => {
      const at = clock();
      forEachTuple(batch, (tuple) => note(['r', at, from, tuple]));
      fn(from, batch);
    }),
  send: (to, wire) => inner.send(to, wire),
  flush: () => inner.flush(),
  close: () => inner.close(),
};

let learned = 0;
const driver = new ReplicaDriver(init.id, replica, new MemoryStorage({ keepRecords: false }), tap, (decisions) => {
  learned += decisions.length;
  port.postMessage({ kind: 'learned', count: learned } satisfies TimelineReply);
});

port.on('message', (cmd: TimelineCommand) => {
  if (cmd.kind === 'start') for (const v of init.values) driver.propose(v);
  else {
    driver.close();
    port.postMessage({ kind: 'log', entries: log, truncated } satisfies TimelineReply);
  }
});
port.postMessage({ kind: 'ready' } satisfies TimelineReply);
