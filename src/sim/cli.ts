/** `npm run sim -- [options]`: the simulator's command line (cli-main.ts); `--help` lists the options. */
import { runCli } from './cli-main.js';

runCli(process.argv.slice(2), { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) }).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`sim: ${(e instanceof Error ? e.message : String(e)).split('\n')[0] ?? 'error'}\n`);
    process.exitCode = 1;
  },
);
