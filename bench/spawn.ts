/**
 * Starts a bench worker from compiled JS (measured runs) or, when the bench
 * itself runs from TypeScript, through a tsx bootstrap.
 */
import { Worker, type TransferListItem } from 'node:worker_threads';

export function spawnWorker(entry: string, data: object, transfer: TransferListItem[]): Worker {
  const fromTs = import.meta.url.endsWith('.ts');
  const url = new URL(`./${entry}.${fromTs ? 'ts' : 'js'}`, import.meta.url);
  if (!fromTs) return new Worker(url, { workerData: data, transferList: transfer });
  return new Worker(new URL('./boot.mjs', import.meta.url), {
    workerData: { ...data, __entry: url.href },
    transferList: transfer,
  });
}
