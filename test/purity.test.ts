/**
 * The protocol core and the contention policies are pure state machines
 * (README, "Architecture"): no clock, no random source, no timer and no I/O
 * of their own; the driver injects time and randomness. This test reads every
 * file of src/paxos and src/contention and fails on any of those, and is shown
 * to fail on planted ones.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const FORBIDDEN: [RegExp, string][] = [
  [/\bDate\.now\b|\bnew Date\(/, 'reads the wall clock'],
  [/\bperformance\.now\b|\bprocess\.hrtime\b/, 'reads a clock'],
  [/\bMath\.random\b|\bcrypto\.|\brandomUUID\b/, 'draws its own randomness'],
  [/\bset(Timeout|Interval|Immediate)\b|\bqueueMicrotask\b/, 'schedules its own timer'],
  [/from ['"]node:|require\(|\bprocess\./, 'touches the process or I/O'],
];

/** Each forbidden use in one file's source, one line each. */
export function impurities(file: string, source: string): string[] {
  const out: string[] = [];
  source.split('\n').forEach((line, k) => {
    const code = line.replace(/\/\/.*$|^\s*\*.*$|\/\*.*?\*\//g, '');
    for (const [re, why] of FORBIDDEN) if (re.test(code)) out.push(`${file}:${k + 1} ${why}: ${line.trim()}`);
  });
  return out;
}

describe('the core and the policies are pure', () => {
  it('no clock, random source, timer or I/O in src/paxos and src/contention', () => {
    const found: string[] = [];
    let files = 0;
    for (const dir of ['src/paxos', 'src/contention']) {
      for (const f of readdirSync(dir).filter((x) => x.endsWith('.ts'))) {
        files++;
        found.push(...impurities(join(dir, f), readFileSync(join(dir, f), 'utf8')));
      }
    }
    expect(found).toEqual([]);
    // Not vacuous: the folders were read (the count moves as the core is split into files).
    expect(files).toBeGreaterThanOrEqual(15);
  });

  it('fails on each planted impurity, and ignores the words in comments', () => {
    const planted = ['const t = Date.now();', 'const r = Math.random();', 'setTimeout(f, 5);', "import { readFileSync } from 'node:fs';", 'const s = performance.now();'];
    expect(planted.map((l) => impurities('x.ts', l).length)).toEqual([1, 1, 1, 1, 1]);
    expect(impurities('x.ts', '// no Date.now here\n * nor Math.random in a doc comment')).toEqual([]);
  });
});
