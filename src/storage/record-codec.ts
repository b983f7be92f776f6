/**
 * One stored record: [u32 payload length][u32 crc32 of payload][payload], the
 * payload a flat JSON tuple. The length and checksum let replay find where a
 * crash tore the last write (or where the disk garbled it) and cut there.
 */
import { crc32 } from 'node:zlib';
import type { PersistRecord } from '../paxos/storage-records.js';

export const HEADER_BYTES = 8;
/** A record longer than this is garbage, not a record (values are bounded by the codec at 1 MiB). */
export const MAX_RECORD_BYTES = 4 << 20;

function toTuple(r: PersistRecord): (string | number)[] {
  switch (r.k) {
    case 'promise':
      return ['p', r.slot, r.ballot];
    case 'floor':
      return ['f', r.ballot];
    case 'accept':
      return ['a', r.slot, r.ballot, r.value];
    case 'round':
      return ['r', r.round];
  }
}

const isInt = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

function fromTuple(t: unknown): PersistRecord | null {
  if (!Array.isArray(t)) return null;
  const [k, a, b, c] = t as unknown[];
  if (k === 'p' && t.length === 3 && isInt(a) && isInt(b)) return { k: 'promise', slot: a, ballot: b };
  if (k === 'f' && t.length === 2 && isInt(a)) return { k: 'floor', ballot: a };
  if (k === 'a' && t.length === 4 && isInt(a) && isInt(b) && typeof c === 'string') return { k: 'accept', slot: a, ballot: b, value: c };
  if (k === 'r' && t.length === 2 && isInt(a)) return { k: 'round', round: a };
  return null;
}

export function encodeRecord(r: PersistRecord): Buffer {
  const payload = Buffer.from(JSON.stringify(toTuple(r)), 'utf8');
  const out = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  out.writeUInt32LE(payload.length, 0);
  out.writeUInt32LE(crc32(payload), 4);
  payload.copy(out, HEADER_BYTES);
  return out;
}

export interface Replay {
  records: PersistRecord[];
  /** Bytes up to the end of the last good record; anything after is a torn or corrupt tail. */
  good_bytes: number;
}

/** Reads records until the first one that is torn, fails its checksum or does not parse. */
export function decodeRecords(buf: Buffer): Replay {
  const records: PersistRecord[] = [];
  let off = 0;
  while (off + HEADER_BYTES <= buf.length) {
    const len = buf.readUInt32LE(off);
    if (len > MAX_RECORD_BYTES || off + HEADER_BYTES + len > buf.length) break;
    const payload = buf.subarray(off + HEADER_BYTES, off + HEADER_BYTES + len);
    if (crc32(payload) !== buf.readUInt32LE(off + 4)) break;
    let rec: PersistRecord | null;
    try {
      rec = fromTuple(JSON.parse(payload.toString('utf8')));
    } catch {
      rec = null;
    }
    if (rec === null) break;
    records.push(rec);
    off += HEADER_BYTES + len;
  }
  return { records, good_bytes: off };
}
