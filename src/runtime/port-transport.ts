/**
 * The MessageChannel mesh, seen from one replica: one MessagePort per peer,
 * each the end of a channel whose other end the main thread transferred to that
 * peer. Messages go straight from worker to worker, never through the main thread.
 * `connect` replaces a peer's port when that peer restarts.
 */
import type { MessagePort } from 'node:worker_threads';
import type { NodeId } from '../paxos/ballot.js';
import type { Wire } from '../paxos/codec.js';
import { DEFAULT_MAX_BATCH, Outbox, type BatchReceiver, type Transport, type TransportStats } from './transport.js';

export class PortTransport implements Transport {
  private readonly ports: (MessagePort | null)[];
  private readonly outbox: Outbox;
  private receiver: BatchReceiver = () => {};

  constructor(
    readonly id: NodeId,
    nodes: number,
    ports: ReadonlyArray<MessagePort | null>,
    maxBatch = DEFAULT_MAX_BATCH,
  ) {
    this.ports = Array.from({ length: nodes }, () => null);
    this.outbox = new Outbox(nodes, maxBatch, (to, envelope) => {
      const port = this.ports[to];
      if (port === null || port === undefined) return false;
      port.postMessage(envelope);
      return true;
    }, true); // postMessage copies the envelope before it returns: the array is refilled next turn
    ports.forEach((p, peer) => {
      if (p !== null) this.connect(peer, p);
    });
  }

  get stats(): TransportStats {
    return this.outbox.stats;
  }

  setReceiver(fn: BatchReceiver): void {
    this.receiver = fn;
  }

  connect(peer: NodeId, port: MessagePort): void {
    if (peer === this.id || peer < 0 || peer >= this.ports.length) throw new RangeError(`bad peer ${peer} for replica ${this.id}`);
    this.ports[peer]?.close();
    this.ports[peer] = port;
    port.on('message', (batch: unknown) => this.receiver(peer, batch));
  }

  send(to: NodeId, wire: Wire): void {
    this.outbox.add(to, wire);
  }

  flush(): void {
    this.outbox.flush();
  }

  close(): void {
    for (const p of this.ports) p?.close();
    this.ports.fill(null);
  }
}
