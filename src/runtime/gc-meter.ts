/**
 * Garbage-collection time of this thread over a window, from perf_hooks' 'gc'
 * entries: the benchmark reports it per replica, because on the hot path the
 * collector is a cost as large as any function (docs/performance.md).
 * A minor collection (scavenge) stops the thread; major ones are mostly
 * incremental steps and their final pause.
 */
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';

export interface GcFigures {
  /** Time in collections of any kind, ms. */
  gc_ms: number;
  /** Time in minor collections (scavenges), ms, and how many. */
  gc_minor_ms: number;
  gc_minor_count: number;
  /** Time in major collections (mark-compact, incremental steps), ms, and how many. */
  gc_major_ms: number;
  gc_major_count: number;
}

export function emptyGcFigures(): GcFigures {
  return { gc_ms: 0, gc_minor_ms: 0, gc_minor_count: 0, gc_major_ms: 0, gc_major_count: 0 };
}

export class GcMeter {
  private figures = emptyGcFigures();
  private observer: PerformanceObserver | null = null;

  /** Starts a new window (the figures so far are dropped). */
  start(): void {
    this.stop();
    this.figures = emptyGcFigures();
    this.observer = new PerformanceObserver((list) => this.add(list.getEntries()));
    this.observer.observe({ entryTypes: ['gc'] });
  }

  /** Ends the window: the figures since `start`. */
  stop(): GcFigures {
    if (this.observer !== null) {
      this.add(this.observer.takeRecords());
      this.observer.disconnect();
      this.observer = null;
    }
    const f = this.figures;
    return { ...f, gc_ms: f.gc_minor_ms + f.gc_major_ms };
  }

  private add(entries: readonly PerformanceEntry[]): void {
    for (const e of entries) {
      const kind = (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) {
        this.figures.gc_minor_ms += e.duration;
        this.figures.gc_minor_count++;
      } else {
        this.figures.gc_major_ms += e.duration;
        this.figures.gc_major_count++;
      }
    }
  }
}
