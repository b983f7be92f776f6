/**
 * The ballot timeline: recorded from the scripted seed scenario (3 nodes;
 * node 1 coordinates with b1, node 2 with b2 > b1; node 3 hears prepare(b1),
 * then prepare(b2)), it holds each of the scenario's events in order; the
 * bars say who held which ballot and how it ended; the simulator's
 * `--timeline` writes the picture, and refuses what it cannot draw.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TimelineEvent } from '../src/report/ballot-timeline.js';
import { ballotBars, ballotName, timelineSvg } from '../src/report/timeline-svg.js';
import { runCli } from '../src/sim/cli-main.js';
import { B1, B2, recordedSeedScenario } from './support/seed-scenario.js';

const b1 = B1;
const b2 = B2;
const seedScenario = recordedSeedScenario;

/** `step nN kind ballot` (plus the rival or the count), one line per event. */
function line(e: TimelineEvent): string {
  const extra = e.rival !== undefined ? ` by ${ballotName(e.rival)}` : e.count !== undefined ? ` ${e.count}` : e.value !== undefined && e.ballot === 0 ? ` ${e.value}` : '';
  return `${e.at} n${e.node} ${e.kind}${e.ballot === 0 ? '' : ` ${ballotName(e.ballot)}`} s${e.slot}${extra}`;
}

describe('the ballot timeline of the seed scenario', () => {
  it('holds each of its events in order: both prepares, node 3 hears b1 then b2, the promises each coordinator counts, b1 rejected by b2 and retried higher', () => {
    const { net, recorder } = seedScenario();
    expect(net.checker.violations).toEqual([]);
    const events = recorder.data().events.map(line);
    expect(events.slice(0, 21)).toEqual([
      // Step 0: each coordinator prepares, hears its own prepare and promises itself (its acceptor answers in the same step).
      '0 n0 prepare r1.n0 s0', '0 n0 hear r1.n0 s0', '0 n0 promise r1.n0 s0', '0 n0 promises r1.n0 s0 1',
      '0 n1 prepare r1.n1 s0', '0 n1 hear r1.n1 s0', '0 n1 promise r1.n1 s0', '0 n1 promises r1.n1 s0 1',
      // Node 3 hears b1, then b2, and promises each in turn: its promise moves to b2.
      '1 n2 hear r1.n0 s0', '1 n2 promise r1.n0 s0',
      '2 n2 hear r1.n1 s0', '2 n2 promise r1.n1 s0',
      // Each coordinator counts two promises (a majority of 3) for its own ballot, sends Accept and votes for it itself.
      '3 n0 promises r1.n0 s0 2', '3 n0 accept r1.n0 s0', '3 n0 accepted r1.n0 s0',
      '4 n1 promises r1.n1 s0 2', '4 n1 accept r1.n1 s0', '4 n1 accepted r1.n1 s0',
      // b1's accept reaches node 3, which promised b2: rejected, carrying b2; b1's coordinator retries above b2.
      '5 n2 nack r1.n0 s0 by r1.n1',
      '6 n0 preempted r1.n0 s0 by r1.n1', '6 n0 prepare r2.n0 s0',
    ]);
    // Then B is decided in slot 0 and every node learns it, A in slot 1.
    const learned = recorder.data().events.filter((e) => e.kind === 'learn').map((e) => `n${e.node} s${e.slot}=${e.value ?? ''}`);
    expect(new Set(learned)).toEqual(new Set(['n0 s0=B', 'n1 s0=B', 'n2 s0=B', 'n0 s1=A', 'n1 s1=A', 'n2 s1=A']));
    const steps = recorder.data().events.map((e) => e.at);
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
  });

  it('draws b1 pre-empted by b2 after 2 of 2 promises, and b2 decided with B', () => {
    const { recorder } = seedScenario();
    const bars = ballotBars(recorder.data());
    const first = (node: number, ballot: number) => bars.find((b) => b.node === node && b.ballot === ballot && b.slot === 0);
    expect(first(0, b1)).toMatchObject({ start: 0, accepted: 3, end: 6, outcome: 'preempted', rival: b2, promises: 2 });
    expect(first(1, b2)).toMatchObject({ start: 0, accepted: 4, outcome: 'decided', value: 'B', promises: 2 });
    const svg = timelineSvg(recorder.data(), 'the seed scenario');
    expect(svg).toContain('>r1.n0 s0 2/2</text>');
    expect(svg).toContain('>by r1.n1</text>');
    expect(svg).toContain('>r1.n1 s0 2/2</text>');
  });
});

describe('npm run sim -- --timeline', () => {
  async function sim(...args: string[]) {
    let out = '';
    let err = '';
    const code = await runCli(args, { out: (t) => void (out += t), err: (t) => void (err += t) });
    return { code, out, err };
  }

  it('writes the SVG of one seed: a 3-way duel with every proposer holding ballots', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'timeline-')), 'duel.svg');
    const r = await sim('--seed', '3', '--replicas', '5', '--proposers', '3', '--workload', 'burst', '--proposals', '1', '--faults', 'calm', '--latency', 'normal:10ms,2ms', '--timeline', file);
    expect(r.code).toBe(0);
    expect(r.out.split('\n')[0]).toBe(`timeline of seed 3 in ${file}`);
    const svg = readFileSync(file, 'utf8');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    for (const b of ['r1.n0 s0', 'r1.n1 s0', 'r1.n2 s0']) expect(svg).toContain(`>${b} `);
  });

  const refusals: Array<[string[], string]> = [
    [['--timeline', 'x.png'], "sim: --timeline must name an .svg file, got 'x.png'"],
    [['--timeline', '/no/such/dir/x.svg'], 'sim: --timeline: directory /no/such/dir does not exist'],
    [['--timeline', 'x.svg', '--seeds', '5'], 'sim: --timeline draws one run: give one seed (--seed S), not --seeds 5'],
    [['--timeline-point', '1'], 'sim: --timeline-point needs --sweep'],
    [['--sweep', 'jitter=none,full', '--timeline', 'x.svg'], 'sim: --timeline draws one run; in a sweep, name a point with --timeline-point N'],
    [['--sweep', 'jitter=none,full', '--timeline-point', '3'], "sim: --timeline-point must be an integer in 1..2, got '3'"],
    [['--sweep', 'jitter=none,full', '--timeline-seed', '3'], 'sim: --timeline-seed needs --timeline-point'],
  ];
  for (const [args, message] of refusals) {
    it(`refuses ${args.join(' ')}`, async () => {
      const r = await sim(...args);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toBe(`${message}\n`);
    });
  }
});
