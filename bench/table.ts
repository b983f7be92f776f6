/** The plain summary table printed on stdout at the end. */
import type { Summary } from './summary.js';

export function renderTable(runs: Summary[]): string {
  const head = ['run', 'policy', 'rt', 'prop', 'win', 'decisions/s', 'vs bare', 'p50 us', 'p99 us', 'p50/rtt', 'ballots', 'nacks', 'livelock', 'loop p99 us', 'vs inline', 'ok'];
  const rows = runs.map((r, i) => [
    r.label || String(i + 1), r.policy, r.runtime, String(r.proposers), String(r.window),
    String(Math.round(r.decisions_per_s)), r.ratio.decisions_per_s_vs_bare_loop.toFixed(2),
    String(Math.round(r.latency_us.p50)), String(Math.round(r.latency_us.p99)), r.ratio.latency_p50_vs_rtt.toFixed(2),
    r.ballots_per_decision.mean.toFixed(2), String(r.rejections), String(r.livelock_episodes),
    String(Math.round(r.event_loop_delay_us_p99)),
    r.ratio.threads_vs_inline === null ? '-' : r.ratio.threads_vs_inline.toFixed(2), r.settled ? 'yes' : 'NO',
  ]);
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]): string => cells.map((s, c) => (c <= 2 ? s.padEnd(widths[c] ?? 0) : s.padStart(widths[c] ?? 0))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
