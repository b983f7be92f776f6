/**
 * A replica's durable state in one append-only log file (format: log-format.ts),
 * next to a marker that says the replica ran (marker.ts) and its latest
 * snapshot (snapshot-file.ts).
 *
 * Opening: the directory is created durably; a log that the marker (or the
 * cluster, with `ranBefore`) says should exist but is missing or empty is
 * refused; a new log gets its header through a temporary file, an fsync, a
 * rename and an fsync of the directory; an existing one is replayed, a torn
 * last write is cut (and the cut fsynced), corruption is refused; then the
 * marker is written if it was not there; the snapshot is read, and a log that
 * forgot slots past it (a mark above its index, or a mark and no snapshot) is
 * refused. All of it before the replica exists, so before its first vote can
 * leave. A log of an older version (1 or 2) is rewritten as the current one
 * (the segment switch below, with every record) before anything is appended
 * to it.
 *
 * Appending: one batch per call (one actor turn) written in one call and
 * fsynced (`always`: one batch and one fsync per record). A failed write or
 * fsync fails this storage for good: every later call throws the same error,
 * and the driver stops the replica. No retry: after a failed fsync the kernel
 * may have dropped the dirty pages while marking them clean, so a second fsync
 * can succeed without the data ever reaching the disk.
 *
 * Compacting: the segment switch. The live state (a mark, the floor, the
 * ballot round, promises and votes at and above the mark) is written to a new
 * segment `replica-<id>.log.next` with the batch numbering carried on, which
 * is fsynced, renamed over the log, and the directory fsynced; only then is
 * the old log's file closed (the rename unlinked it). A crash before the
 * rename leaves the old log whole (and a stray `.next`, removed on open); one
 * after it, before the directory's fsync, leaves the old or the new, both
 * whole and both true (the old holds more below the mark, which the replica
 * refuses anyway). Snapshots come first: a mark is only written below a
 * snapshot that is durable.
 */
import { join } from 'node:path';
import type { PersistRecord } from '../paxos/storage-records.js';
import { fsyncFailsAfter } from './fault-fs.js';
import { createDurably, makeDirDurably, realFs, writeAll, type StorageFs } from './fs.js';
import { dirname } from 'node:path';
import { BATCH_HEADER_BYTES, FORMAT_VERSION, MAX_BATCH_BODY_BYTES, StorageError, encodeFileHeader, sealBatch, type LogIdentity } from './log-format.js';
import { fileSource, replayLog } from './log-reader.js';
import { markerFile, readMarker, writeMarker } from './marker.js';
import { Scratch, encodeRecords } from './record-codec.js';
import { readSnapshotFile, snapshotFile, writeSnapshotFile } from './snapshot-file.js';
import { emptyStorageStats, type FsyncMode, type Storage, type StorageFault, type StoredSnapshot } from './storage.js';

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
/** Records per batch in a compacted segment (a batch is encoded in memory whole). */
const SEGMENT_BATCH_RECORDS = 16_384;
/**
 * ... and at most about this many bytes of values (a count alone put 16,384
 * votes of up to 1 MiB each in one batch, past MAX_BATCH_BODY_BYTES: a large
 * version-1 log could not be rewritten). A single record may still exceed it.
 */
const SEGMENT_BATCH_VALUE_BYTES = 64 * 1024 * 1024;

/** `records` cut into runs of at most SEGMENT_BATCH_RECORDS records and about SEGMENT_BATCH_VALUE_BYTES of values. */
export function segmentBatches(records: readonly PersistRecord[], maxRecords = SEGMENT_BATCH_RECORDS, maxValueBytes = SEGMENT_BATCH_VALUE_BYTES): PersistRecord[][] {
  const batches: PersistRecord[][] = [];
  let batch: PersistRecord[] = [];
  let bytes = 0;
  for (const r of records) {
    // UTF-8 takes at most 3 bytes per UTF-16 unit: a bound, never an underestimate.
    const size = r.k === 'accept' ? 3 * r.value.length : 0;
    if (batch.length > 0 && (batch.length >= maxRecords || bytes + size > maxValueBytes)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(r);
    bytes += size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

export class FileStorage implements Storage {
  readonly stats = emptyStorageStats();
  readonly path: string;
  readonly snapshotPath: string;
  private readonly fs: StorageFs;
  private readonly id: LogIdentity;
  private readonly fsyncMode: FsyncMode;
  private readonly scratch = new Scratch(SCRATCH_BYTES);
  private fd: number;
  private seq: number;
  private loaded: PersistRecord[];
  private loadedSnapshot: StoredSnapshot | null = null;
  /** Set by the first failed write or fsync; thrown by every later append. */
  private failed: StorageError | null = null;

  constructor(o: FileStorageOptions) {
    const base = o.fs ?? realFs;
    this.path = replicaFile(o.dir, o.id);
    this.fs = o.fault !== undefined && o.fault.replica === o.id ? fsyncFailsAfter(base, this.path, o.fault.failFsyncAfter) : base;
    this.fsyncMode = o.fsync;
    this.snapshotPath = snapshotFile(o.dir, o.id);
    const id: LogIdentity = (this.id = { replica: o.id, replicas: o.replicas });
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
    // A segment switch that crashed before its rename: the log is the old one, whole.
    if (this.fs.exists(this.nextPath)) this.fs.unlink(this.nextPath);
    this.fd = this.fs.open(this.path, 'a+');
    try {
      const replay = this.replay(id, ranBefore);
      this.seq = replay.next_seq;
      this.loaded = replay.records;
      this.loadedSnapshot = this.readSnapshot(replay.records);
      if (replay.version < FORMAT_VERSION) this.switchSegment(replay.records);
      else this.stats.log_bytes = replay.good_bytes;
      if (marker === null) writeMarker(this.fs, markerPath, id);
    } catch (e) {
      if (this.fd >= 0) this.fs.close(this.fd);
      throw e;
    }
  }

  private get nextPath(): string {
    return `${this.path}.next`;
  }

  /** The latest snapshot; refuses a log that forgot slots past it (those decisions would be lost). */
  private readSnapshot(records: readonly PersistRecord[]): StoredSnapshot | null {
    const snap = readSnapshotFile(this.fs, this.snapshotPath, this.id);
    let mark = 0;
    for (const r of records) if (r.k === 'mark' && r.below > mark) mark = r.below;
    if (mark > (snap?.index ?? 0)) {
      throw new StorageError(
        this.path,
        `storage ${this.path}: the log forgot every slot below ${mark}, but its snapshot ${this.snapshotPath} ${snap === null ? 'is missing' : `is at ${snap.index}`}; ` +
          'the decisions in between would be lost, so the replica stays down',
      );
    }
    if (snap !== null) {
      this.stats.snapshot_index = snap.index;
      this.stats.snapshot_bytes = snap.body.length;
    }
    return snap;
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

  loadSnapshot(): StoredSnapshot | null {
    const s = this.loadedSnapshot;
    this.loadedSnapshot = null;
    return s;
  }

  saveSnapshot(index: number, body: Buffer): void {
    this.guarded(() => writeSnapshotFile(this.fs, this.snapshotPath, this.id, index, body));
    this.stats.snapshots_saved++;
    this.stats.snapshot_index = index;
    this.stats.snapshot_bytes = body.length;
  }

  compact(records: readonly PersistRecord[]): void {
    this.guarded(() => this.switchSegment(records));
    this.stats.compactions++;
  }

  /** Runs a write; a failure fails this storage for good (see the top of this file). */
  private guarded(write: () => void): void {
    if (this.failed !== null) throw this.failed;
    if (this.fd < 0) throw new StorageError(this.path, `storage ${this.path} is closed`);
    try {
      write();
    } catch (e) {
      this.failed = e instanceof StorageError ? e : this.failure(e);
      throw this.failed;
    }
  }

  /**
   * The segment switch: `records` to a new segment (fsynced), renamed over the
   * log, the directory fsynced, then the old file closed. Appends go on in the new one.
   */
  private switchSegment(records: readonly PersistRecord[]): void {
    const fs = this.fs;
    const next = this.nextPath;
    if (fs.exists(next)) fs.unlink(next);
    const fd = fs.open(next, 'wx');
    let seq = this.seq;
    let bytes = 0;
    try {
      const header = encodeFileHeader(this.id, seq);
      writeAll(fs, fd, header);
      bytes += header.length;
      for (const batch of segmentBatches(records)) {
        const n = this.encodeBatch(batch, seq++);
        writeAll(fs, fd, this.scratch.buf, n);
        bytes += n;
      }
      fs.fsync(fd);
    } finally {
      fs.close(fd);
    }
    fs.rename(next, this.path);
    fs.fsyncDir(dirname(this.path));
    const old = this.fd;
    this.fd = fs.open(this.path, 'a+');
    fs.close(old);
    this.seq = seq;
    this.stats.log_bytes = bytes;
    this.scratch.shrink();
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
    const end = this.encodeBatch(records, this.seq);
    writeAll(this.fs, this.fd, this.scratch.buf, end);
    this.seq++;
    this.stats.bytes += end;
    this.stats.log_bytes += end;
    this.scratch.shrink();
    this.fs.fsync(this.fd);
    this.stats.fsyncs++;
  }

  /** Encodes one sealed batch into the scratch buffer; returns its length. */
  private encodeBatch(records: readonly PersistRecord[], seq: number): number {
    const { end, records: count } = encodeRecords(records, this.scratch, BATCH_HEADER_BYTES);
    const body_bytes = end - BATCH_HEADER_BYTES;
    if (body_bytes > MAX_BATCH_BODY_BYTES) {
      throw new StorageError(this.path, `storage ${this.path}: one turn's records take ${body_bytes} bytes, more than a batch may (${MAX_BATCH_BODY_BYTES}); the replica stops`);
    }
    sealBatch(this.scratch.buf, seq, body_bytes, count);
    return end;
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
