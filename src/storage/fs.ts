/**
 * The file-system calls file storage makes, behind a small interface so tests
 * can watch them (did the directory get its fsync?) and make them fail (an
 * fsync that returns EIO). Synchronous on purpose: a replica blocks its own
 * thread on the disk (its replies must wait for the disk anyway), and that
 * keeps the actor run-to-completion.
 */
import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, resolve } from 'node:path';

export interface StorageFs {
  /** `flags` as node:fs takes them ('r', 'r+', 'wx', ...). */
  open(path: string, flags: string): number;
  /** Reads up to `length` bytes at file position `position` into `buf` at `offset`; returns the count read. */
  read(fd: number, buf: Buffer, offset: number, length: number, position: number): number;
  /** Writes at the end of a file opened for appending, or at the current position; returns the count written. */
  write(fd: number, buf: Buffer, offset: number, length: number): number;
  fsync(fd: number): void;
  truncate(fd: number, length: number): void;
  size(fd: number): number;
  close(fd: number): void;
  rename(from: string, to: string): void;
  unlink(path: string): void;
  exists(path: string): boolean;
  readFile(path: string): Buffer;
  /** Creates `dir` and its missing parents; returns the first directory it created, if any. */
  mkdirp(dir: string): string | undefined;
  /** Makes the directory's entries (a created or renamed file) durable: fsync on the directory itself. */
  fsyncDir(dir: string): void;
}

export const realFs: StorageFs = {
  open: (path, flags) => openSync(path, flags),
  read: (fd, buf, offset, length, position) => readSync(fd, buf, offset, length, position),
  write: (fd, buf, offset, length) => writeSync(fd, buf, offset, length),
  fsync: (fd) => fsyncSync(fd),
  truncate: (fd, length) => ftruncateSync(fd, length),
  size: (fd) => fstatSync(fd).size,
  close: (fd) => closeSync(fd),
  rename: (from, to) => renameSync(from, to),
  unlink: (path) => unlinkSync(path),
  exists: (path) => existsSync(path),
  readFile: (path) => readFileSync(path),
  mkdirp: (dir) => mkdirSync(dir, { recursive: true }),
  fsyncDir: (dir) => {
    // Windows cannot open a directory for fsync (and its NTFS journals metadata itself).
    if (process.platform === 'win32') return;
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  },
};

/** Writes all of `buf` (a short write is continued, never retried after an error). */
export function writeAll(fs: StorageFs, fd: number, buf: Buffer, length = buf.length): void {
  let off = 0;
  while (off < length) off += fs.write(fd, buf, off, length - off);
}

/**
 * Creates `path` with `content` so that it is either absent or whole after a
 * crash: write a temporary file, fsync it, rename it into place, fsync the
 * directory (without that last step the rename itself may not survive).
 */
export function createDurably(fs: StorageFs, path: string, content: Buffer): void {
  const tmp = `${path}.tmp`;
  if (fs.exists(tmp)) fs.unlink(tmp);
  const fd = fs.open(tmp, 'wx');
  try {
    writeAll(fs, fd, content);
    fs.fsync(fd);
  } finally {
    fs.close(fd);
  }
  fs.rename(tmp, path);
  fs.fsyncDir(dirname(path));
}

/** `mkdir -p`, and an fsync of the parent of each directory it created, so the new directory survives a crash. */
export function makeDirDurably(fs: StorageFs, dir: string): void {
  const created = fs.mkdirp(dir);
  if (created === undefined) return;
  const first = resolve(created);
  for (let d = resolve(dir); ; d = dirname(d)) {
    fs.fsyncDir(dirname(d));
    if (d === first || dirname(d) === d) break;
  }
}
