/** What a run needs from a cluster of benchmark replicas, threads or inline. */
import type { HostConfig, HostMetrics, HostProbe } from './host.js';

export interface BenchCluster {
  start(): void;
  measure(): void;
  stop(): Promise<HostMetrics[]>;
  probe(): Promise<HostProbe[]>;
  close(): Promise<void>;
}

export type StartCluster = (cfgs: HostConfig[]) => Promise<BenchCluster>;
