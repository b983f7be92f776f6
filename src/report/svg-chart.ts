/**
 * A small, self-contained static SVG line chart with 95% interval bars, for
 * pages where no script runs (the study's figures in docs/contention.md, read
 * on GitHub). report.html draws its plots with Observable Plot instead.
 */

export interface ChartSeries {
  name: string;
  /** One y per x label; NaN leaves a gap. */
  y: number[];
  /** Half-widths of the 95% intervals (NaN: no bar). */
  ci: number[];
}

export interface Chart {
  title: string;
  xLabel: string;
  yLabel: string;
  x: string[];
  series: ChartSeries[];
  /** Log-scale y (positive values only). */
  logY?: boolean;
}

const W = 820;
const H = 360;
const PAD = { left: 70, right: 250, top: 36, bottom: 48 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fmt(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${(v / 1e3).toPrecision(3)}k`;
  return Number(v.toPrecision(3)).toString();
}

function yRange(c: Chart): [number, number] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const s of c.series) {
    s.y.forEach((y, i) => {
      if (!Number.isFinite(y)) return;
      const e = Number.isFinite(s.ci[i] as number) ? (s.ci[i] as number) : 0;
      // On a log axis an interval reaching 0 or below would stretch the axis over decades: it is cut at the axis instead.
      lo = Math.min(lo, c.logY === true && y - e <= 0 ? y : y - e);
      hi = Math.max(hi, y + e);
    });
  }
  if (!Number.isFinite(lo)) return [0, 1];
  if (c.logY === true) return [Math.max(Math.min(lo * 0.8, hi / 10), hi * 1e-6, 1e-9), hi * 1.1];
  lo = Math.min(0, lo);
  return [lo, hi === lo ? lo + 1 : hi * 1.05];
}

export function lineChartSvg(c: Chart): string {
  const [lo, hi] = yRange(c);
  const log = c.logY === true;
  const f = (v: number): number => (log ? Math.log10(Math.max(v, lo)) : v);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const sx = (i: number): number => PAD.left + (c.x.length === 1 ? plotW / 2 : (i * plotW) / (c.x.length - 1));
  const sy = (v: number): number => PAD.top + plotH - ((f(v) - f(lo)) / (f(hi) - f(lo))) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2 - PAD.right / 2}" y="18" text-anchor="middle" font-size="13">${esc(c.title)}</text>`,
    `<line x1="${PAD.left}" y1="${PAD.top + plotH}" x2="${PAD.left + plotW}" y2="${PAD.top + plotH}" stroke="#333"/>`,
    `<line x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${PAD.top + plotH}" stroke="#333"/>`,
  ];
  for (let k = 0; k <= 4; k++) {
    const v = log ? 10 ** (f(lo) + ((f(hi) - f(lo)) * k) / 4) : lo + ((hi - lo) * k) / 4;
    const y = sy(v);
    out.push(`<line x1="${PAD.left - 4}" y1="${y}" x2="${PAD.left + plotW}" y2="${y}" stroke="#ddd"/>`);
    out.push(`<text x="${PAD.left - 6}" y="${y + 4}" text-anchor="end">${fmt(v)}</text>`);
  }
  c.x.forEach((label, i) => out.push(`<text x="${sx(i)}" y="${PAD.top + plotH + 16}" text-anchor="middle">${esc(label)}</text>`));
  out.push(`<text x="${PAD.left + plotW / 2}" y="${H - 8}" text-anchor="middle">${esc(c.xLabel)}</text>`);
  out.push(`<text transform="translate(14 ${PAD.top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(c.yLabel)}${log ? ' (log scale)' : ''}</text>`);
  c.series.forEach((s, k) => out.push(...seriesSvg(s, COLORS[k % COLORS.length] as string, k, sx, sy, PAD.left + plotW + 12)));
  out.push('</svg>');
  return out.join('\n');
}

function seriesSvg(s: ChartSeries, color: string, k: number, sx: (i: number) => number, sy: (v: number) => number, legendX: number): string[] {
  const out: string[] = [];
  let path = '';
  s.y.forEach((y, i) => {
    if (!Number.isFinite(y)) return;
    path += `${path === '' ? 'M' : 'L'}${sx(i).toFixed(1)},${sy(y).toFixed(1)} `;
    const e = s.ci[i] as number;
    if (Number.isFinite(e) && e > 0) {
      out.push(`<line x1="${sx(i)}" y1="${sy(y - e).toFixed(1)}" x2="${sx(i)}" y2="${sy(y + e).toFixed(1)}" stroke="${color}" stroke-width="1"/>`);
    }
    out.push(`<circle cx="${sx(i).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2.5" fill="${color}"/>`);
  });
  if (path !== '') out.unshift(`<path d="${path.trim()}" fill="none" stroke="${color}" stroke-width="1.5"/>`);
  const ly = PAD.top + 8 + k * 16;
  out.push(`<line x1="${legendX}" y1="${ly}" x2="${legendX + 16}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
  out.push(`<text x="${legendX + 20}" y="${ly + 4}">${esc(s.name)}</text>`);
  return out;
}

/** Several charts of lineChartSvg, one under another, in one SVG document. */
export function stackCharts(charts: readonly string[]): string {
  const inner = charts.map((c, i) => c.replace(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" /, `<svg y="${i * H}" `));
  return [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H * charts.length}" viewBox="0 0 ${W} ${H * charts.length}">`, ...inner, '</svg>'].join('\n');
}
