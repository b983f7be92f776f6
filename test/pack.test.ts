/**
 * synod as a library: `npm pack` (whose prepack builds dist/ afresh, so a
 * type error fails the pack and a stale dist/ cannot be shipped), install the
 * tarball in a scratch project, run the embedding example there with plain
 * node, and type-check a consumer TypeScript project against the installed
 * declarations (with a line that must not type-check, so the check can fail).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const scratch = mkdtempSync(join(tmpdir(), 'synod-pack-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 150_000 });
}

/** tsc's exit status and output (a failed check is data here, not an exception). */
function tsc(project: string): { code: number; out: string } {
  try {
    return { code: 0, out: run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', project], scratch) };
  } catch (e) {
    const err = e as { status?: number; stdout?: string; stderr?: string };
    return { code: err.status ?? 1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

const CONSUMER = `import { Cluster, OverloadError, POLICY_NAMES, policySpec, type ClusterOptions, type Proposed } from 'synod';

const options: ClusterOptions = { replicas: 3, policy: policySpec('exponential', { base_ms: 2 }) };
export async function propose(value: string): Promise<Proposed> {
  const cluster: Cluster = await Cluster.start(options);
  try {
    return await cluster.propose(value, { via: 0 });
  } finally {
    await cluster.close();
  }
}
export const names: readonly string[] = POLICY_NAMES;
export const overloaded = (e: unknown): boolean => e instanceof OverloadError;
`;

/** The same API misused: each line must be an error, or @ts-expect-error itself is one. */
const MISUSE = `import { Cluster } from 'synod';
// @ts-expect-error replicas is a number
void Cluster.start({ replicas: 'three' });
// @ts-expect-error propose returns a Promise, not a slot
export const slot: number = (null as unknown as Cluster).propose('x');
`;

it('npm pack builds afresh; the tarball installs, runs the embed example and type-checks a consumer', () => {
  const started = Date.now();
  const out = run('npm', ['pack', '--json', '--pack-destination', scratch], root);
  // Lifecycle output may precede the JSON on stdout.
  const packed = JSON.parse(out.slice(out.indexOf('[\n'))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const info = packed[0]!;
  const paths = info.files.map((f) => f.path);
  for (const f of ['dist/src/cluster/index.js', 'dist/src/cluster/index.d.ts', 'dist/workers/replica.js', 'dist/examples/embed.js', 'LICENSE', 'CHANGELOG.md']) {
    expect(paths, f).toContain(f);
  }
  // Built by this pack's prepack, not left over from an earlier build.
  expect(statSync(join(root, 'dist/src/cluster/index.d.ts')).mtimeMs).toBeGreaterThanOrEqual(started - 1000);
  expect(paths.some((p) => p.startsWith('src/') || p.startsWith('test/') || p.startsWith('dist/bench/'))).toBe(false);
  // The tools stay in the repository: they need devDependencies (the report's plotting library).
  expect(paths.some((p) => /^dist\/src\/(report|sim|check|chaos|cli)\//.test(p))).toBe(false);

  writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'scratch', version: '1.0.0', private: true, type: 'module' }));
  const args = ['install', '--no-save', '--no-audit', '--no-fund', '--ignore-scripts', join(scratch, info.filename)];
  try {
    run('npm', [...args, '--offline'], scratch); // dependencies from the local npm cache
  } catch {
    run('npm', [...args, '--prefer-offline'], scratch);
  }

  // The example, compiled, importing the installed package instead of the source tree.
  const example = readFileSync(join(root, 'dist/examples/embed.js'), 'utf8').replace(/(['"])\.\.\/src\/cluster\/index\.js\1/, "'synod'");
  expect(example).toContain("from 'synod'");
  writeFileSync(join(scratch, 'embed.mjs'), example);
  const ran = run(process.execPath, ['embed.mjs'], scratch);
  expect(ran).toMatch(/'alpha' decided in slot \d/);
  expect(ran).toMatch(/decisions per replica: \d, \d, \d/);
  expect(ran).toMatch(/^ok: \d+ applies reported$/m);

  const compilerOptions = {
    target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true,
    // The package's own declarations are checked too; only @types/node comes from this repository.
    skipLibCheck: false, types: ['node'], typeRoots: [join(root, 'node_modules/@types')],
  };
  writeFileSync(join(scratch, 'consumer.ts'), CONSUMER);
  writeFileSync(join(scratch, 'misuse.ts'), MISUSE);
  writeFileSync(join(scratch, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['consumer.ts', 'misuse.ts'] }));
  const checked = tsc(join(scratch, 'tsconfig.json'));
  expect(checked.out).toBe('');
  expect(checked.code).toBe(0);
  // Without its @ts-expect-error lines the misuse does not type-check: the check above can fail.
  writeFileSync(join(scratch, 'misuse.ts'), MISUSE.replace(/^\/\/ @ts-expect-error.*\n/gm, ''));
  const broken = tsc(join(scratch, 'tsconfig.json'));
  expect(broken.code).not.toBe(0);
  expect(broken.out.match(/misuse\.ts\(\d+,\d+\): error TS\d+/g)).toHaveLength(2);
}, 300_000);
