/**
 * The one parser for quantities on every command line (sim, check, chaos,
 * bench, tune): durations, probabilities, ranges and bounded numbers. Each
 * throws a RangeError with a one-line reason naming the flag; the CLIs print
 * it and exit 2.
 *
 * A duration always carries its unit (`250us`, `200ms`, `5s`, `2m`, `1h`): a
 * bare number is refused, because it meant ms in one tool and seconds in
 * another. The only bare number accepted is `0` (zero of any unit is zero).
 * A flag whose name carries its unit (`--base-ms 5`) takes a bare number in
 * that unit, and the same unit written out (`5ms`).
 */

const UNIT_MS: Readonly<Record<string, number>> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

const NUMBER = '(\\d+(?:\\.\\d+)?|\\.\\d+)';
const DURATION_RE = new RegExp(`^${NUMBER}(us|ms|s|m|h)$`);

function flagName(flag: string): string {
  return flag.startsWith('-') ? flag : `--${flag}`;
}

export interface DurationBounds {
  min_ms?: number;
  max_ms?: number;
}

/** `250us`, `200ms`, `5s`, `2m`, `1h` (or `0`) -> milliseconds. */
export function parseDuration_ms(flag: string, raw: string, bounds: DurationBounds = {}): number {
  const text = raw.trim();
  let ms: number;
  if (text === '0') ms = 0;
  else {
    const m = DURATION_RE.exec(text);
    if (m === null) {
      const bare = /^\d+(\.\d+)?$/.test(text) ? ' (a bare number is refused: say the unit)' : '';
      throw new RangeError(`${flagName(flag)} must be a duration like 200ms, 5s or 2m, got '${raw}'${bare}`);
    }
    ms = Number(m[1]) * (UNIT_MS[m[2] ?? 'ms'] ?? Number.NaN);
  }
  checkBounds(flag, raw, ms, bounds.min_ms ?? 0, bounds.max_ms ?? Number.POSITIVE_INFINITY, formatDuration);
  return ms;
}

/** A duration in the unit the flag's name carries: `--base-ms 5` or `--base-ms 5ms`. */
export function parseMs(flag: string, raw: string, min = 0, max = Number.POSITIVE_INFINITY): number {
  const text = raw.trim().replace(/ms$/, '');
  const n = text === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(n)) throw new RangeError(`${flagName(flag)} must be a number of milliseconds, got '${raw}'`);
  checkBounds(flag, raw, n, min, max, (x) => `${x}`);
  return n;
}

/** `5%` or `0.05` -> 0.05. */
export function parseProbability(flag: string, raw: string): number {
  const text = raw.trim();
  const pct = text.endsWith('%');
  const body = pct ? text.slice(0, -1) : text;
  const n = body === '' ? Number.NaN : Number(body);
  const p = pct ? n / 100 : n;
  if (!Number.isFinite(p) || p < 0 || p > 1) throw new RangeError(`${flagName(flag)} must be a probability like 5% or 0.05, got '${raw}'`);
  return p;
}

/** `0-2ms`, `1ms-5ms` or one duration `3ms` (lo = hi) -> [lo, hi] in ms. */
export function parseDurationRange_ms(flag: string, raw: string, bounds: DurationBounds = {}): [number, number] {
  const text = raw.trim();
  const m = /^(\d+(?:\.\d+)?(?:us|ms|s|m|h)?)-(\d+(?:\.\d+)?(?:us|ms|s|m|h))$/.exec(text);
  if (m === null) {
    const one = parseDuration_ms(flag, text, bounds);
    return [one, one];
  }
  const hiText = m[2] ?? '';
  const unit = /(us|ms|s|m|h)$/.exec(hiText)?.[1] ?? 'ms';
  const loText = /(us|ms|s|m|h)$/.test(m[1] ?? '') ? (m[1] ?? '') : `${m[1] ?? ''}${unit}`;
  const lo = parseDuration_ms(flag, loText === `0${unit}` ? '0' : loText, bounds);
  const hi = parseDuration_ms(flag, hiText, bounds);
  if (hi < lo) throw new RangeError(`${flagName(flag)}: the range's low end is above its high end ('${raw}')`);
  return [lo, hi];
}

/** An integer in [min, max]. */
export function parseInteger(flag: string, raw: string, min: number, max: number): number {
  const text = raw.trim();
  const n = /^-?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new RangeError(`${flagName(flag)} must be an integer in ${min}..${max}, got '${raw}'`);
  }
  return n;
}

/** A finite number in [min, max]. */
export function parseNumber(flag: string, raw: string, min: number, max = Number.POSITIVE_INFINITY): number {
  const text = raw.trim();
  const n = text === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(n)) throw new RangeError(`${flagName(flag)} must be a number, got '${raw}'`);
  checkBounds(flag, raw, n, min, max, (x) => `${x}`);
  return n;
}

function checkBounds(flag: string, raw: string, v: number, min: number, max: number, show: (x: number) => string): void {
  if (v < min) throw new RangeError(`${flagName(flag)} must be at least ${show(min)}, got '${raw}'`);
  if (v > max) throw new RangeError(`${flagName(flag)} must be at most ${show(max)}, got '${raw}'`);
}

/** Milliseconds in the largest unit that keeps it readable: 0.25 -> '250us', 1500 -> '1.5s'. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms === 0) return '0';
  if (ms < 1) return `${round3(ms * 1000)}us`;
  if (ms < 1000) return `${round3(ms)}ms`;
  if (ms < 60_000) return `${round3(ms / 1000)}s`;
  if (ms < 3_600_000) return `${round3(ms / 60_000)}m`;
  return `${round3(ms / 3_600_000)}h`;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
