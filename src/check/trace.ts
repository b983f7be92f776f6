/**
 * Counterexample traces as text, one action per line (etcd-raft testdata
 * style), so a path the checker found can be saved and replayed as a scripted
 * test. `#` starts a comment.
 *
 *   config {"replicas":3,...}
 *   propose n0 "v0"
 *   deliver n0->n1 {"t":1,"slot":0,"ballot":65536,"open":false}
 *   drop n1->n0 {...}
 *   timer n1
 *   restart n2
 *   expect agreement
 */
import { DEFAULT_PARAMS } from '../contention/registry.js';
import { formatBallot } from '../paxos/ballot.js';
import { decode } from '../paxos/codec.js';
import { MsgType, type Message } from '../paxos/messages.js';
import { encode } from '../paxos/codec.js';
import type { Violation } from '../verify/invariants.js';
import { Model, validateModelConfig, type Action, type ModelConfig, type State } from './model.js';

export interface Trace {
  config: ModelConfig;
  actions: Action[];
  /** The invariant the trace is expected to break, if any. */
  expect: string | null;
}

const MSG_NAMES: Record<number, string> = {
  [MsgType.Prepare]: 'prepare', [MsgType.Promise]: 'promise', [MsgType.Accept]: 'accept', [MsgType.Accepted]: 'accepted',
  [MsgType.Nack]: 'nack', [MsgType.Decide]: 'decide', [MsgType.Forward]: 'forward', [MsgType.Heartbeat]: 'heartbeat',
  [MsgType.LeaseRequest]: 'lease-request', [MsgType.LeaseGrant]: 'lease-grant', [MsgType.LearnRequest]: 'learn-request',
};

/** A human gloss of a message, for the comment after each line. */
export function describeMessage(m: Message): string {
  const name = MSG_NAMES[m.t] ?? `t${m.t}`;
  switch (m.t) {
    case MsgType.Prepare:
    case MsgType.Accepted:
      return `${name} slot ${m.slot} ${formatBallot(m.ballot)}`;
    case MsgType.Promise:
      return `${name} slot ${m.slot} ${formatBallot(m.ballot)} votes [${m.votes.map((v) => `${v.value}@${formatBallot(v.ballot)}`).join(' ')}]`;
    case MsgType.Accept:
      return `${name} slot ${m.slot} ${formatBallot(m.ballot)} ${JSON.stringify(m.value)}`;
    case MsgType.Nack:
      return `${name} slot ${m.slot} ${formatBallot(m.ballot)} promised ${formatBallot(m.promised)}`;
    case MsgType.Decide:
      return `${name} slot ${m.slot} ${JSON.stringify(m.value)}`;
    default:
      return name;
  }
}

export function formatAction(a: Action): string {
  switch (a.k) {
    case 'propose':
      return `propose n${a.node} ${JSON.stringify(a.value)}`;
    case 'deliver':
    case 'drop':
      // The wire tuple is the exact, canonical form; the comment is for people.
      return `${a.k} n${a.from}->n${a.to} ${JSON.stringify(encode(a.msg))}  # ${describeMessage(a.msg)}`;
    case 'timer':
      return `timer n${a.node}`;
    case 'restart':
      return `restart n${a.node}`;
  }
}

export function formatTrace(t: Trace): string {
  const lines = [`config ${JSON.stringify(t.config)}`, ...t.actions.map(formatAction)];
  if (t.expect !== null) lines.push(`expect ${t.expect}`);
  return `${lines.join('\n')}\n`;
}

function node(tok: string | undefined, line: number): number {
  const m = /^n(\d+)$/.exec(tok ?? '');
  if (m === null) throw new SyntaxError(`line ${line}: expected a node like n0, got '${tok ?? ''}'`);
  return Number(m[1]);
}

export function parseTrace(text: string): Trace {
  let config: ModelConfig | null = null;
  const actions: Action[] = [];
  let expect: string | null = null;
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    const src = raw.replace(/\s+#.*$/, '').replace(/^#.*$/, '').trim();
    if (src === '') return;
    const sp = src.indexOf(' ');
    const verb = sp < 0 ? src : src.slice(0, sp);
    const rest = sp < 0 ? '' : src.slice(sp + 1).trim();
    switch (verb) {
      case 'config':
        config = JSON.parse(rest) as ModelConfig;
        // A trace saved before a policy parameter existed replays with that parameter's default.
        config.policy = { ...config.policy, params: { ...DEFAULT_PARAMS, ...config.policy.params } };
        validateModelConfig(config);
        return;
      case 'propose': {
        const [n, v] = [rest.slice(0, rest.indexOf(' ')), rest.slice(rest.indexOf(' ') + 1)];
        actions.push({ k: 'propose', node: node(n, line), value: JSON.parse(v) as string });
        return;
      }
      case 'deliver':
      case 'drop': {
        const m = /^n(\d+)->n(\d+)\s+(.*)$/.exec(rest);
        if (m === null) throw new SyntaxError(`line ${line}: expected 'nA->nB [wire]'`);
        const msg = decode(JSON.parse(m[3] ?? '') as unknown);
        if (typeof msg === 'string') throw new SyntaxError(`line ${line}: bad message: ${msg}`);
        actions.push({ k: verb, from: Number(m[1]), to: Number(m[2]), msg });
        return;
      }
      case 'timer':
      case 'restart':
        actions.push({ k: verb, node: node(rest, line) });
        return;
      case 'expect':
        expect = rest;
        return;
      default:
        throw new SyntaxError(`line ${line}: unknown action '${verb}'`);
    }
  });
  if (config === null) throw new SyntaxError('trace has no config line');
  return { config, actions, expect };
}

export interface ReplayResult {
  state: State;
  violations: Violation[];
  /** Actions applied before the first violation (all of them if none). */
  steps: number;
}

/** Runs the actions from the initial state, stopping at the first violation. Throws if an action is not enabled. */
export function replay(config: ModelConfig, actions: readonly Action[]): ReplayResult {
  const model = new Model(config);
  let state = model.initial();
  let steps = 0;
  for (const a of actions) {
    if (!state.ghost.ok) break;
    state = model.step(state, a).state;
    steps++;
  }
  return { state, violations: state.ghost.violations, steps };
}
