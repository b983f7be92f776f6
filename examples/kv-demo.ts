// The key-value store of examples/kv.ts, replicated by 3 replicas in worker threads, with the lease policy.
//   npx tsx examples/kv-demo.ts          (or, built: node dist/examples/kv-demo.js)
import { Cluster, CommandError } from '../src/cluster/index.js';
import type { KvCommand, KvQuery, KvResult } from './kv.js';

// The state machine module: .ts under tsx, .js once built (workers load it by URL, each in its own thread).
const stateMachine = new URL(import.meta.url.endsWith('.ts') ? './kv.ts' : './kv.js', import.meta.url);
const cluster = await Cluster.start({ replicas: 3, policy: 'lease', stateMachine });
try {
  const put = await cluster.propose<KvResult>({ op: 'put', key: 'x', value: '1' } satisfies KvCommand);
  console.log(`put x=1 in slot ${put.slot}, replaced ${JSON.stringify(put.result)}`);
  const cas = await cluster.propose<KvResult>({ op: 'cas', key: 'x', expected: '1', value: '2' } satisfies KvCommand);
  console.log(`cas x 1->2: ${JSON.stringify(cas.result)}`);
  const app = await cluster.propose<KvResult>({ op: 'append', key: 'x', value: '3' } satisfies KvCommand);
  console.log(`append x+=3: ${JSON.stringify(app.result)}`);
  for (const consistency of ['linearizable', 'lease', 'stale'] as const) {
    const r = await cluster.read<string | null>({ op: 'get', key: 'x' } satisfies KvQuery, { consistency });
    console.log(`get x (${consistency}) from replica ${r.replica}: ${JSON.stringify(r.answer)} (slots below ${r.appliedIndex} applied)`);
  }
  // A command apply rejects is still decided; its error is its result, on every replica.
  await cluster.propose({ op: 'frobnicate', key: 'x', value: '' }).catch((e: unknown) => {
    if (!(e instanceof CommandError)) throw e;
    console.log(`${e.name} (slot ${e.slot}): ${e.message}`);
  });
} finally {
  await cluster.close();
}
