/**
 * comlink's node adapter, typed. Its ESM build has no types and its UMD build
 * sets `module.exports` to the function while its .d.ts declares a default
 * export, so under NodeNext the default import is the function at run time
 * but typed as the module: this cast states what is really there.
 */
import nodeAdapter from 'comlink/dist/umd/node-adapter.js';
import type { Endpoint } from 'comlink';
import type { MessagePort, Worker } from 'node:worker_threads';

type Adapter = typeof nodeAdapter.default;
const adapter = ((nodeAdapter as { default?: Adapter }).default ?? (nodeAdapter as unknown as Adapter));

export function nodeEndpoint(ep: Worker | MessagePort): Endpoint {
  return adapter(ep as unknown as Parameters<Adapter>[0]);
}
