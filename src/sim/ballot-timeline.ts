/**
 * The simulator's ballot timeline: one seed of a run spec, recorded
 * (src/report/ballot-timeline.ts) and drawn (src/report/timeline-svg.ts), for
 * `npm run sim -- --seed S --timeline FILE.svg` and for a chosen point of a
 * sweep's report.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { majority } from '../paxos/quorum.js';
import { BallotRecorder, type TimelineData } from '../report/ballot-timeline.js';
import { timelineSvg } from '../report/timeline-svg.js';
import { clusterOf, configFor, type RunSpec } from './flags.js';
import { nodesOf, runSimulation, type SimResult } from './simulator.js';

export function recordTimeline(spec: RunSpec, seed: number): { data: TimelineData; result: SimResult } {
  const { replicas, proposers } = clusterOf(spec, seed);
  const recorder = new BallotRecorder(nodesOf({ replicas, proposers }), replicas, majority(replicas));
  const result = runSimulation({ ...configFor(spec, seed), timeline: recorder });
  return { data: recorder.data(), result };
}

export function timelineFor(spec: RunSpec, seed: number, title: string, command: string): { svg: string; result: SimResult } {
  const { data, result } = recordTimeline(spec, seed);
  return { svg: timelineSvg(data, title, command), result };
}

/** Refuses a --timeline path the run could not write (checked before any work). */
export function checkTimelinePath(path: string): void {
  if (!path.endsWith('.svg')) throw new RangeError(`--timeline must name an .svg file, got '${path}'`);
  const dir = dirname(resolve(path));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new RangeError(`--timeline: directory ${dir} does not exist`);
}
