/** Scratch directories and logs for the storage tests. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect } from 'vitest';
import { crc32 } from 'node:zlib';
import type { PersistRecord } from '../../src/paxos/storage-records.js';
import { FileStorage, StorageError, realFs, replicaFile, type FileStorageOptions, type FsyncMode, type StorageFs } from '../../src/storage/index.js';
import { BATCH_HEADER_BYTES, encodeFileHeader, sealBatch } from '../../src/storage/log-format.js';
import { Scratch, encodeRecords } from '../../src/storage/record-codec.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A fresh directory, removed after the test. */
export function tmpDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'synod-storage-'));
  dirs.push(d);
  return d;
}

/** Real files without fsync: for tests of the format (hundreds of opens), not of durability. */
export const noSyncFs: StorageFs = { ...realFs, fsync: () => {}, fsyncDir: () => {} };

export function openLog(dir: string, id: number, fsync: FsyncMode = 'batch', more: Partial<FileStorageOptions> = {}): FileStorage {
  return new FileStorage({ dir, id, replicas: 3, fsync, ...more });
}

export interface WrittenLog {
  path: string;
  bytes: Buffer;
  /** Byte offset of each batch, and of the end of the last one. */
  starts: number[];
  records: PersistRecord[];
}

/** Writes one batch per element of `batches` to replica `id`'s log in `dir` and reads the file back. */
export function writeLog(dir: string, batches: PersistRecord[][], id = 0): WrittenLog {
  const s = openLog(dir, id, 'batch', { fs: noSyncFs });
  for (const b of batches) s.append(b);
  s.close();
  const path = replicaFile(dir, id);
  const bytes = readFileSync(path);
  return { path, bytes, starts: batchStarts(bytes), records: batches.flat() };
}

/** `header` (a file header) relabelled as `version`, its checksum made right again. */
export function withVersion(header: Buffer, version: number): Buffer {
  const h = Buffer.from(header);
  h.writeUInt32LE(version, 8);
  h.writeUInt32LE(crc32(h.subarray(0, 36)), 36);
  return h;
}

/**
 * A log file as a build before version 3 wrote it: every record encoded on
 * its own (no runs), one batch per element of `batches`, a `version` header.
 */
export function preRunLog(batches: readonly PersistRecord[][], version: 1 | 2, replica = 0): Buffer {
  const scratch = new Scratch(1024);
  const parts = [withVersion(encodeFileHeader({ replica, replicas: 3 }), version)];
  batches.forEach((records, seq) => {
    const bodies = records.map((r) => {
      const { end } = encodeRecords([r], scratch, 0);
      return Buffer.from(scratch.buf.subarray(0, end));
    });
    const batch = Buffer.concat([Buffer.alloc(BATCH_HEADER_BYTES), ...bodies]);
    sealBatch(batch, seq, batch.length - BATCH_HEADER_BYTES, records.length);
    parts.push(batch);
  });
  return Buffer.concat(parts);
}

/** A batch with both checksums right around any `body` claiming `count` records: hand-made corruption. */
export function handMadeBatch(seq: number, body: Buffer, count: number): Buffer {
  const batch = Buffer.concat([Buffer.alloc(BATCH_HEADER_BYTES), body]);
  sealBatch(batch, seq, body.length, count);
  return batch;
}

/** Walks the batch headers (file header 40 bytes, batch header 24 bytes, body length at +16). */
export function batchStarts(bytes: Buffer): number[] {
  const starts: number[] = [];
  let off = 40;
  while (off + 24 <= bytes.length) {
    starts.push(off);
    off += 24 + bytes.readUInt32LE(off + 16);
  }
  starts.push(off);
  return starts;
}

/** Batches of every record kind and of different sizes. */
export function sampleBatches(n: number): PersistRecord[][] {
  return Array.from({ length: n }, (_, i) => [
    { k: 'round', round: i + 1 },
    { k: 'promise', slot: i, ballot: 65_536 * (i + 1) + 1 },
    ...(i % 2 === 0 ? [{ k: 'floor' as const, ballot: 65_536 * (i + 2) }] : []),
    { k: 'accept', slot: i, ballot: 65_536 * (i + 1) + 1, value: `v${i}:${'é'.repeat(i * 3)}` },
  ]);
}

/** A deterministic byte stream (xorshift32), for garbage. */
export function garbage(seed: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  let x = seed | 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/** `s` with every regular-expression metacharacter escaped. */
export const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Opening must fail with a corruption error at `offset` (or any offset below 40 for the file header) naming the file, and change nothing. */
export function expectRefused(dir: string, log: WrittenLog, damaged: Buffer, offset: number | 'file-header'): StorageError {
  writeFileSync(log.path, damaged);
  let err: unknown = null;
  try {
    openLog(dir, 0, 'batch', { fs: noSyncFs }).close();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(StorageError);
  const e = err as StorageError;
  const at = offset === 'file-header' ? '\\d+' : String(offset);
  expect(e.message).toMatch(new RegExp(`^storage ${escape(log.path)}: corrupt at byte ${at}: [^\\n]+; refusing to start \\(nothing was cut\\)$`));
  if (offset === 'file-header') expect(e.offset).toBeLessThan(40);
  else expect(e.offset).toBe(offset);
  expect(readFileSync(log.path).equals(damaged)).toBe(true);
  return e;
}
