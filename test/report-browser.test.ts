/**
 * The report in a real browser (headless Chromium, Debian's `chromium`, driven
 * over the DevTools protocol on a pipe): reports for a bench sweep, a sweep
 * with small multiples and a log-scaled parameter, a 20-series sweep, and a
 * simulator sweep open with no console error and no network request, every
 * plot has drawn marks, the 20 series get 20 colours and a legend that shows
 * all of them, and a screenshot of each is written to results/report-browser/
 * for a person to look at. Where chromium is missing the test is skipped with
 * the reason printed; under CI (which installs it, .ci/run) it fails instead.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { writeReport } from '../src/report/html.js';
import { writeFixture } from './support/results-fixture.js';
import { recordedSeedScenario } from './support/seed-scenario.js';
import { timelineSvg } from '../src/report/timeline-svg.js';

const CHROMIUM = 'chromium';
const found = spawnSync(CHROMIUM, ['--version'], { encoding: 'utf8' }).status === 0;
const missing = found ? null : `${CHROMIUM} is not installed (apt-get install -y chromium)`;
if (missing !== null && process.env.CI === undefined) process.stdout.write(`report-browser: SKIPPED: ${missing}\n`);

const scratch = mkdtempSync(join(tmpdir(), 'synod-report-browser-'));
const SCREENSHOTS = join(import.meta.dirname, '..', 'results', 'report-browser');
afterAll(() => rmSync(scratch, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }));

/** A minimal DevTools-protocol client over --remote-debugging-pipe (fd 3: to the browser, fd 4: from it; NUL-separated JSON). */
class Cdp {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly events: Array<{ method: string; params: Record<string, unknown>; sessionId?: string }> = [];
  private buffer = '';

  constructor(private readonly proc: ChildProcess) {
    const out = proc.stdio[4] as Readable;
    out.setEncoding('utf8');
    out.on('data', (chunk: string) => {
      this.buffer += chunk;
      for (let i = this.buffer.indexOf('\0'); i >= 0; i = this.buffer.indexOf('\0')) {
        const msg = JSON.parse(this.buffer.slice(0, i)) as { id?: number; result?: unknown; error?: { message: string }; method?: string; params?: Record<string, unknown>; sessionId?: string };
        this.buffer = this.buffer.slice(i + 1);
        if (msg.id !== undefined) {
          const w = this.waiting.get(msg.id);
          this.waiting.delete(msg.id);
          if (msg.error !== undefined) w?.reject(new Error(msg.error.message));
          else w?.resolve(msg.result);
        } else if (msg.method !== undefined) {
          this.events.push({ method: msg.method, params: msg.params ?? {}, ...(msg.sessionId === undefined ? {} : { sessionId: msg.sessionId }) });
        }
      }
    });
  }

  send<T>(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<T> {
    const id = this.nextId++;
    const p = new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      setTimeout(() => reject(new Error(`${method}: no answer in 20 s`)), 20_000).unref();
    });
    (this.proc.stdio[3] as Writable).write(`${JSON.stringify({ id, method, params, ...(sessionId === undefined ? {} : { sessionId }) })}\0`);
    return p;
  }

  /** Waits, polling with a bound, until an event of this name has arrived. */
  async until(method: string, timeout_ms = 20_000): Promise<void> {
    const deadline = Date.now() + timeout_ms;
    while (!this.events.some((e) => e.method === method)) {
      if (Date.now() > deadline) throw new Error(`no ${method} in ${timeout_ms} ms`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

interface PageResult {
  problems: string[];
  plots: Array<{ id: string; marks: number; svgs: number; error: string }>;
  legends: Array<{ id: string; swatches: number; colours: number; clipped: boolean }>;
  /** Ballot timelines embedded in the page: their drawn size, bar labels and marks. */
  timelines: Array<{ width: number; height: number; labels: string[]; marks: number }>;
}

/** What the page shows once every figure has drawn (or failed to). */
const INSPECT = `JSON.stringify({
  plots: [...document.querySelectorAll('figure.plot')].map((f) => ({
    id: f.dataset.plot,
    marks: f.querySelectorAll('g[aria-label="line"] path, g[aria-label="dot"] circle, g[aria-label="dot"] path, g[aria-label="rule"] line').length,
    svgs: f.querySelectorAll('.chart svg').length,
    error: f.querySelector('.chart') && f.querySelector('.chart').children.length === 0 ? f.querySelector('.chart').textContent : '',
  })),
  legends: [...document.querySelectorAll('figure.plot')].map((f) => {
    const swatches = [...f.querySelectorAll('span[class$="-swatch"]')];
    const box = f.getBoundingClientRect();
    return {
      id: f.dataset.plot,
      swatches: swatches.length,
      colours: new Set(swatches.map((s) => s.querySelector('svg')?.getAttribute('fill') ?? '')).size,
      clipped: swatches.some((s) => { const r = s.getBoundingClientRect(); return r.width === 0 || r.right > box.right + 1 || r.left < box.left - 1; }),
    };
  }),
  timelines: [...document.querySelectorAll('[data-timeline] svg')].map((svg) => {
    const box = svg.getBoundingClientRect();
    return {
      width: Math.round(box.width), height: Math.round(box.height),
      labels: [...svg.querySelectorAll('text')].map((t) => t.textContent).filter((t) => /^r\\d+\\.n\\d+ s\\d+ /.test(t)),
      marks: svg.querySelectorAll('circle, rect, path').length,
    };
  }),
})`;

async function openReport(html: string, screenshot: string): Promise<PageResult> {
  const profile = mkdtempSync(join(scratch, 'profile-'));
  const proc = spawn(CHROMIUM, ['--headless', '--no-sandbox', '--disable-gpu', '--remote-debugging-pipe', `--user-data-dir=${profile}`, '--no-first-run', '--hide-scrollbars', 'about:blank'], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
  });
  const cdp = new Cdp(proc);
  try {
    const { targetId } = await cdp.send<{ targetId: string }>('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await cdp.send<{ sessionId: string }>('Target.attachToTarget', { targetId, flatten: true });
    for (const domain of ['Runtime', 'Log', 'Network', 'Page']) await cdp.send(`${domain}.enable`, {}, sessionId);
    await cdp.send('Emulation.setDeviceMetricsOverride', { width: 1400, height: 1000, deviceScaleFactor: 1, mobile: false }, sessionId);
    await cdp.send('Page.navigate', { url: `file://${html}` }, sessionId);
    await cdp.until('Page.loadEventFired');
    const ready = `[...document.querySelectorAll('figure.plot .chart')].every((c) => c.children.length > 0 || c.textContent !== '')`;
    const deadline = Date.now() + 20_000;
    while (!(await cdp.send<{ result: { value: boolean } }>('Runtime.evaluate', { expression: ready, returnByValue: true }, sessionId)).result.value) {
      if (Date.now() > deadline) throw new Error('plots not drawn in 20 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    const inspected = await cdp.send<{ result: { value: string } }>('Runtime.evaluate', { expression: INSPECT, returnByValue: true }, sessionId);
    const { contentSize } = await cdp.send<{ contentSize: { height: number } }>('Page.getLayoutMetrics', {}, sessionId);
    await cdp.send('Emulation.setDeviceMetricsOverride', { width: 1400, height: Math.ceil(contentSize.height), deviceScaleFactor: 1, mobile: false }, sessionId);
    const shot = await cdp.send<{ data: string }>('Page.captureScreenshot', { format: 'png' }, sessionId);
    writeFileSync(screenshot, Buffer.from(shot.data, 'base64'));
    const problems = cdp.events.flatMap((e): string[] => {
      const p = e.params;
      if (e.method === 'Runtime.exceptionThrown') return [`exception: ${JSON.stringify((p.exceptionDetails as { exception?: { description?: string } }).exception?.description ?? p.exceptionDetails)}`];
      if (e.method === 'Runtime.consoleAPICalled' && (p.type === 'error' || p.type === 'assert')) return [`console.${String(p.type)}: ${JSON.stringify(p.args)}`];
      if (e.method === 'Log.entryAdded' && (p.entry as { level: string }).level === 'error') return [`log: ${(p.entry as { text: string }).text}`];
      const url = e.method === 'Network.requestWillBeSent' ? (p.request as { url: string }).url : '';
      return url !== '' && !/^(file|data|about):/.test(url) ? [`network request (the report must work offline): ${url}`] : [];
    });
    return { problems, ...(JSON.parse(inspected.result.value) as Omit<PageResult, 'problems'>) };
  } finally {
    // Wait for the browser to be gone before the profile folder is removed (it writes there until it exits).
    const exited = proc.exitCode !== null || proc.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGKILL');
    await Promise.race([exited, new Promise<void>((r) => setTimeout(r, 5_000).unref())]);
  }
}

const POLICIES = ['immediate', 'fixed', 'exponential', 'leader', 'lease'];
const noise = (s: number): number => 1 + ((s * 37) % 11) / 100;

/** Folders of every shape the report draws. */
function fixtures(): Array<{ name: string; dir: string; extras: Parameters<typeof writeReport>[1]; series: number; timelines: number }> {
  const policyRows = POLICIES.flatMap((policy) => [1, 3, 5].map((proposers) => ({ policy, proposers, base_ms: policy === 'fixed' || policy === 'immediate' ? null : 1 })));
  const throughput = (c: Record<string, unknown>, s: number): number => (c.policy === 'immediate' ? 9000 / Number(c.proposers) ** 2 : 15_000 / (1 + Number(c.proposers) / 20)) * noise(s);
  const bench = writeFixture(join(scratch, 'bench'), {
    tool: 'bench', center: 'median', samples: 4, perSample: true, configs: policyRows, swept: ['policy', 'proposers'],
    metrics: {
      decisions_per_s: throughput,
      latency_us_p50: (c, s) => 80 * Number(c.proposers) * noise(s),
      latency_us_p99: (c, s) => 900 * Number(c.proposers) ** 1.5 * noise(s + 3),
      attempts_per_proposal: (c, s) => (c.policy === 'immediate' ? Number(c.proposers) ** 1.6 : 1 + Number(c.proposers) / 50) * noise(s),
      messages_per_decision: (c) => 6 * Number(c.proposers),
      cpu_us_per_decision: (c, s) => 100 + 30 * Number(c.proposers) * noise(s),
      heap_growth_pct_per_min_max: () => Number.NaN,
    },
  });
  const cdfs = policyRows.map((config) => ({ config, points: [50, 75, 90, 95, 99, 99.9, 99.99, 100].map((p): [number, number] => [p, 80 * Number(config.proposers) / (1.0001 - p / 100) ** 0.4]) }));
  const timeSeries = policyRows.map((config) => ({ config, step_s: 0.1, values: Array.from({ length: 30 }, (_, i) => throughput(config, i)) }));
  // Small multiples: a log-scaled swept parameter, one series per jitter, one panel per proposer count.
  const grid = ['none', 'full', 'equal', 'decorrelated'].flatMap((jitter) => [2, 10, 50].flatMap((proposers) => [1, 4, 16, 64].map((base_ms) => ({ policy: 'exponential', jitter, proposers, base_ms }))));
  const backoff = writeFixture(join(scratch, 'backoff'), {
    tool: 'bench', center: 'median', samples: 3, perSample: true, configs: grid, swept: ['base_ms', 'jitter', 'proposers'],
    metrics: { decisions_per_s: (c, s) => (2000 / Number(c.proposers)) * (1 + Math.log2(Number(c.base_ms)) / (c.jitter === 'none' ? 10 : 3)) * noise(s) },
  });
  // Twenty series: colours must not repeat, the legend must show every one.
  const wide = writeFixture(join(scratch, 'wide'), {
    tool: 'bench', center: 'median', samples: 1, perSample: true, swept: ['outstanding', 'window'],
    configs: Array.from({ length: 20 }, (_, w) => [1, 8, 64].map((outstanding) => ({ policy: 'leader', outstanding, window: w + 1 }))).flat(),
    metrics: { decisions_per_s: (c) => 1000 * Number(c.window) * Math.log2(2 * Number(c.outstanding)) },
  });
  const sim = writeFixture(join(scratch, 'sim'), {
    tool: 'sim', center: 'mean', samples: 50, perSample: false, swept: ['proposers', 'jitter'],
    configs: ['none', 'full', 'equal', 'decorrelated'].flatMap((jitter) => [2, 5, 10, 20, 50].map((proposers) => ({ policy: 'exponential', jitter, proposers, base_ms: 5, cap_ms: 2000 }))),
    metrics: {
      attempts_per_proposal: (c, s) => (1 + Number(c.proposers) / (c.jitter === 'none' ? 2 : 8)) * noise(s),
      makespan_ms: (c, s) => 20 * Number(c.proposers) * (c.jitter === 'none' ? 3 : 1) * noise(s),
      latency_ms_p99: (c, s) => 30 * Number(c.proposers) * noise(s),
    },
  });
  const timeline = { title: 'Ballot timeline: the seed scenario', html: `<div class="scroll" data-timeline>${timelineSvg(recordedSeedScenario().recorder.data(), 'the seed scenario')}</div>` };
  return [
    { name: 'bench', dir: bench, extras: { cdfs, cdfUnit: 'us', timeSeries, notes: ['A note from the tool.'] }, series: POLICIES.length, timelines: 0 },
    { name: 'backoff', dir: backoff, extras: {}, series: 4, timelines: 0 },
    { name: 'twenty-series', dir: wide, extras: {}, series: 20, timelines: 0 },
    { name: 'sim', dir: sim, extras: { sections: [timeline] }, series: 4, timelines: 1 },
  ];
}

describe('report.html in headless Chromium', () => {
  it.skipIf(missing !== null && process.env.CI === undefined)('opens offline without console errors, every plot drawn, legends whole; screenshots written', async () => {
    if (missing !== null) throw new Error(`CI must have a browser for this test: ${missing} (.ci/run installs it)`);
    mkdirSync(SCREENSHOTS, { recursive: true });
    for (const f of fixtures()) {
      const html = writeReport(f.dir, f.extras);
      const shot = join(SCREENSHOTS, `${f.name}.png`);
      const page = await openReport(html, shot);
      process.stdout.write(`report-browser: ${f.name}: ${page.plots.length} plots, screenshot ${shot}\n`);
      expect(page.problems, f.name).toEqual([]);
      expect(page.plots.length, f.name).toBeGreaterThan(0);
      for (const p of page.plots) {
        expect(p.error, `${f.name} ${p.id}`).toBe('');
        expect(p.svgs, `${f.name} ${p.id}`).toBeGreaterThan(0);
        expect(p.marks, `${f.name} ${p.id} has marks`).toBeGreaterThan(0);
      }
      const metricLegends = page.legends.filter((l) => l.id.startsWith('metric-'));
      for (const l of metricLegends) {
        expect(l.swatches, `${f.name} ${l.id} legend entries`).toBe(f.series);
        expect(l.colours, `${f.name} ${l.id} distinct colours`).toBe(f.series);
        expect(l.clipped, `${f.name} ${l.id} legend clipped`).toBe(false);
      }
      expect(page.timelines, `${f.name} timelines`).toHaveLength(f.timelines);
      for (const t of page.timelines) {
        // Drawn at full size: the first attempts of the seed scenario, each with the promises it counted.
        expect(t.width).toBeGreaterThanOrEqual(1100);
        expect(t.height).toBeGreaterThan(200);
        expect(t.labels.slice(0, 3)).toEqual(['r1.n0 s0 2/2', 'r1.n1 s0 2/2', 'r2.n0 s0 1/2']);
        expect(t.marks).toBeGreaterThan(40);
      }
    }
  }, 180_000);
});
