/**
 * Send times of the benchmark workload's own proposals while they are in
 * flight, found again from the decided command: its request id is
 * `<stream>.<seq>`, so the sequence number indexes a ring, with no Map entry,
 * string hash or delete per command (a Map keyed by the value was a fifth of
 * the leader's thread with batches of 512).
 *
 * Bounded: at most `capacity` in flight (`add` refuses more); a proposal that
 * never comes back (dropped by an overloaded or crashed replica) is forgotten
 * when a proposal `capacity` sequence numbers later takes its cell.
 */
export class InflightRing {
  private readonly seqAt: Float64Array;
  private readonly sentAt_ms: Float64Array;
  private size_ = 0;

  constructor(readonly capacity: number) {
    this.seqAt = new Float64Array(capacity).fill(-1);
    this.sentAt_ms = new Float64Array(capacity);
  }

  get size(): number {
    return this.size_;
  }

  /** Records proposal `seq` sent at `now_ms`; false when `capacity` are in flight. */
  add(seq: number, now_ms: number): boolean {
    if (this.size_ >= this.capacity) return false;
    const i = seq % this.capacity;
    if (this.seqAt[i] === -1) this.size_++;
    this.seqAt[i] = seq;
    this.sentAt_ms[i] = now_ms;
    return true;
  }

  /** The send time of proposal `seq`, which is no longer in flight; undefined if it was not (or was forgotten). */
  take(seq: number): number | undefined {
    const i = seq % this.capacity;
    if (this.seqAt[i] !== seq) return undefined;
    this.seqAt[i] = -1;
    this.size_--;
    return this.sentAt_ms[i];
  }
}

/** The sequence number of a command whose request id is `<stream>.<seq>` followed by ':'; -1 for any other command. */
export function sequenceIn(stream: string, command: string): number {
  const n = stream.length;
  if (command.charCodeAt(n) !== 46 /* '.' */ || !command.startsWith(stream)) return -1;
  let seq = 0;
  for (let i = n + 1; i < command.length; i++) {
    const c = command.charCodeAt(i);
    if (c === 58 /* ':' */) return i > n + 1 ? seq : -1;
    if (c < 48 || c > 57) return -1;
    seq = seq * 10 + (c - 48);
  }
  return -1;
}
