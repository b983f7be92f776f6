/** Control-plane messages between the main thread and a bench worker (never the hot path). */
import type { MessagePort } from 'node:worker_threads';
import type { HostConfig, HostMetrics, HostProbe } from './host.js';

export type ControlRequest =
  | { t: 'start' }
  | { t: 'measure' }
  | { t: 'stop' }
  | { t: 'probe' }
  | { t: 'close' };

export type ControlReply =
  | { t: 'ready' }
  | { t: 'stopped'; metrics: HostMetrics }
  | { t: 'probe'; probe: HostProbe }
  | { t: 'closed' }
  | { t: 'error'; message: string };

export interface HostWorkerData {
  cfg: HostConfig;
  /** peers[j] is the port to replica j (null at our own index). */
  peers: Array<MessagePort | null>;
}
