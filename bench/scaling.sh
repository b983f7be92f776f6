#!/usr/bin/env bash
# How the stable leader's window-64 figure, and the limit it is read against,
# change with the cores the process may use: the bench pinned (taskset) to
# 2, 4, 8 and 16 cores, as many as the machine has, REPEATS runs each.
# On a 2-core machine the three replica workers and V8's helper threads share
# two cores, and a post that must wake a sleeping follower costs the leader
# 8-10 us (docs/performance.md, "Run frames on the mesh"); this shows what is
# left of that where the replicas have cores of their own.
#
# Usage: npm run build && bench/scaling.sh [OUT_DIR]   (default results/scaling)
# Env: REPEATS (default 3), DURATION (default 5s), NODE (default node).
#
# On a machine without Node.js or without network (the lent device machine's
# image has neither), prepare here and carry `.device` and `dist` (about 30 MB;
# node_modules itself is over the 64 MiB a device call carries):
#   mkdir -p .device/node_modules && xz -6 -c "$(readlink -f "$(command -v node)")" > .device/node.xz
#   npm ls --omit=dev --all --parseable | tail -n +2 | xargs -I{} cp -r {} .device/node_modules/
#   cp -r node_modules/d3 node_modules/@observablehq .device/node_modules/   # the report's plots
# and there: xz -dc .device/node.xz > /tmp/node && chmod +x /tmp/node &&
#   ln -sfn .device/node_modules node_modules && NODE=/tmp/node bench/scaling.sh "$OUT/scaling"
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-results/scaling}
repeats=${REPEATS:-3}
duration=${DURATION:-5s}
node=${NODE:-node}
[ -f dist/bench/cli.js ] || { echo "bench/scaling.sh: no build; run npm run build first" >&2; exit 2; }
command -v taskset >/dev/null || { echo "bench/scaling.sh: needs taskset (util-linux)" >&2; exit 2; }
cores=$(nproc)
mkdir -p "$out"
for c in 2 4 8 16; do
  [ "$c" -le "$cores" ] || continue
  for r in $(seq 1 "$repeats"); do
    taskset -c "0-$((c - 1))" "$node" --expose-gc dist/bench/cli.js --replicas 3 --proposers 1 --policy leader \
      --window 64 --outstanding 64 --duration "$duration" --warmup 2s --out "$out/cores-$c-run-$r" >/dev/null
  done
done
# One line per run: cores, decisions/s, CPU us per decision, the bare loop and the ratio, the cost of a post.
"$node" --input-type=module -e '
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
const out = process.argv[1];
console.log("cores  run  decisions/s  cpu_us/dec  bare_loop/s  vs_bare  post_idle_us  post_busy_us");
for (const dir of readdirSync(out).filter((d) => d.startsWith("cores-")).sort((a, b) => parseInt(a.slice(6)) - parseInt(b.slice(6)) || a.localeCompare(b))) {
  for (const stamp of readdirSync(join(out, dir))) {
    const [head, row] = readFileSync(join(out, dir, stamp, "results.csv"), "utf8").trim().split("\n");
    const cols = head.split(","), vals = row.split(",");
    const get = (k) => Number(vals[cols.indexOf(k)]);
    const [, c, , r] = dir.split("-");
    console.log([c.padStart(5), r.padStart(4), Math.round(get("decisions_per_s")).toString().padStart(12), get("cpu_us_per_decision").toFixed(2).padStart(11),
      Math.round(get("limit_bare_loop_decisions_per_s")).toString().padStart(12), get("decisions_per_s_vs_bare_loop").toFixed(3).padStart(8),
      get("limit_post_to_idle_us").toFixed(1).padStart(13), get("limit_post_to_busy_us").toFixed(1).padStart(13)].join(" "));
  }
}' "$out"
