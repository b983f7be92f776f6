/**
 * The order of runs: every configuration once, then every configuration
 * again (A B A B, not A A B B), so a slow drift of the machine (another
 * process, thermal state, a noisy neighbour) spreads over all configurations
 * instead of landing on whichever ran last.
 */

export interface Step {
  /** Index into the configurations. */
  config: number;
  /** 0-based repeat of that configuration. */
  repeat: number;
}

export function interleave(configs: number, repeat: number): Step[] {
  const out: Step[] = [];
  for (let r = 0; r < repeat; r++) for (let c = 0; c < configs; c++) out.push({ config: c, repeat: r });
  return out;
}
