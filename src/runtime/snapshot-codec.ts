/**
 * A replica's snapshot as bytes: everything applying the log up to `index`
 * built, so a replica restored from it goes on exactly as one that applied
 * every slot. What is in it, and why:
 *
 *   index            every slot below it is applied (the applier's next slot)
 *   commands_total   commands applied since the first slot: snapshots are taken
 *                    when it crosses a multiple of snapshotEvery, so every
 *                    replica takes them at the same slots
 *   dedupe table     the request ids of the dedupe window, oldest first, each
 *                    with the slot it was applied in and its cached result (if
 *                    any): a retry after a restore is still applied once, and
 *                    answered with the first result
 *   load streams     the load generator's ids, deduplicated per stream (its
 *                    low mark and the seqs applied above it)
 *   application      the state machine's own bytes (empty without one)
 *
 * The encoding is a function of those alone (ids in apply order, streams in
 * the order first seen, seqs ascending), so two replicas that applied the same
 * slots write the same bytes: a transfer can resume from any of them, and
 * tests compare replicas byte for byte. Strings are UTF-8, or UTF-16LE when
 * not well-formed Unicode (as in the log's records: an id must come back exactly).
 *
 * Layout (little-endian): magic "SYNODSS1", index f64, commands_total f64,
 * ids u32, then per id: string, slot f64, result string or none; streams u32,
 * per stream: key string, low f64, count u32, seqs f64...; app_bytes f64, app.
 * A string: u32 length (bit 31 set: UTF-16LE), bytes. A missing result: 0xFFFFFFFF.
 */
import type { WindowCapture } from './window-capture.js';

export const SNAPSHOT_CODEC_MAGIC = 'SYNODSS1';

export interface StreamState {
  low: number;
  /** Seqs applied above `low`, ascending. */
  above: number[];
}

export interface ApplierSnapshot {
  index: number;
  commands_total: number;
  /** The dedupe window, oldest first. */
  ids: string[];
  slots: number[];
  /** Cached results, by position in `ids` (undefined: none kept). */
  results: (string | undefined)[];
  streams: Map<string, StreamState>;
}

export interface DecodedSnapshot {
  applier: ApplierSnapshot;
  app: Uint8Array;
}

const UTF16 = 0x8000_0000;
const NO_STRING = 0xffff_ffff;

/** String.prototype.isWellFormed (Node 20; not in the ES2022 lib typings): no lone surrogate. */
const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/** An append-only byte buffer that doubles as it fills. */
class Writer {
  buf: Buffer;
  at = 0;
  constructor(expect_bytes = 1 << 16) {
    this.buf = Buffer.allocUnsafe(expect_bytes);
  }
  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(grown, 0, 0, this.at);
    this.buf = grown;
  }
  f64(x: number): void {
    this.room(8);
    this.buf.writeDoubleLE(x, this.at);
    this.at += 8;
  }
  u32(x: number): void {
    this.room(4);
    this.buf.writeUInt32LE(x, this.at);
    this.at += 4;
  }
  str(s: string | undefined): void {
    if (s === undefined) return this.u32(NO_STRING);
    const utf8 = isWellFormed(s);
    this.room(4 + s.length * (utf8 ? 3 : 2));
    const n = this.buf.write(s, this.at + 4, utf8 ? 'utf8' : 'utf16le');
    this.buf.writeUInt32LE(utf8 ? n : (n | UTF16) >>> 0, this.at);
    this.at += 4 + n;
  }
  latin1(s: string): void {
    this.room(s.length);
    this.at += this.buf.write(s, this.at, 'latin1');
  }
  bytes(b: Uint8Array): void {
    this.f64(b.length);
    this.room(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
  }
  /** The bytes written (a copy only when the buffer is far larger: no 40 MB copy of a full window). */
  take(): Buffer {
    const b = this.buf.subarray(0, this.at);
    return this.buf.length - this.at > this.at / 8 ? Buffer.from(b) : b;
  }
}

/** Encodes a whole snapshot at once (tests, tools; the runtime encodes a piece at a time: SnapshotEncoder). */
export function encodeSnapshot(a: ApplierSnapshot, app: Uint8Array): Buffer {
  const w = new Writer();
  writeHead(w, a.index, a.commands_total, a.ids.length);
  for (let i = 0; i < a.ids.length; i++) writeEntry(w, a.ids[i] as string, a.slots[i] as number, a.results[i]);
  writeTail(w, a.streams, app);
  return w.take();
}

function writeHead(w: Writer, index: number, commands_total: number, ids: number): void {
  w.latin1(SNAPSHOT_CODEC_MAGIC);
  w.f64(index);
  w.f64(commands_total);
  w.u32(ids);
}

function writeEntry(w: Writer, id: string, slot: number, result: string | undefined): void {
  w.str(id);
  w.f64(slot);
  w.str(result);
}

function writeTail(w: Writer, streams: ReadonlyMap<string, StreamState>, app: Uint8Array): void {
  w.u32(streams.size);
  for (const [key, st] of streams) {
    w.str(key);
    w.f64(st.low);
    w.u32(st.above.length);
    for (const seq of st.above) w.f64(seq);
  }
  w.bytes(app);
}

/** What a snapshot point captured: the applier's (its window copy on write) and the application's bytes. */
export interface CapturedState {
  index: number;
  commands_total: number;
  window: WindowCapture;
  streams: ReadonlyMap<string, StreamState>;
  app: Uint8Array;
}

/**
 * Encodes a captured snapshot a piece at a time, so the dedupe window (up to
 * a million ids) is written between turns instead of inside one. The bytes
 * are those encodeSnapshot writes for the same state.
 */
export class SnapshotEncoder {
  /** Made on the first step, between turns: a large buffer's allocation may cost a collection. */
  private writer: Writer | null = null;

  constructor(readonly state: CapturedState) {}

  private get w(): Writer {
    if (this.writer === null) {
      // About 40 bytes per window entry (a nanoid, its slot, no result): one buffer, seldom grown.
      this.writer = new Writer(Math.min(1 << 26, 4096 + this.state.window.size * 40 + this.state.app.length));
      writeHead(this.writer, this.state.index, this.state.commands_total, this.state.window.size);
    }
    return this.writer;
  }

  /** Encodes up to `entries` more window entries; true once the whole snapshot is encoded. */
  step(entries: number): boolean {
    const { window } = this.state;
    const w = this.w;
    for (let i = 0; i < entries && !window.done; i++) {
      const [id, slot, result] = window.next();
      writeEntry(w, id, slot, result);
    }
    return window.done;
  }

  /** The bytes (call once step has returned true). */
  finish(): Buffer {
    writeTail(this.w, this.state.streams, this.state.app);
    return this.w.take();
  }
}

/** Reads what Writer wrote; every read is bounds-checked and says what was wrong. */
class Reader {
  at = 0;
  constructor(private readonly buf: Buffer) {}
  private need(n: number, what: string): void {
    if (this.at + n > this.buf.length) throw new RangeError(`${what} runs past the end (byte ${this.at} of ${this.buf.length})`);
  }
  f64(what: string): number {
    this.need(8, what);
    const x = this.buf.readDoubleLE(this.at);
    this.at += 8;
    if (!Number.isSafeInteger(x) || x < 0) throw new RangeError(`${what} is ${x}, not a safe integer >= 0`);
    return x;
  }
  u32(what: string): number {
    this.need(4, what);
    const x = this.buf.readUInt32LE(this.at);
    this.at += 4;
    return x;
  }
  str(what: string): string | undefined {
    const head = this.u32(what);
    if (head === NO_STRING) return undefined;
    const n = head & 0x7fff_ffff;
    this.need(n, what);
    const s = this.buf.toString((head & UTF16) !== 0 ? 'utf16le' : 'utf8', this.at, this.at + n);
    this.at += n;
    return s;
  }
  bytes(what: string): Uint8Array {
    const n = this.f64(what);
    this.need(n, what);
    const b = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return b;
  }
}

/** Decodes a snapshot's bytes; throws a one-line error saying what is wrong with them. */
export function decodeSnapshot(buf: Buffer): DecodedSnapshot {
  if (buf.length < 8 || buf.toString('latin1', 0, 8) !== SNAPSHOT_CODEC_MAGIC) throw new RangeError('not a synod snapshot (bad magic)');
  const r = new Reader(buf);
  r.at = 8;
  const index = r.f64('the index');
  const commands_total = r.f64('the command count');
  const n = r.u32('the dedupe table');
  // Each entry takes at least 16 bytes: a count beyond what the buffer can hold is refused before any allocation.
  if (n * 16 > buf.length) throw new RangeError(`a dedupe table of ${n} ids in ${buf.length} bytes`);
  const ids: string[] = new Array<string>(n);
  const slots: number[] = new Array<number>(n);
  const results: (string | undefined)[] = new Array<string | undefined>(n);
  for (let i = 0; i < n; i++) {
    const id = r.str(`dedupe id ${i}`);
    if (id === undefined) throw new RangeError(`dedupe id ${i} is missing`);
    ids[i] = id;
    slots[i] = r.f64(`the slot of dedupe id ${i}`);
    results[i] = r.str(`the result of dedupe id ${i}`);
  }
  const streamCount = r.u32('the load streams');
  const streams = new Map<string, StreamState>();
  for (let i = 0; i < streamCount; i++) {
    const key = r.str(`load stream ${i}`);
    if (key === undefined || streams.has(key)) throw new RangeError(`load stream ${i} is missing or repeated`);
    const low = r.f64(`the low mark of load stream ${i}`);
    const count = r.u32(`the seqs of load stream ${i}`);
    if (count * 8 > buf.length) throw new RangeError(`${count} seqs in ${buf.length} bytes`);
    const above: number[] = new Array<number>(count);
    for (let k = 0; k < count; k++) above[k] = r.f64(`seq ${k} of load stream ${i}`);
    streams.set(key, { low, above });
  }
  const app = r.bytes('the application state');
  if (r.at !== buf.length) throw new RangeError(`${buf.length - r.at} bytes after the application state`);
  return { applier: { index, commands_total, ids, slots, results, streams }, app };
}
