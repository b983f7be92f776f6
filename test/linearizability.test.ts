/**
 * The checkers can fail: known non-linearizable histories, a corrupted decided
 * log and a log order that contradicts real time are all flagged; linearizable
 * histories (including unknown outcomes, which may or may not have happened)
 * pass. No workers here: these are pure functions of a history.
 */
import { describe, expect, it } from 'vitest';
import { History } from '../src/verify/history.js';
import { checkLinearizable, type Operation } from '../src/verify/linearizability.js';
import { kvModel, type KvInput, type KvOutput } from '../src/verify/kv-models.js';

const INF = Number.POSITIVE_INFINITY;
let nextId = 0;
const put = (client: number, key: string, value: string, call: number, ret: number): Operation<KvInput, KvOutput> => ({ id: nextId++, client, call, ret, input: { op: 'put', key, value }, output: undefined });
const get = (client: number, key: string, output: string | undefined, call: number, ret: number): Operation<KvInput, KvOutput> => ({ id: nextId++, client, call, ret, input: { op: 'get', key }, output });

describe('Wing-Gong checker on a key-value map', () => {
  it('accepts a sequential history and concurrent ops in either order', () => {
    expect(checkLinearizable(kvModel, [put(0, 'x', '1', 0, 10), get(1, 'x', '1', 20, 30)]).result).toBe('ok');
    // The get overlaps the put: it may read the old or the new value.
    expect(checkLinearizable(kvModel, [put(0, 'x', '1', 0, 10), get(1, 'x', '', 5, 15)]).result).toBe('ok');
    expect(checkLinearizable(kvModel, [put(0, 'x', '1', 0, 10), get(1, 'x', '1', 5, 15)]).result).toBe('ok');
  });

  it('flags a stale read after a completed write', () => {
    const r = checkLinearizable(kvModel, [put(0, 'x', '1', 0, 10), get(1, 'x', '', 20, 30)]);
    expect(r.result).toBe('illegal');
    if (r.result === 'illegal') expect(r.detail).toMatch(/get\(x\) -> ""/);
  });

  it('flags the classic violation: two reads that see two writes in opposite orders', () => {
    // put 1 and put 2 are concurrent; a reads 1 then 2, b (after a's reads) reads 1 again.
    const h = [put(0, 'x', '1', 0, 100), put(1, 'x', '2', 0, 100), get(2, 'x', '2', 110, 120), get(2, 'x', '1', 130, 140)];
    expect(checkLinearizable(kvModel, h).result).toBe('illegal');
    // The same reads inside the writes' window are fine (the writes may land between them).
    const ok = [put(0, 'x', '1', 0, 100), put(1, 'x', '2', 0, 100), get(2, 'x', '2', 10, 20), get(2, 'x', '1', 30, 40)];
    expect(checkLinearizable(kvModel, ok).result).toBe('ok');
  });

  it('treats an unknown put as maybe-applied: seen later, or never', () => {
    expect(checkLinearizable(kvModel, [put(0, 'x', '9', 0, INF), get(1, 'x', '9', 50, 60)]).result).toBe('ok');
    expect(checkLinearizable(kvModel, [put(0, 'x', '9', 0, INF), get(1, 'x', '', 50, 60)]).result).toBe('ok');
    // But not before it was invoked.
    expect(checkLinearizable(kvModel, [get(1, 'x', '9', 0, 5), put(0, 'x', '9', 10, INF)]).result).toBe('illegal');
    // Once seen, it cannot be unseen.
    expect(checkLinearizable(kvModel, [put(0, 'x', '9', 0, INF), get(1, 'x', '9', 50, 60), get(1, 'x', '', 70, 80)]).result).toBe('illegal');
  });

  it('checks keys independently and reports the step budget running out as unknown, not ok', () => {
    const h = [put(0, 'a', '1', 0, 10), put(0, 'b', '2', 0, 10), get(1, 'a', '1', 20, 30), get(1, 'b', '', 20, 30)];
    const r = checkLinearizable(kvModel, h);
    expect(r.result).toBe('illegal');
    if (r.result === 'illegal') expect(r.partition).toBe('b');
    // Many concurrent unknown writes and a read nobody wrote: the bare search cannot finish in 50 steps.
    const wide = [...Array.from({ length: 12 }, (_, k) => put(k, 'z', `v${k}`, 0, INF)), get(99, 'z', 'nobody', 1, 2)];
    const cut = checkLinearizable(kvModel, wide, { maxSteps: 50, prepare: false });
    expect(cut.result).toBe('unknown');
    if (cut.result === 'unknown') expect(cut.detail).toBe('partition z (13 ops) not decided: the 50 step budget ran out after 50 steps and ' + cut.detail.split(' steps and ')[1]);
    expect(checkLinearizable(kvModel, wide, { prepare: false }).result).toBe('illegal');
    // The model's preparation proves it at once: no put wrote 'nobody'.
    const direct = checkLinearizable(kvModel, wide, { maxSteps: 50 });
    expect(direct.result).toBe('illegal');
    if (direct.result === 'illegal') expect(direct.detail).toMatch(/^partition z \(13 ops\) is not linearizable: op \d+ client 99 get\(z\) -> "nobody" \[1\.00, 2\.00\] ms reads a value no put wrote$/);
  });
});

describe('History checks (what a chaos run records)', () => {
  /** A clean 3-replica run: puts and gets on one key, every replica applies the same log. */
  function cleanRun(): History {
    let t = 0;
    const h = new History(3, () => t);
    const ops: KvInput[] = [
      { op: 'put', key: 'k', value: 'a' },
      { op: 'get', key: 'k' },
      { op: 'put', key: 'k', value: 'b' },
      { op: 'get', key: 'k' },
    ];
    ops.forEach((input, slot) => {
      t = slot * 10;
      const r = h.invoke(0, input);
      const requestId = `req${slot}`;
      const payload = input.op === 'put' ? `p|k|${input.value}` : 'g|k';
      for (let i = 0; i < 3; i++) h.decided(i, slot, requestId, payload);
      t += 5;
      h.ok(r, { slot, replica: slot % 3, requestId });
    });
    return h;
  }

  it('a clean run passes every check', () => {
    const h = cleanRun();
    h.checkAgreement();
    h.checkRealTime();
    expect(h.checkLinearizable().result).toBe('ok');
    expect(h.violations).toEqual([]);
    expect([...h.readResults().values()]).toEqual(['a', 'b']);
  });

  it('a corrupted decided log on one replica is flagged (agreement), and a read served from it (linearizability)', () => {
    const h = cleanRun();
    // Replica 1 (which answered the get in slot 1) "applied" another value in slot 0.
    (h.applied[1] as Map<number, string>).set(0, 'reqX:p|k|zzz');
    h.checkAgreement();
    expect(h.violations.some((v) => v.check === 'agreement' && v.detail.includes('slot 0'))).toBe(true);
    expect(h.checkLinearizable().result).toBe('illegal');
    expect(h.violations.some((v) => v.check === 'linearizable')).toBe(true);
  });

  // Found with `npm run chaos -- --snapshot-every 5 --retain 3`: a replica that caught up by snapshot applied the
  // slots inside it with no 'decided' event each, and its gets were read from a log missing a put (a false violation).
  it('a get answered by a replica that caught up by snapshot is read with the slots it did not report taken from the others', () => {
    let t = 0;
    const h = new History(3, () => t);
    const put = (slot: number, value: string, reporters: number[]): void => {
      const r = h.invoke(0, { op: 'put', key: 'k', value });
      for (const i of reporters) h.decided(i, slot, `p${slot}`, `p|k|${value}`);
      t += 5;
      h.ok(r, { slot, replica: reporters[0] as number, requestId: `p${slot}` });
      t += 5;
    };
    put(0, 'a', [0, 1, 2]);
    put(1, 'b', [0, 1]); // replica 2 installed a snapshot covering slot 1: no event from it
    const g = h.invoke(1, { op: 'get', key: 'k' });
    for (const i of [0, 1, 2]) h.decided(i, 2, 'g2', 'g|k');
    t += 5;
    h.ok(g, { slot: 2, replica: 2, requestId: 'g2' });
    h.checkAgreement([{ replica: 2, from: 2, values: ['g2:g|k'] }]);
    expect(h.readResults().get(g.id)).toBe('b');
    expect(h.checkLinearizable().result).toBe('ok');
    expect(h.violations).toEqual([]);
  });

  it('a retried put decided twice counts once, at its first copy, when slots come from the raw logs (as the applier dedupes)', () => {
    let t = 0;
    const h = new History(3, () => t);
    const a = h.invoke(0, { op: 'put', key: 'k', value: 'a' });
    h.decided(0, 0, 'p0', 'p|k|a');
    t += 5;
    h.ok(a, { slot: 0, replica: 0, requestId: 'p0' });
    const b = h.invoke(1, { op: 'put', key: 'k', value: 'b' });
    h.decided(0, 1, 'p1', 'p|k|b');
    t += 5;
    h.ok(b, { slot: 1, replica: 0, requestId: 'p1' });
    // Slot 2 holds a second copy of p0 (its retry): not applied, so no event; replica 2 reported nothing below 3.
    const g = h.invoke(2, { op: 'get', key: 'k' });
    h.decided(2, 3, 'g3', 'g|k');
    t += 5;
    h.ok(g, { slot: 3, replica: 2, requestId: 'g3' });
    h.checkAgreement([{ replica: 1, from: 0, values: ['p0:p|k|a', 'p1:p|k|b', 'p0:p|k|a', 'g3:g|k'] }]);
    expect(h.readResults().get(g.id)).toBe('b');
    expect(h.checkLinearizable().result).toBe('ok');
    expect(h.violations).toEqual([]);
  });

  it('a get with a slot below it that no replica reported is left out of the check, not read from a partial log', () => {
    let t = 0;
    const h = new History(3, () => t);
    const p = h.invoke(0, { op: 'put', key: 'k', value: 'a' });
    for (const i of [0, 1, 2]) h.decided(i, 0, 'p0', 'p|k|a');
    t += 5;
    h.ok(p, { slot: 0, replica: 0, requestId: 'p0' });
    // Slot 1 (a put of 'b', acknowledged) is inside every replica's snapshot and in no final log.
    const q = h.invoke(0, { op: 'put', key: 'k', value: 'b' });
    t += 5;
    h.ok(q, { slot: 1, replica: 0, requestId: 'p1' });
    const g = h.invoke(1, { op: 'get', key: 'k' });
    for (const i of [0, 1, 2]) h.decided(i, 2, 'g2', 'g|k');
    t += 5;
    h.ok(g, { slot: 2, replica: 1, requestId: 'g2' });
    expect(h.readResults().has(g.id)).toBe(false);
    expect(h.checkLinearizable().result).toBe('ok');
  });

  it('a replica whose slot changes value (lost decision across a restart) is flagged at once', () => {
    const h = cleanRun();
    h.decided(2, 2, 'other', 'p|k|c');
    expect(h.violations[0]?.check).toBe('agreement');
  });

  it('an acknowledged op missing from the final logs is flagged (durable)', () => {
    const h = cleanRun();
    h.checkAgreement([{ replica: 0, from: 0, values: ['req0:p|k|a', 'req1:g|k', '', 'req3:g|k'] }]);
    expect(h.violations.some((v) => v.check === 'durable' && v.detail.includes('slot 2'))).toBe(true);
  });

  it('a log order that contradicts real time is flagged', () => {
    let t = 0;
    const h = new History(1, () => t);
    const a = h.invoke(0, { op: 'put', key: 'k', value: '1' });
    t = 5;
    h.ok(a, { slot: 7, replica: 0, requestId: 'a' });
    t = 10;
    const b = h.invoke(1, { op: 'put', key: 'k', value: '2' });
    t = 15;
    h.ok(b, { slot: 3, replica: 0, requestId: 'b' });
    h.checkRealTime();
    expect(h.violations.map((v) => v.check)).toEqual(['real-time']);
  });
});
