/**
 * `npm run check -- [options]`: exhaustive model checking of the real core.
 * Prints the search figures, the "sometimes" witnesses, and for a violation
 * the shortest path as a replayable trace (see trace.ts). Exit 1 on a
 * violation, 2 on bad flags.
 */
import { parseArgs } from 'node:util';
import { parseInteger } from '../base/units.js';
import { POLICY_OPTIONS, policyFromFlags, policyHelp } from '../cli/policy-flags.js';
import type { PlantedBugs } from '../paxos/replica.js';
import { CHECK_POLICY_DEFAULTS, validateModelConfig, type ModelConfig } from './model.js';
import { check, type CheckResult, type SearchOptions } from './search.js';
import { formatTrace } from './trace.js';

export const BUGS: ReadonlyArray<keyof PlantedBugs> = [
  'quorumOneTooSmall', 'acceptBelowPromise', 'proposeArbitraryValue', 'reuseBallotAfterRestart', 'skipPersistPromise',
];

const HELP = `usage: npm run check -- [options]
  --replicas N      cluster size (default 3)
  --proposers N     replicas that get a client value (default 2)
  --values N        distinct values; proposer p proposes v(p mod N) (default 2)
  --max-round N     highest ballot round explored (default 3)
  --max-lease-requests N  lease: lease requests per holder explored (default 2)
  --slots N         slots (default 1: single-decree)
  --crashes N       crash-restarts per behaviour (default 0)
  --no-loss         no message loss
  --no-dup          no duplication (delivery consumes a message)
  --no-timers       timers never fire
  --no-persist-check  do not check persist-before-send directly (durability bugs must show after a crash)
  --dfs             depth first (default breadth first: shortest counterexamples)
  --max-states N    stop after N distinct states (default 5000000)
  --max-depth N     bounded: every behaviour of at most N actions (breadth first only)
  --bug NAME        plant a known bug (${BUGS.join(', ')})
  --no-reduce       plain interleaving semantics: no dead-message reduction (see docs/model-checking.md)
  --progress        print progress to stderr every 1,000,000 generated states
  --json            print one JSON summary as the last line
${policyHelp()}
  (checker defaults: policy immediate; ${Object.entries(CHECK_POLICY_DEFAULTS).map(([k, v]) => `${k} ${v}`).join(', ')})`;

function fail(msg: string): never {
  process.stderr.write(`check: ${msg}\n`);
  process.exit(2);
}

function int(raw: string | undefined, name: string, dflt: number): number {
  if (raw === undefined) return dflt;
  try {
    return parseInteger(name, raw, 0, 1_000_000_000);
  } catch (e) {
    return fail((e as Error).message);
  }
}

const OPTIONS = {
  ...POLICY_OPTIONS,
  replicas: { type: 'string' }, proposers: { type: 'string' }, values: { type: 'string' },
  'max-round': { type: 'string' }, 'max-lease-requests': { type: 'string' }, slots: { type: 'string' }, crashes: { type: 'string' },
  'no-loss': { type: 'boolean' }, 'no-dup': { type: 'boolean' }, 'no-timers': { type: 'boolean' }, 'no-persist-check': { type: 'boolean' },
  dfs: { type: 'boolean' }, 'max-states': { type: 'string' }, 'max-depth': { type: 'string' }, bug: { type: 'string' },
  json: { type: 'boolean' }, progress: { type: 'boolean' }, 'no-reduce': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];

interface Run {
  cfg: ModelConfig;
  opts: SearchOptions;
  bug: string | undefined;
}

/** Flags to a model configuration and search options; a bad flag exits 2 with one line. */
function configure(values: Values): Run {
  const str = (k: keyof Values): string | undefined => {
    const v = values[k];
    return typeof v === 'string' ? v : undefined;
  };
  const bugs: PlantedBugs = {};
  const bug = str('bug');
  if (bug !== undefined) {
    if (!(BUGS as readonly string[]).includes(bug)) fail(`unknown bug '${bug}' (expected one of ${BUGS.join(', ')})`);
    bugs[bug as keyof PlantedBugs] = true;
  }
  let cfg: ModelConfig;
  try {
    cfg = {
      replicas: int(str('replicas'), 'replicas', 3),
      proposers: int(str('proposers'), 'proposers', 2),
      values: int(str('values'), 'values', 2),
      maxRound: int(str('max-round'), 'max-round', 3),
      maxLeaseRequests: int(str('max-lease-requests'), 'max-lease-requests', 2),
      slots: int(str('slots'), 'slots', 1),
      crashes: int(str('crashes'), 'crashes', 0),
      loss: values['no-loss'] !== true,
      dup: values['no-dup'] !== true,
      timers: values['no-timers'] !== true,
      checkPersistence: values['no-persist-check'] !== true,
      reduce: values['no-reduce'] !== true,
      policy: policyFromFlags(Object.fromEntries(Object.entries(values).filter((e): e is [string, string | boolean] => typeof e[1] !== 'object')), 'immediate', CHECK_POLICY_DEFAULTS),
      bugs,
    };
    validateModelConfig(cfg);
  } catch (e) {
    fail((e as Error).message);
  }
  const maxStates = int(str('max-states'), 'max-states', 5_000_000);
  if (maxStates < 1) fail(`--max-states must be >= 1, got ${maxStates}`);
  const depthRaw = str('max-depth');
  const maxDepth = depthRaw === undefined ? undefined : int(depthRaw, 'max-depth', 0);
  if (maxDepth !== undefined && (maxDepth < 1 || values.dfs === true)) fail('--max-depth must be >= 1, and needs breadth-first search (no --dfs)');
  const progress = values.progress !== true ? undefined : (p: { generated: number; distinct: number; queued: number; depth: number; elapsed_ms: number }): void => {
    const mb = Math.round(process.memoryUsage().heapUsed / 2 ** 20);
    process.stderr.write(`  generated ${p.generated}, distinct ${p.distinct}, queued ${p.queued}, depth ${p.depth}, ${(p.elapsed_ms / 1000).toFixed(0)} s, heap ${mb} MB\n`);
  };
  const opts: SearchOptions = {
    order: values.dfs === true ? 'dfs' : 'bfs', maxStates, ...(maxDepth === undefined ? {} : { maxDepth }), ...(progress === undefined ? {} : { progress }),
  };
  return { cfg, opts, bug };
}

/** The human-readable report of a search. */
function report(r: CheckResult, { cfg, opts, bug }: Run): string[] {
  const maxDepth = opts.maxDepth;
  const out: string[] = [];
  out.push(
    `${r.order.toUpperCase()}${cfg.reduce === false ? ' (no reduction)' : ''} replicas=${cfg.replicas} proposers=${cfg.proposers} values=${cfg.values} max-round=${cfg.maxRound} slots=${cfg.slots} ` +
      `loss=${cfg.loss} dup=${cfg.dup} timers=${cfg.timers} crashes=${cfg.crashes} policy=${cfg.policy.name}${bug === undefined ? '' : ` bug=${bug}`}`,
  );
  out.push(
    `states generated ${r.generated}, distinct ${r.distinct}, covered ${r.covered}, beyond max-round ${r.pruned}, max depth ${r.maxDepth}, ` +
      `${(r.elapsed_ms / 1000).toFixed(2)} s${r.complete ? '' : r.violation === null ? ` (INCOMPLETE: hit --max-states${r.completeDepth >= 0 ? `; every state within ${r.completeDepth} actions visited` : ''})` : ''}` +
      `${maxDepth === undefined ? '' : `; bounded: ${r.complete ? 'every' : 'not every'} behaviour of at most ${maxDepth} actions (${r.atDepthBound} states at the bound)`}`,
  );
  out.push(
    `real core runs: ${r.tables.transitions} node transitions over ${r.tables.nodeStates} distinct node states; ` +
      `${r.tables.ghosts} distinct ghosts, ${r.tables.envelopes} distinct messages`,
  );
  for (const w of r.sometimes) {
    // Unreachable is a claim only a complete, unbounded search can make.
    const absent = r.complete && maxDepth === undefined ? 'NOT reachable' : 'not found in the explored part';
    const found = `${r.order === 'bfs' ? 'reachable in' : 'reached after'} ${w.path?.length ?? 0} actions`;
    out.push(`sometimes ${w.name}: ${w.path === null ? absent : found} (${w.about})`);
  }
  if (r.violation === null) {
    out.push(r.complete ? 'no invariant violated' : 'no invariant violated in the explored part');
    return out;
  }
  const v = r.violation;
  out.push(`VIOLATION ${v.violations.map((x) => `${x.invariant}: ${x.detail}`).join('; ')}`);
  const kind = r.order === 'bfs' ? 'shortest counterexample' : 'counterexample (depth first: not necessarily shortest)';
  out.push(`${kind}: ${v.path.length} actions (replay: save to a file, parseTrace + replay in src/check/trace.ts)`);
  out.push(formatTrace({ config: cfg, actions: v.path, expect: v.violations[0]?.invariant ?? null }).trimEnd());
  return out;
}

function summaryJson(r: CheckResult): string {
  return JSON.stringify({
    generated: r.generated, distinct: r.distinct, covered: r.covered, pruned: r.pruned, atDepthBound: r.atDepthBound, completeDepth: r.completeDepth, maxDepth: r.maxDepth, tables: r.tables, elapsed_ms: Math.round(r.elapsed_ms),
    complete: r.complete, violation: r.violation === null ? null : { invariant: r.violation.violations[0]?.invariant, length: r.violation.path.length },
    sometimes: Object.fromEntries(r.sometimes.map((w) => [w.name, w.path === null ? null : w.path.length])),
  });
}

function main(argv: string[]): number {
  let values: Values;
  try {
    ({ values } = parseArgs({ args: argv, strict: true, allowPositionals: false, options: OPTIONS }));
  } catch (e) {
    return fail((e as Error).message.split('\n')[0] ?? 'bad arguments');
  }
  if (values.help === true) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const run = configure(values);
  const r = check(run.cfg, run.opts);
  process.stdout.write(`${report(r, run).join('\n')}\n`);
  if (values.json === true) process.stdout.write(`${summaryJson(r)}\n`);
  return r.violation === null ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
