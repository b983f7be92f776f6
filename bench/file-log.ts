/**
 * A minimal append-only acceptor log for `--storage file`: one JSON line per
 * record, fsync per record (`always`) or once per turn (`batch`), before the
 * turn's messages leave. The shared runtime's src/storage is the real one;
 * this only lets the benchmark price durable writes until it lands.
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import type { PersistRecord } from '../src/paxos/storage-records.js';

export interface AcceptorLog {
  /** Durable (per the fsync mode) when it returns. */
  persist(records: readonly PersistRecord[]): void;
  close(): void;
  readonly records: number;
  readonly fsyncs: number;
}

export class MemoryLog implements AcceptorLog {
  records = 0;
  readonly fsyncs = 0;
  persist(records: readonly PersistRecord[]): void {
    this.records += records.length;
  }
  close(): void {}
}

export class FileLog implements AcceptorLog {
  records = 0;
  fsyncs = 0;
  private readonly fd: number;

  constructor(path: string, private readonly fsync: 'always' | 'batch') {
    this.fd = openSync(path, 'a');
  }

  persist(records: readonly PersistRecord[]): void {
    if (records.length === 0) return;
    if (this.fsync === 'always') {
      for (const r of records) {
        writeSync(this.fd, JSON.stringify(r) + '\n');
        fsyncSync(this.fd);
        this.fsyncs++;
      }
    } else {
      writeSync(this.fd, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
      fsyncSync(this.fd);
      this.fsyncs++;
    }
    this.records += records.length;
  }

  close(): void {
    closeSync(this.fd);
  }
}
