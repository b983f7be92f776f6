/**
 * report.html for a results folder, the bench's and the simulator's alike:
 * findings in words first, then the plots (Observable Plot, inlined so the
 * page opens offline), then every configuration's figures with their spread,
 * then what the tool adds (the bench's limit). Built from the folder itself
 * (args.json, results.csv, runs.csv), so a report can be rebuilt any time.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { plotLibrary } from './assets.js';
import { findings } from './findings.js';
import { formatNumber } from './format.js';
import { layout } from './layout.js';
import { metricInfo } from './metrics.js';
import { PAGE_SCRIPT } from './page-script.js';
import { CI_SAMPLES_MIN, plotSpecs, type PlotInputs, type PlotSpec } from './plots.js';
import { headlineMetrics, readEstimate, readResults, type ResultSet } from './results.js';
import { MIN_RUNS_FOR_VERDICT } from './stats.js';

export interface ReportExtras extends PlotInputs {
  /** Sentences the tool adds to the findings (unsettled runs, livelock, heap growth). */
  notes?: readonly string[];
  /** Sections of the tool's own (title and trusted HTML), after the table. */
  sections?: ReadonlyArray<{ title: string; html: string }>;
}

/** Figures the table shows when a tool writes more metrics than fit (the bench); all are in results.csv. */
const TABLE_METRICS = [
  'commands_per_s', 'commands_per_decision', 'decisions_per_s', 'goodput_per_s', 'makespan_ms', 'latency_us_p50', 'latency_us_p99', 'latency_us_p999', 'latency_ms_p50', 'latency_ms_p99',
  'attempts_per_proposal', 'rejections_per_decision', 'messages_per_decision', 'cpu_us_per_decision', 'cpu_us_per_command', 'livelock_episodes',
  'latency_p50_vs_rtt', 'decisions_per_s_vs_bare_loop', 'threads_vs_inline', 'heap_growth_pct_per_min_max',
];
const ALL_METRICS_UP_TO = 16;

export const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function tableMetrics(set: ResultSet): string[] {
  const hasValue = (m: string): boolean => set.rows.some((r) => Number.isFinite(readEstimate(r, m).center));
  const columns = headlineMetrics(set);
  const chosen = columns.length <= ALL_METRICS_UP_TO ? columns : TABLE_METRICS.filter((m) => columns.includes(m));
  return chosen.filter(hasValue);
}

function cell(row: Record<string, string>, metric: string): string {
  const e = readEstimate(row, metric);
  if (!Number.isFinite(e.center)) return '<td>-</td>';
  const spread = e.n > 1
    ? `<br><small>${formatNumber(e.min)}&ndash;${formatNumber(e.max)}</small>${e.n >= CI_SAMPLES_MIN && Number.isFinite(e.hi - e.lo) && e.mean !== 0 ? `<br><small>&plusmn;${formatNumber((Math.abs(e.hi - e.lo) / 2 / Math.abs(e.mean)) * 100)}%</small>` : ''}`
    : '';
  return `<td><b>${formatNumber(e.center)}</b>${spread}</td>`;
}

function table(set: ResultSet): string {
  const lay = layout(set);
  const metrics = tableMetrics(set);
  const keys = lay.swept.length > 0 ? lay.swept : [];
  const head = [...keys.map((k) => `<th>${esc(k)}</th>`), '<th>samples</th>', ...metrics.map((m) => `<th title="${esc(m)}">${esc(metricInfo(m).label)}</th>`)].join('');
  const body = set.rows
    .map((r) => `<tr>${keys.map((k) => `<td class="key">${esc(r[k] || '-')}</td>`).join('')}<td>${esc(r.samples ?? '1')}</td>${metrics.map((m) => cell(r, m)).join('')}</tr>`)
    .join('\n');
  return `<div class="scroll"><table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>`;
}

function figure(spec: PlotSpec): string {
  return `<figure class="plot" data-plot="${esc(spec.id)}" style="width:${spec.width}px"><h3>${esc(spec.title)}</h3><div class="chart"></div><figcaption>${esc(spec.caption)}</figcaption></figure>`;
}

/** JSON inside a script element: nothing in it may close the element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

/** Inputs with one value in every row (an input some rows ignore is not one of them). */
function constants(set: ResultSet): string {
  const fixed = set.config_columns.filter((c) => new Set(set.rows.map((r) => r[c] ?? '')).size === 1 && (set.rows[0]?.[c] ?? '') !== '');
  return fixed.map((c) => `${esc(c)}=${esc(set.rows[0]?.[c] ?? '')}`).join(', ');
}

export function renderReport(set: ResultSet, extras: ReportExtras = {}): string {
  const specs = plotSpecs(set, extras);
  const lay = layout(set);
  const machine = set.args.machine as Record<string, unknown> | undefined;
  const title = set.tool === 'sim' ? 'synod simulator sweep' : 'synod benchmark';
  const when = typeof set.args.when === 'string' ? set.args.when : '';
  const samples = Math.max(...set.rows.map((r) => Number(r.samples ?? 1)).filter(Number.isFinite), 1);
  const meta = [
    when === '' ? '' : esc(when),
    machine === undefined ? '' : `machine: <b>${esc(String(machine.cpu ?? ''))}</b>, ${esc(String(machine.cores ?? '?'))} cores, Node ${esc(String(machine.node ?? ''))}`,
    typeof set.args.commit === 'string' ? `commit <code>${esc(set.args.commit)}</code>` : '',
    `results schema ${set.schema_version}`,
  ].filter((s) => s !== '').join(' &middot; ');
  const ci = samples >= CI_SAMPLES_MIN ? ' and the 95% confidence interval of the mean (&plusmn;, Student t)' : ` (the 95% confidence interval is shown from ${CI_SAMPLES_MIN} samples on)`;
  const stats = set.center === 'median'
    ? `Each figure is the median of ${samples} run${samples === 1 ? '' : 's'}${samples > 1 ? `, with min&ndash;max${ci}` : ''}. Two configurations are called different by a Mann-Whitney U test (p &lt; 0.05), which needs at least ${MIN_RUNS_FOR_VERDICT} runs each (<code>--repeat ${MIN_RUNS_FOR_VERDICT}</code>).`
    : `Each figure is the mean over ${samples} seeds, with min&ndash;max${ci}.`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)} ${esc(when)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;margin:1.5em 2em;max-width:1400px;color:#222}
h1{margin-bottom:0.2em}.meta{color:#555;font-size:13px}code{background:#f4f4f4;padding:1px 4px;border-radius:3px}
.findings{background:#f6f8fc;border-left:4px solid #4269d0;padding:0.6em 1.2em;font-size:15px;line-height:1.5}
.findings li{margin:0.3em 0}
.plots{display:flex;flex-wrap:wrap;gap:0 2em}figure.plot{margin:0.8em 0;padding:0.5em 0;border-top:1px solid #eee}figure.plot h3{margin:0.2em 0;font-size:15px}
figcaption{color:#555;font-size:12px;margin-top:0.3em}
.scroll{overflow-x:auto}table{border-collapse:collapse;font-size:12px;margin:0.6em 0}
td,th{border:1px solid #ddd;padding:3px 6px;text-align:right;vertical-align:top}th{background:#f3f3f3;font-weight:600}
td.key{text-align:left;white-space:nowrap}small{color:#666}
</style>
</head><body>
<h1>${esc(title)}</h1>
<p class="meta">${meta}</p>
<p class="meta">command: <code>${esc(set.command)}</code>${constants(set) === '' ? '' : `<br>same in every configuration: ${constants(set)}`}</p>
<h2>Findings</h2>
<ul class="findings">${findings(set, extras.notes ?? []).map((s) => `<li>${esc(s)}</li>`).join('\n')}</ul>
<p class="meta">${stats}</p>
<h2>Plots</h2>
${specs.length === 0 ? '<p>Nothing to plot.</p>' : ''}
<div class="plots">${specs.map(figure).join('\n')}</div>
<h2>Configurations${lay.swept.length === 0 ? '' : ` (swept: ${esc(lay.swept.join(', '))})`}</h2>
${table(set)}
<p class="meta">Every input and every metric, with each one's median, mean, 95% interval, min and max: <code>results.csv</code>${set.samples === null ? '' : '; one row per run: <code>runs.csv</code>'}${set.tool === 'bench' ? '; per-run detail with the raw latency percentiles: <code>runs/*.json</code>' : ''}.</p>
${(extras.sections ?? []).map((s) => `<h2>${esc(s.title)}</h2>\n${s.html}`).join('\n')}
<noscript><p>The plots need JavaScript (inlined in this file; nothing is fetched).</p></noscript>
<script>${plotLibrary()}</script>
<script type="application/json" id="plot-specs">${scriptJson(specs)}</script>
<script>${PAGE_SCRIPT}</script>
</body></html>
`;
}

/** Writes `<dir>/report.html` from the folder's results; returns its path. */
export function writeReport(dir: string, extras: ReportExtras = {}): string {
  const path = join(dir, 'report.html');
  writeFileSync(path, renderReport(readResults(dir), extras));
  return path;
}

