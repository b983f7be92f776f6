/**
 * Per-message network latency models for the simulator, as written on the
 * command line (`--latency`, `--link`), each with the range its draws stay in:
 *
 * - `const:5ms`             exactly 5 ms
 * - `uniform:2ms-8ms`       uniform in [2 ms, 8 ms]
 * - `normal:10ms,2ms`       mean 10 ms, standard deviation 2 ms, cut to mean ± 4 sd and at 0
 * - `lognormal:10ms,0.5`    median 10 ms, log-space sigma 0.5, cut at median * e^(± 4 sigma)
 *
 * The cut tails hold about 6e-5 of the mass; cutting keeps every draw in a
 * stated range (and a virtual clock never goes backwards or to infinity).
 */
import { formatDuration, parseDuration_ms, parseDurationRange_ms, parseNumber } from '../base/units.js';

export type LatencyModel =
  | { kind: 'const'; ms: number }
  | { kind: 'uniform'; lo_ms: number; hi_ms: number }
  | { kind: 'normal'; mean_ms: number; sd_ms: number }
  | { kind: 'lognormal'; median_ms: number; sigma: number };

/** A latency above an hour is a typo, not a network. */
const MAX_LATENCY_MS = 3_600_000;
const TAIL_SDS = 4;
const BOUNDS = { max_ms: MAX_LATENCY_MS };

/** Parses `KIND:ARGS`; throws a RangeError with a one-line reason naming the flag. */
export function parseLatency(flag: string, raw: string): LatencyModel {
  const text = raw.trim();
  const colon = text.indexOf(':');
  const kind = colon < 0 ? text : text.slice(0, colon);
  const args = colon < 0 ? '' : text.slice(colon + 1);
  const parts = args.split(',');
  const want = (n: number, shape: string): void => {
    if (parts.length !== n || parts.some((p) => p.trim() === '')) throw new RangeError(`--${flag} ${kind} takes ${shape}, got '${raw}'`);
  };
  switch (kind) {
    case 'const':
      want(1, 'one duration (const:5ms)');
      return { kind, ms: parseDuration_ms(flag, args, BOUNDS) };
    case 'uniform': {
      want(1, 'a range (uniform:2ms-8ms)');
      const [lo_ms, hi_ms] = parseDurationRange_ms(flag, args, BOUNDS);
      return { kind, lo_ms, hi_ms };
    }
    case 'normal':
      want(2, 'a mean and a standard deviation (normal:10ms,2ms)');
      return { kind, mean_ms: parseDuration_ms(flag, parts[0] ?? '', BOUNDS), sd_ms: parseDuration_ms(flag, parts[1] ?? '', BOUNDS) };
    case 'lognormal':
      want(2, 'a median and a log-space sigma (lognormal:10ms,0.5)');
      return { kind, median_ms: parseDuration_ms(flag, parts[0] ?? '', BOUNDS), sigma: parseNumber(flag, parts[1] ?? '', 0, 3) };
    default:
      throw new RangeError(`--${flag} must be const:D, uniform:D-D, normal:MEAN,SD or lognormal:MEDIAN,SIGMA, got '${raw}'`);
  }
}

/** The model as the command line writes it (round-trips through parseLatency). */
export function formatLatency(m: LatencyModel): string {
  switch (m.kind) {
    case 'const':
      return `const:${formatDuration(m.ms)}`;
    case 'uniform':
      return `uniform:${formatDuration(m.lo_ms)}-${formatDuration(m.hi_ms)}`;
    case 'normal':
      return `normal:${formatDuration(m.mean_ms)},${formatDuration(m.sd_ms)}`;
    case 'lognormal':
      return `lognormal:${formatDuration(m.median_ms)},${m.sigma}`;
  }
}

/** [min, max] of every draw, in ms. */
export function latencyRange(m: LatencyModel): [number, number] {
  switch (m.kind) {
    case 'const':
      return [m.ms, m.ms];
    case 'uniform':
      return [m.lo_ms, m.hi_ms];
    case 'normal':
      return [Math.max(0, m.mean_ms - TAIL_SDS * m.sd_ms), m.mean_ms + TAIL_SDS * m.sd_ms];
    case 'lognormal':
      return [m.median_ms * Math.exp(-TAIL_SDS * m.sigma), m.median_ms * Math.exp(TAIL_SDS * m.sigma)];
  }
}

/** The standard normal's 99th percentile. */
const Z99 = 2.3263;

/** The model's 99th percentile, in ms (for sizing timeouts). */
export function latencyP99(m: LatencyModel): number {
  switch (m.kind) {
    case 'const':
      return m.ms;
    case 'uniform':
      return m.lo_ms + 0.99 * (m.hi_ms - m.lo_ms);
    case 'normal':
      return m.mean_ms + Z99 * m.sd_ms;
    case 'lognormal':
      return m.median_ms * Math.exp(Z99 * m.sigma);
  }
}

/** A standard normal draw cut to ± TAIL_SDS (Box-Muller on two uniforms; no cached second draw, so no hidden state). */
function standardNormal(uniform: () => number): number {
  const u = 1 - uniform(); // (0, 1]: log(0) never happens
  const v = uniform();
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  return Math.max(-TAIL_SDS, Math.min(TAIL_SDS, z));
}

/** One draw, in ms, within latencyRange(m). `uniform` is in [0, 1). */
export function drawLatency(m: LatencyModel, uniform: () => number): number {
  switch (m.kind) {
    case 'const':
      return m.ms;
    case 'uniform':
      return m.lo_ms + uniform() * (m.hi_ms - m.lo_ms);
    case 'normal':
      return Math.max(0, m.mean_ms + m.sd_ms * standardNormal(uniform));
    case 'lognormal':
      return m.median_ms * Math.exp(m.sigma * standardNormal(uniform));
  }
}
