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
  let head = `${BATCH_MARK}${commands.length}`;
  for (const c of commands) head += `${BATCH_MARK}${c.length}`;
  return `${head}${BATCH_MARK}${commands.join('')}`;
}

/** Bytes `encodeBatch` adds for a batch of `count` commands of at most `maxLength` characters each. */
export function batchOverhead(count: number, maxLength: number): number {
  return 2 + String(count).length + count * (1 + String(maxLength).length);
}

/**
 * The commands in a slot value: the value itself unless it is a batch; null
 * for a batch that does not parse (a corrupt value is never split into
 * made-up commands).
 */
export function commandsOf(v: Value): Value[] | null {
  if (!isBatch(v)) return [v];
  let at = 1;
  const field = (): number => {
    const end = v.indexOf(BATCH_MARK, at);
    if (end < 0) return -1;
    const text = v.slice(at, end);
    at = end + 1;
    return /^\d{1,9}$/.test(text) ? Number(text) : -1;
  };
  const count = field();
  if (count < 2) return null;
  const lengths: number[] = [];
  for (let i = 0; i < count; i++) {
    const len = field();
    if (len < 0) return null;
    lengths.push(len);
  }
  const out: Value[] = [];
  for (const len of lengths) {
    if (at + len > v.length) return null;
    out.push(v.slice(at, at + len));
    at += len;
  }
  return at === v.length ? out : null;
}
