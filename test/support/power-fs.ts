/**
 * An in-memory StorageFs with a durability model, for crash tests: what a
 * power loss keeps is what was fsynced (file data) and what a directory fsync
 * made durable (names: creates, renames, unlinks); everything else is lost.
 * A crash can be injected before any mutating call (open for writing, write,
 * fsync, truncate, close, rename, unlink, directory fsync): the call throws
 * CrashError and does nothing, as if the process died right there.
 */
import { dirname } from 'node:path';
import type { StorageFs } from '../../src/storage/fs.js';

export class CrashError extends Error {
  constructor(readonly step: number, readonly call: string) {
    super(`crash injected before step ${step} (${call})`);
    this.name = 'CrashError';
  }
}

interface Inode {
  data: Buffer;
  /** The data as of the last fsync. */
  synced: Buffer;
}

export class PowerFs implements StorageFs {
  private names = new Map<string, Inode>();
  /** The names as of each directory's last fsync (what a power loss keeps). */
  private durableNames = new Map<string, Inode>();
  private readonly fds = new Map<number, Inode>();
  private nextFd = 3;
  /** Mutating calls made so far, and the one before which to crash (Infinity: never). */
  steps = 0;
  crashBefore = Number.POSITIVE_INFINITY;
  /** The mutating calls made, in order (to name the steps). */
  readonly calls: string[] = [];

  private step(call: string): void {
    this.steps++;
    if (this.steps === this.crashBefore) throw new CrashError(this.steps, call);
    this.calls.push(call);
  }

  private inode(fd: number): Inode {
    const i = this.fds.get(fd);
    if (i === undefined) throw Object.assign(new Error(`EBADF: fd ${fd}`), { code: 'EBADF' });
    return i;
  }

  open(path: string, flags: string): number {
    if (flags !== 'r') this.step(`open ${base(path)} ${flags}`);
    let i = this.names.get(path);
    if (flags.includes('x') && i !== undefined) throw Object.assign(new Error(`EEXIST: ${path}`), { code: 'EEXIST' });
    if (i === undefined) {
      if (flags === 'r' || flags === 'r+') throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
      i = { data: Buffer.alloc(0), synced: Buffer.alloc(0) };
      this.names.set(path, i);
    }
    const fd = this.nextFd++;
    this.fds.set(fd, i);
    return fd;
  }

  read(fd: number, buf: Buffer, offset: number, length: number, position: number): number {
    const i = this.inode(fd);
    const n = Math.max(0, Math.min(length, i.data.length - position));
    i.data.copy(buf, offset, position, position + n);
    return n;
  }

  write(fd: number, buf: Buffer, offset: number, length: number): number {
    const i = this.inode(fd);
    this.step('write');
    i.data = Buffer.concat([i.data, buf.subarray(offset, offset + length)]);
    return length;
  }

  fsync(fd: number): void {
    const i = this.inode(fd);
    this.step('fsync');
    i.synced = Buffer.from(i.data);
  }

  truncate(fd: number, length: number): void {
    const i = this.inode(fd);
    this.step('truncate');
    i.data = i.data.subarray(0, length);
  }

  size(fd: number): number {
    return this.inode(fd).data.length;
  }

  close(fd: number): void {
    this.inode(fd);
    this.step('close');
    this.fds.delete(fd);
  }

  rename(from: string, to: string): void {
    this.step(`rename ${base(from)} -> ${base(to)}`);
    const i = this.names.get(from);
    if (i === undefined) throw Object.assign(new Error(`ENOENT: ${from}`), { code: 'ENOENT' });
    this.names.set(to, i);
    this.names.delete(from);
  }

  unlink(path: string): void {
    this.step(`unlink ${base(path)}`);
    if (!this.names.delete(path)) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
  }

  exists(path: string): boolean {
    return this.names.has(path);
  }

  readFile(path: string): Buffer {
    const i = this.names.get(path);
    if (i === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return Buffer.from(i.data);
  }

  mkdirp(): string | undefined {
    return undefined;
  }

  fsyncDir(dir: string): void {
    this.step(`fsync dir`);
    for (const p of [...this.durableNames.keys()]) if (dirname(p) === dir) this.durableNames.delete(p);
    for (const [p, i] of this.names) if (dirname(p) === dir) this.durableNames.set(p, i);
  }

  /** The process died: open files are gone, the page cache (every write) stays. */
  processCrash(): void {
    this.fds.clear();
    this.crashBefore = Number.POSITIVE_INFINITY;
  }

  /** The power went: only fsynced data under durable names is left. */
  powerLoss(): void {
    this.processCrash();
    this.names = new Map(this.durableNames);
    for (const i of this.names.values()) i.data = Buffer.from(i.synced);
  }

  /** File names and sizes (for messages). */
  listing(): string {
    return [...this.names].map(([p, i]) => `${base(p)}:${i.data.length}`).sort().join(' ');
  }
}

function base(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}
