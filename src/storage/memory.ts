/**
 * In-memory storage: durable only as long as the thread that holds it (a crash
 * of the worker loses it). `keepRecords: false` keeps only the counters: a
 * worker's memory storage can never be replayed (its state dies with the
 * worker, and the cluster refuses to restart such a replica), so keeping every
 * record there would only grow the heap and the GC's work, without bound, for
 * nothing. Inline replicas keep them: an inline "crash" restarts on them.
 */
import type { PersistRecord } from '../paxos/storage-records.js';
import { emptyStorageStats, type Storage, type StoredSnapshot } from './storage.js';

export interface MemoryStorageOptions {
  /** Keep the records so a restart on this storage can replay them (default true). */
  keepRecords?: boolean;
}

export class MemoryStorage implements Storage {
  readonly stats = emptyStorageStats();
  private records: PersistRecord[] = [];
  private snapshot: StoredSnapshot | null = null;
  private readonly keepRecords: boolean;

  constructor(opts: MemoryStorageOptions = {}) {
    this.keepRecords = opts.keepRecords ?? true;
  }

  load(): PersistRecord[] {
    return this.records.slice();
  }

  loadSnapshot(): StoredSnapshot | null {
    return this.snapshot;
  }

  append(records: readonly PersistRecord[]): void {
    if (this.keepRecords) for (const r of records) this.records.push(r);
    this.stats.records += records.length;
    if (this.keepRecords) this.stats.log_bytes += sizeOf(records);
  }

  saveSnapshot(index: number, body: Buffer): void {
    // Kept only where a restart can read it; a worker's core holds its snapshot itself, to serve peers.
    if (this.keepRecords) this.snapshot = { index, body };
    this.stats.snapshots_saved++;
    this.stats.snapshot_index = index;
    this.stats.snapshot_bytes = body.length;
  }

  compact(records: readonly PersistRecord[]): void {
    if (this.keepRecords) {
      this.records = records.slice();
      this.stats.log_bytes = sizeOf(records);
    }
    this.stats.compactions++;
  }

  close(): void {}
}

/** About what the records would take in a log file (log_bytes drives compaction here too). */
function sizeOf(records: readonly PersistRecord[]): number {
  let n = 0;
  for (const r of records) n += r.k === 'accept' ? 21 + r.value.length : 17;
  return n;
}
