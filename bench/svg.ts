/** Tiny inline-SVG charts for the offline report: lines and grouped bars, no dependencies. */

export interface Series {
  name: string;
  points: Array<[number, number]>;
}

const W = 640;
const H = 300;
const M = { l: 70, r: 150, t: 30, b: 45 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const fmt = (v: number): string => (Math.abs(v) >= 1e6 ? `${(v / 1e6).toFixed(1)}M` : Math.abs(v) >= 1e3 ? `${(v / 1e3).toFixed(1)}k` : `${Math.round(v * 100) / 100}`);

function frame(title: string, xLabel: string, yLabel: string, yMax: number, body: string, legend: string[], xTicks: string): string {
  const plotH = H - M.t - M.b;
  let grid = '';
  for (let i = 0; i <= 4; i++) {
    const y = M.t + plotH - (plotH * i) / 4;
    grid += `<line x1="${M.l}" x2="${W - M.r}" y1="${y}" y2="${y}" stroke="#ddd"/><text x="${M.l - 6}" y="${y + 4}" text-anchor="end" font-size="11">${fmt((yMax * i) / 4)}</text>`;
  }
  const leg = legend
    .map((name, i) => `<rect x="${W - M.r + 12}" y="${M.t + i * 18}" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/><text x="${W - M.r + 30}" y="${M.t + i * 18 + 11}" font-size="12">${esc(name)}</text>`)
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">
<text x="${W / 2 - M.r / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>
${grid}<line x1="${M.l}" x2="${M.l}" y1="${M.t}" y2="${H - M.b}" stroke="#333"/><line x1="${M.l}" x2="${W - M.r}" y1="${H - M.b}" y2="${H - M.b}" stroke="#333"/>
${xTicks}${body}${leg}
<text x="${(M.l + W - M.r) / 2}" y="${H - 8}" text-anchor="middle" font-size="12">${esc(xLabel)}</text>
<text x="14" y="${M.t + plotH / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 14 ${M.t + plotH / 2})">${esc(yLabel)}</text>
</svg>`;
}

export function lineChart(title: string, xLabel: string, yLabel: string, series: Series[]): string {
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1])).filter(Number.isFinite);
  const xMin = Math.min(...xs, 0);
  const xMax = Math.max(...xs, xMin + 1);
  const yMax = Math.max(...ys, 1) * 1.1;
  const plotW = W - M.l - M.r;
  const plotH = H - M.t - M.b;
  const X = (x: number): number => M.l + ((x - xMin) / (xMax - xMin || 1)) * plotW;
  const Y = (y: number): number => M.t + plotH - (Math.max(0, y) / yMax) * plotH;
  const body = series
    .map((s, i) => {
      const c = COLORS[i % COLORS.length] ?? '#000';
      const pts = s.points.filter((p) => Number.isFinite(p[1]));
      const path = pts.map((p) => `${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join(' ');
      const dots = pts.length <= 30 ? pts.map((p) => `<circle cx="${X(p[0]).toFixed(1)}" cy="${Y(p[1]).toFixed(1)}" r="3" fill="${c}"><title>${esc(s.name)}: ${fmt(p[1])}</title></circle>`).join('') : '';
      return `<polyline fill="none" stroke="${c}" stroke-width="2" points="${path}"/>${dots}`;
    })
    .join('\n');
  const uniq = [...new Set(xs)].sort((a, b) => a - b);
  const ticks = (uniq.length <= 12 ? uniq : [xMin, (xMin + xMax) / 2, xMax])
    .map((x) => `<text x="${X(x).toFixed(1)}" y="${H - M.b + 16}" text-anchor="middle" font-size="11">${fmt(x)}</text>`)
    .join('');
  return frame(title, xLabel, yLabel, yMax, body, series.map((s) => s.name), ticks);
}

/** Grouped bars: one group per category, one bar per series. `log` uses a log10 y axis. */
export function barChart(title: string, yLabel: string, categories: string[], series: Array<{ name: string; values: number[] }>): string {
  const ys = series.flatMap((s) => s.values).filter(Number.isFinite);
  const yMax = Math.max(...ys, 1) * 1.1;
  const plotW = W - M.l - M.r;
  const plotH = H - M.t - M.b;
  const groupW = plotW / Math.max(1, categories.length);
  const barW = (groupW * 0.8) / Math.max(1, series.length);
  let body = '';
  categories.forEach((cat, ci) => {
    series.forEach((s, si) => {
      const v = s.values[ci] ?? 0;
      const h = Number.isFinite(v) ? (Math.max(0, v) / yMax) * plotH : 0;
      const x = M.l + ci * groupW + groupW * 0.1 + si * barW;
      body += `<rect x="${x.toFixed(1)}" y="${(M.t + plotH - h).toFixed(1)}" width="${Math.max(1, barW - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="${COLORS[si % COLORS.length]}"><title>${esc(cat)} ${esc(s.name)}: ${fmt(v)}</title></rect>`;
    });
  });
  // Sweep labels ("policy=immediate proposers=1") lose their keys ("immediate 1") and slant when
  // there are many, so neighbours do not overprint; the full label stays in each bar's tooltip.
  const slant = categories.length > 4;
  const ticks = categories
    .map((c, ci) => {
      const x = (M.l + ci * groupW + groupW / 2).toFixed(1);
      const y = H - M.b + 14;
      const label = esc(c.replace(/\b[\w-]+=/g, ''));
      return slant
        ? `<text x="${x}" y="${y}" text-anchor="end" font-size="9" transform="rotate(-30 ${x} ${y})">${label}</text>`
        : `<text x="${x}" y="${y}" text-anchor="middle" font-size="11">${label}</text>`;
    })
    .join('');
  return frame(title, '', yLabel, yMax, body, series.map((s) => s.name), ticks);
}
