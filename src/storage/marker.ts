/**
 * The marker that says "this replica ran here": `<dir>/replica-<id>.marker`,
 * written (temporary file, fsync, rename, fsync of the directory) after the
 * replica's log exists and before the replica can cast its first vote. A
 * replica that finds its marker but not its log (or an empty log) has lost
 * promises and votes that peers may have counted, and refuses to start rather
 * than come up blank: a blank acceptor could vote again and let two values be
 * chosen. The marker cannot see a whole directory lost with it (nothing in the
 * directory can); the cluster passes `ranBefore` on a restart for that.
 */
import { join } from 'node:path';
import { createDurably, type StorageFs } from './fs.js';
import { StorageError, type LogIdentity } from './log-format.js';

export function markerFile(dir: string, id: number): string {
  return join(dir, `replica-${id}.marker`);
}

interface MarkerContent extends LogIdentity {
  synod: 'replica-marker';
  format: 1;
}

export function writeMarker(fs: StorageFs, path: string, id: LogIdentity): void {
  const m: MarkerContent = { synod: 'replica-marker', format: 1, replica: id.replica, replicas: id.replicas };
  createDurably(fs, path, Buffer.from(JSON.stringify(m) + '\n'));
}

/** The identity in the marker at `path`, or null when there is none; throws on a marker it cannot read. */
export function readMarker(fs: StorageFs, path: string): LogIdentity | null {
  if (!fs.exists(path)) return null;
  let m: unknown;
  try {
    m = JSON.parse(fs.readFile(path).toString('utf8'));
  } catch {
    m = null;
  }
  const ok = typeof m === 'object' && m !== null && (m as MarkerContent).synod === 'replica-marker' && (m as MarkerContent).format === 1;
  const { replica, replicas } = (m ?? {}) as Partial<MarkerContent>;
  if (!ok || !Number.isInteger(replica) || !Number.isInteger(replicas)) {
    throw new StorageError(path, `storage ${path}: unreadable replica marker (it is written whole or not at all, so it was damaged); refusing to start`);
  }
  return { replica: replica as number, replicas: replicas as number };
}
