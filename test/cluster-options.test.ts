/**
 * Options are checked before anything starts: an absurd size or a misspelt
 * key anywhere is refused synchronously (the promise Cluster.start returns is
 * already rejected, so no worker can have started), with one line that gives
 * the bound and why. And the client queue does not print listener warnings
 * with 1,000 proposals outstanding.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Cluster, type ClusterOptions } from '../src/cluster/index.js';
import { liveWorkers } from '../src/cluster/member.js';

afterAll(() => {
  expect(liveWorkers()).toBe(0);
});

const dir = mkdtempSync(join(tmpdir(), 'synod-opts-'));
const TOP = 'replicas, runtime, storage, policy, policyParams, seed, tuning, mailboxCapacity, maxInFlight, maxQueued, timeout_ms, retries, observe, faults, decisionsDir, batch, stateMachine, snapshotEvery, youngGeneration_mb';
const PARAMS = 'delay_ms, base_ms, cap_ms, multiplier, jitter, heartbeat_ms, election_timeout_ms, lease_ms, drift_ms, window, after_lost_slot';
const LINK = 'drop, delay_ms, duplicate, reorder';

const REFUSED: [string, object, string][] = [
  ['a thousand replicas', { replicas: 1000 }, 'replicas must be an integer in 1..64, got 1000 (each replica is a worker thread of about 10-40 MB in a full mesh of n(n-1)/2 channels: 1000 would need 10-40 GB and 499500 channels)'],
  ['65 replicas', { replicas: 65 }, 'replicas must be an integer in 1..64, got 65 (each replica is a worker thread of about 10-40 MB in a full mesh of n(n-1)/2 channels: 65 would need 1-3 GB and 2080 channels)'],
  ['an unknown top-level key', { replicas: 3, replica: 5 }, `unknown option 'replica' (expected one of ${TOP})`],
  ['an unknown tuning key', { replicas: 3, tuning: { attemptTimeout: 5 } }, "unknown option 'attemptTimeout' in tuning (expected one of attemptTimeout_ms, sync_ms, maxPending, retainDecided, retainDecided_chars, batchMax, batchDelay_ms, snapshotChunk_chars, bugs)"],
  ['an unknown planted bug', { replicas: 3, tuning: { bugs: { quorumTooSmall: true } } }, "unknown option 'quorumTooSmall' in tuning.bugs (expected one of quorumOneTooSmall, acceptBelowPromise, proposeArbitraryValue, reuseBallotAfterRestart, skipPersistPromise, leaseIgnoresBallot, leaseReadWhileNotLeading, leaseReadBeforeRecovered, promiseForgotten)"],
  ['an unknown storage key', { replicas: 3, storage: { dir, fsnyc: 'always' } }, "unknown option 'fsnyc' in storage (expected one of dir, fsync, fault)"],
  ['an unknown fault key', { replicas: 3, faults: { dorp: 0.1 } }, `unknown option 'dorp' in faults (expected one of ${LINK}, links)`],
  ['an unknown per-link fault key', { replicas: 3, faults: { links: [{ from: 0, to: 1, dealy_ms: [1, 2] }] } }, `unknown option 'dealy_ms' in faults.links[0] (expected one of ${LINK}, from, to)`],
  ['an unknown policy parameter', { replicas: 3, policyParams: { windw: 4 } }, `unknown option 'windw' in policyParams (expected one of ${PARAMS})`],
  ['an unknown key in a policy spec', { replicas: 3, policy: { name: 'leader', params: {}, extra: 1 } }, "unknown option 'extra' in policy (expected one of name, params)"],
  ['an unknown parameter in a policy spec', { replicas: 3, policy: { name: 'leader', params: { windw: 2 } } }, `unknown option 'windw' in policy.params (expected one of ${PARAMS})`],
  ['a 16M mailbox', { replicas: 3, mailboxCapacity: 1 << 24 }, 'mailboxCapacity must be an integer in 16..1048576, got 16777216 (a full mailbox holds ~100 bytes per message: the cap is ~110 MiB per replica)'],
  ['a 16M client queue', { replicas: 3, maxQueued: 1 << 24 }, 'maxQueued must be an integer in 0..1048576, got 16777216 (a waiting proposal holds ~300 bytes besides its value: the cap is ~300 MiB)'],
  ['a million in flight', { replicas: 3, maxInFlight: 1 << 20 }, 'maxInFlight must be an integer in 1..65536, got 1048576 (each holds a timer and an entry in the client and in its replica)'],
  ['a billion pending proposals per replica', { replicas: 3, tuning: { maxPending: 1e9 } }, 'tuning.maxPending must be an integer in 1..1048576, got 1000000000 (a table of that many entries per replica)'],
  ['2^24 decided values kept', { replicas: 3, tuning: { retainDecided: 2 ** 24 } }, 'tuning.retainDecided must be an integer in 1..1048576, got 16777216 (a table of that many entries per replica)'],
  ['2^33 characters of decided values kept', { replicas: 3, tuning: { retainDecided_chars: 2 ** 33 } }, 'tuning.retainDecided_chars must be an integer in 1..4294967296, got 8589934592 (characters of decided values held per replica)'],
  ['a fractional character budget', { replicas: 3, tuning: { retainDecided_chars: 0.5 } }, 'tuning.retainDecided_chars must be an integer in 1..4294967296, got 0.5 (characters of decided values held per replica)'],
  ['a negative snapshot interval', { replicas: 3, snapshotEvery: -1 }, 'snapshotEvery must be an integer in 0..1073741824, got -1'],
  ['a snapshot chunk of 16 MiB', { replicas: 3, tuning: { snapshotChunk_chars: 1 << 24 } }, 'tuning.snapshotChunk_chars must be an integer in 1..1048576, got 16777216 (one chunk is one message)'],
  ['an attempt timeout of four months', { replicas: 3, tuning: { attemptTimeout_ms: 1e10 } }, 'tuning.attemptTimeout_ms must be a number of ms in (0, 3600000], got 10000000000'],
  ['observe as a string', { replicas: 3, observe: 'yes' }, 'observe must be true or false, got "yes"'],
  ['a young generation of 8 GiB', { replicas: 3, youngGeneration_mb: 8192 }, 'youngGeneration_mb must be an integer in 8..4096, got 8192 (each replica worker reserves up to that much for its young generation)'],
  ['a young generation of 1 MiB', { replicas: 3, youngGeneration_mb: 1 }, 'youngGeneration_mb must be an integer in 8..4096, got 1 (each replica worker reserves up to that much for its young generation)'],
  ['a young generation for inline replicas', { replicas: 3, runtime: 'inline', youngGeneration_mb: 64 }, "youngGeneration_mb sizes each replica's worker thread; runtime 'inline' runs on the embedder's thread (set its heap with node's --max-semi-space-size)"],
];

describe('absurd or misspelt options are refused before any worker starts', () => {
  for (const [what, opts, message] of REFUSED) {
    it(what, async () => {
      const started = Cluster.start(opts as ClusterOptions);
      // Already rejected when start() returns: the check ran before its first await, so no worker was asked for.
      const first = await Promise.race([started, Promise.resolve('still running')]).then((x) => x, (e: unknown) => e);
      expect(first).toBeInstanceOf(RangeError);
      expect((first as Error).message).toBe(message);
      expect(liveWorkers()).toBe(0);
    });
  }

  it("youngGeneration_mb sizes every replica worker's young generation (stats report it), also after a restart", async () => {
    const c = await Cluster.start({ replicas: 3, policy: 'leader', youngGeneration_mb: 96, storage: { dir: join(dir, 'young') } });
    try {
      await c.propose('x');
      expect((await c.stats()).replicas.map((r) => r?.young_generation_mb)).toEqual([96, 96, 96]);
      await c.crash(1);
      await c.restart(1);
      expect((await c.stats()).replicas.map((r) => r?.young_generation_mb)).toEqual([96, 96, 96]);
    } finally {
      await c.close();
    }
  });

  it('the fault controller refuses an unknown key at run time too', async () => {
    const c = await Cluster.start({ replicas: 3, faults: true });
    try {
      await expect(c.faults.set({ dorp: 1 } as never)).rejects.toThrow(`unknown option 'dorp' in faults (expected one of ${LINK}, links)`);
    } finally {
      await c.close();
    }
  });
});

describe('the client queue under load', () => {
  it('1,000 proposals outstanding at once print no process warning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    const c = await Cluster.start({ replicas: 3, runtime: 'inline', policy: 'leader' });
    try {
      const all = Array.from({ length: 1000 }, (_, k) => c.propose(`v${k}`));
      expect((await c.stats()).client.queued).toBe(1000 - 256);
      const res = await Promise.all(all);
      expect(new Set(res.map((r) => r.slot)).size).toBe(1000);
      // A warning is emitted on the next tick; one more turn of the loop lets it arrive.
      await new Promise((r) => setImmediate(r));
      expect(warnings).toEqual([]);
    } finally {
      process.off('warning', onWarning);
      await c.close();
    }
  });

  it('close() rejects every proposal still waiting, with one reason', async () => {
    const c = await Cluster.start({ replicas: 3, runtime: 'inline', policy: 'leader', maxInFlight: 1 });
    const all = Array.from({ length: 100 }, (_, k) => c.propose(`w${k}`).then(() => 'decided', (e: Error) => e.message));
    await c.close();
    const out = await Promise.all(all);
    // The one in flight when close() came may have been decided or stopped; all 99 waiting were rejected.
    expect(out.slice(1)).toEqual(new Array(99).fill('cluster closed'));
  });
});
