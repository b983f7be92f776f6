/**
 * What one `append` of file storage costs: microseconds per batch of N records
 * (the hot path: one append per actor turn), with fsync off and on. "Off" is a
 * directory on tmpfs (fsync there returns at once, so what is left is encoding,
 * checksums and the write), "on" a directory on the disk. Not a test: the
 * figures go into docs/reliability.md with the command that made them.
 *
 *   npx tsx bench/storage-append.ts [--batches 2000] [--mem-dir /dev/shm] [--disk-dir /tmp]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { PersistRecord } from '../src/paxos/storage-records.js';
import { FileStorage } from '../src/storage/index.js';
import type { Storage } from '../src/storage/storage.js';

const RECORDS_PER_BATCH = [1, 8, 64];
const WARMUP_BATCHES = 100;
/** A client value as the runtime stores it: a 21-character request id, ':', a 16-byte payload. */
const VALUE = `${'V1StGXR8_Z5jdHi6B-myT'}:${'x'.repeat(16)}`;

function open(dir: string): Storage {
  return new FileStorage({ dir, id: 0, replicas: 3, fsync: 'batch' });
}

function batch(n: number, slot0: number): PersistRecord[] {
  return Array.from({ length: n }, (_, k) => ({ k: 'accept', slot: slot0 + k, ballot: 65_537, value: VALUE }));
}

/** Mean microseconds per append of `n` records over `batches` appends, after a warm-up. */
function measure(root: string, n: number, batches: number): { us_per_batch: number; bytes_per_record: number } {
  const dir = mkdtempSync(join(root, 'synod-append-'));
  try {
    const s = open(dir);
    let slot = 0;
    for (let i = 0; i < WARMUP_BATCHES; i++, slot += n) s.append(batch(n, slot));
    const work = Array.from({ length: batches }, (_, i) => batch(n, slot + i * n));
    const bytes0 = s.stats.bytes;
    const t0 = performance.now();
    for (const b of work) s.append(b);
    const elapsed_ms = performance.now() - t0;
    const bytes_per_record = (s.stats.bytes - bytes0) / (batches * n);
    s.close();
    return { us_per_batch: (elapsed_ms * 1000) / batches, bytes_per_record };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function main(): number {
  let values: { batches?: string; 'mem-dir'?: string; 'disk-dir'?: string };
  try {
    values = parseArgs({ options: { batches: { type: 'string' }, 'mem-dir': { type: 'string' }, 'disk-dir': { type: 'string' } }, strict: true }).values;
  } catch (e) {
    process.stderr.write(`storage-append: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}\n`);
    return 2;
  }
  const batches = Number(values.batches ?? '2000');
  if (!Number.isInteger(batches) || batches < 1 || batches > 1_000_000) {
    process.stderr.write(`storage-append: --batches must be an integer in 1..1000000, got '${values.batches}'\n`);
    return 2;
  }
  const dirs = { 'fsync off (tmpfs)': values['mem-dir'] ?? '/dev/shm', 'fsync on (disk)': values['disk-dir'] ?? tmpdir() };
  // Every record here is a vote (an accept), so per record is per vote; bytes include the batch header's share.
  process.stdout.write(`records/batch  where                 us/batch   us/record  bytes/record   (${batches} batches; a record is one vote)\n`);
  for (const [where, root] of Object.entries(dirs)) {
    for (const n of RECORDS_PER_BATCH) {
      const r = measure(root, n, batches);
      const line = `${String(n).padStart(13)}  ${where.padEnd(20)} ${r.us_per_batch.toFixed(1).padStart(9)} ${(r.us_per_batch / n).toFixed(2).padStart(11)} ${r.bytes_per_record.toFixed(1).padStart(13)}`;
      process.stdout.write(line + '\n');
    }
  }
  return 0;
}

process.exitCode = main();
