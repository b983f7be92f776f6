/** `npm run tune -- [options]`: the backoff tuner's command line (cli-main.ts); `--help` lists the options. */
import { runTuneCli } from './cli-main.js';

runTuneCli(process.argv.slice(2), { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) }).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`tune: ${(e instanceof Error ? e.message : String(e)).split('\n')[0] ?? 'error'}\n`);
    process.exitCode = 1;
  },
);
