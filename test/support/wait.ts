/** Waits for a condition instead of sleeping a fixed time before an assertion: polls every 10 ms, fails after `bound_ms` naming what it waited for. */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, bound_ms = 10_000): Promise<void> {
  const end = performance.now() + bound_ms;
  while (!(await condition())) {
    if (performance.now() > end) throw new Error(`still waiting after ${bound_ms} ms for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
