/**
 * The on-disk format of a replica's log, version 3, and how a reader tells a
 * torn last write (cut it) from corruption (refuse to start, cut nothing).
 *
 * Version 2 is version 1 plus one record kind, the mark (record-codec.ts:
 * every slot below it is forgotten, held in a snapshot), and segments: a log
 * is compacted by writing its live state to a new file (`first_seq` carries
 * the batch numbering on) that replaces the old one by a rename (file.ts).
 * Version 3 is version 2 plus one record kind, the run (record-codec.ts: the
 * votes of one batch at one ballot in consecutive slots, as one record).
 * This build reads versions 1 and 2 too, and rewrites such a log as version
 * 3 (the same switch) before it appends, so a version-1 file never holds a
 * mark and a version-1 or version-2 file never holds a run.
 *
 * Layout (little-endian):
 *
 *   file header, 40 bytes, written once (temporary file, fsync, rename, fsync
 *   of the directory: it is whole or absent, never torn):
 *      0  magic         8 bytes "SYNODLOG"
 *      8  version       u32     3 (2: no run records; 1: no mark records either)
 *     12  header_bytes  u32     40 (the size of this header, checksum included)
 *     16  replica       u32     the replica this log belongs to
 *     20  replicas      u32     the cluster size it was written for
 *     24  first_seq     u32 lo, u32 hi: the sequence number of the first batch (0, or where
 *                           the segment it replaced had reached)
 *     32  reserved      u32     0
 *     36  crc32         u32     of bytes 0..36
 *   then batches, one per `append` (one actor turn), each followed by an fsync
 *   before the next is written:
 *      0  header_crc    u32     crc32 of header bytes 4..24
 *      4  body_crc      u32     crc32 of the body
 *      8  seq           u32 lo, u32 hi: first_seq, first_seq + 1, ... (consecutive)
 *     16  body_bytes    u32     at most MAX_BATCH_BODY_BYTES
 *     20  count         u32     records in the body, >= 1 (a run is one record)
 *     24  body          `count` tagged records (record-codec.ts)
 *
 * Extension contract: every later version keeps magic, version and
 * header_bytes where they are and ends its file header with a crc32 of the
 * bytes before it, so this build can check a newer header's checksum and then
 * refuse it by version ("written by a newer synod") rather than call it
 * corrupt. Within a version an unknown record kind is corruption, not
 * something to skip: new kinds come with a new version (version 2 brought
 * the mark, version 3 the run).
 *
 * Why a torn write can only be the last batch: each append writes one batch
 * and fsyncs it before the next append begins, and the file header is made
 * durable before the first. So when a crash interrupts a write, at most the
 * last batch is incomplete, and nothing valid was written after it. Damage
 * followed by a valid batch did not come from a crash; it happened to bytes
 * that were already durable, which may hold promises and votes that peers
 * were told about. Cutting there is the silent loss this format exists to
 * prevent. This is the rule of etcd's WAL (a record is taken as torn only
 * at the tail of the last segment; a checksum mismatch before that is an
 * error) and of TigerBeetle's journal (a torn prepare is truncated only when
 * the head op is certain, that is when no other fault in the journal could
 * hide a later write).
 *
 * Reading, batch by batch, with `seq` the expected sequence number:
 *
 *   clean end          the last batch ends exactly at the end of the file.
 *   short header       fewer than 24 bytes left: damage (a torn header).
 *   header checksum    fails: damage. The length, sequence and body checksum in
 *                      it are not trusted, however plausible they look (a flip
 *                      in the length field would otherwise send the reader
 *                      anywhere). Zeroed regions (a file extended by a crash
 *                      before its data reached the disk) land here.
 *   header valid, but  seq differs from the expected one (a lost, repeated or
 *                      misdirected batch), count is 0, body_bytes is above the
 *                      maximum, or count cannot fit in body_bytes: CORRUPT at
 *                      once. A crash does not produce a header whose checksum
 *                      holds and whose fields are wrong; a bug or a misdirected
 *                      write does.
 *   body runs past     the end of the file (the header is valid): damage (a
 *                      write cut short).
 *   body checksum      fails: damage (a write whose sectors did not all land).
 *   body undecodable   with a valid checksum (unknown record kind, a count that
 *                      does not match, a number that is not a safe integer, a
 *                      run of fewer than 2 votes or more than its bytes hold,
 *                      bytes left over): CORRUPT at once: these are the bytes
 *                      that were written, so they were written wrong.
 *
 *   After damage at byte `off`, the rest of the file is scanned at every byte
 *   offset for a valid batch header (checksum holds, seq >= the expected one,
 *   fields plausible). None: the damage is a torn last write, the file is cut
 *   at `off` (fsynced) and the bytes cut are reported in the storage stats.
 *   One found: CORRUPT, whatever the distance. Garbage appended after the last
 *   good batch is damage with nothing valid after it, so it is cut.
 *
 *   File header: a file shorter than its header, a bad magic, an impossible
 *   header_bytes, a failing checksum, version 0, a non-zero reserved field:
 *   CORRUPT (the header is never torn, see above). A file that starts like the
 *   pre-version-1 format (u32 length, u32 crc32, a JSON tuple) is refused as
 *   such. A valid header of a newer version is refused by version. A valid
 *   header naming another replica or cluster size is refused (a log copied
 *   from a peer, or a cluster restarted at another size, could let two values
 *   be chosen).
 *
 * CORRUPT means: refuse to start with a one-line error naming the file, the
 * byte offset and what was wrong, and change nothing in the file.
 *
 * What this cannot tell: damage confined to the last batch with nothing after
 * it looks exactly like a torn write and is cut. Both references narrow that
 * case further: etcd takes a failing last record as torn only if one of its
 * 512-byte sectors is all zeros, and TigerBeetle proves a prepare was never
 * acknowledged by its redundant header (written after it, before prepare_ok).
 * synod has no second write per turn to prove it with, and the zero-sector
 * test would refuse an ordinary power loss on a file system that leaves stale
 * blocks (not zeros) in a torn append, so it cuts. A whole tail of batches lost
 * at once (a disk that acknowledged fsyncs it did not do) leaves a shorter
 * valid log; a value that embeds a valid batch header with a later sequence
 * number makes a torn write of its own batch look like corruption (a refusal,
 * never a loss). The first needs damage to land in the last batch and nowhere
 * else, the second a disk that lies, the third a crafted value or 2^-32 luck.
 */
import { crc32 } from 'node:zlib';
import { MIN_RECORD_BYTES } from './record-codec.js';

export const MAGIC = 'SYNODLOG';
export const FORMAT_VERSION = 3;
/** The oldest version this build reads. */
export const OLDEST_READ_VERSION = 1;
export const FILE_HEADER_BYTES = 40;
export const BATCH_HEADER_BYTES = 24;
/** The largest body a batch may have (one turn's records): larger is refused on write and corrupt on read. */
export const MAX_BATCH_BODY_BYTES = 1 << 30;
/** A newer version's header may be larger; beyond this it is not a header. */
const MAX_FILE_HEADER_BYTES = 4096;
const TWO_32 = 2 ** 32;

/** Who a log belongs to: written in its header, checked when it is opened. */
export interface LogIdentity {
  replica: number;
  replicas: number;
}

/** A refusal to start (or a failure) of a replica's storage: one line, naming the file. */
export class StorageError extends Error {
  constructor(
    readonly path: string,
    message: string,
    /** The byte offset of the damage, for corruption. */
    readonly offset?: number,
  ) {
    super(message);
    this.name = 'StorageError';
  }
}

export function corruptAt(path: string, offset: number, what: string): StorageError {
  return new StorageError(path, `storage ${path}: corrupt at byte ${offset}: ${what}; refusing to start (nothing was cut)`, offset);
}

/** Two little-endian u32 (lo, hi) at `at`, as one number (exact up to 2^53). */
export function readU64LE(b: Buffer, at: number): number {
  return b.readUInt32LE(at) + b.readUInt32LE(at + 4) * TWO_32;
}

/** A safe integer as two little-endian u32 (lo, hi) at `at`. */
export function writeU64LE(b: Buffer, x: number, at: number): void {
  b.writeUInt32LE(x % TWO_32, at);
  b.writeUInt32LE(Math.floor(x / TWO_32), at + 4);
}

/**
 * The 32 bytes every synod file header starts with (the log's and the
 * snapshot's): magic, version, header size, the replica and cluster size it
 * belongs to, and a u64 (the log's first sequence number, the snapshot's index).
 */
export function writeHeaderStart(h: Buffer, magic: string, version: number, headerBytes: number, id: LogIdentity, u64: number): void {
  h.write(magic, 0, 'latin1');
  h.writeUInt32LE(version, 8);
  h.writeUInt32LE(headerBytes, 12);
  h.writeUInt32LE(id.replica, 16);
  h.writeUInt32LE(id.replicas, 20);
  writeU64LE(h, u64, 24);
}

export function encodeFileHeader(id: LogIdentity, first_seq = 0): Buffer {
  const h = Buffer.alloc(FILE_HEADER_BYTES);
  writeHeaderStart(h, MAGIC, FORMAT_VERSION, FILE_HEADER_BYTES, id, first_seq);
  h.writeUInt32LE(crc32(h.subarray(0, FILE_HEADER_BYTES - 4)), FILE_HEADER_BYTES - 4);
  return h;
}

/** The pre-version-1 format: records of [u32 length][u32 crc32][JSON tuple], no file header. */
function looksLegacy(head: Buffer): boolean {
  if (head.length < 9 || head[8] !== 0x5b /* '[' */) return false;
  const len = head.readUInt32LE(0);
  return 8 + len <= head.length && crc32(head.subarray(8, 8 + len)) === head.readUInt32LE(4);
}

/**
 * Checks the file header (`head`: the file's first bytes, up to 4096) of a file
 * of `size` bytes. Returns the first batch's offset and sequence number, or
 * throws a StorageError saying why this build will not read the file.
 */
export function checkFileHeader(path: string, head: Buffer, size: number, expect: LogIdentity | null): { offset: number; first_seq: number; version: number } {
  if (head.subarray(0, MAGIC.length).toString('latin1') !== MAGIC) {
    if (looksLegacy(head)) {
      throw new StorageError(path, `storage ${path}: written in synod's old record format (no file header, before log format version ${OLDEST_READ_VERSION}); this build does not read it (see README, "Storage")`, 0);
    }
    throw corruptAt(path, 0, size < MAGIC.length ? `a file of ${size} bytes, shorter than the file header` : 'not a synod log (bad magic)');
  }
  if (size < 16) throw corruptAt(path, 0, `a file of ${size} bytes, shorter than the file header`);
  const version = head.readUInt32LE(8);
  const header_bytes = head.readUInt32LE(12);
  if (header_bytes < FILE_HEADER_BYTES || header_bytes > MAX_FILE_HEADER_BYTES) throw corruptAt(path, 12, `file header size ${header_bytes}`);
  if (size < header_bytes) throw corruptAt(path, 0, `a file of ${size} bytes, shorter than its ${header_bytes}-byte header`);
  if (crc32(head.subarray(0, header_bytes - 4)) !== head.readUInt32LE(header_bytes - 4)) throw corruptAt(path, 0, 'file header checksum mismatch');
  if (version > FORMAT_VERSION) {
    throw new StorageError(path, `storage ${path}: log format version ${version} is newer than this build reads (${FORMAT_VERSION}); run the synod that wrote it`, 8);
  }
  if (version < OLDEST_READ_VERSION || header_bytes !== FILE_HEADER_BYTES || head.readUInt32LE(32) !== 0) {
    throw corruptAt(path, 8, `version ${version} with a ${header_bytes}-byte header and reserved field ${head.readUInt32LE(32)}`);
  }
  const first_seq = readU64LE(head, 24);
  if (!Number.isSafeInteger(first_seq)) throw corruptAt(path, 24, `first sequence number ${first_seq}`);
  const replica = head.readUInt32LE(16), replicas = head.readUInt32LE(20);
  if (expect !== null && (replica !== expect.replica || replicas !== expect.replicas)) {
    throw new StorageError(
      path,
      `storage ${path}: this is the log of replica ${replica} of a ${replicas}-replica cluster, opened as replica ${expect.replica} of ${expect.replicas}; ` +
        'another acceptor\'s promises, or a different quorum size, could let two values be chosen, so it is refused',
      16,
    );
  }
  return { offset: FILE_HEADER_BYTES, first_seq, version };
}

/** Fills in a batch header at `buf[0..24)` for a body already at `buf[24..24 + body_bytes)`. */
export function sealBatch(buf: Buffer, seq: number, body_bytes: number, count: number): void {
  buf.writeUInt32LE(crc32(buf.subarray(BATCH_HEADER_BYTES, BATCH_HEADER_BYTES + body_bytes)), 4);
  writeU64LE(buf, seq, 8);
  buf.writeUInt32LE(body_bytes, 16);
  buf.writeUInt32LE(count, 20);
  buf.writeUInt32LE(crc32(buf.subarray(4, BATCH_HEADER_BYTES)), 0);
}

/** A batch header, read from `h[at..at+24)`, whose checksum holds (else null). */
export interface BatchHeader {
  body_crc: number;
  seq: number;
  body_bytes: number;
  count: number;
}

export function readBatchHeader(h: Buffer, at: number): BatchHeader | null {
  if (crc32(h.subarray(at + 4, at + BATCH_HEADER_BYTES)) !== h.readUInt32LE(at)) return null;
  return { body_crc: h.readUInt32LE(at + 4), seq: readU64LE(h, at + 8), body_bytes: h.readUInt32LE(at + 16), count: h.readUInt32LE(at + 20) };
}

/** Why a checksummed header cannot be one the writer wrote (null: it can). */
export function implausible(b: BatchHeader): string | null {
  if (b.count === 0) return 'a batch of 0 records';
  if (b.body_bytes > MAX_BATCH_BODY_BYTES) return `a batch body of ${b.body_bytes} bytes (the most is ${MAX_BATCH_BODY_BYTES})`;
  if (b.count * MIN_RECORD_BYTES > b.body_bytes) return `${b.count} records in ${b.body_bytes} bytes`;
  return null;
}

/** The sequence number field, without the checksum (a cheap filter before it). */
export function peekSeq(h: Buffer, at: number): number {
  return readU64LE(h, at + 8);
}

export function bodyChecksum(body: Buffer): number {
  return crc32(body);
}
