/**
 * Draws a ballot timeline (ballot-timeline.ts) as one self-contained SVG:
 * time runs left to right, one lane per node. On a proposer's lane each
 * ballot it held is a bar, from its Prepare to the end of its attempt: hollow
 * while in phase 1, with the promises counted written on it; solid from the
 * Accept (a quorum of promises) on; ended by a check mark when it got its
 * value decided, by a red cross when an acceptor pre-empted it (labelled
 * with the rival ballot), or by the proposer's next ballot. On an
 * acceptor's lane: a tick where it hears a Prepare, a dot where it promises,
 * a square where it votes, a red cross where it rejects, each in the colour
 * of the ballot's owner; a diamond where a node learns a slot. Thin lines
 * are the messages' trips. Hovering a mark shows its details (SVG titles).
 */
import { nodeOf, roundOf, type Ballot } from '../paxos/ballot.js';
import type { TimelineData, TimelineEvent } from './ballot-timeline.js';

const COLORS = ['#4269d0', '#ff725c', '#3ca951', '#a463f2', '#efb118', '#ff8ab7', '#6cc5b0', '#9c6b4e', '#97bbf5', '#e15759'];
const LANE_H = 34;
const LEFT = 150;
const TOP = 112;
const RIGHT = 40;
const PLOT_MIN = 1100;
const PLOT_MAX = 9000;
/** Above this many trips the lines would hide the marks: they are left out (and the caption says so). */
const DELIVERIES_DRAWN_MAX = 4000;

export function ballotName(b: Ballot): string {
  return `r${roundOf(b)}.n${nodeOf(b)}`;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const colorOf = (b: Ballot): string => COLORS[nodeOf(b) % COLORS.length] as string;
const n1 = (x: number): string => (Math.round(x * 10) / 10).toString();

/** One ballot a proposer held: from its prepare to where its attempt ended. */
export interface BallotBar {
  node: number;
  slot: number;
  ballot: Ballot;
  start: number;
  /** When it sent Accept (a quorum of promises), or null. */
  accepted: number | null;
  end: number;
  outcome: 'decided' | 'preempted' | 'superseded' | 'learned' | 'open';
  /** Promises counted by the end of phase 1 (at the Accept, else at the end). */
  promises: number;
  rival: Ballot | null;
  value: string | null;
}

/** The bars, from the events: what the picture shows and what tests assert on. */
export function ballotBars(data: TimelineData): BallotBar[] {
  const end = Math.max(0, ...data.events.map((e) => e.at));
  const bars: BallotBar[] = [];
  const byNode = new Map<number, TimelineEvent[]>();
  for (const e of data.events) byNode.set(e.node, [...(byNode.get(e.node) ?? []), e]);
  for (const [node, evs] of byNode) {
    for (const p of evs.filter((e) => e.kind === 'prepare')) {
      const later = evs.filter((e) => e.at >= p.at && e !== p);
      const mine = (e: TimelineEvent): boolean => e.ballot === p.ballot && e.slot === p.slot;
      const accept = later.find((e) => e.kind === 'accept' && mine(e)) ?? null;
      const enders: Array<{ at: number; outcome: BallotBar['outcome']; e: TimelineEvent }> = [];
      const preempted = later.find((e) => e.kind === 'preempted' && mine(e));
      if (preempted !== undefined) enders.push({ at: preempted.at, outcome: 'preempted', e: preempted });
      const next = later.find((e) => e.kind === 'prepare' && e.slot === p.slot && e.ballot > p.ballot);
      if (next !== undefined) enders.push({ at: next.at, outcome: 'superseded', e: next });
      const decide = accept === null ? undefined : later.find((e) => e.kind === 'decide' && e.slot === p.slot && e.at >= accept.at);
      if (decide !== undefined) enders.push({ at: decide.at, outcome: 'decided', e: decide });
      const learn = later.find((e) => e.kind === 'learn' && e.slot === p.slot);
      if (learn !== undefined) enders.push({ at: learn.at, outcome: 'learned', e: learn });
      enders.sort((a, b) => a.at - b.at || (a.outcome === 'decided' ? -1 : 0));
      const first = enders[0];
      const stop = first?.at ?? end;
      const counted = later.filter((e) => e.kind === 'promises' && mine(e) && e.at <= (accept?.at ?? stop));
      bars.push({
        node, slot: p.slot, ballot: p.ballot, start: p.at, accepted: accept === null || accept.at > stop ? null : accept.at, end: stop,
        outcome: first?.outcome ?? 'open', promises: Math.max(0, ...counted.map((e) => e.count ?? 0)),
        rival: first?.outcome === 'preempted' ? (first.e.rival ?? null) : null, value: first?.outcome === 'decided' || first?.outcome === 'learned' ? (first.e.value ?? null) : null,
      });
    }
  }
  return bars.sort((a, b) => a.start - b.start || a.node - b.node);
}

interface Scale {
  x(t: number): number;
  y(node: number): number;
  width: number;
  height: number;
  t0: number;
  t1: number;
}

function scaleFor(data: TimelineData): Scale {
  const times = data.events.map((e) => e.at);
  const t0 = Math.min(0, ...times);
  const t1 = Math.max(t0 + 1, ...times);
  const span = t1 - t0;
  // About 6 px per unit (a 10 ms message delay is 60 px wide), at least a page, at most PLOT_MAX.
  const plotW = Math.min(PLOT_MAX, Math.max(PLOT_MIN, span * 6));
  return {
    x: (t) => LEFT + ((t - t0) / span) * plotW,
    y: (node) => TOP + node * LANE_H,
    width: LEFT + plotW + RIGHT,
    height: TOP + data.nodes * LANE_H + 40,
    t0, t1,
  };
}

function axis(s: Scale, unit: string): string[] {
  const out: string[] = [];
  const span = s.t1 - s.t0;
  const raw = span / 12;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((v) => v >= raw) ?? raw;
  for (let t = Math.ceil(s.t0 / step) * step; t <= s.t1 + 1e-9; t += step) {
    const x = n1(s.x(t));
    out.push(`<line x1="${x}" y1="${TOP - 14}" x2="${x}" y2="${s.height - 40}" stroke="#eee"/>`);
    out.push(`<text x="${x}" y="${TOP - 18}" text-anchor="middle" fill="#555">${n1(t)}${unit === 'ms' ? ' ms' : ''}</text>`);
  }
  return out;
}

function lanes(data: TimelineData, s: Scale, proposers: ReadonlySet<number>): string[] {
  const out: string[] = [];
  for (let n = 0; n < data.nodes; n++) {
    const y = s.y(n);
    const role = n < data.acceptors ? (proposers.has(n) ? 'acceptor, proposer' : 'acceptor') : 'proposer only';
    out.push(`<rect x="0" y="${y}" width="${s.width}" height="${LANE_H}" fill="${n % 2 === 0 ? '#fafafa' : '#ffffff'}"/>`);
    out.push(`<text x="8" y="${y + 15}" font-weight="600">n${n}</text><text x="8" y="${y + 28}" fill="#777" font-size="10">${role}</text>`);
  }
  return out;
}

function arrows(data: TimelineData, s: Scale): string[] {
  if (data.deliveries.length > DELIVERIES_DRAWN_MAX) return [];
  return data.deliveries.map((d) => {
    const y1 = s.y(d.from) + LANE_H / 2;
    const y2 = s.y(d.to) + LANE_H / 2;
    const color = d.ballot === 0 ? '#999' : colorOf(d.ballot);
    return `<line x1="${n1(s.x(d.sent))}" y1="${y1}" x2="${n1(s.x(d.received))}" y2="${y2}" stroke="${color}" stroke-opacity="0.28" stroke-width="0.8"/>`;
  });
}

function barSvg(b: BallotBar, s: Scale, quorum: number, unit: string): string {
  const y = s.y(b.node) + 4;
  const x0 = s.x(b.start);
  const xa = b.accepted === null ? s.x(b.end) : s.x(b.accepted);
  const x1 = Math.max(s.x(b.end), x0 + 2);
  const c = colorOf(b.ballot);
  const what = `${ballotName(b.ballot)} in slot ${b.slot}: prepared at ${n1(b.start)}${unit === 'ms' ? ' ms' : ''}, ${b.promises}/${quorum} promises` +
    `${b.accepted === null ? '' : `, accept at ${n1(b.accepted)}`}, ${b.outcome}${b.rival === null ? '' : ` by ${ballotName(b.rival)}`} at ${n1(b.end)}`;
  const parts = [
    `<g><title>${esc(what)}</title>`,
    `<rect x="${n1(x0)}" y="${y}" width="${n1(Math.max(1, xa - x0))}" height="12" fill="white" stroke="${c}" stroke-width="1.5"/>`,
  ];
  if (b.accepted !== null) parts.push(`<rect x="${n1(xa)}" y="${y}" width="${n1(Math.max(1, x1 - xa))}" height="12" fill="${c}"/>`);
  const label = `${ballotName(b.ballot)} s${b.slot} ${b.promises}/${quorum}`;
  parts.push(`<text x="${n1(x0 + 3)}" y="${y + 10}" font-size="9" fill="${b.accepted === null || xa - x0 > 60 ? '#222' : '#222'}">${esc(label)}</text>`);
  if (b.outcome === 'decided') parts.push(`<path d="M${n1(x1 + 2)},${y + 6} l3,4 l6,-9" fill="none" stroke="#2a8a2a" stroke-width="2"/><text x="${n1(x1 + 13)}" y="${y + 10}" font-size="9" fill="#2a8a2a">${esc(b.value ?? '')}</text>`);
  if (b.outcome === 'preempted') parts.push(`<path d="M${n1(x1 - 4)},${y - 2} l8,8 m0,-8 l-8,8" stroke="#d62728" stroke-width="2"/><text x="${n1(x1 + 6)}" y="${y + 10}" font-size="9" fill="#d62728">by ${esc(b.rival === null ? '?' : ballotName(b.rival))}</text>`);
  parts.push('</g>');
  return parts.join('');
}

function markSvg(e: TimelineEvent, s: Scale, unit: string): string {
  const x = n1(s.x(e.at));
  const y = s.y(e.node) + 24;
  const c = e.ballot === 0 ? '#555' : colorOf(e.ballot);
  const at = `${n1(e.at)}${unit === 'ms' ? ' ms' : ''}`;
  const title = (t: string): string => `<title>${esc(`n${e.node} ${t} at ${at}`)}</title>`;
  switch (e.kind) {
    case 'hear':
      return `<g>${title(`hears prepare ${ballotName(e.ballot)} (slot ${e.slot}) from n${e.peer ?? '?'}`)}<line x1="${x}" y1="${y - 6}" x2="${x}" y2="${y + 6}" stroke="${c}" stroke-width="2"/></g>`;
    case 'promise':
      return `<g>${title(`promises ${ballotName(e.ballot)} (slot ${e.slot}) to n${e.peer ?? '?'}`)}<circle cx="${x}" cy="${y}" r="4" fill="${c}"/></g>`;
    case 'accepted':
      return `<g>${title(`votes for ${ballotName(e.ballot)} in slot ${e.slot}`)}<rect x="${Number(x) - 4}" y="${y - 4}" width="8" height="8" fill="${c}"/></g>`;
    case 'nack':
      return `<g>${title(`rejects ${ballotName(e.ballot)} (slot ${e.slot}): promised ${e.rival === undefined ? '?' : ballotName(e.rival)}`)}<path d="M${Number(x) - 4},${y - 4} l8,8 m0,-8 l-8,8" stroke="#d62728" stroke-width="1.5"/></g>`;
    case 'learn':
      return `<g>${title(`learns slot ${e.slot} = ${e.value ?? ''}`)}<path d="M${x},${y - 5} l5,5 l-5,5 l-5,-5 z" fill="none" stroke="#333" stroke-width="1.2"/></g>`;
    default:
      return '';
  }
}

function legend(data: TimelineData, shownTrips: boolean): string {
  const items = [
    '<rect x="0" y="-9" width="22" height="10" fill="white" stroke="#4269d0" stroke-width="1.5"/><text x="28" y="0">phase 1 (promises counted / quorum)</text>',
    '<rect x="250" y="-9" width="22" height="10" fill="#4269d0"/><text x="278" y="0">phase 2 (after Accept)</text>',
    '<path d="M420,-4 l3,4 l6,-9" fill="none" stroke="#2a8a2a" stroke-width="2"/><text x="434" y="0">decided</text>',
    '<path d="M500,-8 l8,8 m0,-8 l-8,8" stroke="#d62728" stroke-width="2"/><text x="514" y="0">pre-empted / rejected</text>',
    '<line x1="660" y1="-9" x2="660" y2="2" stroke="#4269d0" stroke-width="2"/><text x="668" y="0">hears prepare</text>',
    '<circle cx="775" cy="-4" r="4" fill="#4269d0"/><text x="784" y="0">promise</text>',
    '<rect x="850" y="-8" width="8" height="8" fill="#4269d0"/><text x="864" y="0">vote</text>',
    '<path d="M915,-9 l5,5 l-5,5 l-5,-5 z" fill="none" stroke="#333"/><text x="926" y="0">learns</text>',
  ];
  const note = `${data.nodes} nodes, ${data.acceptors} acceptors, quorum ${data.quorum}; colours: the ballot's owner; time in ${data.unit === 'ms' ? 'ms' : 'delivery steps'}` +
    `${shownTrips ? '; thin lines: messages' : `; ${data.deliveries.length} message trips not drawn (too many)`}` +
    `${data.truncatedAt === null ? '' : `; recording stopped at ${n1(data.truncatedAt)} (event bound)`}`;
  return `<g transform="translate(${LEFT} 56)" font-size="11">${items.join('')}</g><text x="${LEFT}" y="74" font-size="11" fill="#555">${esc(note)}</text>`;
}

/** `title`: what the picture is (first line); `subtitle`: the command that replays it (second line, small). */
export function timelineSvg(data: TimelineData, title: string, subtitle = ''): string {
  const s = scaleFor(data);
  const bars = ballotBars(data);
  const proposers = new Set(bars.map((b) => b.node));
  const shownTrips = data.deliveries.length <= DELIVERIES_DRAWN_MAX;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${n1(s.width)}" height="${s.height}" viewBox="0 0 ${n1(s.width)} ${s.height}" font-family="system-ui,sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="8" y="20" font-size="15" font-weight="600">${esc(title)}</text>`,
    `<text x="8" y="36" font-size="10" fill="#555">${esc(subtitle)}</text>`,
    legend(data, shownTrips),
    ...lanes(data, s, proposers),
    ...axis(s, data.unit),
    ...arrows(data, s),
    ...bars.map((b) => barSvg(b, s, data.quorum, data.unit)),
    ...data.events.map((e) => markSvg(e, s, data.unit)),
    '</svg>',
  ].join('\n');
}
