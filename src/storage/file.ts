/**
 * Append-only file per replica. Writes are synchronous: a replica runs in its
 * own worker, so blocking that thread on the disk is the point (its replies
 * must wait for the disk anyway), and it keeps the actor run-to-completion.
 */
import { closeSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { PersistRecord } from '../paxos/storage-records.js';
import { decodeRecords, encodeRecord } from './record-codec.js';
import { emptyStorageStats, type FsyncMode, type Storage } from './storage.js';

export function replicaFile(dir: string, id: number): string {
  return join(dir, `replica-${id}.log`);
}

/**
 * The most a torn last write can leave behind: one turn's batch of records.
 * Damage followed by more than this is corruption in the middle of the file:
 * cutting there would silently drop acknowledged promises and votes, so the
 * replica refuses to start instead.
 */
export const MAX_TORN_TAIL_BYTES = 16 << 20;

export class FileStorage implements Storage {
  readonly stats = emptyStorageStats();
  private fd: number;
  private readonly path: string;
  private loaded: PersistRecord[];

  /** Opens (or creates) the replica's file, replays it and cuts a torn or corrupt tail. */
  constructor(dir: string, id: number, private readonly fsync: FsyncMode) {
    mkdirSync(dir, { recursive: true });
    this.path = replicaFile(dir, id);
    this.fd = openSync(this.path, 'a+');
    const size = fstatSync(this.fd).size;
    const replay = decodeRecords(size === 0 ? Buffer.alloc(0) : readFileSync(this.path));
    if (size - replay.good_bytes > MAX_TORN_TAIL_BYTES) {
      closeSync(this.fd);
      throw new Error(
        `storage ${this.path}: bad record at byte ${replay.good_bytes} with ${size - replay.good_bytes} bytes after it, more than a torn last write; refusing to cut acknowledged state (repair or move the file)`,
      );
    }
    if (replay.good_bytes < size) {
      ftruncateSync(this.fd, replay.good_bytes);
      fsyncSync(this.fd);
      this.stats.truncated_bytes = size - replay.good_bytes;
    }
    this.loaded = replay.records;
  }

  load(): PersistRecord[] {
    const r = this.loaded;
    this.loaded = [];
    return r;
  }

  append(records: readonly PersistRecord[]): void {
    if (records.length === 0) return;
    if (this.fd < 0) throw new Error(`storage ${this.path} is closed`);
    if (this.fsync === 'always') {
      for (const r of records) {
        this.write(encodeRecord(r));
        fsyncSync(this.fd);
        this.stats.fsyncs++;
      }
    } else {
      this.write(Buffer.concat(records.map(encodeRecord)));
      fsyncSync(this.fd);
      this.stats.fsyncs++;
    }
    this.stats.records += records.length;
  }

  private write(buf: Buffer): void {
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
    this.stats.bytes += buf.length;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
