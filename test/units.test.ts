/** The one units parser (src/base/units.ts): every CLI's durations, probabilities and ranges. */
import { describe, expect, it } from 'vitest';
import { formatDuration, parseDurationRange_ms, parseDuration_ms, parseInteger, parseMs, parseProbability } from '../src/base/units.js';

describe('units', () => {
  it('reads a duration in every unit', () => {
    expect(parseDuration_ms('d', '250us')).toBe(0.25);
    expect(parseDuration_ms('d', '200ms')).toBe(200);
    expect(parseDuration_ms('d', '1.5s')).toBe(1500);
    expect(parseDuration_ms('d', '2m')).toBe(120_000);
    expect(parseDuration_ms('d', '1h')).toBe(3_600_000);
    expect(parseDuration_ms('d', '0')).toBe(0);
  });

  it('refuses a bare number (it meant ms in one tool and s in another) with a one-line reason', () => {
    expect(() => parseDuration_ms('duration', '10')).toThrow("--duration must be a duration like 200ms, 5s or 2m, got '10' (a bare number is refused: say the unit)");
    expect(() => parseDuration_ms('duration', '10 parsecs')).toThrow("--duration must be a duration like 200ms, 5s or 2m, got '10 parsecs'");
  });

  it('applies bounds', () => {
    expect(() => parseDuration_ms('warmup', '2h', { max_ms: 3_600_000 })).toThrow("--warmup must be at most 1h, got '2h'");
    expect(() => parseDuration_ms('duration', '50ms', { min_ms: 100 })).toThrow("--duration must be at least 100ms, got '50ms'");
  });

  it('reads ranges, probabilities, ms-named flags and integers', () => {
    expect(parseDurationRange_ms('delay', '0-2ms')).toEqual([0, 2]);
    expect(parseDurationRange_ms('delay', '1ms-3s')).toEqual([1, 3000]);
    expect(parseDurationRange_ms('delay', '3ms')).toEqual([3, 3]);
    expect(() => parseDurationRange_ms('delay', '5-2ms')).toThrow("--delay: the range's low end is above its high end ('5-2ms')");
    expect(parseProbability('drop', '5%')).toBe(0.05);
    expect(parseProbability('drop', '0.25')).toBe(0.25);
    expect(() => parseProbability('drop', '120%')).toThrow("--drop must be a probability like 5% or 0.05, got '120%'");
    expect(parseMs('base-ms', '5')).toBe(5);
    expect(parseMs('base-ms', '5ms')).toBe(5);
    expect(() => parseMs('base-ms', '5s')).toThrow("--base-ms must be a number of milliseconds, got '5s'");
    expect(parseInteger('seeds', '20', 1, 1000)).toBe(20);
    expect(() => parseInteger('seeds', '2.5', 1, 1000)).toThrow("--seeds must be an integer in 1..1000, got '2.5'");
  });

  it('formats durations in the largest readable unit', () => {
    expect(formatDuration(0.25)).toBe('250us');
    expect(formatDuration(1500)).toBe('1.5s');
    expect(formatDuration(90_000)).toBe('1.5m');
  });
});
