/**
 * The model checker merges states whose fingerprints are equal. The timed
 * parts of the leader and lease policies write expired times clamped (so the
 * state space is finite); this checks the clamp's claim: two objects that
 * may differ in how long ago something expired, and so have equal
 * fingerprints, answer every future question alike and keep equal
 * fingerprints, under any sequence of later events on a clock that only moves on.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LeaseGrantor, LeaseHolder } from '../src/paxos/lease.js';
import { Omega } from '../src/paxos/election.js';
import { makeBallot } from '../src/paxos/ballot.js';

const half = (): number => 0.5;
/** Later events: a time step (>= 0) and what happens then. */
type Event = { dt: number; from: number; op: number };
const future = fc.array(fc.record({ dt: fc.integer({ min: 0, max: 12 }), from: fc.integer({ min: 0, max: 2 }), op: fc.integer({ min: 0, max: 3 }) }), { maxLength: 40 });

/** Anything with a fingerprint on a clock. */
interface Timed {
  fingerprint(now_ms: number): string;
}

const START = 100;

/**
 * Whenever `a` and `b` have equal fingerprints at START, they must stay equal, and answer alike (`step`
 * asserts the answers), under the same later events on a clock that only moves on.
 */
function behaveAlike<T extends Timed>(a: T, b: T, events: readonly Event[], step: (a: T, b: T, now: number, e: Event) => void): void {
  fc.pre(a.fingerprint(START) === b.fingerprint(START));
  let now = START;
  for (const e of events) {
    now += e.dt;
    step(a, b, now, e);
    expect(a.fingerprint(now)).toBe(b.fingerprint(now));
  }
}

const age = fc.integer({ min: 0, max: 20 });
const shortAge = fc.integer({ min: 0, max: 12 });
const lease = { lease_ms: 8, drift_ms: 2 };
/** One ballot for every request and grant here: these properties are about time, not ballots. */
const B = makeBallot(1, 0);

describe('clamped fingerprints behave alike', () => {
  it('Omega: peers silent beyond the timeout', () => {
    fc.assert(
      fc.property(age, age, age, future, (ago1, ago2, ago3, events) => {
        const params = { heartbeat_ms: 4, timeout_ms: 5 }; // timeout 7.5 with random 0.5
        const a = new Omega(2, 3, params, half, 0);
        const b = new Omega(2, 3, params, half, 0);
        // Last heard at any time, suspected or not: whenever the fingerprints agree, so must everything after.
        a.heard(0, START - ago1);
        b.heard(0, START - ago2);
        a.heard(1, START - ago3);
        b.heard(1, START - ago3);
        behaveAlike(a, b, events, (x, y, now, e) => {
          if (e.op === 0) {
            x.heard(e.from, now);
            y.heard(e.from, now);
          }
          expect(x.leader(now)).toBe(y.leader(now));
        });
      }),
      { numRuns: 500 },
    );
  });

  it('LeaseGrantor: grants that have ended', () => {
    fc.assert(
      fc.property(shortAge, shortAge, future, (ago1, ago2, events) => {
        const a = new LeaseGrantor(lease, 0);
        const b = new LeaseGrantor(lease, 0);
        // Both granted node 1 a lease ago1 / ago2 ms before START, running or ended.
        expect(a.tryGrant(1, B, B, START - ago1)).toBe(true);
        expect(b.tryGrant(1, B, B, START - ago2)).toBe(true);
        behaveAlike(a, b, events, (x, y, now, e) => {
          if (e.op === 0) expect(x.tryGrant(e.from, B, B, now)).toBe(y.tryGrant(e.from, B, B, now));
          expect(x.blocks(e.from, now)).toBe(y.blocks(e.from, now));
        });
      }),
      { numRuns: 500 },
    );
  });

  it('LeaseHolder: requests too old to give a running lease, and leases that have ended', () => {
    fc.assert(
      fc.property(shortAge, shortAge, future, (ago1, ago2, events) => {
        const a = new LeaseHolder(lease, 2);
        const b = new LeaseHolder(lease, 2);
        // A pending request sent ago1 / ago2 ms back: a majority for it may still give a lease, or one already over.
        a.request(B, START - ago1);
        b.request(B, START - ago2);
        behaveAlike(a, b, events, (x, y, now, e) => {
          if (e.op === 0) expect(x.request(B, now)).toBe(y.request(B, now));
          if (e.op === 1) {
            // Grants from a majority (quorum 2) for the pending request.
            for (const from of [e.from, (e.from + 1) % 3]) expect(x.granted(from, B, x.requests)).toBe(y.granted(from, B, y.requests));
          }
          if (e.op === 2) {
            x.drop();
            y.drop();
          }
          expect(x.valid(now)).toBe(y.valid(now));
          expect(x.validFor(B, now)).toBe(y.validFor(B, now));
        });
      }),
      { numRuns: 500 },
    );
  });

  it('LeaseHolder: leases that have ended', () => {
    fc.assert(
      fc.property(shortAge, shortAge, future, (ago1, ago2, events) => {
        const a = new LeaseHolder(lease, 2);
        const b = new LeaseHolder(lease, 2);
        // A lease for a request sent ago1 / ago2 ms back, granted by a majority: running or already over.
        for (const [h, ago] of [[a, ago1], [b, ago2]] as const) {
          const seq = h.request(B, START - ago);
          h.granted(0, B, seq);
          h.granted(1, B, seq);
        }
        behaveAlike(a, b, events, (x, y, now, e) => {
          if (e.op === 0) expect(x.request(B, now)).toBe(y.request(B, now));
          expect(x.valid(now)).toBe(y.valid(now));
          expect(x.validFor(B, now)).toBe(y.validFor(B, now));
        });
      }),
      { numRuns: 500 },
    );
  });
});
