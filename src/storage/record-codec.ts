/**
 * The records inside one batch's body (format versions 1 to 3), tagged binary:
 *
 *   tag u8 = 1  promise   slot f64, ballot f64
 *   tag u8 = 2  floor     ballot f64
 *   tag u8 = 3  accept    slot f64, ballot f64, value_bytes u32, value (UTF-8)
 *   tag u8 = 4  round     round f64
 *   tag u8 = 5  accept    as 3, value in UTF-16LE (a value that is not well-formed Unicode:
 *                          UTF-8 would replace its lone surrogate, and a replayed vote must
 *                          carry exactly the value voted for)
 *   tag u8 = 6  mark      below f64 (version 2 on: every slot below is forgotten, in a snapshot)
 *   tag u8 = 7  run       first_slot f64, ballot f64, votes u32 (>= 2), then per vote
 *                          value_bytes u32, value (UTF-8) (version 3 on: accepts at one ballot
 *                          in slots first_slot, first_slot + 1, ..., the votes a follower of a
 *                          stable leader casts in one turn, with 17 bytes of header per vote
 *                          saved; a value that is not well-formed Unicode ends the run and goes
 *                          as a tag 5 accept, and a lone vote as tag 3)
 *
 * Numbers are little-endian float64: every slot, ballot and round is a safe
 * integer, which a double holds exactly, and V8 reads and writes doubles
 * without a BigInt or a varint loop. A body decodes only if it holds exactly
 * `count` records (a run is one record), every tag is known, every number is
 * a safe integer >= 0 (a run's last slot too) and nothing is left over;
 * anything else is corruption (see log-format.ts). Decoded, a run is its
 * votes, one accept record each, in slot order: nothing above the codec sees
 * runs.
 */
import { isUtf8 } from 'node:buffer';
import type { PersistRecord } from '../paxos/storage-records.js';

const TAG_PROMISE = 1;
const TAG_FLOOR = 2;
const TAG_ACCEPT_UTF8 = 3;
const TAG_ROUND = 4;
const TAG_ACCEPT_UTF16 = 5;
const TAG_MARK = 6;
const TAG_RUN_UTF8 = 7;
const NUM = 8;
/** The smallest record (a floor, a round or a mark): tag and one number. */
export const MIN_RECORD_BYTES = 1 + NUM;
/** What an accept takes besides its value. */
const ACCEPT_FIXED = 1 + NUM + NUM + 4;
/** A run's header (tag, first slot, ballot, votes); each vote then takes 4 bytes besides its value. */
const RUN_FIXED = 1 + NUM + NUM + 4;
const RUN_VOTE_FIXED = 4;

type AcceptRecord = Extract<PersistRecord, { k: 'accept' }>;

/** What encodeRecords wrote: where the body ends, and the records it holds (a run counts one). */
export interface EncodedBody {
  end: number;
  records: number;
}

/** A growable scratch buffer: one batch is encoded into it, then written in one call. */
export class Scratch {
  buf: Buffer;
  constructor(private readonly initialBytes: number) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }
  /** The buffer, at least `bytes` long, keeping what was encoded so far. */
  ensure(bytes: number): Buffer {
    if (this.buf.length < bytes) {
      const grown = Buffer.allocUnsafe(Math.max(bytes, this.buf.length * 2));
      this.buf.copy(grown);
      this.buf = grown;
    }
    return this.buf;
  }
  /** After a batch far above the usual size, give the memory back. */
  shrink(): void {
    if (this.buf.length > 16 * this.initialBytes) this.buf = Buffer.allocUnsafe(this.initialBytes);
  }
}

/** Encodes `records` into `s` from byte `at`, consecutive votes at one ballot as runs. */
export function encodeRecords(records: readonly PersistRecord[], s: Scratch, at: number): EncodedBody {
  let p = at;
  let written = 0;
  for (let i = 0; i < records.length; written++) {
    const r = records[i] as PersistRecord;
    if (r.k !== 'accept') {
      p = encodeOther(r, s, p);
      i++;
      continue;
    }
    const utf8 = isWellFormed(r.value);
    const votes = utf8 ? runLength(records, i, r.slot, r.ballot) : 1;
    p = votes >= 2 ? encodeRun(records, i, votes, s, p) : encodeAccept(r, utf8, s, p);
    i += votes;
  }
  return { end: p, records: written };
}

/** A promise, a floor, a round or a mark. */
function encodeOther(r: Exclude<PersistRecord, AcceptRecord>, s: Scratch, p: number): number {
  if (r.k === 'promise') {
    const b = s.ensure(p + 1 + 2 * NUM);
    b[p] = TAG_PROMISE;
    b.writeDoubleLE(r.slot, p + 1);
    b.writeDoubleLE(r.ballot, p + 1 + NUM);
    return p + 1 + 2 * NUM;
  }
  const b = s.ensure(p + MIN_RECORD_BYTES);
  b[p] = r.k === 'floor' ? TAG_FLOOR : r.k === 'round' ? TAG_ROUND : TAG_MARK;
  b.writeDoubleLE(r.k === 'floor' ? r.ballot : r.k === 'round' ? r.round : r.below, p + 1);
  return p + MIN_RECORD_BYTES;
}

/** String.prototype.isWellFormed (Node 20; not in the ES2022 lib typings): no lone surrogate. */
const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/**
 * How many votes from `records[i]` (an accept with a well-formed value) one
 * run can hold: the accepts after it at its ballot, each in the next slot,
 * with well-formed values.
 */
function runLength(records: readonly PersistRecord[], i: number, slot: number, ballot: number): number {
  // Bounded by the length: a read past the end of an array sends optimized code back to the interpreter.
  let k = i + 1;
  for (; k < records.length; k++) {
    const r = records[k] as PersistRecord;
    if (r.k !== 'accept' || r.ballot !== ballot || r.slot !== slot + (k - i) || !isWellFormed(r.value)) break;
  }
  return k - i;
}

function encodeAccept(r: AcceptRecord, utf8: boolean, s: Scratch, p: number): number {
  // At most 3 bytes of UTF-8 per UTF-16 unit, exactly 2 in UTF-16LE: room enough to write in one pass.
  const b = s.ensure(p + ACCEPT_FIXED + r.value.length * (utf8 ? 3 : 2));
  b[p] = utf8 ? TAG_ACCEPT_UTF8 : TAG_ACCEPT_UTF16;
  b.writeDoubleLE(r.slot, p + 1);
  b.writeDoubleLE(r.ballot, p + 1 + NUM);
  const n = b.write(r.value, p + ACCEPT_FIXED, utf8 ? 'utf8' : 'utf16le');
  b.writeUInt32LE(n, p + 1 + 2 * NUM);
  return p + ACCEPT_FIXED + n;
}

/** The `votes` accepts from `records[i]` as one run record (runLength said they fit one). */
function encodeRun(records: readonly PersistRecord[], i: number, votes: number, s: Scratch, p: number): number {
  const first = records[i] as AcceptRecord;
  let b = s.ensure(p + RUN_FIXED);
  b[p] = TAG_RUN_UTF8;
  b.writeDoubleLE(first.slot, p + 1);
  b.writeDoubleLE(first.ballot, p + 1 + NUM);
  b.writeUInt32LE(votes, p + 1 + 2 * NUM);
  let q = p + RUN_FIXED;
  for (let k = i; k < i + votes; k++) {
    const value = (records[k] as AcceptRecord).value;
    b = s.ensure(q + RUN_VOTE_FIXED + 3 * value.length);
    const n = b.write(value, q + RUN_VOTE_FIXED, 'utf8');
    b.writeUInt32LE(n, q);
    q += RUN_VOTE_FIXED + n;
  }
  return q;
}

const isCount = (x: number): boolean => Number.isSafeInteger(x) && x >= 0;

/**
 * Decodes a body that passed its checksum, of a log of format `version`.
 * Returns null when it is well formed (the records are pushed to `out`), else
 * what is wrong with it (a mark in a version-1 log, or a run in a log before
 * version 3, is an unknown kind there).
 */
export function decodeRecords(body: Buffer, count: number, out: PersistRecord[], version: number): string | null {
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + MIN_RECORD_BYTES > body.length) return `record ${i} of ${count} runs past the body`;
    const tag = body[p] as number;
    const a = body.readDoubleLE(p + 1);
    if (!isCount(a)) return `record ${i}: ${a} is not a safe integer >= 0`;
    if (tag === TAG_FLOOR || tag === TAG_ROUND || (tag === TAG_MARK && version >= 2)) {
      out.push(tag === TAG_FLOOR ? { k: 'floor', ballot: a } : tag === TAG_ROUND ? { k: 'round', round: a } : { k: 'mark', below: a });
      p += MIN_RECORD_BYTES;
      continue;
    }
    const run = tag === TAG_RUN_UTF8 && version >= 3;
    if (tag !== TAG_PROMISE && tag !== TAG_ACCEPT_UTF8 && tag !== TAG_ACCEPT_UTF16 && !run) return `record ${i}: unknown record kind ${tag}`;
    if (p + 1 + 2 * NUM > body.length) return `record ${i} of ${count} runs past the body`;
    const ballot = body.readDoubleLE(p + 1 + NUM);
    if (!isCount(ballot)) return `record ${i}: ballot ${ballot} is not a safe integer >= 0`;
    if (tag === TAG_PROMISE) {
      out.push({ k: 'promise', slot: a, ballot });
      p += 1 + 2 * NUM;
      continue;
    }
    if (run) {
      const end = decodeRun(body, p, `record ${i}`, a, ballot, out);
      if (typeof end === 'string') return end;
      p = end;
      continue;
    }
    if (p + ACCEPT_FIXED > body.length) return `record ${i} of ${count} runs past the body`;
    const n = body.readUInt32LE(p + 1 + 2 * NUM);
    const from = p + ACCEPT_FIXED;
    if (from + n > body.length) return `record ${i}: a value of ${n} bytes runs past the body`;
    if (tag === TAG_ACCEPT_UTF16 && n % 2 !== 0) return `record ${i}: a UTF-16 value of an odd byte count`;
    const value = body.toString(tag === TAG_ACCEPT_UTF8 ? 'utf8' : 'utf16le', from, from + n);
    // Bytes that are not UTF-8 decode to U+FFFD (and only then need the exact check).
    if (tag === TAG_ACCEPT_UTF8 && value.includes('\uFFFD') && !isUtf8(body.subarray(from, from + n))) return `record ${i}: a UTF-8 value that is not UTF-8`;
    out.push({ k: 'accept', slot: a, ballot, value });
    p = from + n;
  }
  return p === body.length ? null : `${body.length - p} bytes after the last of ${count} records`;
}

/**
 * The votes of the run record at `p` (its slot and ballot already read and
 * checked), pushed to `out` in slot order; returns where the record ends, or
 * what is wrong with it (`what` names it).
 */
function decodeRun(body: Buffer, p: number, what: string, slot: number, ballot: number, out: PersistRecord[]): number | string {
  if (p + RUN_FIXED > body.length) return `${what}: a run's header runs past the body`;
  const votes = body.readUInt32LE(p + 1 + 2 * NUM);
  let q = p + RUN_FIXED;
  if (votes < 2) return `${what}: a run of ${votes} votes (a run holds at least 2)`;
  // Checked before the loop: a corrupt count cannot make it run (or push) for long.
  if (votes > (body.length - q) / RUN_VOTE_FIXED) return `${what}: a run of ${votes} votes cannot fit in the ${body.length - q} bytes after its header`;
  // Not slot + votes - 1 (that sum rounds back into the safe integers); this difference is exact.
  if (votes - 1 > Number.MAX_SAFE_INTEGER - slot) return `${what}: a run of ${votes} votes from slot ${slot} ends past the safe integers`;
  for (let k = 0; k < votes; k++) {
    if (q + RUN_VOTE_FIXED > body.length) return `${what}: vote ${k} of its run of ${votes} runs past the body`;
    const n = body.readUInt32LE(q);
    const from = q + RUN_VOTE_FIXED;
    if (from + n > body.length) return `${what}: vote ${k} of its run of ${votes}: a value of ${n} bytes runs past the body`;
    const value = body.toString('utf8', from, from + n);
    if (value.includes('\uFFFD') && !isUtf8(body.subarray(from, from + n))) return `${what}: vote ${k} of its run of ${votes}: a value that is not UTF-8`;
    out.push({ k: 'accept', slot: slot + k, ballot, value });
    q = from + n;
  }
  return q;
}
