/**
 * One progress line per finished run on stderr, also when it is not a
 * terminal (a CI log, a pipe), with the time spent and an estimate of the
 * time left from the runs so far. Written between measured windows only, so
 * it never disturbs one.
 */
import { performance } from 'node:perf_hooks';
import { formatDuration } from '../src/base/units.js';

/** Seconds under a minute ("42s"), then minutes and seconds ("3m05s"). */
export function clock(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return s === 0 ? '0s' : formatDuration(s * 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

export class Progress {
  private done = 0;
  private readonly t0: number;

  constructor(
    private readonly total: number,
    private readonly write: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
    private readonly now: () => number = () => performance.now(),
  ) {
    this.t0 = now();
  }

  /** A run ended: `what` names it, `result` is its headline figures. */
  runDone(what: string, result: string): void {
    this.done++;
    const elapsed = this.now() - this.t0;
    const left = this.done >= this.total ? 0 : (elapsed / this.done) * (this.total - this.done);
    this.write(`[${this.done}/${this.total}] ${what}: ${result} | elapsed ${clock(elapsed)}, ${this.done >= this.total ? 'done' : `about ${clock(left)} left`}`);
  }
}
