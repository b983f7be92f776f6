// Worker bootstrap for sweeps run from TypeScript (tsx, vitest): Node 20
// cannot start a worker on a .ts file, so register tsx's loader, then import it.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.__entry);
