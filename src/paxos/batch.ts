/**
 * Command batching: a stable leader packs several client commands into the
 * value of one slot, so commands/s can far exceed slots/s. The protocol still
 * sees one opaque value per slot; the leader (requeueing), the learner side
 * (releasing what it owed) and the applier (applying each command once, in
 * order) look inside.
 *
 * Encoding: `\x01` + the count + `\x01` + each command's length + `\x01` ...
 * then the commands back to back. Client commands never start with `\x01`
 * (the cluster refuses such ids), so a batch is never taken for a command.
 * Length-prefixed rather than JSON: splitting is a few `slice`s, with no
 * escaping of the payloads.
 */
import type { Value } from './messages.js';

export const BATCH_MARK = '\x01';

export function isBatch(v: Value): boolean {
  return v.charCodeAt(0) === 1;
}

/** One slot value for `commands` (a single command stays as it is: no overhead when nothing is batched). */
export function encodeBatch(commands: readonly Value[]): Value {
  if (commands.length === 1) return commands[0] as Value;
  // One Array.join, so the value is one flat string: a string built by `+=` is a tree of parts (a V8 cons
  // string) that every structured clone (the Accept to each follower) walks again.
  const parts: (string | number)[] = new Array<string | number>(commands.length + 3);
  parts[0] = '';
  parts[1] = commands.length;
  for (let i = 0; i < commands.length; i++) parts[i + 2] = (commands[i] as Value).length;
  parts[commands.length + 2] = commands.join('');
  return parts.join(BATCH_MARK);
}

/** Bytes `encodeBatch` adds for a batch of `count` commands of at most `maxLength` characters each. */
export function batchOverhead(count: number, maxLength: number): number {
  return 2 + String(count).length + count * (1 + String(maxLength).length);
}

/**
 * The commands in a slot value: the value itself unless it is a batch; null
 * for a batch that does not parse (a corrupt value is never split into
 * made-up commands). The last answer is remembered: one decided batch is
 * read by the leader, the applier and the benchmark's meter in turn (so the
 * returned array is shared: callers must not change it).
 */
export function commandsOf(v: Value): Value[] | null {
  if (!isBatch(v)) return [v];
  if (v === memoValue) return memoCommands;
  const commands = parseBatch(v);
  memoValue = v;
  memoCommands = commands;
  return commands;
}

let memoValue: Value | null = null;
let memoCommands: Value[] | null = null;

const MARK = 1;
const ZERO = 48;

function parseBatch(v: Value): Value[] | null {
  let at = 1;
  /** A decimal field up to the next mark (at most 9 digits), or -1. */
  const field = (): number => {
    let n = 0;
    let digits = 0;
    for (; at < v.length; at++) {
      const c = v.charCodeAt(at);
      if (c === MARK) break;
      const d = c - ZERO;
      if (d < 0 || d > 9 || ++digits > 9) return -1;
      n = n * 10 + d;
    }
    if (digits === 0 || at >= v.length) return -1;
    at++; // the mark
    return n;
  };
  const count = field();
  if (count < 2) return null;
  const lengths: number[] = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    const len = field();
    if (len < 0) return null;
    lengths[i] = len;
  }
  const out: Value[] = new Array<Value>(count);
  for (let i = 0; i < count; i++) {
    const len = lengths[i] as number;
    if (at + len > v.length) return null;
    out[i] = v.slice(at, at + len);
    at += len;
  }
  return at === v.length ? out : null;
}
