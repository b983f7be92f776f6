/** What the tuner minimises or maximises: one simulator metric per run, averaged over seeds. */
import type { MetricName } from '../sim/metrics.js';

export const OBJECTIVES = {
  p99: { metric: 'latency_ms_p99', higherIsBetter: false, unit: 'ms' },
  mean: { metric: 'latency_ms_mean', higherIsBetter: false, unit: 'ms' },
  attempts: { metric: 'attempts_per_proposal', higherIsBetter: false, unit: 'ballots' },
  throughput: { metric: 'goodput_per_s', higherIsBetter: true, unit: '/s' },
} as const satisfies Record<string, { metric: MetricName; higherIsBetter: boolean; unit: string }>;

export type ObjectiveName = keyof typeof OBJECTIVES;
export type Objective = (typeof OBJECTIVES)[ObjectiveName] & { name: ObjectiveName };

export function objectiveOf(raw: string): Objective {
  if (!Object.hasOwn(OBJECTIVES, raw)) throw new RangeError(`--objective must be one of ${Object.keys(OBJECTIVES).join(', ')}, got '${raw}'`);
  const name = raw as ObjectiveName;
  return { ...OBJECTIVES[name], name };
}
