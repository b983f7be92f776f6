/**
 * The replicated state machine: a user module whose factory runs inside every
 * replica (in its worker, or inline on the main thread). Every replica feeds
 * its instance the same decided commands in the same order, so every instance
 * goes through the same states, as long as `apply` is deterministic.
 *
 * The module exports its factory as `createStateMachine` (or as its default
 * export); the factory takes no argument and returns `{ apply, query }`:
 *
 *   apply(command) -> result   Must be deterministic: the same commands, in the
 *                              same order, give the same results and states on
 *                              every replica. No clock, no randomness, no I/O
 *                              whose answer can differ between replicas. While
 *                              it runs, Math.random, Date.now and
 *                              performance.now throw (a guard, not a sandbox:
 *                              `new Date()` or crypto are not intercepted).
 *                              A throw is the command's result (an error
 *                              value), the same on every replica; the replica
 *                              goes on.
 *   query(q) -> answer         Read-only: must not change the state.
 *   snapshot() -> bytes        The whole state as a Uint8Array (a Buffer is one),
 *                              deterministically: instances that applied the
 *                              same commands give the same bytes. Runs under
 *                              the same guard as apply. Needed with snapshots
 *                              on (the default, `snapshotEvery`).
 *   restore(bytes)             Makes a fresh instance (from the factory) hold
 *                              that state; throws if the bytes are not a state
 *                              it can restore (the running instance is left
 *                              as it was, and nothing is lost).
 *
 * Commands, results, queries and answers cross the wire as JSON text: a
 * command must be one string in the replicated log (the protocol, the codec's
 * size check and the storage all carry strings), and JSON is one canonical
 * text that every replica parses alike; a result is cached per request id as
 * that same text (cheap to keep, and a retry gets exactly the bytes the first
 * answer had). Structured clone would carry more types (Map, Date, BigInt) but
 * has no text form to replicate, store or compare.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { encodeError, encodeValue } from './client-wire.js';

export interface StateMachine<C = unknown, R = unknown, Q = unknown, A = unknown> {
  apply(command: C): R;
  query(query: Q): A;
  /** The whole state as bytes (needed with snapshots on). */
  snapshot?(): Uint8Array;
  /** Takes a snapshot's state (called on a fresh instance); throws if it cannot. */
  restore?(bytes: Uint8Array): void;
}

export type StateMachineFactory = () => StateMachine;

/**
 * The module as it travels to a worker: an absolute `file:` URL (plain data).
 * Accepts a URL, a `file:` URL string or a path (relative to the working
 * directory). Throws a one-line error when the file is not there.
 */
export function stateMachineHref(spec: unknown): string {
  let url: URL;
  if (spec instanceof URL) url = spec;
  else if (typeof spec === 'string' && spec.startsWith('file:')) url = new URL(spec);
  else if (typeof spec === 'string' && spec.length > 0) url = pathToFileURL(isAbsolute(spec) ? spec : resolve(spec));
  else throw new RangeError(`stateMachine must be a URL or a path to a module, got ${JSON.stringify(spec)}`);
  if (url.protocol !== 'file:') throw new RangeError(`stateMachine must be a file: URL or a path, got ${url.href}`);
  if (!existsSync(fileURLToPath(url))) throw new RangeError(`stateMachine: no such file ${fileURLToPath(url)}`);
  return url.href;
}

function firstLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split('\n')[0] ?? text;
}

/** Imports the module and returns its factory; a one-line error names the module and what is wrong. */
export async function loadStateMachineFactory(href: string): Promise<StateMachineFactory> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(href)) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`stateMachine ${href}: cannot load the module: ${firstLine(e)}`);
  }
  const factory = mod['createStateMachine'] ?? mod['default'];
  if (typeof factory !== 'function') throw new Error(`stateMachine ${href}: exports no factory (export a function named createStateMachine, or a default function)`);
  return () => {
    let m: unknown;
    try {
      m = (factory as () => unknown)();
    } catch (e) {
      throw new Error(`stateMachine ${href}: the factory threw: ${firstLine(e)}`);
    }
    const sm = m as Partial<StateMachine> | null;
    if (typeof sm !== 'object' || sm === null || typeof sm.apply !== 'function' || typeof sm.query !== 'function') {
      throw new Error(`stateMachine ${href}: the factory must return an object with apply(command) and query(q) methods`);
    }
    return sm as StateMachine;
  };
}

/** What apply may not touch; each is swapped for a thrower while apply runs. */
type Owner = Record<string, unknown>;
const CLOCK_AND_RANDOM: ReadonlyArray<readonly [Owner, string, string]> = [
  [Math as unknown as Owner, 'random', 'Math.random'],
  [Date as unknown as Owner, 'now', 'Date.now'],
  [performance as unknown as Owner, 'now', 'performance.now'],
];

function forbidden(name: string): () => never {
  return () => {
    throw new Error(`apply called ${name}: a state machine must be deterministic (no clock, no randomness)`);
  };
}
const THROWERS = CLOCK_AND_RANDOM.map(([, , name]) => forbidden(name));

/** Runs `f` with the clock and the random source swapped for throwers (determinism, a guard not a sandbox). */
function guarded<T>(f: () => T): T {
  const saved = CLOCK_AND_RANDOM.map(([owner, key]) => owner[key]);
  CLOCK_AND_RANDOM.forEach(([owner, key], i) => (owner[key] = THROWERS[i]));
  try {
    return f();
  } finally {
    CLOCK_AND_RANDOM.forEach(([owner, key], i) => (owner[key] = saved[i]));
  }
}

/** Whether a state machine can be snapshotted (both methods), checked at start with snapshots on. */
export function snapshotsSupported(m: StateMachine): boolean {
  return typeof m.snapshot === 'function' && typeof m.restore === 'function';
}

/**
 * One replica's state machine, behind the replica's text interface: commands
 * and queries come in as JSON text, results and answers go out encoded (see
 * client-wire.ts). Nothing thrown here escapes to the replica.
 */
export class StateMachineRunner {
  /** Commands whose apply threw (each such result is an error value, the same on every replica). */
  applyErrors = 0;
  queryErrors = 0;

  constructor(private machine: StateMachine) {}

  /** Applies one decided command (JSON text); returns the encoded result. */
  apply(command: string): string {
    try {
      return encodeValue(guarded(() => this.machine.apply(JSON.parse(command) as unknown)));
    } catch (e) {
      this.applyErrors++;
      return encodeError(e);
    }
  }

  /** The running instance's state as bytes (a throw is the snapshot's failure: it stops the replica, see snapshots.ts). */
  snapshot(): Uint8Array {
    const m = this.machine;
    if (m.snapshot === undefined) throw new Error('the state machine has no snapshot() (needed with snapshots on)');
    const bytes = guarded(() => (m.snapshot as () => unknown).call(m));
    if (!(bytes instanceof Uint8Array)) throw new Error(`the state machine's snapshot() returned ${typeof bytes}, not a Uint8Array`);
    return bytes;
  }

  /** `fresh` (a new instance from the factory) takes `bytes`; throws if it cannot, the running instance untouched. */
  static restoreInto(fresh: StateMachine, bytes: Uint8Array): void {
    if (fresh.restore === undefined) throw new Error('the state machine has no restore(bytes) (needed with snapshots on)');
    guarded(() => (fresh.restore as (b: Uint8Array) => void).call(fresh, bytes));
  }

  /** From now on commands and queries go to `machine` (a snapshot was restored into it). */
  replace(machine: StateMachine): void {
    this.machine = machine;
  }

  /** Answers a query (JSON text); returns the encoded answer (an error value if it threw). */
  query(q: string): string {
    try {
      return encodeValue(this.machine.query(JSON.parse(q) as unknown));
    } catch (e) {
      this.queryErrors++;
      return encodeError(e);
    }
  }
}
