/**
 * The plotting library the report inlines, so a report opens offline:
 * Observable Plot (ISC) and d3 (ISC), their UMD builds read from node_modules
 * (devDependencies: the tools that write reports run from a checkout).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Both packages name their browser build under the `umd` export condition, which require.resolve cannot ask for. */
const PACKAGES = ['d3', '@observablehq/plot'] as const;

/** The package's UMD build: its root found from its resolved entry, then `exports.umd`. */
function umdPath(name: string): string {
  const require = createRequire(import.meta.url);
  let dir: string;
  try {
    dir = dirname(require.resolve(name));
  } catch {
    throw new Error(`report.html needs ${name} (a devDependency): run npm ci`);
  }
  for (; dir !== dirname(dir); dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (!existsSync(pkg)) continue;
    const json = JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string; exports?: { umd?: string } };
    if (json.name !== name) continue;
    if (typeof json.exports?.umd !== 'string') throw new Error(`${name} ${pkg}: no 'umd' export (an unexpected version)`);
    return join(dir, json.exports.umd);
  }
  throw new Error(`${name}: package.json not found above its entry`);
}

let cached: string | null = null;

/** The library's code, one script body (d3 first: Plot's UMD build reads the global d3). */
export function plotLibrary(): string {
  if (cached !== null) return cached;
  // A script's text must not close its own element.
  const parts = PACKAGES.map((name) => readFileSync(umdPath(name), 'utf8').replace(/<\/script/gi, '<\\/script'));
  cached = parts.join('\n;\n');
  return cached;
}
