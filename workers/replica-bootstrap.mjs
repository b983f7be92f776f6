// Starts the TypeScript worker entry under tsx (Node 20 cannot load a .ts worker directly).
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
