/** Storage for acceptor state: memory, or a checksummed, versioned append-only log file with fsync. */
import { accessSync, constants, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileStorage } from './file.js';
import { makeDirDurably, realFs } from './fs.js';
import type { LogIdentity } from './log-format.js';
import { MemoryStorage } from './memory.js';
import type { Storage, StorageSpec } from './storage.js';

export { FileStorage, replicaFile, type FileStorageOptions } from './file.js';
export { realFs, type StorageFs } from './fs.js';
export { FORMAT_VERSION, StorageError, type LogIdentity } from './log-format.js';
export { readLog, type Replay } from './log-reader.js';
export { markerFile } from './marker.js';
export { MemoryStorage, type MemoryStorageOptions } from './memory.js';
export type { FsyncMode, Storage, StorageFault, StorageSpec, StorageStats } from './storage.js';

/**
 * Opens replica `who.replica`'s storage in a cluster of `who.replicas`.
 * `replayable: false` (a worker's own memory storage, which nothing can replay): memory keeps no records.
 */
export function openStorage(spec: StorageSpec, who: LogIdentity, replayable = true): Storage {
  if (spec.kind === 'memory') return new MemoryStorage({ keepRecords: replayable });
  return new FileStorage({ dir: spec.dir, id: who.replica, replicas: who.replicas, fsync: spec.fsync, ranBefore: spec.ranBefore === true, ...(spec.fault === undefined ? {} : { fault: spec.fault }) });
}

/** Throws a one-line error unless `dir` exists (or can be made, durably) and a file can be written in it. */
export function checkWritableDir(dir: string): void {
  try {
    makeDirDurably(realFs, dir);
    accessSync(dir, constants.W_OK);
    const probe = join(dir, `.synod-probe-${process.pid}`);
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (e) {
    throw new Error(`storage directory '${dir}' cannot be written: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
  }
}
