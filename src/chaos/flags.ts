/**
 * Fault flags shared by `npm run chaos` and the benchmark:
 * `--drop 5% --delay 0-2ms --dup 1% --reorder 2% --partition-every 5s --pause-every 3s --pause 200ms --crash-every 3s`.
 * Each parser throws a RangeError with a one-line reason (the CLIs print it and exit 2).
 */
import { parseDurationRange_ms, parseDuration_ms, parseProbability } from '../base/units.js';
import type { FaultSpec } from '../runtime/fault-transport.js';

export { parseDuration_ms, parseProbability };

export const FAULT_OPTIONS = {
  drop: { type: 'string' },
  delay: { type: 'string' },
  dup: { type: 'string' },
  reorder: { type: 'string' },
  'partition-every': { type: 'string' },
  'pause-every': { type: 'string' },
  pause: { type: 'string' },
  'crash-every': { type: 'string' },
  'crash-all-every': { type: 'string' },
} as const;

export function faultHelp(): string {
  return [
    '  --drop P                 chance a message is lost: 5% or 0.05 (default 0)',
    '  --delay LO-HIms          per-message delay range, e.g. 0-2ms (default none)',
    '  --dup P                  chance a message is delivered twice (default 0)',
    '  --reorder P              chance a message is overtaken by later ones (default 0)',
    '  --partition-every T      cut a random minority off every T (e.g. 5s), healed after T/2',
    '  --pause-every T          stall a random replica every T, for --pause (default 200ms)',
    '  --crash-every T          crash a random replica every T, restart it after T/2 (file storage)',
    '  --crash-all-every T      crash every replica at once every T (once all are up), restart them all soon after (file storage)',
  ].join('\n');
}

/** `0-2ms` or one duration `3ms` -> [lo, hi] ms (the units parser's range). */
export const parseDelayRange_ms = (flag: string, raw: string): [number, number] => parseDurationRange_ms(flag, raw, { max_ms: 60_000 });

export interface FaultFlags {
  faults: FaultSpec;
  partitionEvery_ms: number;
  pauseEvery_ms: number;
  pause_ms: number;
  crashEvery_ms: number;
  crashAllEvery_ms: number;
}

export function faultsFromFlags(values: Partial<Record<string, string | boolean | undefined>>): FaultFlags {
  const str = (k: string): string | undefined => {
    const v = values[k];
    return typeof v === 'string' ? v : undefined;
  };
  const faults: FaultSpec = {};
  const drop = str('drop'), dup = str('dup'), reorder = str('reorder'), delay = str('delay');
  if (drop !== undefined) faults.drop = parseProbability('drop', drop);
  if (dup !== undefined) faults.duplicate = parseProbability('dup', dup);
  if (reorder !== undefined) faults.reorder = parseProbability('reorder', reorder);
  if (delay !== undefined) faults.delay_ms = parseDelayRange_ms('delay', delay);
  const dur = (k: string, d: number): number => {
    const v = str(k);
    return v === undefined ? d : parseDuration_ms(k, v);
  };
  return {
    faults,
    partitionEvery_ms: dur('partition-every', 0),
    pauseEvery_ms: dur('pause-every', 0),
    pause_ms: dur('pause', 200),
    crashEvery_ms: dur('crash-every', 0),
    crashAllEvery_ms: dur('crash-all-every', 0),
  };
}
