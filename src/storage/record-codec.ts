/**
 * The records inside one batch's body (format versions 1 and 2), tagged binary:
 *
 *   tag u8 = 1  promise   slot f64, ballot f64
 *   tag u8 = 2  floor     ballot f64
 *   tag u8 = 3  accept    slot f64, ballot f64, value_bytes u32, value (UTF-8)
 *   tag u8 = 4  round     round f64
 *   tag u8 = 5  accept    as 3, value in UTF-16LE (a value that is not well-formed Unicode:
 *                          UTF-8 would replace its lone surrogate, and a replayed vote must
 *                          carry exactly the value voted for)
 *   tag u8 = 6  mark      below f64 (version 2 on: every slot below is forgotten, in a snapshot)
 *
 * Numbers are little-endian float64: every slot, ballot and round is a safe
 * integer, which a double holds exactly, and V8 reads and writes doubles
 * without a BigInt or a varint loop. A body decodes only if it holds exactly
 * `count` records, every tag is known, every number is a safe integer >= 0 and
 * nothing is left over; anything else is corruption (see log-format.ts).
 */
import type { PersistRecord } from '../paxos/storage-records.js';

const TAG_PROMISE = 1;
const TAG_FLOOR = 2;
const TAG_ACCEPT_UTF8 = 3;
const TAG_ROUND = 4;
const TAG_ACCEPT_UTF16 = 5;
const TAG_MARK = 6;
const NUM = 8;
/** The smallest record (a floor, a round or a mark): tag and one number. */
export const MIN_RECORD_BYTES = 1 + NUM;
/** What an accept takes besides its value. */
const ACCEPT_FIXED = 1 + NUM + NUM + 4;

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

/** Encodes `records` into `s` from byte `at`; returns the end offset. */
export function encodeRecords(records: readonly PersistRecord[], s: Scratch, at: number): number {
  let p = at;
  for (const r of records) {
    switch (r.k) {
      case 'promise': {
        const b = s.ensure(p + 1 + 2 * NUM);
        b[p] = TAG_PROMISE;
        b.writeDoubleLE(r.slot, p + 1);
        b.writeDoubleLE(r.ballot, p + 1 + NUM);
        p += 1 + 2 * NUM;
        break;
      }
      case 'floor':
      case 'round':
      case 'mark': {
        const b = s.ensure(p + MIN_RECORD_BYTES);
        b[p] = r.k === 'floor' ? TAG_FLOOR : r.k === 'round' ? TAG_ROUND : TAG_MARK;
        b.writeDoubleLE(r.k === 'floor' ? r.ballot : r.k === 'round' ? r.round : r.below, p + 1);
        p += MIN_RECORD_BYTES;
        break;
      }
      case 'accept':
        p = encodeAccept(r.slot, r.ballot, r.value, s, p);
        break;
    }
  }
  return p;
}

/** String.prototype.isWellFormed (Node 20; not in the ES2022 lib typings): no lone surrogate. */
const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

function encodeAccept(slot: number, ballot: number, value: string, s: Scratch, p: number): number {
  const utf8 = isWellFormed(value);
  // At most 3 bytes of UTF-8 per UTF-16 unit, exactly 2 in UTF-16LE: room enough to write in one pass.
  const b = s.ensure(p + ACCEPT_FIXED + value.length * (utf8 ? 3 : 2));
  b[p] = utf8 ? TAG_ACCEPT_UTF8 : TAG_ACCEPT_UTF16;
  b.writeDoubleLE(slot, p + 1);
  b.writeDoubleLE(ballot, p + 1 + NUM);
  const n = b.write(value, p + ACCEPT_FIXED, utf8 ? 'utf8' : 'utf16le');
  b.writeUInt32LE(n, p + 1 + 2 * NUM);
  return p + ACCEPT_FIXED + n;
}

const isCount = (x: number): boolean => Number.isSafeInteger(x) && x >= 0;

/**
 * Decodes a body that passed its checksum, of a log of format `version`.
 * Returns null when it is well formed (the records are pushed to `out`), else
 * what is wrong with it (a mark in a version-1 log is an unknown kind there).
 */
export function decodeRecords(body: Buffer, count: number, out: PersistRecord[], version = 2): string | null {
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
    if (tag !== TAG_PROMISE && tag !== TAG_ACCEPT_UTF8 && tag !== TAG_ACCEPT_UTF16) return `record ${i}: unknown record kind ${tag}`;
    if (p + 1 + 2 * NUM > body.length) return `record ${i} of ${count} runs past the body`;
    const ballot = body.readDoubleLE(p + 1 + NUM);
    if (!isCount(ballot)) return `record ${i}: ballot ${ballot} is not a safe integer >= 0`;
    if (tag === TAG_PROMISE) {
      out.push({ k: 'promise', slot: a, ballot });
      p += 1 + 2 * NUM;
      continue;
    }
    if (p + ACCEPT_FIXED > body.length) return `record ${i} of ${count} runs past the body`;
    const n = body.readUInt32LE(p + 1 + 2 * NUM);
    const from = p + ACCEPT_FIXED;
    if (from + n > body.length) return `record ${i}: a value of ${n} bytes runs past the body`;
    if (tag === TAG_ACCEPT_UTF16 && n % 2 !== 0) return `record ${i}: a UTF-16 value of an odd byte count`;
    out.push({ k: 'accept', slot: a, ballot, value: body.toString(tag === TAG_ACCEPT_UTF8 ? 'utf8' : 'utf16le', from, from + n) });
    p = from + n;
  }
  return p === body.length ? null : `${body.length - p} bytes after the last of ${count} records`;
}
