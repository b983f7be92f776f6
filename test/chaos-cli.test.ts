/**
 * `npm run chaos`: every bad flag is refused with one line and exit 2 before
 * any worker starts; a round whose linearizability check runs out of budget
 * is printed with the check's reason and fails the run, unless
 * `--allow-unknown` accepts it (and the output says so).
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

function chaos(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/chaos/cli.ts', ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('chaos CLI', () => {
  const BAD: [string[], RegExp][] = [
    [['--minutes', '0'], /--minutes must be a number in \(0, 1440\], got '0'/],
    [['--minutes', '1', '--seconds', '3'], /give --minutes or --seconds, not both/],
    [['--seconds', 'x'], /--seconds must be an integer in 1\.\.86400, got 'x'/],
    [['--round', '5'], /--round must be a duration like 200ms, 5s or 2m, got '5' \(a bare number is refused: say the unit\)/],
    [['--round', '100ms'], /--round must be at least 500ms, got '100ms'/],
    [['--replicas', '2'], /--replicas must be an integer in 3\.\.9, got '2'/],
    [['--policy', 'nope'], /--policy: unknown policy 'nope'/],
    [['--storage', 'disk'], /--storage must be file or memory, got 'disk'/],
    [['--fsync', 'never'], /--fsync must be batch or always, got 'never'/],
    [['--clients', '0'], /--clients must be an integer in 1\.\.256, got '0'/],
    [['--keys', 'x'], /--keys must be an integer in 1\.\.1000, got 'x'/],
    [['--drop', '150%'], /--drop must be a probability like 5% or 0\.05, got '150%'/],
    [['--delay', '5-1ms'], /--delay: the range's low end is above its high end \('5-1ms'\)/],
    [['--storage', 'memory', '--crash-every', '1s'], /--crash-every needs --storage file/],
    [['--lin-time', '5'], /--lin-time must be a duration like 200ms, 5s or 2m, got '5'/],
    [['--lin-steps', '0'], /--lin-steps must be an integer in 1\.\.1000000000, got '0'/],
    [['--bug', 'nope'], /--bug must be one of quorumOneTooSmall, acceptBelowPromise, proposeArbitraryValue, reuseBallotAfterRestart, skipPersistPromise, leaseIgnoresBallot, leaseReadWhileNotLeading, leaseReadBeforeRecovered, promiseForgotten, got 'nope'/],
    [['--snapshot-every', 'x'], /--snapshot-every must be an integer in 0\.\.1000000000, got 'x'/],
    [['--retain', '0'], /--retain must be an integer in 1\.\.1048576, got '0'/],
    [['--frobnicate'], /Unknown option '--frobnicate'/],
    [['stray'], /unexpected argument 'stray'/],
  ];
  for (const [args, reason] of BAD) {
    it(`refuses ${args.join(' ')}: one line, exit 2, nothing started`, () => {
      const r = chaos(...args);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      const lines = r.err.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^chaos: /);
      expect(lines[0]).toMatch(reason);
    });
  }

  // A zero time bound: the check reaches no key (the zones would decide these register keys without a step).
  const QUICK = ['--seconds', '1', '--round', '1s', '--policy', 'leader', '--storage', 'memory', '--lin-time', '0'];

  it('a round the check could not decide is printed with its reason and fails the run', () => {
    const r = chaos(...QUICK);
    expect(r.err).toBe('');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^round {3}1 leader .* lin unknown violations 0 /m);
    expect(r.out).toMatch(/^ {2}linearizability unknown: partition r0k\d \(\d+ ops\) not checked: the 0 ms time bound ran out first; 2 more partition\(s\) not checked for lack of time$/m);
    expect(r.out).toContain('\nFAIL: 1 round(s) not proven linearizable (the check ran out of budget); raise --lin-time or --lin-steps, or pass --allow-unknown to accept\n');
  });

  it('a planted bug (a quorum one too small) is reported line by line and the run exits 1', () => {
    const r = chaos('--seconds', '1', '--round', '1s', '--policy', 'immediate', '--storage', 'memory', '--bug', 'quorumOneTooSmall', '--partition-every', '300ms');
    expect(r.err).toBe('');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^VIOLATION immediate round 1: (agreement|durable|real-time|linearizable): /m);
    expect(r.out).not.toMatch(/, violations 0, /);
  });

  it('--snapshot-every and --retain put snapshots under the faults, and the summary counts them', () => {
    const r = chaos('--seconds', '3', '--round', '3s', '--policy', 'leader', '--storage', 'memory', '--snapshot-every', '5', '--retain', '3', '--partition-every', '1s');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('; snapshot every 5 commands; retain 3 slots; ');
    const m = /^ {2}leader: snapshots taken (\d+), installed from a peer (\d+), log compactions (\d+) \(live replicas, since their last start\)$/m.exec(r.out);
    expect(m).not.toBeNull();
    // Every replica applied hundreds of commands: each took a snapshot every 5 of them.
    expect(Number(m?.[1])).toBeGreaterThan(30);
    expect(r.out).toMatch(/, violations 0, core conflicts 0, rounds not fully checked 0\n/);
  });

  it('--allow-unknown accepts it, and says so', () => {
    const r = chaos(...QUICK, '--allow-unknown');
    expect(r.code).toBe(0);
    expect(r.out).toContain('\n1 round(s) not proven linearizable (the check ran out of budget): accepted by --allow-unknown\n');
  });
});
