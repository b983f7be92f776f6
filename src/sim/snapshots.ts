/**
 * Snapshots in the simulator: each node "applies" its decisions in slot order
 * into a rolling hash of the values, and every `every` slots snapshots it
 * (`<index>:<hash>`, padded so a transfer takes several chunks), hands it to
 * the core, and compacts its records to the core's live state. A snapshot a
 * peer sends is checked against the ghost state (the hash of the values
 * chosen below its index: `snapshot-chosen`) before it is installed.
 */
import type { HeldSnapshot } from '../paxos/catch-up.js';
import type { Slot, Value } from '../paxos/messages.js';

const FNV_OFFSET = 0x811c9dc5;
/** Characters per chunk in the simulator: a snapshot takes several. */
export const SIM_SNAPSHOT_CHUNK = 8;

export function fnv(h: number, s: string): number {
  let x = h;
  for (let i = 0; i < s.length; i++) x = Math.imul(x ^ s.charCodeAt(i), 16777619);
  return Math.imul(x ^ 0xff, 16777619) >>> 0;
}

/** The hash of the values chosen in slots [0, index), from the ghost state (undefined: one is not known chosen). */
export function hashOfChosen(chosenIn: (slot: Slot) => Value | undefined, index: Slot): number | undefined {
  let h = FNV_OFFSET;
  for (let s = 0; s < index; s++) {
    const v = chosenIn(s);
    if (v === undefined) return undefined;
    h = fnv(h, v);
  }
  return h;
}

export class SimApplier {
  private next: Slot = 0;
  private hash = FNV_OFFSET;
  private readonly early = new Map<Slot, Value>();

  constructor(private readonly every: number) {}

  /** Starts from a snapshot (or from slot 0). */
  static at(every: number, s: HeldSnapshot | null): SimApplier {
    const a = new SimApplier(every);
    if (s !== null) a.restore(s);
    return a;
  }

  /** Applies what is now in order; returns the snapshots taken at the points it passed. */
  learned(slot: Slot, value: Value): HeldSnapshot[] {
    if (slot < this.next) return [];
    this.early.set(slot, value);
    return this.drain();
  }

  private drain(): HeldSnapshot[] {
    const taken: HeldSnapshot[] = [];
    for (let v = this.early.get(this.next); v !== undefined; v = this.early.get(this.next)) {
      this.early.delete(this.next);
      this.hash = fnv(this.hash, v);
      this.next++;
      if (this.next % this.every === 0) taken.push(this.snapshot());
    }
    return taken;
  }

  private snapshot(): HeldSnapshot {
    const data = `${this.next}:${this.hash.toString(16)}:${'.'.repeat(this.next % 17)}`;
    return { index: this.next, data, crc: fnv(FNV_OFFSET, data) };
  }

  /** Moves to a snapshot; returns the snapshots taken applying the decisions parked above it. */
  restore(s: HeldSnapshot): HeldSnapshot[] {
    const { index, hash } = parseSnapshot(s.data);
    this.next = index;
    this.hash = hash;
    for (const slot of [...this.early.keys()]) if (slot < index) this.early.delete(slot);
    return this.drain();
  }
}

export function parseSnapshot(data: string): { index: Slot; hash: number } {
  const [index, hash] = data.split(':');
  return { index: Number(index), hash: parseInt(hash ?? '', 16) };
}
