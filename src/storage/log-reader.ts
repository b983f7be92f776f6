/**
 * Replays a log (format and decision rules: log-format.ts): the records of
 * every good batch, and where a torn last write begins, if there is one.
 * Corruption throws a StorageError and changes nothing; cutting the torn tail
 * is the caller's job (file.ts), after this has decided it is safe.
 */
import type { PersistRecord } from '../paxos/storage-records.js';
import {
  BATCH_HEADER_BYTES,
  bodyChecksum,
  checkFileHeader,
  corruptAt,
  implausible,
  peekSeq,
  readBatchHeader,
  type LogIdentity,
} from './log-format.js';
import { decodeRecords } from './record-codec.js';
import type { StorageFs } from './fs.js';

/** Random access to the bytes of a log; a returned view is valid until the next call. */
export interface ByteSource {
  readonly size: number;
  bytes(offset: number, length: number): Buffer;
}

export function bufferSource(buf: Buffer): ByteSource {
  return { size: buf.length, bytes: (offset, length) => buf.subarray(offset, offset + length) };
}

const WINDOW_BYTES = 1 << 20;

/** Reads an open file through a 1 MiB window: bounded memory, any file size. */
export function fileSource(fs: StorageFs, fd: number, size: number): ByteSource {
  let window = Buffer.allocUnsafe(WINDOW_BYTES);
  let start = 0, filled = 0;
  return {
    size,
    bytes(offset, length) {
      const want = Math.min(length, size - offset);
      if (offset >= start && offset + want <= start + filled) return window.subarray(offset - start, offset - start + want);
      if (want > window.length) window = Buffer.allocUnsafe(want);
      start = offset;
      filled = 0;
      const goal = Math.min(window.length, size - offset);
      while (filled < goal) {
        const n = fs.read(fd, window, filled, goal - filled, offset + filled);
        if (n === 0) break;
        filled += n;
      }
      return window.subarray(0, Math.min(want, filled));
    },
  };
}

export interface Replay {
  /** The format version in the file header. */
  version: number;
  records: PersistRecord[];
  batches: number;
  /** The sequence number the next batch gets. */
  next_seq: number;
  /** Where the good log ends: the file's size, or where a torn last write begins. */
  good_bytes: number;
  /** The torn last write (to be cut), or null. */
  torn: { offset: number; what: string } | null;
}

type BatchRead = { end: number } | { damage: string } | { corrupt: string; at: number };

/** Reads the batch at `off`, pushing its records to `out`; or says what is wrong with it. */
function readBatch(src: ByteSource, off: number, seq: number, out: PersistRecord[], version: number): BatchRead {
  const left = src.size - off;
  if (left < BATCH_HEADER_BYTES) return { damage: `a batch header cut short (${left} of ${BATCH_HEADER_BYTES} bytes)` };
  const h = readBatchHeader(src.bytes(off, BATCH_HEADER_BYTES), 0);
  if (h === null) return { damage: 'batch header checksum mismatch' };
  if (h.seq !== seq) return { corrupt: `batch sequence number ${h.seq} where ${seq} was expected`, at: off + 8 };
  const bad = implausible(h);
  if (bad !== null) return { corrupt: `a checksummed batch header with ${bad}`, at: off };
  if (BATCH_HEADER_BYTES + h.body_bytes > left) {
    return { damage: `batch ${seq} runs past the end of the file (${h.body_bytes} body bytes declared, ${left - BATCH_HEADER_BYTES} present)` };
  }
  const body = src.bytes(off + BATCH_HEADER_BYTES, h.body_bytes);
  if (bodyChecksum(body) !== h.body_crc) return { damage: `batch ${seq} body checksum mismatch` };
  const why = decodeRecords(body, h.count, out, version);
  if (why !== null) return { corrupt: `batch ${seq} passes its checksum but does not decode: ${why}`, at: off + BATCH_HEADER_BYTES };
  return { end: off + BATCH_HEADER_BYTES + h.body_bytes };
}

const SCAN_CHUNK_BYTES = 1 << 20;

/**
 * The first valid batch header at or after byte `from` with a sequence number
 * of at least `seq` (a batch written after the damage), or null. Every byte
 * offset is tried: after damage the lengths before it are not trusted.
 */
export function findLaterBatch(src: ByteSource, from: number, seq: number): { offset: number; seq: number } | null {
  // No file holds more batches than headers fit in it: a cheap filter before the checksum.
  const seqMax = seq + Math.floor((src.size - from) / BATCH_HEADER_BYTES);
  for (let p = from; p + BATCH_HEADER_BYTES <= src.size; p += SCAN_CHUNK_BYTES) {
    const buf = src.bytes(p, Math.min(SCAN_CHUNK_BYTES + BATCH_HEADER_BYTES - 1, src.size - p));
    const last = Math.min(SCAN_CHUNK_BYTES, buf.length - BATCH_HEADER_BYTES + 1);
    for (let q = 0; q < last; q++) {
      const s = peekSeq(buf, q);
      if (s < seq || s > seqMax) continue;
      const h = readBatchHeader(buf, q);
      if (h !== null && implausible(h) === null) return { offset: p + q, seq: h.seq };
    }
  }
  return null;
}

/**
 * Replays the log in `src`. Throws a StorageError on anything this build
 * will not read (corruption, another format or version, another replica's
 * log when `expect` is given); never changes the file.
 */
export function replayLog(src: ByteSource, path: string, expect: LogIdentity | null): Replay {
  const head = checkFileHeader(path, Buffer.from(src.bytes(0, 4096)), src.size, expect);
  const records: PersistRecord[] = [];
  let off = head.offset, seq = head.first_seq;
  while (off < src.size) {
    const r = readBatch(src, off, seq, records, head.version);
    if ('end' in r) {
      off = r.end;
      seq++;
      continue;
    }
    if ('corrupt' in r) throw corruptAt(path, r.at, r.corrupt);
    const later = findLaterBatch(src, off + 1, seq);
    if (later !== null) {
      throw corruptAt(path, off, `${r.damage}, and a valid batch (sequence number ${later.seq}) follows at byte ${later.offset}, so this is not a torn last write`);
    }
    return { version: head.version, records, batches: seq - head.first_seq, next_seq: seq, good_bytes: off, torn: { offset: off, what: r.damage } };
  }
  return { version: head.version, records, batches: seq - head.first_seq, next_seq: seq, good_bytes: off, torn: null };
}

/** Replays a log held in memory (tests, tools). `expect` null: any replica's log. */
export function readLog(buf: Buffer, path = '<buffer>', expect: LogIdentity | null = null): Replay {
  return replayLog(bufferSource(buf), path, expect);
}
