/**
 * One replica as the cluster sees it: its control plane (comlink to a worker,
 * or direct calls inline), its client connection, and how to crash or close it.
 */
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { nodeEndpoint } from '../runtime/comlink-node.js';
import type { ReplicaControl, WorkerInit } from '../runtime/control.js';
import { ReplicaHost, type LoadOptions, type LoadResult, type ReplicaReport } from '../runtime/host.js';
import type { InlineHub } from '../runtime/inline-transport.js';
import { InlineTransport } from '../runtime/inline-transport.js';
import type { ClientBatch, HostBatch } from '../runtime/client-wire.js';
import type { StateMachine } from '../runtime/state-machine.js';
import type { Storage } from '../storage/storage.js';
import type { WorkloadConfig, WorkloadMetrics, WorkloadProbe } from '../runtime/workload.js';
import { ClientConn } from './client-conn.js';
import type { FaultCommand, FaultStats } from '../runtime/fault-transport.js';

export interface Member {
  readonly id: number;
  readonly client: ClientConn;
  stats(): Promise<ReplicaReport>;
  decidedLog(from?: number, count?: number): Promise<{ from: number; values: string[] }>;
  snapshot(): Promise<{ index: number; bytes: Uint8Array }>;
  runLoad(opts: LoadOptions): Promise<LoadResult>;
  resetLatency(): Promise<void>;
  startWorkload(cfg: WorkloadConfig): Promise<void>;
  measureWorkload(): Promise<void>;
  stopWorkload(): Promise<WorkloadMetrics>;
  probeWorkload(): Promise<WorkloadProbe>;
  inject(peer: number, batch: unknown): Promise<void>;
  /** Worker runtime: hands this replica a new port to a restarted peer. */
  connect(peer: number, port: MessagePort): Promise<void>;
  /** Chaos mode: a command for this replica's fault layer. */
  faults(cmd: FaultCommand): Promise<FaultStats | null>;
  /** Stops the replica abruptly (no clean shutdown), as a crash would. */
  crash(): Promise<void>;
  /** Clean shutdown. */
  close(): Promise<void>;
}

export type Decided = (replica: number, slot: number, requestId: string, payload: string) => void;

/** Where the worker entry is: .ts under tsx/vitest (via the .mjs bootstrap), .js when compiled. */
function workerEntry(): { file: URL; entry?: string } {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    return { file: new URL('../../workers/replica-bootstrap.mjs', here), entry: new URL('../../workers/replica.ts', here).href };
  }
  return { file: new URL('../../workers/replica.js', here) };
}

const CLOSE_WAIT_MS = 2000;

let workersAlive = 0;
/** Worker threads started by this module that have not exited yet (tests check for leaks). */
export function liveWorkers(): number {
  return workersAlive;
}

export interface Supervision {
  /** The worker threw or exited without being asked to. */
  onFailure(id: number, kind: 'error' | 'exit', detail: string): void;
}

export async function startWorkerMember(init: Omit<WorkerInit, 'client' | 'entry'>, onDecided: Decided, sup: Supervision): Promise<Member> {
  const id = init.host.id;
  const { file, entry } = workerEntry();
  const clientCh = new MessageChannel();
  const full: WorkerInit = entry === undefined ? { ...init, client: clientCh.port2 } : { ...init, client: clientCh.port2, entry };
  const transfer: MessagePort[] = [clientCh.port2];
  for (const p of init.ports) if (p !== null) transfer.push(p);
  const limits = init.youngGeneration_mb === undefined ? {} : { resourceLimits: { maxYoungGenerationSizeMb: init.youngGeneration_mb } };
  const worker = new Worker(file, { workerData: full, transferList: transfer, ...limits });
  workersAlive++;
  let expectedExit = false;
  let failed: ((e: Error) => void) | null = null;
  const failure = new Promise<never>((_, reject) => (failed = reject));
  failure.catch(() => {});
  const remote = Comlink.wrap<ReplicaControl>(nodeEndpoint(worker));
  const clientPort = clientCh.port1;
  const client = new ClientConn(id, (b: ClientBatch) => clientPort.postMessage(b), onDecided);
  clientPort.on('message', (m: unknown) => client.onMessage(m));
  worker.on('error', (e: Error) => {
    const detail = e.message.split('\n')[0] ?? String(e);
    failed?.(new Error(`replica ${id} worker failed: ${detail}`));
    if (!expectedExit) sup.onFailure(id, 'error', detail);
  });
  worker.on('exit', (code: number) => {
    workersAlive--;
    client.fail(expectedExit ? 'was stopped' : `exited (code ${code})`);
    clientPort.close();
    failed?.(new Error(`replica ${id} worker exited with code ${code}`));
    if (!expectedExit) sup.onFailure(id, 'exit', `code ${code}`);
  });
  const stop = async (clean: boolean): Promise<void> => {
    if (expectedExit) return;
    if (clean) {
      let t: NodeJS.Timeout | undefined;
      const wait = new Promise<void>((resolve) => (t = setTimeout(resolve, CLOSE_WAIT_MS)));
      await Promise.race([remote.close().catch(() => {}), wait, failure.catch(() => {})]);
      clearTimeout(t);
    }
    expectedExit = true;
    remote[Comlink.releaseProxy]();
    await worker.terminate();
  };
  try {
    await Promise.race([remote.ping(), failure]);
  } catch (e) {
    expectedExit = true;
    remote[Comlink.releaseProxy]();
    await worker.terminate();
    throw e;
  }
  const call = <T>(p: Promise<T>): Promise<T> => Promise.race([p, failure]);
  return {
    id,
    client,
    stats: () => call(remote.stats()),
    decidedLog: (from, count) => call(remote.decidedLog(from, count)),
    snapshot: () => call(remote.snapshot()),
    runLoad: (opts) => call(remote.runLoad(opts)),
    resetLatency: () => call(remote.resetLatency()),
    startWorkload: (cfg) => call(remote.startWorkload(cfg)),
    measureWorkload: () => call(remote.measureWorkload()),
    stopWorkload: () => call(remote.stopWorkload()),
    probeWorkload: () => call(remote.probeWorkload()),
    inject: (peer, batch) => call(remote.inject(peer, batch)),
    connect: (peer, port) => call(remote.connect(peer, Comlink.transfer(port, [port]))),
    faults: (cmd) => call(remote.faults(cmd)),
    crash: () => stop(false),
    close: () => stop(true),
  };
}

/**
 * An inline replica: same host, on this thread. `storage` outlives a crash (it
 * is this process's memory or file). A storage failure stops this replica
 * only (reported as a failure, like a worker's error), never the process.
 */
export function startInlineMember(
  host: ConstructorParameters<typeof ReplicaHost>[0], hub: InlineHub, storage: Storage, onDecided: Decided, sup: Supervision, factory?: () => StateMachine,
): Member {
  const id = host.id;
  let up = true;
  const onFatal = (e: Error): void => {
    if (!up) return;
    sup.onFailure(id, 'error', e.message.split('\n')[0] ?? String(e));
    void stop();
  };
  const h = new ReplicaHost({ ...host, storage }, new InlineTransport(id, hub), { onFatal, ...(factory === undefined ? {} : { stateMachine: factory(), newStateMachine: factory }) });
  const client = new ClientConn(id, (b) => h.clientIn(b), onDecided);
  // Replies go back on a later turn, as they would across a port: no re-entrant resolution.
  h.setClientOut((b: HostBatch) => setImmediate(() => client.onMessage(b)));
  const stop = (): Promise<void> => {
    if (up) {
      up = false;
      h.close();
      client.fail('was stopped');
    }
    return Promise.resolve();
  };
  return {
    id,
    client,
    stats: async () => h.stats(),
    decidedLog: async (from, count) => h.decidedLog(from, count),
    snapshot: async () => h.snapshot(),
    runLoad: (opts) => h.runLoad(opts),
    resetLatency: async () => h.resetLatency(),
    startWorkload: async (cfg) => h.startWorkload(cfg),
    measureWorkload: async () => h.measureWorkload(),
    stopWorkload: async () => h.stopWorkload(),
    probeWorkload: async () => h.probeWorkload(),
    inject: async (peer, batch) => h.driver.deliverTuples(peer, batch),
    connect: async () => {},
    faults: () => Promise.reject(new Error('faults need the workers runtime')),
    crash: stop,
    close: stop,
  };
}
