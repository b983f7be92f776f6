/**
 * Ballots: (round, node id) packed into one safe integer, `round * 2^16 + node`.
 *
 * Why one number: comparing two ballots is one `>` and cloning one across a
 * MessagePort costs nothing, and numeric order is exactly the protocol's order
 * (round first, then node id). Ballot 0 is "no ballot": rounds start at 1.
 */

export type Ballot = number;
export type NodeId = number;

export const NODE_BITS = 16;
/** Node ids are 0 .. MAX_NODES - 1. */
export const MAX_NODES = 2 ** NODE_BITS;
/** Keeps `round * 2^16 + node` a safe integer. */
export const MAX_ROUND = Math.floor(Number.MAX_SAFE_INTEGER / MAX_NODES) - 1;
export const NO_BALLOT: Ballot = 0;

export function isNodeId(node: unknown): node is NodeId {
  return typeof node === 'number' && Number.isInteger(node) && node >= 0 && node < MAX_NODES;
}

export function isBallot(b: unknown): b is Ballot {
  return typeof b === 'number' && Number.isSafeInteger(b) && b >= 0;
}

export function makeBallot(round: number, node: NodeId): Ballot {
  if (!Number.isInteger(round) || round < 1 || round > MAX_ROUND) {
    throw new RangeError(`ballot round must be an integer in 1..${MAX_ROUND}, got ${round}`);
  }
  if (!isNodeId(node)) throw new RangeError(`node id must be an integer in 0..${MAX_NODES - 1}, got ${node}`);
  return round * MAX_NODES + node;
}

export function roundOf(b: Ballot): number {
  return Math.floor(b / MAX_NODES);
}

export function nodeOf(b: Ballot): NodeId {
  return b % MAX_NODES;
}

/** The smallest ballot owned by `node` that is strictly greater than `above`. */
export function nextBallot(node: NodeId, above: Ballot): Ballot {
  const round = roundOf(above);
  // Same round is enough when our id sorts after the ballot's owner.
  return nodeOf(above) < node ? makeBallot(Math.max(round, 1), node) : makeBallot(round + 1, node);
}

/** "r3.n1" style, for logs and counterexamples. */
export function formatBallot(b: Ballot): string {
  return b === NO_BALLOT ? 'b0' : `r${roundOf(b)}.n${nodeOf(b)}`;
}
