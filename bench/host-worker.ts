/**
 * Worker entry for one benchmark replica: wires the mesh ports to a
 * ReplicaHost and answers the main thread's control messages.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { ControlReply, ControlRequest, HostWorkerData } from './control.js';
import { ReplicaHost } from './host.js';

const port = parentPort;
if (port === null) throw new Error('host-worker must run in a worker thread');
const data = workerData as HostWorkerData;
const peers = data.peers;
const reply = (m: ControlReply): void => port.postMessage(m);

const host = new ReplicaHost(data.cfg, {
  send(to, env) {
    peers[to]?.postMessage(env);
  },
});
peers.forEach((p: MessagePort | null, from) => {
  if (p === null) return;
  p.on('message', (env: unknown) => host.onEnvelope(from, env));
});

port.on('message', (req: ControlRequest) => {
  try {
    switch (req.t) {
      case 'start':
        return host.start();
      case 'measure':
        return host.measure();
      case 'stop':
        return reply({ t: 'stopped', metrics: host.stop() });
      case 'probe':
        return reply({ t: 'probe', probe: host.probe() });
      case 'close':
        host.close();
        for (const p of peers) p?.close();
        reply({ t: 'closed' });
        port.close();
        return;
    }
  } catch (e) {
    reply({ t: 'error', message: e instanceof Error ? e.message : String(e) });
  }
});
reply({ t: 'ready' });
