/** synod as a library: pack it, install the tarball in a scratch project, run the embedding example there with plain node. */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const scratch = mkdtempSync(join(tmpdir(), 'synod-pack-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 90_000 });
}

it('npm pack -> install in a scratch project -> node runs the embed example', () => {
  // tsc emits even when files outside this package's runtime have type errors; check what we need exists.
  try {
    run('npx', ['tsc', '-p', 'tsconfig.build.json'], root);
  } catch {
    /* judged by the outputs below */
  }
  for (const f of ['dist/src/cluster/index.js', 'dist/src/cluster/index.d.ts', 'dist/workers/replica.js', 'dist/examples/embed.js']) {
    expect(existsSync(join(root, f)), f).toBe(true);
  }
  const packed = JSON.parse(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', scratch], root)) as { filename: string; files: { path: string }[] }[];
  const info = packed[0]!;
  const paths = info.files.map((f) => f.path);
  expect(paths).toContain('dist/workers/replica.js');
  expect(paths.some((p) => p.startsWith('src/') || p.startsWith('test/'))).toBe(false);
  writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'scratch', version: '1.0.0', private: true, type: 'module' }));
  const tarball = join(scratch, info.filename);
  const args = ['install', '--no-save', '--no-audit', '--no-fund', '--ignore-scripts', tarball];
  try {
    run('npm', [...args, '--offline'], scratch); // dependencies from the local npm cache
  } catch {
    run('npm', [...args, '--prefer-offline'], scratch);
  }
  // The example, compiled, importing the installed package instead of the source tree.
  const example = readFileSync(join(root, 'dist/examples/embed.js'), 'utf8').replace(/(['"])\.\.\/src\/cluster\/index\.js\1/, "'synod'");
  expect(example).toContain("from 'synod'");
  writeFileSync(join(scratch, 'embed.mjs'), example);
  copyFileSync(join(root, 'examples/embed.ts'), join(scratch, 'embed.ts.txt'));
  const out = run(process.execPath, ['embed.mjs'], scratch);
  expect(out).toMatch(/'alpha' decided in slot \d/);
  expect(out).toMatch(/decisions per replica: \d, \d, \d/);
  expect(out).toMatch(/^ok: \d+ applies reported$/m);
}, 180_000);
