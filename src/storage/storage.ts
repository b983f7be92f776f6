/**
 * Where a replica's durable state lives. The driver appends the records of one
 * turn and only then sends the messages that depend on them (persist before
 * send), so `append` must return only once the records are as durable as the
 * storage promises.
 */
import type { PersistRecord } from '../paxos/storage-records.js';

export interface Storage {
  /** Records stored by earlier runs, in append order (read once at start). */
  load(): PersistRecord[];
  /** Makes the records durable before it returns. */
  append(records: readonly PersistRecord[]): void;
  readonly stats: StorageStats;
  close(): void;
}

export interface StorageStats {
  records: number;
  bytes: number;
  fsyncs: number;
  /** Bytes cut from the end of the file at start (a torn or corrupt tail). */
  truncated_bytes: number;
}

/** `always`: fsync after every record; `batch`: one fsync per turn, before that turn's messages leave. */
export type FsyncMode = 'always' | 'batch';

/** Plain data (cloneable into a worker). */
export type StorageSpec = { kind: 'memory' } | { kind: 'file'; dir: string; fsync: FsyncMode };

export function emptyStorageStats(): StorageStats {
  return { records: 0, bytes: 0, fsyncs: 0, truncated_bytes: 0 };
}
