/** report.html: one self-contained page (inline SVG, no scripts, no network) per invocation. */
import type { Limit } from './limit.js';
import type { Machine } from './machine.js';
import type { Summary } from './summary.js';
import { barChart, lineChart, type Series } from './svg.js';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function byPolicy(runs: Summary[]): Map<string, Summary[]> {
  const m = new Map<string, Summary[]>();
  for (const r of runs) {
    const key = `${r.policy}${r.runtime === 'inline' ? ' (inline)' : ''}`;
    m.set(key, [...(m.get(key) ?? []), r]);
  }
  return m;
}

export function renderReport(runs: Summary[], limits: Limit[], m: Machine, commitId: string, command: string, when: string): string {
  const groups = byPolicy(runs);
  // Throughput vs proposers: one line per policy (averaged where other swept keys differ).
  const tvp: Series[] = [...groups].map(([name, rs]) => {
    const byP = new Map<number, number[]>();
    for (const r of rs) byP.set(r.proposers, [...(byP.get(r.proposers) ?? []), r.decisions_per_s]);
    return { name, points: [...byP].sort((a, b) => a[0] - b[0]).map(([p, v]) => [p, v.reduce((a, b) => a + b, 0) / v.length] as [number, number]) };
  });
  const labels = runs.map((r, i) => r.label || `run ${i + 1}`);
  const latency = barChart('Latency percentiles per run (us)', 'us', labels, [
    { name: 'p50', values: runs.map((r) => r.latency_us.p50) },
    { name: 'p90', values: runs.map((r) => r.latency_us.p90) },
    { name: 'p99', values: runs.map((r) => r.latency_us.p99) },
    { name: 'p99.9', values: runs.map((r) => r.latency_us.p999) },
  ]);
  const ballots = barChart('Ballots per decision', 'ballots', labels, [
    { name: 'mean', values: runs.map((r) => r.ballots_per_decision.mean) },
    { name: 'p99', values: runs.map((r) => r.ballots_per_decision.p99) },
  ]);
  const overTime = lineChart('Throughput over time (100 ms buckets)', 'seconds into the measured window', 'decisions/s',
    runs.map((r, i) => ({ name: labels[i] ?? '', points: r.throughput_series_per_s.map((v, b) => [b / 10, v] as [number, number]) })));
  const throughput = lineChart('Throughput vs proposers, per policy', 'proposers', 'decisions/s', tvp);
  const cols: Array<[string, (r: Summary) => string | number]> = [
    ['run', (r) => r.label], ['policy', (r) => r.policy], ['runtime', (r) => r.runtime], ['replicas', (r) => r.replicas],
    ['proposers', (r) => r.proposers], ['window', (r) => r.window], ['decisions/s', (r) => Math.round(r.decisions_per_s)],
    ['vs bare loop', (r) => r.ratio.decisions_per_s_vs_bare_loop], ['p50 us', (r) => r.latency_us.p50], ['p99 us', (r) => r.latency_us.p99],
    ['p50 / rtt', (r) => r.ratio.latency_p50_vs_rtt], ['ballots mean', (r) => r.ballots_per_decision.mean], ['nacks', (r) => r.rejections],
    ['livelock eps', (r) => r.livelock_episodes], ['msgs/dec', (r) => r.messages_per_decision], ['loop delay p99 us', (r) => r.event_loop_delay_us_p99],
    ['heap %/min', (r) => r.heap_growth_pct_per_min_max], ['settled', (r) => String(r.settled)],
  ];
  const table = `<table><tr>${cols.map(([h]) => `<th>${esc(h)}</th>`).join('')}</tr>${runs
    .map((r) => `<tr>${cols.map(([, f]) => `<td>${esc(String(f(r)))}</td>`).join('')}</tr>`)
    .join('')}</table>`;
  const limitRows = limits
    .map((l) => `<tr><td>${l.workers}</td><td>${l.rtt_us.toFixed(1)}</td><td>${l.rtt_us_p99.toFixed(1)}</td><td>${Math.round(l.msgs_per_s)}</td><td>${Math.round(l.batched_msgs_per_s)}</td><td>${Object.entries(l.bare_loop_decisions_per_s).map(([w, v]) => `w${w}: ${Math.round(v)}`).join(', ')}</td></tr>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>synod benchmark ${esc(when)}</title>
<style>body{font-family:sans-serif;margin:2em;max-width:1400px}table{border-collapse:collapse;font-size:12px;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}th{background:#f3f3f3}svg{margin:0.5em 1em 0.5em 0;border:1px solid #eee}code{background:#f6f6f6;padding:2px 4px}</style>
</head><body>
<h1>synod benchmark</h1>
<p>${esc(when)} &middot; machine: <b>${esc(m.cpu)}</b>, ${m.cores} cores, ${m.memory_gib} GiB, Node ${esc(m.node)} (${esc(m.platform)}) &middot; commit <code>${esc(commitId)}</code></p>
<p>command: <code>${esc(command)}</code></p>
<h2>Limit (same invocation, same worker topology)</h2>
<table><tr><th>workers</th><th>RTT p50 us</th><th>RTT p99 us</th><th>one-way msgs/s</th><th>batched msgs/s</th><th>bare phase-2 loop decisions/s</th></tr>${limitRows}</table>
<h2>Runs</h2>${table}
<h2>Plots</h2>
${throughput}
${latency}
${ballots}
${overTime}
</body></html>
`;
}
