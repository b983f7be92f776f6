/**
 * Worker for the "speed of light" measurements: the same worker topology as
 * the replicas and their plain frames, one tuple per slot (the replicas now
 * pack consecutive tuples into run frames; docs/performance.md says what a
 * packed bare loop reads), with none of the protocol's work.
 * Peer envelopes: [1, PING] echo; [1, WAKE] ignored (the cost of a post);
 * [4, 3, slot, ballot, value]* accept tuples
 * (a sink counts them and acks every ACK_EVERY; a bare-loop follower replies
 * [3, 4, slot, ballot] per tuple); [4, 1, slot, ballot, ''] prepare tuples (a
 * follower replies [3, 2, slot, ballot]); [2, ACK, count].
 */
import { performance } from 'node:perf_hooks';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';

export type LimitRequest =
  | { t: 'rtt'; peer: number; n: number }
  | { t: 'oneway'; peer: number; batch: number; duration_ms: number }
  | { t: 'bare'; window: number; duration_ms: number }
  | { t: 'two-phase'; n: number }
  | { t: 'mode'; mode: 'sink' | 'follower' }
  /** Time each of `n` posts of a one-tuple envelope to `peer`, `gap_us` apart (the peer ignores them). */
  | { t: 'post-cost'; peer: number; n: number; gap_us: number }
  /** Answer 'ok', then keep this thread busy for `ms` (its port's messages only queue meanwhile). */
  | { t: 'busy'; ms: number }
  | { t: 'close' };

export type LimitReply =
  | { t: 'ready' }
  | { t: 'ok' }
  | { t: 'rtt'; samples_us: number[] }
  | { t: 'oneway'; messages: number; elapsed_ms: number }
  | { t: 'bare'; decisions: number; elapsed_ms: number }
  | { t: 'two-phase'; samples_us: number[] }
  | { t: 'post-cost'; samples_us: number[] }
  | { t: 'closed' };

export interface LimitWorkerData {
  id: number;
  nodes: number;
  peers: Array<MessagePort | null>;
}

const PING = 99;
const WAKE = 97;
const ACK = 98;
const PREPARE = 1;
const PROMISE = 2;
const ACCEPT = 3;
const ACCEPTED = 4;
export const ACK_EVERY = 1024;
/** Unacknowledged one-way messages at most: MessagePort has no backpressure. */
const UNACKED_MAX = 16 * ACK_EVERY;
const VALUE = 'x'.repeat(16);
const BALLOT = 65_537;

const port = parentPort;
if (port === null) throw new Error('limit-worker must run in a worker thread');
const { id, nodes, peers } = workerData as LimitWorkerData;
const reply = (r: LimitReply): void => port.postMessage(r);

let mode: 'sink' | 'follower' = 'sink';
let received = 0;
let lastAck = 0;
/** Slots of the bare loops count on across measurements: a late reply to an earlier one never matches a current slot. */
let nextSlot = 0;
/** The active measurement's handler for envelopes that come back to us. */
let onReturn: ((env: Array<number | string>) => void) | null = null;

peers.forEach((p, from) => {
  if (p === null) return;
  p.on('message', (env: Array<number | string>) => {
    const tag = env[1];
    if (tag === WAKE) return;
    if (tag === ACK || tag === ACCEPTED || tag === PROMISE || (tag === PING && onReturn !== null)) return onReturn?.(env);
    if (tag === PING) return p.postMessage(env);
    if (mode === 'sink') {
      received += env.length / 5;
      if (received - lastAck >= ACK_EVERY) {
        lastAck = received;
        p.postMessage([2, ACK, received]);
      }
      return;
    }
    // Bare-loop follower: no storage, no checks, reply to each accept in one envelope.
    const out: Array<number | string> = [];
    for (let i = 0; i < env.length; i += 5) out.push(3, env[i + 1] === PREPARE ? PROMISE : ACCEPTED, env[i + 2] as number, env[i + 3] as number);
    p.postMessage(out);
    void from;
  });
});

function rtt(peer: MessagePort, n: number): void {
  const samples: number[] = [];
  let t0 = performance.now();
  onReturn = () => {
    samples.push((performance.now() - t0) * 1000);
    if (samples.length >= n) {
      onReturn = null;
      return reply({ t: 'rtt', samples_us: samples });
    }
    t0 = performance.now();
    peer.postMessage([1, PING]);
  };
  peer.postMessage([1, PING]);
}

function oneway(peer: MessagePort, batch: number, duration_ms: number): void {
  let sent = 0;
  let acked = 0;
  let slot = 0;
  const t0 = performance.now();
  let stopping = false;
  const pump = (): void => {
    while (!stopping && sent - acked < UNACKED_MAX) {
      const env: Array<number | string> = [];
      for (let i = 0; i < batch; i++) env.push(4, ACCEPT, slot++, BALLOT, VALUE);
      peer.postMessage(env);
      sent += batch;
      // Stop only on an ack boundary, so the last ack covers every message.
      if (sent % ACK_EVERY === 0 && performance.now() - t0 >= duration_ms) stopping = true;
    }
  };
  onReturn = (env) => {
    acked = env[2] as number;
    if (stopping && acked >= sent) {
      onReturn = null;
      return reply({ t: 'oneway', messages: sent, elapsed_ms: performance.now() - t0 });
    }
    pump();
  };
  pump();
}

function bare(window: number, duration_ms: number): void {
  const followers = peers.filter((p): p is MessagePort => p !== null);
  const need = Math.floor(nodes / 2); // follower acks for a majority with the leader's own vote
  let size = 1;
  while (size < window * 8) size *= 2; // room for followers that lag behind the quorum
  const acks = new Uint8Array(size);
  const mask = size - 1;
  let decided = 0;
  let stopping = false;
  const t0 = performance.now();
  let out: Array<number | string> = [];
  const issue = (): void => {
    out.push(4, ACCEPT, nextSlot++, BALLOT, VALUE);
  };
  const post = (): void => {
    if (out.length === 0) return;
    for (const f of followers) f.postMessage(out);
    out = [];
  };
  let inflight = window;
  onReturn = (env) => {
    for (let i = 0; i < env.length; i += 4) {
      const slot = env[i + 2] as number;
      const k = slot & mask;
      const count = ((acks[k] as number) + 1) % followers.length;
      acks[k] = count; // back to 0 once every follower acked: the position is free again
      if (count === need % followers.length) {
        decided++;
        inflight--;
        if (!stopping) {
          issue();
          inflight++;
        }
      }
    }
    post();
    if (!stopping && performance.now() - t0 >= duration_ms) stopping = true;
    if (stopping && inflight === 0) {
      onReturn = null;
      reply({ t: 'bare', decisions: decided, elapsed_ms: performance.now() - t0 });
    }
  };
  for (let i = 0; i < window; i++) issue();
  post();
}

/**
 * The floor of one two-phase decision on this topology: a prepare to every
 * follower, an accept to every follower once a majority (with our own vote)
 * promised, decided once a majority accepted; then the next slot. No storage,
 * no checks, no values to track: what is left is the messaging.
 */
function twoPhase(n: number): void {
  const followers = peers.filter((p): p is MessagePort => p !== null);
  const need = Math.floor(nodes / 2);
  const samples: number[] = [];
  let slot = -1;
  let replies = 0;
  let phase = PREPARE;
  let t0 = 0;
  const broadcast = (tag: number): void => {
    phase = tag;
    replies = 0;
    const env = [4, tag, slot, BALLOT, tag === PREPARE ? '' : VALUE];
    for (const f of followers) f.postMessage(env);
  };
  const start = (): void => {
    slot = nextSlot++;
    t0 = performance.now();
    broadcast(PREPARE);
  };
  onReturn = (env) => {
    // Late replies to a phase already past its majority are ignored, as a proposer does.
    if (env[2] !== slot || env[1] !== (phase === PREPARE ? PROMISE : ACCEPTED) || ++replies !== need) return;
    if (phase === PREPARE) return broadcast(ACCEPT);
    samples.push((performance.now() - t0) * 1000);
    if (samples.length < n) return start();
    onReturn = null;
    reply({ t: 'two-phase', samples_us: samples });
  };
  start();
}

function spin(us: number): void {
  const until = performance.now() + us / 1000;
  while (performance.now() < until) {
    // busy on purpose: the receiver's state between posts is what is measured
  }
}

/** What one post costs the sender: with the peer asleep, the wake-up is in it; with the peer busy, only the copy and the queue. */
function postCost(peer: MessagePort, n: number, gap_us: number): void {
  const samples: number[] = [];
  const env = [1, WAKE];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    peer.postMessage(env);
    samples.push((performance.now() - t0) * 1000);
    spin(gap_us);
  }
  reply({ t: 'post-cost', samples_us: samples });
}

port.on('message', (req: LimitRequest) => {
  switch (req.t) {
    case 'mode':
      mode = req.mode;
      received = 0;
      lastAck = 0;
      return reply({ t: 'ok' });
    case 'rtt':
      return rtt(peers[req.peer] as MessagePort, req.n);
    case 'oneway':
      return oneway(peers[req.peer] as MessagePort, req.batch, req.duration_ms);
    case 'bare':
      return bare(req.window, req.duration_ms);
    case 'two-phase':
      return twoPhase(req.n);
    case 'post-cost':
      return postCost(peers[req.peer] as MessagePort, req.n, req.gap_us);
    case 'busy':
      reply({ t: 'ok' });
      return spin(req.ms * 1000);
    case 'close':
      for (const p of peers) p?.close();
      reply({ t: 'closed' });
      port.close();
      return;
  }
});
void id;
reply({ t: 'ready' });
