/**
 * Each replica writes its own decisions, one JSON line per decided slot
 * (`{"replica":r,"slot":s,"value":v}`), so an external checker can compare
 * the logs of every replica for agreement. Lines are buffered and written in
 * chunks (synchronously: a replica owns its thread); `close` writes the rest.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Decision } from '../paxos/replica.js';

/** Decision lines are buffered and written in chunks of about this size. */
const CHUNK_CHARS = 1 << 18;

export function decisionLogFile(dir: string, id: number): string {
  return join(dir, `decisions-${id}.jsonl`);
}

export class DecisionLog {
  private fd: number;
  private buf: string[] = [];
  private chars = 0;

  constructor(dir: string, private readonly id: number) {
    mkdirSync(dir, { recursive: true });
    // Append: a restarted replica continues its own file.
    this.fd = openSync(decisionLogFile(dir, id), 'a');
  }

  record(decisions: readonly Decision[]): void {
    for (const d of decisions) {
      const line = `{"replica":${this.id},"slot":${d.slot},"value":${JSON.stringify(d.value)}}\n`;
      this.buf.push(line);
      this.chars += line.length;
    }
    if (this.chars >= CHUNK_CHARS) this.write();
  }

  private write(): void {
    if (this.fd < 0 || this.buf.length === 0) return;
    writeSync(this.fd, this.buf.join(''));
    this.buf = [];
    this.chars = 0;
  }

  close(): void {
    this.write();
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
