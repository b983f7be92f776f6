/**
 * Threads runtime: one worker per replica, a full MessageChannel mesh wired by
 * the main thread (replica traffic never passes through it), and a small
 * request/reply control plane over each worker's parentPort.
 */
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import type { ControlReply, ControlRequest } from './control.js';
import type { BenchCluster } from './driver.js';
import type { HostConfig, HostMetrics, HostProbe } from './host.js';
import { spawnWorker } from './spawn.js';

/** A control request that gets no answer in this long means a stuck or dead worker. */
const CONTROL_TIMEOUT_MS = 30_000;

class HostHandle {
  private waiting: Array<{ t: ControlReply['t']; resolve: (r: ControlReply) => void; reject: (e: Error) => void }> = [];
  private failure: Error | null = null;

  constructor(readonly worker: Worker, readonly id: number) {
    worker.on('message', (r: ControlReply) => {
      if (r.t === 'error') return this.fail(new Error(`replica ${id}: ${r.message}`));
      const i = this.waiting.findIndex((w) => w.t === r.t);
      if (i < 0) return;
      const [w] = this.waiting.splice(i, 1);
      w?.resolve(r);
    });
    worker.on('error', (e) => this.fail(new Error(`replica ${id} worker failed: ${e.message}`)));
    worker.on('exit', (code) => {
      if (this.waiting.length > 0) this.fail(new Error(`replica ${id} worker exited (code ${code})`));
    });
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const w of this.waiting.splice(0)) w.reject(e);
  }

  send(req: ControlRequest): void {
    this.worker.postMessage(req);
  }

  request<T extends ControlReply['t']>(req: ControlRequest, t: T): Promise<Extract<ControlReply, { t: T }>> {
    const p = this.waitFor(t);
    this.worker.postMessage(req);
    return p;
  }

  waitFor<T extends ControlReply['t']>(t: T): Promise<Extract<ControlReply, { t: T }>> {
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`replica ${this.id}: no '${t}' reply in ${CONTROL_TIMEOUT_MS} ms`)), CONTROL_TIMEOUT_MS);
      this.waiting.push({
        t,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r as Extract<ControlReply, { t: T }>);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }
}

export async function startThreads(cfgs: HostConfig[]): Promise<BenchCluster> {
  const n = cfgs.length;
  const ports: Array<Array<MessagePort | null>> = Array.from({ length: n }, () => Array<MessagePort | null>(n).fill(null));
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const { port1, port2 } = new MessageChannel();
      (ports[i] as Array<MessagePort | null>)[j] = port1;
      (ports[j] as Array<MessagePort | null>)[i] = port2;
    }
  }
  const handles: HostHandle[] = [];
  const readies: Array<Promise<unknown>> = [];
  for (let i = 0; i < n; i++) {
    const peers = ports[i] as Array<MessagePort | null>;
    const transfer = peers.filter((p): p is MessagePort => p !== null);
    const worker = spawnWorker('host-worker', { cfg: cfgs[i], peers }, transfer);
    const h = new HostHandle(worker, i);
    handles.push(h);
    readies.push(h.waitFor('ready'));
  }
  try {
    await Promise.all(readies);
  } catch (e) {
    await Promise.all(handles.map((h) => h.worker.terminate()));
    throw e;
  }
  let closed = false;
  return {
    start: () => handles.forEach((h) => h.send({ t: 'start' })),
    measure: () => handles.forEach((h) => h.send({ t: 'measure' })),
    stop: async (): Promise<HostMetrics[]> => (await Promise.all(handles.map((h) => h.request({ t: 'stop' }, 'stopped')))).map((r) => r.metrics),
    probe: async (): Promise<HostProbe[]> => (await Promise.all(handles.map((h) => h.request({ t: 'probe' }, 'probe')))).map((r) => r.probe),
    close: async (): Promise<void> => {
      if (closed) return;
      closed = true;
      // Ask politely (flushes decision files), then terminate regardless so nothing outlives the run.
      await Promise.allSettled(handles.map((h) => h.request({ t: 'close' }, 'closed')));
      await Promise.all(handles.map((h) => h.worker.terminate()));
    },
  };
}
