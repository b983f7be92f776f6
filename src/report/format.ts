/** Numbers and durations as a reader of a table or a sentence wants them. */

/** 3 significant figures with thousands separators: 15276.4 -> '15,276', 0.01234 -> '0.0123'; '-' for NaN. */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? '-' : String(x);
  const abs = Math.abs(x);
  if (abs >= 1000) return Math.round(x).toLocaleString('en-US');
  if (abs === 0) return '0';
  const digits = Math.max(0, 2 - Math.floor(Math.log10(abs)));
  return String(Number(x.toFixed(Math.min(digits, 6))));
}

/** A ratio as a percentage: 0.962 -> '96%', 0.0612 -> '6.1%'. */
export function formatPercent(ratio: number): string {
  if (!Number.isFinite(ratio)) return '-';
  const pct = ratio * 100;
  return `${Math.abs(pct) >= 10 ? Math.round(pct) : Number(pct.toFixed(1))}%`;
}
