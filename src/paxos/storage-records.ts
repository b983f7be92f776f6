/**
 * What a replica must persist, as records. The core emits them as effects; the
 * driver (simulator or worker) must make them durable before it sends the
 * messages of the same step. Replaying them rebuilds the durable state.
 */
import type { Ballot } from './ballot.js';
import type { Slot, Value } from './messages.js';

export type PersistRecord =
  /** The acceptor promised `ballot` in `slot`. */
  | { k: 'promise'; slot: Slot; ballot: Ballot }
  /** The acceptor promised `ballot` in every slot (an open prepare). */
  | { k: 'floor'; ballot: Ballot }
  /** The acceptor accepted `value` at `ballot` in `slot` (implies a promise of `ballot` there). */
  | { k: 'accept'; slot: Slot; ballot: Ballot; value: Value }
  /** The proposer will use rounds up to `round`: never reuse them after a restart. */
  | { k: 'round'; round: number }
  /**
   * The acceptor forgot every slot below `below`: they are decided, and a
   * durable snapshot at `below` or later holds them. It refuses them from
   * now on, across restarts too (a compacted log has no votes there, and
   * answering "no vote" could let a hole filler overwrite a chosen value).
   */
  | { k: 'mark'; below: Slot };
