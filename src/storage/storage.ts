/**
 * Where a replica's durable state lives. The driver appends the records of one
 * turn and only then sends the messages that depend on them (persist before
 * send), so `append` must return only once the records are as durable as the
 * storage promises. An `append` that throws has failed for good: the driver
 * stops the replica (after a failed fsync the page cache cannot be trusted,
 * so there is no retry).
 */
import type { PersistRecord } from '../paxos/storage-records.js';

/** A durable snapshot: every slot below `index` is in `body` (the runtime's encoding, opaque here). */
export interface StoredSnapshot {
  index: number;
  body: Buffer;
}

export interface Storage {
  /** Records stored by earlier runs, in append order (read once at start). */
  load(): PersistRecord[];
  /** The latest snapshot stored by earlier runs, or null (read once at start). */
  loadSnapshot(): StoredSnapshot | null;
  /** Makes the records durable before it returns; throws if it cannot (and keeps throwing). */
  append(records: readonly PersistRecord[]): void;
  /** Makes `body` the latest snapshot, durably, before it returns; throws if it cannot (and keeps throwing). */
  saveSnapshot(index: number, body: Buffer): void;
  /**
   * Replaces the log by `records`, the live state (Replica.durableState, taken
   * between turns, after a snapshot is durable), so a restart reads a bounded
   * log. Durable before it returns; the old log is gone only once the new one
   * is. Throws if it cannot (and the storage keeps throwing).
   */
  compact(records: readonly PersistRecord[]): void;
  readonly stats: StorageStats;
  close(): void;
}

export interface StorageStats {
  records: number;
  bytes: number;
  fsyncs: number;
  /** Bytes cut from the end of the file at start: a torn last write (corruption is refused, never cut). */
  truncated_bytes: number;
  /** What a restart would read: the log's size now (file storage; 0 in memory). */
  log_bytes: number;
  /** Logs replaced by their live state (after a snapshot). */
  compactions: number;
  snapshots_saved: number;
  /** The latest snapshot's index and size (-1, 0: none). */
  snapshot_index: number;
  snapshot_bytes: number;
}

/** `always`: fsync after every record; `batch`: one fsync per turn, before that turn's messages leave. */
export type FsyncMode = 'always' | 'batch';

/**
 * Test-only (like `tuning.bugs`): replica `replica`'s log fsync fails with EIO
 * after `failFsyncAfter` good ones, and the writes since the last good fsync
 * are dropped, as a kernel does with the dirty pages of a failed writeback.
 */
export interface StorageFault {
  replica: number;
  failFsyncAfter: number;
}

/** Plain data (cloneable into a worker). */
export type StorageSpec =
  | { kind: 'memory' }
  | {
      kind: 'file';
      dir: string;
      fsync: FsyncMode;
      /** The replica ran on this directory before (a restart): a missing log is refused even without its marker. */
      ranBefore?: boolean;
      fault?: StorageFault;
    };

export function emptyStorageStats(): StorageStats {
  return { records: 0, bytes: 0, fsyncs: 0, truncated_bytes: 0, log_bytes: 0, compactions: 0, snapshots_saved: 0, snapshot_index: -1, snapshot_bytes: 0 };
}
