/**
 * The state machine the benchmark runs when it reads (`--reads P%`): a
 * register that keeps the last command and counts them. Small on purpose:
 * the figures are the read path's cost, not the machine's.
 */
export function createStateMachine(): { apply(c: unknown): number; query(q: unknown): number; snapshot(): Uint8Array; restore(b: Uint8Array): void } {
  let applied = 0;
  let last: unknown = null;
  return {
    apply(c) {
      last = c;
      return ++applied;
    },
    query() {
      return last === null ? 0 : applied;
    },
    snapshot() {
      return Buffer.from(JSON.stringify([applied, last]));
    },
    restore(b) {
      [applied, last] = JSON.parse(Buffer.from(b).toString()) as [number, unknown];
    },
  };
}

/** This module as the cluster loads it: .ts under tsx or vitest, .js once built. */
export const REGISTER_MACHINE = new URL(import.meta.url.endsWith('.ts') ? './register-machine.ts' : './register-machine.js', import.meta.url);
