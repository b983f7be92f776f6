/**
 * `cluster.faults`: the main thread's handle on every replica's fault layer.
 * Control plane only (one comlink call per replica per change), never per
 * message. The current state is kept here so that a restarted replica starts
 * with it (a healed partition stays healed, a set drop rate stays set).
 */
import type { NodeId } from '../paxos/ballot.js';
import { refuseUnknownFaultKeys } from './options.js';
import { MAX_FAULT_MS, checkFaultSpec, checkPartition, type FaultCommand, type FaultInit, type FaultSpec, type FaultState, type FaultStats } from '../runtime/fault-transport.js';

/** How the controller reaches replicas (the cluster passes its members). */
export interface FaultLinks {
  readonly size: number;
  isUp(i: number): boolean;
  command(i: number, cmd: FaultCommand): Promise<FaultStats | null>;
}

export class ClusterFaults {
  private state: FaultState;
  private readonly pauses: Int32Array[];

  constructor(
    private readonly links: FaultLinks,
    private readonly seed: number,
    initial: FaultSpec,
  ) {
    this.state = { spec: checkFaultSpec(initial, links.size), partition: null };
    this.pauses = Array.from({ length: links.size }, () => new Int32Array(new SharedArrayBuffer(4)));
  }

  /** What replica i's worker gets at (re)start. */
  initFor(i: number): FaultInit {
    Atomics.store(this.pauses[i] as Int32Array, 0, 0);
    return { seed: this.seed, state: this.current(), pause: this.pauses[i] as Int32Array };
  }

  current(): FaultState {
    return { spec: this.state.spec, partition: this.state.partition === null ? null : this.state.partition.map((g) => g.slice()) };
  }

  /** Replaces the link faults on every replica (`{}` clears them; a partition stays until heal()). */
  async set(spec: FaultSpec): Promise<void> {
    if (typeof spec === 'object' && spec !== null) refuseUnknownFaultKeys(spec);
    this.state = { ...this.state, spec: checkFaultSpec(spec, this.links.size) };
    return this.broadcast();
  }

  /** Only replicas in the same group can talk; a replica in no group is cut off from all. */
  async partition(groups: ReadonlyArray<ReadonlyArray<NodeId>>): Promise<void> {
    this.state = { ...this.state, partition: checkPartition(groups, this.links.size) };
    return this.broadcast();
  }

  async heal(): Promise<void> {
    this.state = { ...this.state, partition: null };
    return this.broadcast();
  }

  /**
   * Stalls replica i's event loop for `ms` (or until resume(i)). Resolves when
   * it runs again. Messages to it queue in its ports meanwhile, as they would
   * for a process stopped by a GC pause or SIGSTOP.
   */
  async pause(i: number, ms: number): Promise<void> {
    if (!Number.isFinite(ms) || ms <= 0 || ms > MAX_FAULT_MS) throw new RangeError(`pause ms must be in (0, ${MAX_FAULT_MS}], got ${ms}`);
    const cell = this.cell(i);
    Atomics.store(cell, 0, 1);
    try {
      await this.links.command(i, { kind: 'stall', ms });
    } finally {
      Atomics.store(cell, 0, 0);
    }
  }

  /** Wakes a paused replica now (no-op if it is not paused). */
  resume(i: number): void {
    const cell = this.cell(i);
    Atomics.store(cell, 0, 0);
    Atomics.notify(cell, 0);
  }

  /** Each live replica's fault counters (null for a replica that is down). */
  stats(): Promise<(FaultStats | null)[]> {
    return Promise.all(Array.from({ length: this.links.size }, (_, i) => (this.links.isUp(i) ? this.links.command(i, { kind: 'stats' }).catch(() => null) : Promise.resolve(null))));
  }

  private cell(i: number): Int32Array {
    const c = this.pauses[i];
    if (!Number.isInteger(i) || c === undefined) throw new RangeError(`replica must be an integer in 0..${this.links.size - 1}, got ${i}`);
    return c;
  }

  private async broadcast(): Promise<void> {
    const state = this.current();
    // A replica that is down gets the state when it restarts (initFor); one that goes down meanwhile is ignored.
    await Promise.all(Array.from({ length: this.links.size }, (_, i) => (this.links.isUp(i) ? this.links.command(i, { kind: 'set', state }).catch(() => null) : null)));
  }
}
