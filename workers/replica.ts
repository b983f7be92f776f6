/**
 * Worker entry: one replica. Wires the peer ports (the mesh) and the client
 * port to a ReplicaHost, and exposes its control plane over comlink.
 * Started from compiled JS (dist/workers/replica.js) or, under tsx/vitest,
 * through replica-bootstrap.mjs.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { nodeEndpoint } from '../src/runtime/comlink-node.js';
import { PortTransport } from '../src/runtime/port-transport.js';
import { ReplicaHost } from '../src/runtime/host.js';
import type { ReplicaControl, WorkerInit } from '../src/runtime/control.js';
import { FaultyTransport, handleFaultCommand } from '../src/runtime/fault-transport.js';
import { loadStateMachineFactory } from '../src/runtime/state-machine.js';

if (parentPort === null) throw new Error('workers/replica must run in a worker thread');
const init = workerData as WorkerInit;
// The state machine is loaded in this thread (its factory runs here) before any port listens, so no message
// arrives before the replica is there; a failure ends the worker with the error, at start.
const href = init.host.stateMachine;
const factory = href === undefined ? undefined : await loadStateMachineFactory(href);
const stateMachine = factory?.();
const transport = new PortTransport(init.host.id, init.host.nodes, init.ports);
// Chaos mode wraps the mesh in the fault layer; the default path has no wrapper.
const faulty = init.faults === undefined ? null : new FaultyTransport(transport, init.host.nodes, init.faults);
// A storage failure ends this worker with the error, which the cluster reports as 'replica-failed'.
// The driver has already stopped; thrown on the next tick, before any other callback (a client
// reply included) runs, and out of reach of whatever called into the turn.
const onFatal = (e: Error): void => {
  process.nextTick(() => {
    throw e;
  });
};
const host = new ReplicaHost(init.host, faulty ?? transport, { onFatal, ...(stateMachine === undefined ? {} : { stateMachine, newStateMachine: factory }) });
init.client.on('message', (b: unknown) => host.clientIn(b));
host.setClientOut((b) => init.client.postMessage(b));

const control: ReplicaControl = {
  ping: () => init.host.id,
  stats: () => host.stats(),
  decidedLog: (from, count) => host.decidedLog(from, count),
  snapshot: () => host.snapshot(),
  runLoad: (opts) => host.runLoad(opts),
  resetLatency: () => host.resetLatency(),
  startWorkload: (cfg) => host.startWorkload(cfg),
  measureWorkload: () => host.measureWorkload(),
  stopWorkload: () => host.stopWorkload(),
  probeWorkload: () => host.probeWorkload(),
  connect: (peer: number, port: MessagePort) => transport.connect(peer, port),
  inject: (peer, batch) => host.driver.deliverTuples(peer, batch),
  faults: (cmd) => handleFaultCommand(faulty, init.faults?.pause, cmd),
  close: () => {
    host.close();
    init.client.close();
  },
};
Comlink.expose(control, nodeEndpoint(parentPort));
