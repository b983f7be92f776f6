/**
 * Client load in the simulator, with the benchmark's names where it has them:
 *
 * - `uniform` (the default, and the simulator's historical load): each
 *   proposer's proposals at uniform random times over the fault phase.
 * - `burst`: every proposer's proposals at t = 0. N proposers with one
 *   proposal each is the classic duel: N ballots race for slot 0.
 * - `closed`: each proposer keeps `outstanding` proposals in flight and
 *   proposes the next when one is decided, `proposals` in all (or until
 *   `duration`).
 * - `open`: Poisson arrivals at `rate` per second over all proposers (each
 *   arrival goes to a proposer drawn uniformly) until `duration`.
 *
 * `conflict` (percent): which proposals race. A conflicting proposal is
 * proposed by its own proposer, so it races with every other proposer's for
 * the next free slot. The rest are handed to node 0, which proposes them one
 * after another: they never race each other, only the conflicting ones that
 * reach node 0's slot. At 0 one node orders everything and nothing duels; at
 * 100 (the default) every proposal races. The benchmark routes the same way.
 *
 * A value is `n<client>.v<i>`: unique per run, and it names the proposer
 * whose client issued it.
 */
import type { NodeId } from '../paxos/ballot.js';
import type { Value } from '../paxos/messages.js';
import type { SeededRandom } from '../base/random.js';

export const WORKLOADS = ['uniform', 'burst', 'closed', 'open'] as const;
export type WorkloadKind = (typeof WORKLOADS)[number];

export interface WorkloadSpec {
  kind: WorkloadKind;
  /** uniform, burst, closed: proposals per proposer. */
  proposalsPerProposer: number;
  /** closed: proposals each proposer keeps in flight. */
  outstanding: number;
  /** open: arrivals per second, over all proposers. */
  rate_per_s: number;
  /** closed, open: no proposal is issued after this virtual time (closed: Infinity, i.e. until `proposals`). */
  duration_ms: number;
  /** Percent of proposals proposed by their own proposer (racing); the rest go through node 0. */
  conflict_pct: number;
}

export const DEFAULT_WORKLOAD: Readonly<WorkloadSpec> = Object.freeze({
  kind: 'uniform', proposalsPerProposer: 5, outstanding: 1, rate_per_s: 1000, duration_ms: Number.POSITIVE_INFINITY, conflict_pct: 100,
});

/** Open-loop runs issue at most this many proposals (rate * duration beyond it is refused up front). */
export const OPEN_ARRIVALS_MAX = 1_000_000;

/** Where the simulator takes proposals from the workload. */
export interface WorkloadSink {
  /** Client of proposer `client` proposes `value` at node `node` at virtual time `at`. */
  propose(at: number, node: NodeId, value: Value): void;
  /** Open loop: call `Workload.arrive` at `at`. */
  arrival(at: number): void;
}

/** Throws a one-line RangeError for a workload the simulator cannot run. */
export function checkWorkload(w: WorkloadSpec): void {
  if (!(WORKLOADS as readonly string[]).includes(w.kind)) throw new RangeError(`workload must be one of ${WORKLOADS.join(', ')}, got '${w.kind}'`);
  if (!(w.conflict_pct >= 0 && w.conflict_pct <= 100)) throw new RangeError(`conflict must be a percentage in 0..100, got ${w.conflict_pct}`);
  if (w.kind === 'open') {
    if (!Number.isFinite(w.duration_ms)) throw new RangeError('an open workload needs a --duration');
    if ((w.rate_per_s * w.duration_ms) / 1000 > OPEN_ARRIVALS_MAX) {
      throw new RangeError(`rate * duration is ${Math.round((w.rate_per_s * w.duration_ms) / 1000)} proposals, above the ${OPEN_ARRIVALS_MAX} an open run may issue`);
    }
  }
}

export class Workload {
  /** Proposals issued per client. */
  private readonly issued: number[];
  private arrivals = 0;
  private arrivalsStopped = false;

  constructor(
    private readonly spec: WorkloadSpec,
    private readonly proposers: number,
    /** Draws arrival times, arrival proposers and conflict routing (its own stream: common random numbers across policies). */
    private readonly random: SeededRandom,
    private readonly sink: WorkloadSink,
  ) {
    checkWorkload(spec);
    this.issued = new Array<number>(proposers).fill(0);
  }

  /**
   * Schedules the first proposals. `uniform` draws its times from `legacy`
   * (the simulator's main stream), as it always did, so old seeds replay.
   */
  start(legacy: SeededRandom, spread_ms: number): void {
    const { kind, proposalsPerProposer: n } = this.spec;
    if (kind === 'open') return this.schedule(this.interarrival_ms());
    for (let p = 0; p < this.proposers; p++) {
      const first = kind === 'closed' ? Math.min(n, this.spec.outstanding) : n;
      for (let i = 0; i < first; i++) this.issue(kind === 'uniform' ? legacy.between(0, spread_ms) : 0, p);
    }
  }

  /** Open loop: one arrival now, and the next one scheduled. */
  arrive(now: number): void {
    this.issue(now, this.random.int(0, this.proposers - 1));
    this.arrivals++;
    this.schedule(now + this.interarrival_ms());
  }

  private schedule(at: number): void {
    if (at <= this.spec.duration_ms && this.arrivals < OPEN_ARRIVALS_MAX) this.sink.arrival(at);
    else this.arrivalsStopped = true;
  }

  /** A value of client `client` was decided: a closed loop proposes its next one. */
  decided(client: NodeId, now: number): void {
    if (this.spec.kind !== 'closed' || now > this.spec.duration_ms) return;
    if ((this.issued[client] ?? 0) < this.spec.proposalsPerProposer) this.issue(now, client);
  }

  /**
   * No arrival is still to come. (Every other proposal is scheduled through
   * the sink as soon as it is known: a closed loop's next one when the last
   * is decided, so the simulator's own count of scheduled proposals covers it.)
   */
  get finished(): boolean {
    return this.spec.kind !== 'open' || this.arrivalsStopped;
  }

  private issue(at: number, client: NodeId): void {
    const i = this.issued[client] ?? 0;
    this.issued[client] = i + 1;
    const racing = this.spec.conflict_pct >= 100 || this.random.chance(this.spec.conflict_pct / 100);
    this.sink.propose(at, racing ? client : 0, `n${client}.v${i}`);
  }

  private interarrival_ms(): number {
    return (-Math.log(1 - this.random.next()) / this.spec.rate_per_s) * 1000;
  }
}

/** The client (proposer index) that issued `value`. */
export function clientOf(value: Value): NodeId {
  const dot = value.indexOf('.');
  return Number(value.slice(1, dot));
}
