/**
 * A replica's latest durable snapshot: `<dir>/replica-<id>.snap`, written
 * whole through a temporary file, an fsync, a rename and an fsync of the
 * directory (fs.ts, createDurably), so it is the old snapshot or the new one
 * after a crash, never a torn one. The log may forget slots only below a
 * snapshot that is durable (file.ts checks the mark against it on open).
 *
 * Layout (little-endian), version 1:
 *
 *      0  magic         8 bytes "SYNODSNP"
 *      8  version       u32     1
 *     12  header_bytes  u32     48
 *     16  replica       u32     whose snapshot (another replica's file is refused)
 *     20  replicas      u32     the cluster size
 *     24  index         u32 lo, u32 hi: every slot below it is in the snapshot
 *     32  body_bytes    u32 lo, u32 hi
 *     40  body_crc      u32     crc32 of the body
 *     44  header_crc    u32     crc32 of bytes 0..44
 *     48  body          the snapshot's bytes (opaque here: the runtime's codec)
 *
 * Anything else (a short file, a checksum that fails, another identity, a
 * newer version) is refused with a one-line error naming the file; nothing is
 * changed, and the replica does not start (its log may already rely on it).
 */
import { crc32 } from 'node:zlib';
import { join } from 'node:path';
import { createDurably, type StorageFs } from './fs.js';
import { StorageError, readU64LE, writeHeaderStart, writeU64LE, type LogIdentity } from './log-format.js';
import type { StoredSnapshot } from './storage.js';

export const SNAPSHOT_MAGIC = 'SYNODSNP';
export const SNAPSHOT_VERSION = 1;
export const SNAPSHOT_HEADER_BYTES = 48;

export function snapshotFile(dir: string, id: number): string {
  return join(dir, `replica-${id}.snap`);
}

export function encodeSnapshotFile(id: LogIdentity, index: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(SNAPSHOT_HEADER_BYTES + body.length);
  out.fill(0, 0, SNAPSHOT_HEADER_BYTES);
  writeHeaderStart(out, SNAPSHOT_MAGIC, SNAPSHOT_VERSION, SNAPSHOT_HEADER_BYTES, id, index);
  writeU64LE(out, body.length, 32);
  out.writeUInt32LE(crc32(body), 40);
  out.writeUInt32LE(crc32(out.subarray(0, 44)), 44);
  body.copy(out, SNAPSHOT_HEADER_BYTES);
  return out;
}

/** Writes `body` as the snapshot at `index`, durably (whole or not at all), replacing the previous one. */
export function writeSnapshotFile(fs: StorageFs, path: string, id: LogIdentity, index: number, body: Buffer): void {
  createDurably(fs, path, encodeSnapshotFile(id, index, body));
}

function refused(path: string, what: string): StorageError {
  return new StorageError(path, `storage ${path}: ${what}; refusing to start (nothing was changed)`);
}

/** Checks and decodes a snapshot file's bytes; throws a one-line StorageError naming `path`. */
export function decodeSnapshotFile(path: string, bytes: Buffer, expect: LogIdentity): StoredSnapshot {
  if (bytes.length < SNAPSHOT_HEADER_BYTES || bytes.subarray(0, 8).toString('latin1') !== SNAPSHOT_MAGIC) {
    throw refused(path, `not a synod snapshot (${bytes.length} bytes, bad magic or shorter than the header)`);
  }
  if (crc32(bytes.subarray(0, 44)) !== bytes.readUInt32LE(44)) throw refused(path, 'snapshot header checksum mismatch');
  const version = bytes.readUInt32LE(8);
  if (version !== SNAPSHOT_VERSION || bytes.readUInt32LE(12) !== SNAPSHOT_HEADER_BYTES) {
    throw refused(path, `snapshot format version ${version} (header ${bytes.readUInt32LE(12)} bytes); this build reads version ${SNAPSHOT_VERSION}`);
  }
  const replica = bytes.readUInt32LE(16), replicas = bytes.readUInt32LE(20);
  if (replica !== expect.replica || replicas !== expect.replicas) {
    throw refused(path, `the snapshot of replica ${replica} of a ${replicas}-replica cluster, opened as replica ${expect.replica} of ${expect.replicas}`);
  }
  const index = readU64LE(bytes, 24);
  const body_bytes = readU64LE(bytes, 32);
  if (SNAPSHOT_HEADER_BYTES + body_bytes !== bytes.length) throw refused(path, `a snapshot of ${body_bytes} bytes in a file of ${bytes.length}`);
  const body = bytes.subarray(SNAPSHOT_HEADER_BYTES);
  if (crc32(body) !== bytes.readUInt32LE(40)) throw refused(path, 'snapshot body checksum mismatch');
  return { index, body };
}

/** The snapshot at `path`, or null when there is none. */
export function readSnapshotFile(fs: StorageFs, path: string, expect: LogIdentity): StoredSnapshot | null {
  if (!fs.exists(path)) return null;
  return decodeSnapshotFile(path, fs.readFile(path), expect);
}
