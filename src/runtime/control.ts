/**
 * The control plane of one replica (start, stop, stats, load, re-wiring):
 * exposed over comlink by a worker, or called directly inline. Never used per
 * message: the data path is the mesh and the batched client port.
 */
import type { MessagePort } from 'node:worker_threads';
import type { HostConfig, LoadOptions, LoadResult, ReplicaReport } from './host.js';
import type { StorageSpec } from '../storage/storage.js';
import type { FaultCommand, FaultInit, FaultStats } from './fault-transport.js';
import type { WorkloadConfig, WorkloadMetrics, WorkloadProbe } from './workload.js';

export interface ReplicaControl {
  ping(): number;
  stats(): ReplicaReport;
  decidedLog(from?: number, count?: number): { from: number; values: string[] };
  /** A snapshot now (durable, the log compacted): its index and bytes. */
  snapshot(): { index: number; bytes: Uint8Array };
  runLoad(opts: LoadOptions): Promise<LoadResult>;
  resetLatency(): void;
  startWorkload(cfg: WorkloadConfig): void;
  measureWorkload(): void;
  stopWorkload(): WorkloadMetrics;
  probeWorkload(): WorkloadProbe;
  /** Worker runtime only: a new port to `peer` (it restarted). */
  connect(peer: number, port: MessagePort): void;
  /** Test hook: posts `batch` to this replica as if `peer` had sent it. */
  inject(peer: number, batch: unknown): void;
  /** Chaos mode only (started with `faults`): drives this replica's fault layer. */
  faults(cmd: FaultCommand): FaultStats | null;
  close(): void;
}

/** What the main thread hands a new worker (plain data plus transferred ports). */
export interface WorkerInit {
  host: HostConfig & { storage: StorageSpec };
  /** One port per peer (null for itself and for peers that are down). */
  ports: (MessagePort | null)[];
  client: MessagePort;
  /** Present only when the cluster runs with the fault layer (chaos mode): absent, no wrapper at all. */
  faults?: FaultInit;
  /** Set by the tsx bootstrap only: the `.ts` entry to import. */
  entry?: string;
  /** The worker's young generation in MiB (Worker resourceLimits), or V8's default. */
  youngGeneration_mb?: number;
}
