/** Storage for acceptor state: memory, or an append-only checksummed file with fsync. */
import { accessSync, constants, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileStorage } from './file.js';
import { MemoryStorage } from './memory.js';
import type { Storage, StorageSpec } from './storage.js';

export { FileStorage, replicaFile } from './file.js';
export { MemoryStorage, type MemoryStorageOptions } from './memory.js';
export { decodeRecords, encodeRecord } from './record-codec.js';
export type { FsyncMode, Storage, StorageSpec, StorageStats } from './storage.js';

/** `replayable: false` (a worker's own memory storage, which nothing can replay): memory keeps no records. */
export function openStorage(spec: StorageSpec, id: number, replayable = true): Storage {
  return spec.kind === 'memory' ? new MemoryStorage({ keepRecords: replayable }) : new FileStorage(spec.dir, id, spec.fsync);
}

/** Throws a one-line error unless `dir` exists (or can be made) and a file can be written in it. */
export function checkWritableDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
    const probe = join(dir, `.synod-probe-${process.pid}`);
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (e) {
    throw new Error(`storage directory '${dir}' cannot be written: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
  }
}
