/**
 * The folders form one-way layers: each imports only from the layers before it
 * (README, "Architecture"). This test reads every import of the shipped code
 * and fails on an upward or sideways import between folders and on any cycle
 * between files. It is shown to fail on a planted upward import and a planted cycle.
 */
import { readFileSync } from 'node:fs';
import { execSync } from 'node:child_process';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';

/** In order: a folder may import only from folders of a lower rank (and from itself). */
const LAYERS: ReadonlyArray<readonly string[]> = [
  ['src/base'],
  ['src/paxos'],
  ['src/contention'],
  ['src/storage'],
  ['src/verify'],
  ['src/runtime'],
  ['workers'],
  ['src/cluster'],
  ['src/cli'],
  // Statistics and the results folder that every measuring tool writes.
  ['src/report'],
  // Tools on top; none imports another.
  ['src/sim', 'src/check', 'src/chaos'],
  // The backoff tuner: a search on top of the simulator.
  ['src/tune'],
  ['bench'],
  ['examples'],
];

function rankOf(file: string): { folder: string; rank: number } | null {
  for (let rank = 0; rank < LAYERS.length; rank++) {
    for (const folder of LAYERS[rank] ?? []) if (file.startsWith(`${folder}/`)) return { folder, rank };
  }
  return null;
}

const IMPORT_RE = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]+)\1/g;

/** Relative imports of one file, resolved to repository paths (`.js` read as the `.ts` it is compiled from). */
export function importsOf(file: string, source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(IMPORT_RE)) {
    const spec = m[2] ?? '';
    out.push(normalize(join(dirname(file), spec)).replace(/\.js$/, '.ts'));
  }
  return out;
}

/** Every layering violation in a set of files (path -> source), one line each. */
export function layeringViolations(files: ReadonlyMap<string, string>): string[] {
  const problems: string[] = [];
  const graph = new Map<string, string[]>();
  for (const [file, source] of files) {
    const from = rankOf(file);
    const targets = importsOf(file, source);
    graph.set(file, targets.filter((t) => files.has(t)));
    if (from === null) {
      problems.push(`${file}: not in any layer (add its folder to LAYERS and to the README)`);
      continue;
    }
    for (const target of targets) {
      const to = rankOf(target);
      if (to === null) {
        if (!target.startsWith('node_modules/')) problems.push(`${file} imports ${target}, which is in no layer`);
        continue;
      }
      if (to.folder === from.folder) continue;
      if (to.rank >= from.rank) problems.push(`${file} imports ${target}: ${from.folder} may not import ${to.folder} (${to.rank === from.rank ? 'same layer' : 'upward'})`);
    }
  }
  problems.push(...cycles(graph));
  return problems;
}

/** File-level import cycles (a depth-first search; each cycle reported once by its first file). */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const state = new Map<string, 'open' | 'done'>();
  const found: string[] = [];
  const stack: string[] = [];
  const visit = (f: string): void => {
    state.set(f, 'open');
    stack.push(f);
    for (const t of graph.get(f) ?? []) {
      const s = state.get(t);
      if (s === 'open') found.push(`import cycle: ${[...stack.slice(stack.indexOf(t)), t].join(' -> ')}`);
      else if (s === undefined) visit(t);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of [...graph.keys()].sort()) if (!state.has(f)) visit(f);
  return found;
}

function shippedFiles(): Map<string, string> {
  const list = execSync("git ls-files --cached --others --exclude-standard -- 'src/*.ts' 'workers/*.ts' 'workers/*.mjs' 'bench/*.ts' 'bench/*.mjs' 'examples/*.ts'", {
    encoding: 'utf8',
  })
    .split('\n')
    .filter((f) => f !== '');
  const files = new Map<string, string>();
  for (const f of list) {
    try {
      files.set(f, readFileSync(f, 'utf8'));
    } catch {
      // Listed by git but deleted in the working tree: not part of the code.
    }
  }
  return files;
}

describe('layering', () => {
  it('every import of src, workers, bench and examples goes down the layers, with no cycle', () => {
    const files = shippedFiles();
    expect(files.size).toBeGreaterThan(50);
    expect(layeringViolations(files)).toEqual([]);
  });

  it('fails on a planted upward import', () => {
    const files = shippedFiles();
    const quorum = files.get('src/paxos/quorum.ts');
    expect(quorum).toBeDefined();
    // cluster/errors.ts imports nothing, so the planted edge makes no cycle: one line exactly.
    files.set('src/paxos/quorum.ts', `import { OverloadError } from '../cluster/errors.js';\n${quorum ?? ''}`);
    expect(layeringViolations(files)).toEqual([
      'src/paxos/quorum.ts imports src/cluster/errors.ts: src/paxos may not import src/cluster (upward)',
    ]);
  });

  it('fails on a planted import between two tools of the same layer', () => {
    const files = new Map([
      ['src/sim/a.ts', "import { x } from '../check/b.js';"],
      ['src/check/b.ts', 'export const x = 1;'],
    ]);
    expect(layeringViolations(files)).toEqual(['src/sim/a.ts imports src/check/b.ts: src/sim may not import src/check (same layer)']);
  });

  it('fails on a planted cycle inside one folder', () => {
    const files = new Map([
      ['src/paxos/a.ts', "import { b } from './b.js';"],
      ['src/paxos/b.ts', "import { c } from './c.js';"],
      ['src/paxos/c.ts', "export { a } from './a.js';"],
    ]);
    expect(layeringViolations(files)).toEqual(['import cycle: src/paxos/a.ts -> src/paxos/b.ts -> src/paxos/c.ts -> src/paxos/a.ts']);
  });
});
