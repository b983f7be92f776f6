/**
 * Test-only: a StorageFs whose fsync of one file fails with EIO after a number
 * of good ones. Like Linux after a failed writeback, the failed fsync also
 * drops what was written since the last good one (the file is cut back to its
 * size then): those pages are gone, and a later fsync would not report it.
 */
import type { StorageFs } from './fs.js';

export function fsyncFailsAfter(base: StorageFs, path: string, good: number): StorageFs {
  const watched = new Map<number, number>(); // fd -> size at its last good fsync
  let left = good;
  return {
    ...base,
    open: (p, flags) => {
      const fd = base.open(p, flags);
      if (p === path) watched.set(fd, base.size(fd));
      return fd;
    },
    fsync: (fd) => {
      const synced = watched.get(fd);
      if (synced !== undefined && left-- <= 0) {
        base.truncate(fd, synced);
        throw Object.assign(new Error(`EIO: i/o error, fsync (injected)`), { code: 'EIO', errno: -5, syscall: 'fsync' });
      }
      base.fsync(fd);
      if (synced !== undefined) watched.set(fd, base.size(fd));
    },
    close: (fd) => {
      watched.delete(fd);
      base.close(fd);
    },
  };
}
