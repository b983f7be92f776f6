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
import { LeaseGrantor, LeaseHolder } from '../src/contention/lease-state.js';
import { Omega } from '../src/contention/omega.js';

const half = (): number => 0.5;
/** Later events: a time step (>= 0) and what happens then. */
const future = fc.array(fc.record({ dt: fc.integer({ min: 0, max: 12 }), from: fc.integer({ min: 0, max: 2 }), op: fc.integer({ min: 0, max: 3 }) }), { maxLength: 40 });

describe('clamped fingerprints behave alike', () => {
  it('Omega: peers silent beyond the timeout', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 20 }), future, (ago1, ago2, ago3, events) => {
        const params = { heartbeat_ms: 4, timeout_ms: 5 }; // timeout 7.5 with random 0.5
        const a = new Omega(2, 3, params, half, 0);
        const b = new Omega(2, 3, params, half, 0);
        let now = 100;
        // Last heard at any time, suspected or not: whenever the fingerprints agree, so must everything after.
        a.heard(0, now - ago1);
        b.heard(0, now - ago2);
        a.heard(1, now - ago3);
        b.heard(1, now - ago3);
        fc.pre(a.fingerprint(now) === b.fingerprint(now));
        for (const e of events) {
          now += e.dt;
          if (e.op === 0) {
            a.heard(e.from, now);
            b.heard(e.from, now);
          }
          expect(a.leader(now)).toBe(b.leader(now));
          expect(a.fingerprint(now)).toBe(b.fingerprint(now));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('LeaseGrantor: grants that have ended', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 12 }), future, (ago1, ago2, events) => {
        const params = { lease_ms: 8, drift_ms: 2 };
        const a = new LeaseGrantor(params, 0);
        const b = new LeaseGrantor(params, 0);
        // Both granted node 1 a lease ago1 / ago2 ms before `now`, running or ended.
        let now = 100;
        expect(a.tryGrant(1, now - ago1)).toBe(true);
        expect(b.tryGrant(1, now - ago2)).toBe(true);
        fc.pre(a.fingerprint(now) === b.fingerprint(now));
        for (const e of events) {
          now += e.dt;
          if (e.op === 0) expect(a.tryGrant(e.from, now)).toBe(b.tryGrant(e.from, now));
          expect(a.blocks(e.from, now)).toBe(b.blocks(e.from, now));
          expect(a.fingerprint(now)).toBe(b.fingerprint(now));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('LeaseHolder: requests too old to give a running lease, and leases that have ended', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 12 }), future, (ago1, ago2, events) => {
        const params = { lease_ms: 8, drift_ms: 2 };
        const a = new LeaseHolder(params, 2);
        const b = new LeaseHolder(params, 2);
        let now = 100;
        // A pending request sent ago1 / ago2 ms back: a majority for it may still give a lease, or one already over.
        a.request(now - ago1);
        b.request(now - ago2);
        fc.pre(a.fingerprint(now) === b.fingerprint(now));
        for (const e of events) {
          now += e.dt;
          if (e.op === 0) expect(a.request(now)).toBe(b.request(now));
          if (e.op === 1) {
            // Grants from a majority (quorum 2) for the pending request.
            for (const from of [e.from, (e.from + 1) % 3]) expect(a.granted(from, a.requests)).toBe(b.granted(from, b.requests));
          }
          if (e.op === 2) {
            a.drop();
            b.drop();
          }
          expect(a.valid(now)).toBe(b.valid(now));
          expect(a.fingerprint(now)).toBe(b.fingerprint(now));
        }
      }),
      { numRuns: 500 },
    );
  });
  it('LeaseHolder: leases that have ended', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 12 }), future, (ago1, ago2, events) => {
        const params = { lease_ms: 8, drift_ms: 2 };
        const a = new LeaseHolder(params, 2);
        const b = new LeaseHolder(params, 2);
        let now = 100;
        // A lease for a request sent ago1 / ago2 ms back, granted by a majority: running or already over.
        for (const [h, ago] of [[a, ago1], [b, ago2]] as const) {
          const seq = h.request(now - ago);
          h.granted(0, seq);
          h.granted(1, seq);
        }
        fc.pre(a.fingerprint(now) === b.fingerprint(now));
        for (const e of events) {
          now += e.dt;
          if (e.op === 0) expect(a.request(now)).toBe(b.request(now));
          expect(a.valid(now)).toBe(b.valid(now));
          expect(a.fingerprint(now)).toBe(b.fingerprint(now));
        }
      }),
      { numRuns: 500 },
    );
  });
});
