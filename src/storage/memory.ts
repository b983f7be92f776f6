/** In-memory storage: durable only as long as the thread that holds it (a crash of the worker loses it). */
import type { PersistRecord } from '../paxos/storage-records.js';
import { emptyStorageStats, type Storage } from './storage.js';

export class MemoryStorage implements Storage {
  readonly stats = emptyStorageStats();
  private readonly records: PersistRecord[] = [];

  load(): PersistRecord[] {
    return this.records.slice();
  }

  append(records: readonly PersistRecord[]): void {
    for (const r of records) this.records.push(r);
    this.stats.records += records.length;
  }

  close(): void {}
}
