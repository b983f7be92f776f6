/**
 * The landscape: every candidate's objective on the first round's seeds (the
 * one round where all of them ran the same seeds), one chart per policy: its
 * main parameter along x, one line per value of its categorical parameters,
 * each point the best over the remaining parameters (so a line is the best
 * this jitter can do at this base delay). A setting with an unfinished run
 * leaves a gap.
 */
import type { PolicyName, PolicyParams } from '../contention/registry.js';
import { lineChartSvg, stackCharts, type ChartSeries } from '../report/svg-chart.js';
import { rank, score, type ArmResult } from './halving.js';
import type { Candidate } from './space.js';

/** Per policy: the parameter along x and the ones that make the series. */
const AXES: Readonly<Partial<Record<PolicyName, { x: keyof PolicyParams; series: Array<keyof PolicyParams> }>>> = {
  fixed: { x: 'delay_ms', series: ['after_lost_slot'] },
  exponential: { x: 'base_ms', series: ['jitter', 'after_lost_slot'] },
  leader: { x: 'election_timeout_ms', series: ['heartbeat_ms'] },
  lease: { x: 'election_timeout_ms', series: ['heartbeat_ms'] },
};

export function landscapeSvg(arms: ReadonlyArray<ArmResult<Candidate>>, firstSeeds: number, objective: string, higherIsBetter: boolean): string {
  const policies = [...new Set(arms.map((a) => a.arm.policy))];
  const charts = policies.flatMap((policy) => {
    const axes = AXES[policy];
    if (axes === undefined) return [];
    const mine = arms.filter((a) => a.arm.policy === policy);
    const xs = [...new Set(mine.map((a) => Number(a.arm.params[axes.x])))].sort((p, q) => p - q);
    const groups = new Map<string, Map<number, Array<ArmResult<Candidate>>>>();
    for (const a of mine) {
      const name = axes.series.map((k) => `${k}=${String(a.arm.params[k])}`).join(' ');
      const byX = groups.get(name) ?? new Map<number, Array<ArmResult<Candidate>>>();
      const x = Number(a.arm.params[axes.x]);
      byX.set(x, [...(byX.get(x) ?? []), a]);
      groups.set(name, byX);
    }
    const series: ChartSeries[] = [...groups].map(([name, byX]) => ({
      name,
      y: xs.map((x) => {
        const best = rank(byX.get(x) ?? [], firstSeeds, higherIsBetter)[0];
        const s = best === undefined ? null : score(best.values, firstSeeds);
        return s === null || s.failures > 0 ? Number.NaN : s.mean;
      }),
      ci: xs.map(() => Number.NaN),
    }));
    return [lineChartSvg({
      title: `${policy}: ${objective}, first ${firstSeeds} seeds (best of the other parameters; gap: unfinished)`,
      xLabel: axes.x, yLabel: objective, x: xs.map(String), series, logY: true,
    })];
  });
  return stackCharts(charts);
}
