/**
 * What a chaos run records and how it is checked.
 *
 * Every client operation is recorded at invocation and at its outcome: ok
 * (with the slot it was decided in, the replica that answered and the request
 * id), or unknown (timeout, replica down, overload after a retry: it may or
 * may not have taken effect). Every replica's applied decisions are recorded
 * from the cluster's 'decided' events. The log is used as a key-value map:
 * a put is a log entry `p|key|value`; a get is a log entry `g|key` whose result
 * is the map's value for `key` just before the get's slot, in the log (the
 * same on every replica, by agreement; the replicas' applied slots are merged,
 * since one that caught up by snapshot applied the slots inside it without a
 * 'decided' event for each). A get with a slot below it that no replica
 * reported has no result the log can give, and is left out of the check.
 * With a state machine (examples/kv.ts, `kv`), a put is its JSON command and a
 * get is a read, not in the log: its result is the answer the read returned.
 *
 * Checks (each violation one line):
 * - agreement:   no two replicas applied different values in one slot, and no
 *                replica's slot changed value (across its crash and restart).
 * - durable:     every acknowledged operation is in the final logs at its slot.
 * - real-time:   log order respects real time (A answered before B was
 *                invoked => slot(A) < slot(B)).
 * - linearizable: the history of puts and gets, per key (see linearizability.ts).
 */
import { checkLinearizable, type CheckOptions, type CheckResult, type Operation } from './linearizability.js';
import { kvModel, type KvInput, type KvOutput } from './kv-models.js';

export interface OpRecord {
  id: number;
  client: number;
  input: KvInput;
  call: number;
  /** +Infinity while pending or when the outcome is unknown. */
  ret: number;
  status: 'pending' | 'ok' | 'unknown';
  slot: number;
  replica: number;
  requestId: string;
  /** Why it is unknown (the error's first line). */
  reason: string;
  /** A get answered by a read (not through the log): what it returned. Null otherwise. */
  answer: string | null;
}

/** The command a put or get replicates: `p|key|value` / `g|key` in the log, or the KV state machine's JSON (`kv`). */
export function encodeOp(i: KvInput, kv = false): string {
  if (kv) return JSON.stringify(i.op === 'put' ? { op: 'put', key: i.key, value: i.value } : { op: 'get', key: i.key });
  return i.op === 'put' ? `p|${i.key}|${i.value}` : `g|${i.key}`;
}

export function decodeOp(payload: string): KvInput | null {
  if (payload.startsWith('{')) {
    try {
      const c = JSON.parse(payload) as { op?: unknown; key?: unknown; value?: unknown };
      if (c.op === 'put' && typeof c.key === 'string' && typeof c.value === 'string') return { op: 'put', key: c.key, value: c.value };
    } catch {
      return null;
    }
    return null;
  }
  const [k, key, value] = payload.split('|');
  if (k === 'p' && key !== undefined && value !== undefined) return { op: 'put', key, value };
  if (k === 'g' && key !== undefined) return { op: 'get', key };
  return null;
}

export interface Violation {
  check: 'agreement' | 'durable' | 'real-time' | 'linearizable';
  detail: string;
}

/** Bounded: a broken run stops recording violations past this many (it is already failed). */
const MAX_VIOLATIONS = 50;

export class History {
  readonly ops: OpRecord[] = [];
  /** Per replica: slot -> `requestId:payload` as applied (no-ops and duplicates are not applied). */
  readonly applied: Map<number, string>[];
  /** The final raw logs, merged (checkAgreement records them): slot -> raw value, '' for a no-op. */
  private readonly finalRaw = new Map<number, string>();
  readonly violations: Violation[] = [];
  private violationCount = 0;

  constructor(
    readonly replicas: number,
    private readonly now: () => number = () => performance.now(),
    /** Puts are the KV state machine's JSON commands (gets are then reads, see OpRecord.answer). */
    private readonly kv = false,
  ) {
    this.applied = Array.from({ length: replicas }, () => new Map());
  }

  get violationTotal(): number {
    return this.violationCount;
  }

  violation(check: Violation['check'], detail: string): void {
    this.violationCount++;
    if (this.violations.length < MAX_VIOLATIONS) this.violations.push({ check, detail });
  }

  invoke(client: number, input: KvInput): OpRecord {
    const r: OpRecord = { id: this.ops.length, client, input, call: this.now(), ret: Number.POSITIVE_INFINITY, status: 'pending', slot: -1, replica: -1, requestId: '', reason: '', answer: null };
    this.ops.push(r);
    return r;
  }

  ok(r: OpRecord, res: { slot: number; replica: number; requestId: string }): void {
    r.ret = this.now();
    r.status = 'ok';
    r.slot = res.slot;
    r.replica = res.replica;
    r.requestId = res.requestId;
  }

  /** A get answered by a read: not in the log (no slot), its result is the answer. */
  read(r: OpRecord, replica: number, answer: string): void {
    r.ret = this.now();
    r.status = 'ok';
    r.replica = replica;
    r.answer = answer;
  }

  unknown(r: OpRecord, e: unknown): void {
    r.status = 'unknown';
    r.reason = (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
  }

  /** A replica applied `requestId:payload` in `slot` (the 'decided' event). A changed slot is a violation at once. */
  decided(replica: number, slot: number, requestId: string, payload: string): void {
    const m = this.applied[replica];
    if (m === undefined) return;
    const v = `${requestId}:${payload}`;
    const before = m.get(slot);
    if (before === undefined) m.set(slot, v);
    else if (before !== v) this.violation('agreement', `replica ${replica} applied slot ${slot} twice with different values: ${JSON.stringify(before)} then ${JSON.stringify(v)}`);
  }

  /** Compares every replica's applied values slot by slot (and final raw logs, which include no-ops). */
  checkAgreement(finalLogs: ReadonlyArray<{ replica: number; from: number; values: readonly string[] } | null> = []): void {
    const ref = new Map<number, { v: string; replica: number }>();
    this.applied.forEach((m, replica) => {
      for (const [slot, v] of m) {
        const r = ref.get(slot);
        if (r === undefined) ref.set(slot, { v, replica });
        else if (r.v !== v) this.violation('agreement', `slot ${slot}: replica ${r.replica} applied ${JSON.stringify(r.v)}, replica ${replica} ${JSON.stringify(v)}`);
      }
    });
    const raw = new Map<number, { v: string; replica: number }>();
    for (const l of finalLogs) {
      if (l === null) continue;
      l.values.forEach((v, k) => {
        const slot = l.from + k;
        const r = raw.get(slot);
        if (!this.finalRaw.has(slot)) this.finalRaw.set(slot, v);
        if (r === undefined) raw.set(slot, { v, replica: l.replica });
        else if (r.v !== v) this.violation('agreement', `slot ${slot}: replica ${r.replica}'s decided log has ${JSON.stringify(r.v)}, replica ${l.replica}'s ${JSON.stringify(v)}`);
      });
    }
    // An acknowledged op must be in the final logs, at the slot it was acknowledged with.
    for (const o of this.ops) {
      if (o.status !== 'ok' || o.answer !== null) continue;
      const want = `${o.requestId}:${encodeOp(o.input, this.kv)}`;
      const got = raw.get(o.slot)?.v ?? ref.get(o.slot)?.v;
      if (got !== undefined && got !== want) this.violation('durable', `op ${o.id} was acknowledged in slot ${o.slot} but the log has ${JSON.stringify(got)} there`);
      if (got === undefined && raw.size > 0) this.violation('durable', `op ${o.id} was acknowledged in slot ${o.slot} but no final log holds that slot`);
    }
  }

  /** A answered before B was invoked => slot(A) < slot(B). */
  checkRealTime(): void {
    // Reads answered outside the log have no slot: the linearizability check covers them.
    const ok = this.ops.filter((o) => o.status === 'ok' && o.answer === null).sort((a, b) => a.slot - b.slot);
    let minRet = Number.POSITIVE_INFINITY;
    let minOp: OpRecord | null = null;
    for (let i = ok.length - 1; i >= 0; i--) {
      const b = ok[i] as OpRecord;
      if (minOp !== null && minRet < b.call && minOp.slot > b.slot) {
        this.violation('real-time', `op ${minOp.id} answered (slot ${minOp.slot}) before op ${b.id} was invoked, yet op ${b.id} has the earlier slot ${b.slot}`);
      }
      if (b.ret < minRet) {
        minRet = b.ret;
        minOp = b;
      }
    }
    for (let i = 1; i < ok.length; i++) {
      const a = ok[i - 1] as OpRecord, b = ok[i] as OpRecord;
      if (a.slot === b.slot && a.requestId !== b.requestId) this.violation('agreement', `ops ${a.id} and ${b.id} were both acknowledged in slot ${a.slot}`);
    }
  }

  /**
   * Each ok get's result: the value of its key before its slot in the log of
   * the replica that answered (what its client would read), with the slots it
   * did not report (applied inside a snapshot it installed, or no-ops) taken
   * from the other replicas and the final raw logs. A get with a slot below it
   * (from the first one known) that nobody reported is left out: its result
   * is unknown.
   */
  readResults(): Map<number, string> {
    const out = new Map<number, string>();
    // Applied commands of every replica, and the final raw logs (which also hold no-op slots, as '').
    const merged = new Map<number, string>();
    for (const m of this.applied) for (const [slot, v] of m) if (!merged.has(slot)) merged.set(slot, v);
    for (const [slot, v] of this.finalRaw) if (!merged.has(slot)) merged.set(slot, v);
    const byReplica = new Map<number, OpRecord[]>();
    for (const o of this.ops) {
      if (o.status !== 'ok' || o.input.op !== 'get' || o.answer !== null) continue;
      const l = byReplica.get(o.replica);
      if (l === undefined) byReplica.set(o.replica, [o]);
      else l.push(o);
    }
    for (const [replica, gets] of byReplica) {
      gets.sort((a, b) => a.slot - b.slot);
      const own = new Map(merged);
      for (const [slot, v] of this.applied[replica] ?? []) own.set(slot, v);
      const entries = [...own].sort((a, b) => a[0] - b[0]);
      const map = new Map<string, string>();
      // The raw logs hold a retried request's later copies too: like the applier, only its first copy counts.
      const seen = new Set<string>();
      let e = 0;
      let complete = true;
      let last = -1;
      for (const g of gets) {
        for (; e < entries.length && (entries[e] as [number, string])[0] < g.slot; e++) {
          const [slot, v] = entries[e] as [number, string];
          if (e > 0 && slot !== last + 1) complete = false;
          last = slot;
          const colon = v.indexOf(':');
          if (colon <= 0) continue;
          const requestId = v.slice(0, colon);
          if (seen.has(requestId)) continue;
          seen.add(requestId);
          const op = decodeOp(v.slice(colon + 1));
          if (op?.op === 'put') map.set(op.key, op.value);
        }
        // Every slot from the first known one up to the get's must be known.
        if (complete && (e === 0 || last === g.slot - 1)) out.set(g.id, map.get(g.input.key) ?? '');
      }
    }
    return out;
  }

  /** The Wing-Gong check of the whole history (unknown gets are left out: they changed nothing). */
  checkLinearizable(opts: CheckOptions = {}): CheckResult {
    const reads = this.readResults();
    const ops: Operation<KvInput, KvOutput>[] = [];
    for (const o of this.ops) {
      if (o.status !== 'ok' && o.input.op === 'get') continue;
      // A get through the log whose result the merged log cannot give (a gap below it) changed nothing: left out.
      if (o.status === 'ok' && o.input.op === 'get' && o.answer === null && !reads.has(o.id)) continue;
      const known = o.status === 'ok';
      const output = known && o.input.op === 'get' ? (o.answer ?? reads.get(o.id)) : undefined;
      ops.push({ id: o.id, client: o.client, call: o.call, ret: known ? o.ret : Number.POSITIVE_INFINITY, input: o.input, output });
    }
    const r = checkLinearizable(kvModel, ops, opts);
    if (r.result === 'illegal') this.violation('linearizable', r.detail);
    return r;
  }

  summary(): { ops: number; ok: number; unknown: number; pending: number } {
    let ok = 0, unknown = 0, pending = 0;
    for (const o of this.ops) {
      if (o.status === 'ok') ok++;
      else if (o.status === 'unknown') unknown++;
      else pending++;
    }
    return { ops: this.ops.length, ok, unknown, pending };
  }
}
