// The codec of 1e61cbd (before 0498a99), verbatim but for its import paths: the reference for test/codec-differential.test.ts.
/**
 * Wire format: every message is one flat array of numbers and strings, tag first.
 * `decode` is the validation boundary: anything that arrives from a port or the
 * simulated network passes through it, and a malformed message becomes a reason
 * string (counted and dropped by the caller), never an exception in the replica.
 */
import { isBallot } from '../../src/paxos/ballot.js';
import { MsgType, type Message, type Vote } from '../../src/paxos/messages.js';

export type Wire = ReadonlyArray<number | string>;

/** Votes in one promise are bounded: a stable leader asks for a window, not the whole log. */
export const MAX_VOTES_PER_PROMISE = 65_536;
/** Values are bounded so one message cannot exhaust a replica's memory. */
export const MAX_VALUE_BYTES = 1 << 20;
/** A snapshot chunk carries at most this many characters (one byte each). */
export const MAX_CHUNK_CHARS = 1 << 20;
/**
 * The largest snapshot a replica sends or takes in: below V8's longest
 * string (2^29 - 24 characters), which a snapshot is held in.
 */
export const MAX_SNAPSHOT_CHARS = 2 ** 29 - 1024;

export function encode(m: Message): Wire {
  switch (m.t) {
    case MsgType.Prepare:
      return [m.t, m.slot, m.ballot, m.open ? 1 : 0];
    case MsgType.Promise: {
      const out: (number | string)[] = [m.t, m.slot, m.ballot, m.open ? 1 : 0];
      for (const v of m.votes) out.push(v.slot, v.ballot, v.value);
      return out;
    }
    case MsgType.Accept:
      return [m.t, m.slot, m.ballot, m.value];
    case MsgType.Accepted:
      return [m.t, m.slot, m.ballot];
    case MsgType.Nack:
      return [m.t, m.slot, m.ballot, m.promised];
    case MsgType.Decide:
      return [m.t, m.slot, m.value];
    case MsgType.Forward:
    case MsgType.Submit:
      return [m.t, m.value];
    case MsgType.Heartbeat:
      return [m.t, m.ballot, m.decidedUpTo];
    case MsgType.LeaseRequest:
    case MsgType.LeaseGrant:
    case MsgType.ReadIndex:
    case MsgType.ReadAck:
      return [m.t, m.ballot, m.seq];
    case MsgType.LearnRequest:
      return [m.t, m.slot];
    case MsgType.Commit:
      return [m.t, m.ballot, m.from, m.to];
    case MsgType.SnapRequest:
      return [m.t, m.index, m.offset];
    case MsgType.SnapChunk:
      return [m.t, m.index, m.size, m.crc, m.offset, m.data];
  }
}

function isSlot(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}
function isValue(x: unknown): x is string {
  return typeof x === 'string' && x.length <= MAX_VALUE_BYTES;
}
function isFlag(x: unknown): x is 0 | 1 {
  return x === 0 || x === 1;
}

/** Returns the message, or a one-line reason why the input is not a valid message. */
export function decode(w: unknown): Message | string {
  if (!Array.isArray(w) || w.length === 0) return 'not a non-empty array';
  const t = w[0];
  const len = (n: number): string | null => (w.length === n ? null : `tag ${String(t)}: expected ${n} fields, got ${w.length}`);
  let bad: string | null;
  switch (t) {
    case MsgType.Prepare: {
      if ((bad = len(4))) return bad;
      const [, slot, ballot, open] = w;
      if (!isSlot(slot) || !isBallot(ballot) || !isFlag(open)) return 'prepare: bad field';
      return { t, slot, ballot, open: open === 1 };
    }
    case MsgType.Promise: {
      if (w.length < 4 || (w.length - 4) % 3 !== 0) return 'promise: bad length';
      const [, slot, ballot, open] = w;
      if (!isSlot(slot) || !isBallot(ballot) || !isFlag(open)) return 'promise: bad field';
      if ((w.length - 4) / 3 > MAX_VOTES_PER_PROMISE) return 'promise: too many votes';
      const votes: Vote[] = [];
      for (let i = 4; i < w.length; i += 3) {
        const vs = w[i], vb = w[i + 1], vv = w[i + 2];
        if (!isSlot(vs) || !isBallot(vb) || !isValue(vv)) return 'promise: bad vote';
        votes.push({ slot: vs, ballot: vb, value: vv });
      }
      return { t, slot, ballot, open: open === 1, votes };
    }
    case MsgType.Accept: {
      if ((bad = len(4))) return bad;
      const [, slot, ballot, value] = w;
      if (!isSlot(slot) || !isBallot(ballot) || !isValue(value)) return 'accept: bad field';
      return { t, slot, ballot, value };
    }
    case MsgType.Accepted: {
      if ((bad = len(3))) return bad;
      const [, slot, ballot] = w;
      if (!isSlot(slot) || !isBallot(ballot)) return 'accepted: bad field';
      return { t, slot, ballot };
    }
    case MsgType.Nack: {
      if ((bad = len(4))) return bad;
      const [, slot, ballot, promised] = w;
      if (!isSlot(slot) || !isBallot(ballot) || !isBallot(promised)) return 'nack: bad field';
      return { t, slot, ballot, promised };
    }
    case MsgType.Decide: {
      if ((bad = len(3))) return bad;
      const [, slot, value] = w;
      if (!isSlot(slot) || !isValue(value)) return 'decide: bad field';
      return { t, slot, value };
    }
    case MsgType.Forward:
    case MsgType.Submit: {
      if ((bad = len(2))) return bad;
      const [, value] = w;
      if (!isValue(value) || value === '') return t === MsgType.Forward ? 'forward: bad field' : 'submit: bad field';
      return { t, value };
    }
    case MsgType.Heartbeat: {
      if ((bad = len(3))) return bad;
      const [, ballot, decidedUpTo] = w;
      if (!isBallot(ballot) || !isSlot(decidedUpTo)) return 'heartbeat: bad field';
      return { t, ballot, decidedUpTo };
    }
    case MsgType.LeaseRequest:
    case MsgType.LeaseGrant: {
      if ((bad = len(3))) return bad;
      const [, ballot, seq] = w;
      if (!isBallot(ballot) || !isSlot(seq)) return 'lease: bad field';
      return { t, ballot, seq };
    }
    case MsgType.LearnRequest: {
      if ((bad = len(2))) return bad;
      const [, slot] = w;
      if (!isSlot(slot)) return 'learn request: bad field';
      return { t, slot };
    }
    case MsgType.Commit: {
      if ((bad = len(4))) return bad;
      const [, ballot, from, to] = w;
      if (!isBallot(ballot) || !isSlot(from) || !isSlot(to) || from > to) return 'commit: bad field';
      return { t, ballot, from, to };
    }
    case MsgType.ReadIndex:
    case MsgType.ReadAck: {
      if ((bad = len(3))) return bad;
      const [, ballot, seq] = w;
      if (!isBallot(ballot) || !isSlot(seq)) return 'read index: bad field';
      return { t, ballot, seq };
    }
    case MsgType.SnapRequest: {
      if ((bad = len(3))) return bad;
      const [, index, offset] = w;
      if (!isSlot(index) || !isSlot(offset) || offset > MAX_SNAPSHOT_CHARS) return 'snapshot request: bad field';
      return { t, index, offset };
    }
    case MsgType.SnapChunk: {
      if ((bad = len(6))) return bad;
      const [, index, size, crc, offset, data] = w;
      if (!isSlot(index) || !isSlot(size) || size > MAX_SNAPSHOT_CHARS || !isSlot(crc) || crc > 0xffffffff || !isSlot(offset)) return 'snapshot chunk: bad field';
      if (typeof data !== 'string' || data.length > MAX_CHUNK_CHARS || offset + data.length > size || (data.length === 0 && size > 0)) return 'snapshot chunk: bad data';
      return { t, index, size, crc, offset, data };
    }
    default:
      return `unknown tag ${typeof t === 'number' || typeof t === 'string' ? t : typeof t}`;
  }
}
