/**
 * Snapshots in the runtime, for one replica: restoring the latest at start,
 * taking one at each of the applier's snapshot points (and on demand),
 * making it durable, telling the core (which forgets below it and serves it to
 * peers), compacting the log, and installing the snapshots peers send.
 *
 * Taking one does not stall the turn for long. At the snapshot point, inside
 * the turn, only what is small or the application's is copied: the indexes,
 * the load streams, and the application's `snapshot()` bytes (its cost is the
 * application's: `capture_ms_max`). The dedupe window, up to a million ids,
 * is captured copy on write (window-capture.ts) and encoded between turns,
 * ENTRIES_PER_STEP at a time (`encode_step_ms_max`); then the file write, its
 * fsync and the compaction run, also between turns (`persist_ms_max`). A
 * snapshot point that comes before the previous snapshot is encoded finishes
 * that one in its turn (only when points come faster than encoding).
 *
 * Installing: the bytes are checked (checksum, decoding, the index they
 * claim), the application state is restored into a fresh instance, the
 * snapshot is made durable, and only then are the applier and the core moved
 * to it. A snapshot that fails any step changes nothing (the replica keeps its
 * state and stays behind, the error is in the stats), and the core does not
 * fetch that one again.
 */
import { performance } from 'node:perf_hooks';
import { crc32 } from 'node:zlib';
import type { HeldSnapshot } from '../paxos/catch-up.js';
import type { PersistRecord } from '../paxos/storage-records.js';
import type { Storage, StoredSnapshot } from '../storage/storage.js';
import type { Applier } from './applier.js';
import { SnapshotEncoder, decodeSnapshot, type DecodedSnapshot } from './snapshot-codec.js';

/**
 * What a snapshot needs from the application (the state machine, see
 * state-machine.ts): its state as bytes, and a fresh instance restored from
 * bytes, which becomes the running one only once everything else of the
 * install succeeded (`adopt`). Without a state machine its part is empty.
 */
export interface AppSource {
  /** The running state, deterministically: replicas that applied the same commands give the same bytes. */
  snapshot(): Uint8Array;
  /** A fresh instance holding `bytes`; throws (the running one untouched) if they do not restore. */
  restore(bytes: Uint8Array): { adopt(): void };
}

const EMPTY = new Uint8Array(0);

/** No application: its part of a snapshot is empty, and a snapshot that holds one is refused. */
export const NO_APP: AppSource = {
  snapshot: () => EMPTY,
  restore: (bytes) => {
    if (bytes.length > 0) throw new Error(`it holds ${bytes.length} bytes of application state, but this replica runs no state machine`);
    return { adopt: () => {} };
  },
};

export interface SnapshotStats {
  /** The snapshot this replica restored at start (-1: none). */
  restored: number;
  /** Snapshots this replica took (at snapshot points and on demand) and installed from peers. */
  taken: number;
  installed: number;
  /** Snapshots from peers that did not restore (each changed nothing). */
  restore_failures: number;
  last_error: string | null;
  /** The latest durable snapshot (-1: none yet). */
  index: number;
  bytes: number;
  /** The longest capture at a snapshot point (inside the turn). */
  capture_ms_max: number;
  /** The longest step of encoding the dedupe window (between turns). */
  encode_step_ms_max: number;
  /** The longest write + fsync + compaction after one (between turns). */
  persist_ms_max: number;
}

/** What the snapshots need of the replica's core and driver. */
export interface SnapshotCore {
  snapshotTaken(s: HeldSnapshot): void;
  /** `holds`: the commands the snapshot holds (the proposer stops owing them). */
  snapshotInstalled(s: HeldSnapshot, holds: (command: string) => boolean): void;
  snapshotRefused(index: number): void;
  /** The live durable state, for compaction. */
  durableState(): PersistRecord[];
  readonly closed: boolean;
}

/** The log is compacted after a snapshot once it holds this much and twice what it held after the last compaction. */
export const COMPACT_MIN_BYTES = 4 << 20;
/** Dedupe window entries encoded per step between turns (about 7 ms on this project's machine). */
export const ENTRIES_PER_STEP = 16_384;

export class Snapshots {
  readonly stats: SnapshotStats = { restored: -1, taken: 0, installed: 0, restore_failures: 0, last_error: null, index: -1, bytes: 0, capture_ms_max: 0, encode_step_ms_max: 0, persist_ms_max: 0 };
  /** A snapshot being encoded (its window read from the applier as it goes on), then one encoded, to persist. */
  private encoder: SnapshotEncoder | null = null;
  private encoding: Applier | null = null;
  private pending: { index: number; body: Buffer } | null = null;
  private scheduled: NodeJS.Immediate | null = null;
  private liveBytes = 0;
  private core: SnapshotCore | null = null;

  constructor(
    private readonly id: number,
    private readonly storage: Storage,
    private readonly app: AppSource,
    private readonly onFatal: (e: Error) => void,
  ) {}

  /** The core and driver, once they exist (they need the restored snapshot to start). */
  attach(core: SnapshotCore): void {
    this.core = core;
  }

  /**
   * Restores the stored snapshot into `applier` and the application; returns
   * it for the core, or null. Throws a one-line error (the replica does not
   * start; nothing is changed) when it cannot be restored.
   */
  restoreAtStart(stored: StoredSnapshot | null, applier: Applier, where: string): HeldSnapshot | null {
    if (stored === null) return null;
    let decoded: DecodedSnapshot;
    let app: { adopt(): void };
    try {
      decoded = this.check(stored.index, stored.body);
      app = this.app.restore(decoded.app);
    } catch (e) {
      throw new Error(`replica ${this.id}: its snapshot at ${stored.index} (${where}) does not restore: ${firstLine(e)}; refusing to start (nothing was changed)`);
    }
    applier.restoreState(decoded.applier);
    app.adopt();
    this.stats.restored = stored.index;
    this.stats.index = stored.index;
    this.stats.bytes = stored.body.length;
    return held(stored.index, stored.body);
  }

  /** A snapshot point (the applier's state is the state below `index`): captured now, encoded and persisted between turns. */
  capture(index: number, applier: Applier): void {
    if (this.encoder !== null) this.finishEncoding();
    const t0 = performance.now();
    const c = applier.captureState();
    if (c.index !== index) throw new Error(`a snapshot point at ${index}, but the applier is at ${c.index}`);
    this.encoder = new SnapshotEncoder({ ...c, app: this.app.snapshot() });
    this.encoding = applier;
    this.stats.capture_ms_max = Math.max(this.stats.capture_ms_max, performance.now() - t0);
    this.schedule();
  }

  private schedule(): void {
    this.scheduled ??= setImmediate(() => {
      this.scheduled = null;
      this.work();
    });
  }

  /** Between turns: one step of encoding, or the write of what is encoded. */
  private work(): void {
    const e = this.encoder;
    if (e !== null) {
      const t0 = performance.now();
      const done = e.step(ENTRIES_PER_STEP);
      this.stats.encode_step_ms_max = Math.max(this.stats.encode_step_ms_max, performance.now() - t0);
      if (!done) return this.schedule();
      this.finishEncoding();
    }
    this.persistPending(false);
  }

  private finishEncoding(): void {
    const e = this.encoder;
    if (e === null) return;
    e.step(Number.POSITIVE_INFINITY);
    this.pending = { index: e.state.index, body: e.finish() };
    this.encoder = null;
    this.encoding?.releaseCapture();
    this.encoding = null;
  }

  /** Drops a snapshot being encoded or waiting to be written (a newer state is being installed). */
  private abandon(): void {
    this.encoding?.releaseCapture();
    this.encoder = null;
    this.encoding = null;
    this.pending = null;
  }

  /** On demand: a snapshot of what is applied now, durable and compacted before this returns. */
  takeNow(applier: Applier): { index: number; bytes: Uint8Array } {
    this.capture(applier.stats.next_slot, applier);
    this.finishEncoding();
    const p = this.pending as { index: number; body: Buffer };
    this.persistPending(true);
    return { index: p.index, bytes: new Uint8Array(p.body.buffer, p.body.byteOffset, p.body.length) };
  }

  private persistPending(compact: boolean): void {
    const p = this.pending;
    const core = this.core;
    this.pending = null;
    // Never behind the latest durable one (an install may have gone past it meanwhile).
    if (p === null || core === null || core.closed || p.index < this.stats.index) return;
    const t0 = performance.now();
    try {
      this.storage.saveSnapshot(p.index, p.body);
      this.stats.taken++;
      this.stats.index = p.index;
      this.stats.bytes = p.body.length;
      core.snapshotTaken(held(p.index, p.body));
      const log = this.storage.stats.log_bytes;
      if (compact || (log >= COMPACT_MIN_BYTES && log >= 2 * this.liveBytes)) {
        this.storage.compact(core.durableState());
        this.liveBytes = this.storage.stats.log_bytes;
      }
    } catch (e) {
      return this.onFatal(e instanceof Error ? e : new Error(String(e)));
    }
    this.stats.persist_ms_max = Math.max(this.stats.persist_ms_max, performance.now() - t0);
  }

  /**
   * A snapshot a peer sent, whole (the Ready's `install`). Returns true when
   * it was installed; false when it was not needed or did not restore (then
   * nothing changed, and the core does not fetch it again) or arrived damaged
   * (nothing changed either; the core fetches it again).
   */
  install(s: HeldSnapshot, applier: Applier): boolean {
    const core = this.core;
    if (core === null) return false;
    if (s.index <= applier.stats.next_slot) {
      core.snapshotRefused(s.index); // applied past it meanwhile
      return false;
    }
    const body = Buffer.from(s.data, 'latin1');
    if (crc32(body) !== s.crc) {
      // Damaged on the way (or pieced together from two peers whose bytes differ): fetched again, not refused for good.
      this.stats.restore_failures++;
      this.stats.last_error = `replica ${this.id}: the snapshot at ${s.index} from a peer arrived damaged (checksum ${crc32(body)}, the sender said ${s.crc}); it is fetched again`;
      if (this.stats.restore_failures === 1) console.warn(`synod ${this.stats.last_error}`);
      return false;
    }
    let decoded: DecodedSnapshot;
    let app: { adopt(): void };
    try {
      decoded = this.check(s.index, body);
      app = this.app.restore(decoded.app);
    } catch (e) {
      this.stats.restore_failures++;
      this.stats.last_error = `replica ${this.id}: the snapshot at ${s.index} from a peer does not restore: ${firstLine(e)}; the replica keeps its state and stays behind`;
      if (this.stats.restore_failures === 1) console.warn(`synod ${this.stats.last_error}`);
      core.snapshotRefused(s.index);
      return false;
    }
    this.abandon();
    try {
      this.storage.saveSnapshot(s.index, body);
    } catch (e) {
      this.onFatal(e instanceof Error ? e : new Error(String(e)));
      return false;
    }
    applier.restoreState(decoded.applier);
    app.adopt();
    this.stats.installed++;
    this.stats.index = s.index;
    this.stats.bytes = body.length;
    core.snapshotInstalled(s, (command) => applier.holdsCommand(command));
    return true;
  }

  /** Decodes and checks a snapshot's bytes against the index it is stored or sent as. */
  private check(index: number, body: Buffer): DecodedSnapshot {
    const decoded = decodeSnapshot(body);
    if (decoded.applier.index !== index) throw new Error(`its bytes are of index ${decoded.applier.index}`);
    return decoded;
  }

  close(): void {
    if (this.scheduled !== null) clearImmediate(this.scheduled);
    this.scheduled = null;
    this.abandon();
  }
}

function held(index: number, body: Buffer): HeldSnapshot {
  return { index, data: body.toString('latin1'), crc: crc32(body) };
}

function firstLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split('\n')[0] ?? text;
}
