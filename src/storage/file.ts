/**
 * A replica's durable state in one append-only log file (format: log-format.ts),
 * next to a marker that says the replica ran (marker.ts).
 *
 * Opening: the directory is created durably; a log that the marker (or the
 * cluster, with `ranBefore`) says should exist but is missing or empty is
 * refused; a new log gets its header through a temporary file, an fsync, a
 * rename and an fsync of the directory; an existing one is replayed, a torn
 * last write is cut (and the cut fsynced), corruption is refused; then the
 * marker is written if it was not there. All of it before the replica exists,
 * so before its first vote can leave.
 *
 * Appending: one batch per call (one actor turn) written in one call and
 * fsynced (`always`: one batch and one fsync per record). A failed write or
 * fsync fails this storage for good: every later call throws the same error,
 * and the driver stops the replica. No retry: after a failed fsync the kernel
 * may have dropped the dirty pages while marking them clean, so a second fsync
 * can succeed without the data ever reaching the disk.
 */
import { join } from 'node:path';
import type { PersistRecord } from '../paxos/storage-records.js';
import { fsyncFailsAfter } from './fault-fs.js';
import { createDurably, makeDirDurably, realFs, writeAll, type StorageFs } from './fs.js';
import { BATCH_HEADER_BYTES, MAX_BATCH_BODY_BYTES, StorageError, encodeFileHeader, sealBatch, type LogIdentity } from './log-format.js';
import { fileSource, replayLog } from './log-reader.js';
import { markerFile, readMarker, writeMarker } from './marker.js';
import { Scratch, encodeRecords } from './record-codec.js';
import { emptyStorageStats, type FsyncMode, type Storage, type StorageFault } from './storage.js';

export function replicaFile(dir: string, id: number): string {
  return join(dir, `replica-${id}.log`);
}

export interface FileStorageOptions {
  dir: string;
  id: number;
  /** The cluster size: written in the log header and the marker, checked on every open. */
  replicas: number;
  fsync: FsyncMode;
  /** The caller knows this replica ran on `dir` before: a missing log is refused even without a marker. */
  ranBefore?: boolean;
  /** Test-only fault injection (see StorageFault). */
  fault?: StorageFault;
  /** The file-system calls (tests spy on them or make them fail). */
  fs?: StorageFs;
}

/** A usual turn's batch fits; a larger one grows the buffer for that batch only. */
const SCRATCH_BYTES = 64 << 10;

export class FileStorage implements Storage {
  readonly stats = emptyStorageStats();
  readonly path: string;
  private readonly fs: StorageFs;
  private readonly fsyncMode: FsyncMode;
  private readonly scratch = new Scratch(SCRATCH_BYTES);
  private fd: number;
  private seq: number;
  private loaded: PersistRecord[];
  /** Set by the first failed write or fsync; thrown by every later append. */
  private failed: StorageError | null = null;

  constructor(o: FileStorageOptions) {
    const base = o.fs ?? realFs;
    this.path = replicaFile(o.dir, o.id);
    this.fs = o.fault !== undefined && o.fault.replica === o.id ? fsyncFailsAfter(base, this.path, o.fault.failFsyncAfter) : base;
    this.fsyncMode = o.fsync;
    const id: LogIdentity = { replica: o.id, replicas: o.replicas };
    makeDirDurably(this.fs, o.dir);
    const markerPath = markerFile(o.dir, o.id);
    const marker = readMarker(this.fs, markerPath);
    if (marker !== null && (marker.replica !== id.replica || marker.replicas !== id.replicas)) {
      throw new StorageError(markerPath, `storage ${markerPath}: replica ${marker.replica} of a ${marker.replicas}-replica cluster ran here, not replica ${id.replica} of ${id.replicas}; refusing to start (a different quorum size could let two values be chosen)`);
    }
    const ranBefore = marker !== null ? `its marker ${markerPath} says so` : o.ranBefore === true ? 'this cluster started it before' : null;
    if (!this.fs.exists(this.path)) {
      if (ranBefore !== null) throw this.lost(ranBefore, 'is missing');
      createDurably(this.fs, this.path, encodeFileHeader(id));
    }
    this.fd = this.fs.open(this.path, 'a+');
    try {
      const replay = this.replay(id, ranBefore);
      this.seq = replay.next_seq;
      this.loaded = replay.records;
      if (marker === null) writeMarker(this.fs, markerPath, id);
    } catch (e) {
      this.fs.close(this.fd);
      throw e;
    }
  }

  private replay(id: LogIdentity, ranBefore: string | null): ReturnType<typeof replayLog> {
    const size = this.fs.size(this.fd);
    // A log is created whole (header included) by a rename: empty, it lost what it held.
    if (size === 0) throw this.lost(ranBefore ?? 'its log exists', 'is empty');
    const replay = replayLog(fileSource(this.fs, this.fd, size), this.path, id);
    if (replay.torn !== null) {
      this.fs.truncate(this.fd, replay.good_bytes);
      this.fs.fsync(this.fd);
      this.stats.truncated_bytes = size - replay.good_bytes;
    }
    return replay;
  }

  private lost(why: string, what: string): StorageError {
    return new StorageError(
      this.path,
      `storage ${this.path}: this replica ran before (${why}) but its log ${what}: the promises and votes it held are gone, and starting it blank could let two values be chosen; ` +
        'it stays down (see README, "A replica that lost its disk")',
    );
  }

  load(): PersistRecord[] {
    const r = this.loaded;
    this.loaded = [];
    return r;
  }

  append(records: readonly PersistRecord[]): void {
    if (records.length === 0) return;
    if (this.failed !== null) throw this.failed;
    if (this.fd < 0) throw new StorageError(this.path, `storage ${this.path} is closed`);
    try {
      if (this.fsyncMode === 'always') {
        for (const r of records) this.writeBatch([r]);
      } else this.writeBatch(records);
    } catch (e) {
      this.failed = e instanceof StorageError ? e : this.failure(e);
      throw this.failed;
    }
    this.stats.records += records.length;
  }

  /** One batch: encoded after its header's room, sealed, written in one call, fsynced. */
  private writeBatch(records: readonly PersistRecord[]): void {
    const end = encodeRecords(records, this.scratch, BATCH_HEADER_BYTES);
    const body_bytes = end - BATCH_HEADER_BYTES;
    if (body_bytes > MAX_BATCH_BODY_BYTES) {
      throw new StorageError(this.path, `storage ${this.path}: one turn's records take ${body_bytes} bytes, more than a batch may (${MAX_BATCH_BODY_BYTES}); the replica stops`);
    }
    sealBatch(this.scratch.buf, this.seq, body_bytes, records.length);
    writeAll(this.fs, this.fd, this.scratch.buf, end);
    this.seq++;
    this.stats.bytes += end;
    this.scratch.shrink();
    this.fs.fsync(this.fd);
    this.stats.fsyncs++;
  }

  private failure(e: unknown): StorageError {
    const what = e instanceof Error ? e.message.split('\n')[0] : String(e);
    return new StorageError(
      this.path,
      `storage ${this.path}: write or fsync failed (${what}); the replica stops, without a retry: after a failed fsync the kernel may have dropped the unwritten pages`,
    );
  }

  close(): void {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    try {
      this.fs.close(fd);
    } catch {
      // Closing after a failure may report the failure again; the storage is done either way.
    }
  }
}
