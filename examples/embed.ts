// Embedding synod: a replicated log of 3 replicas, each in its own worker thread.
import { Cluster } from '../src/cluster/index.js';

const cluster = await Cluster.start({ replicas: 3, policy: 'exponential' });
let applied = 0;
cluster.on('decided', ({ replica, slot, value }) => {
  if (replica === 0) console.log(`replica 0 applied slot ${slot}: ${value}`);
  applied++;
});
try {
  // Proposals from every replica at once; each resolves with the slot it was decided in.
  const results = await Promise.all(['alpha', 'beta', 'gamma'].map((v, i) => cluster.propose(v, { via: i })));
  for (const r of results) console.log(`'${r.value}' decided in slot ${r.slot} (asked replica ${r.replica})`);
  const { replicas } = await cluster.stats();
  console.log(`decisions per replica: ${replicas.map((s) => s?.replica.decisions ?? 'down').join(', ')}`);
} finally {
  await cluster.close();
}
console.log(`ok: ${applied} applies reported`);
