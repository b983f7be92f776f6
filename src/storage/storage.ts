/**
 * Where a replica's durable state lives. The driver appends the records of one
 * turn and only then sends the messages that depend on them (persist before
 * send), so `append` must return only once the records are as durable as the
 * storage promises. An `append` that throws has failed for good: the driver
 * stops the replica (after a failed fsync the page cache cannot be trusted,
 * so there is no retry).
 */
import type { PersistRecord } from '../paxos/storage-records.js';

export interface Storage {
  /** Records stored by earlier runs, in append order (read once at start). */
  load(): PersistRecord[];
  /** Makes the records durable before it returns; throws if it cannot (and keeps throwing). */
  append(records: readonly PersistRecord[]): void;
  readonly stats: StorageStats;
  close(): void;
}

export interface StorageStats {
  records: number;
  bytes: number;
  fsyncs: number;
  /** Bytes cut from the end of the file at start: a torn last write (corruption is refused, never cut). */
  truncated_bytes: number;
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
  return { records: 0, bytes: 0, fsyncs: 0, truncated_bytes: 0 };
}
