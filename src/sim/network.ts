/**
 * The simulator's network: a latency model for every directed link (one
 * default, overridden per link), drawn per message from the network's own
 * random stream. Messages on one link may overtake each other when the model
 * has spread (Paxos must not care). Faults (loss, duplication, partitions)
 * are the fault plan's business, not this module's.
 *
 * A link override is written `A-B=MODEL` (both directions) or `A>B=MODEL`
 * (from A to B only); A or B may be `*` (every node). Later overrides win:
 * `--link '0-*=const:40ms' --link 0-1=const:1ms` puts node 0 far from all but node 1.
 */
import type { NodeId } from '../paxos/ballot.js';
import type { SeededRandom } from '../base/random.js';
import { drawLatency, formatLatency, parseLatency, type LatencyModel } from './latency.js';

export interface LinkOverride {
  from: NodeId | '*';
  to: NodeId | '*';
  /** Both directions (`A-B`) or only from → to (`A>B`). */
  both: boolean;
  model: LatencyModel;
}

const END = '(\\d+|\\*)';
const LINK_RE = new RegExp(`^${END}([->])${END}=(.+)$`);

export function parseLink(flag: string, raw: string): LinkOverride {
  const m = LINK_RE.exec(raw.trim());
  if (m === null) throw new RangeError(`--${flag} must look like 0-1=const:5ms (both ways) or 0>1=const:5ms (one way), got '${raw}'`);
  const end = (s: string): NodeId | '*' => (s === '*' ? '*' : Number(s));
  return { from: end(m[1] ?? ''), to: end(m[3] ?? ''), both: m[2] === '-', model: parseLatency(flag, m[4] ?? '') };
}

export function formatLink(l: LinkOverride): string {
  return `${String(l.from)}${l.both ? '-' : '>'}${String(l.to)}=${formatLatency(l.model)}`;
}

/** Throws a one-line RangeError when an override names a node the cluster lacks. */
export function checkLinks(links: readonly LinkOverride[], nodes: number): void {
  for (const l of links) {
    for (const end of [l.from, l.to]) {
      if (end !== '*' && end >= nodes) throw new RangeError(`--link ${formatLink(l)} names node ${end}, but nodes are 0..${nodes - 1}`);
    }
  }
}

export class Network {
  /** models[from * nodes + to]. */
  private readonly models: LatencyModel[];
  private readonly uniform: () => number;

  constructor(
    private readonly nodes: number,
    base: LatencyModel,
    links: readonly LinkOverride[],
    random: SeededRandom,
  ) {
    this.uniform = random.asFunction();
    checkLinks(links, nodes);
    this.models = new Array<LatencyModel>(nodes * nodes).fill(base);
    const hits = (end: NodeId | '*', n: NodeId): boolean => end === '*' || end === n;
    for (const l of links) {
      for (let a = 0; a < nodes; a++) {
        for (let b = 0; b < nodes; b++) {
          if ((hits(l.from, a) && hits(l.to, b)) || (l.both && hits(l.from, b) && hits(l.to, a))) this.models[a * nodes + b] = l.model;
        }
      }
    }
  }

  model(from: NodeId, to: NodeId): LatencyModel {
    const m = this.models[from * this.nodes + to];
    if (m === undefined) throw new RangeError(`no link ${from}->${to}`);
    return m;
  }

  /** One message's one-way latency on from → to, in ms. */
  draw(from: NodeId, to: NodeId): number {
    return drawLatency(this.model(from, to), this.uniform);
  }
}
