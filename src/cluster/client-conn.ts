/**
 * The main thread's end of one replica's client path: requests batched per
 * turn, replies matched to waiting requests by request id, and the replica's
 * applied decisions handed to the cluster (the 'decided' event).
 */
import { Op, Reply, type ClientBatch, type OpCode, type ReplyCode } from '../runtime/client-wire.js';
import { OverloadError, ProposeTimeoutError, ReplicaDownError } from './errors.js';

/** A replica's answer to one request (client-wire.ts says what `n` and `text` hold for each code). */
export interface Answer {
  code: ReplyCode;
  n: number;
  text: string;
}

interface Waiter {
  resolve: (a: Answer) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class ClientConn {
  private readonly waiting = new Map<string, Waiter>();
  private out: ClientBatch = [];
  private scheduled: NodeJS.Immediate | null = null;
  private down = false;

  constructor(
    readonly replica: number,
    private readonly post: (b: ClientBatch) => void,
    private readonly onDecided: (replica: number, slot: number, requestId: string, payload: string) => void,
  ) {}

  get inFlight(): number {
    return this.waiting.size;
  }

  /** Sends one request; resolves with the replica's answer, rejects on overload, timeout or the replica going down. */
  request(op: OpCode, requestId: string, payload: string, timeout_ms: number): Promise<Answer> {
    if (this.down) return Promise.reject(new ReplicaDownError(`replica ${this.replica} is down`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(requestId);
        reject(new ProposeTimeoutError(`replica ${this.replica}: no ${op === Op.Propose ? "decision" : "answer"} within ${timeout_ms} ms`));
      }, timeout_ms);
      this.waiting.set(requestId, { resolve, reject, timer });
      this.out.push(op, requestId, payload);
      this.scheduled ??= setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    this.scheduled = null;
    if (this.down || this.out.length === 0) return;
    const b = this.out;
    this.out = [];
    this.post(b);
  }

  /** A batch from the replica host: [replies, decisions]; anything else is ignored. */
  onMessage(msg: unknown): void {
    if (!Array.isArray(msg) || msg.length !== 2) return;
    const [replies, decisions] = msg as unknown[];
    if (Array.isArray(replies)) {
      for (let i = 0; i + 3 < replies.length; i += 4) {
        const code: unknown = replies[i], id: unknown = replies[i + 1], n: unknown = replies[i + 2], text: unknown = replies[i + 3];
        if (typeof id !== 'string' || typeof n !== 'number' || typeof text !== 'string') continue;
        const w = this.waiting.get(id);
        if (w === undefined) continue;
        this.waiting.delete(id);
        clearTimeout(w.timer);
        if (code === Reply.Overload) w.reject(new OverloadError(`replica ${this.replica} is overloaded (its queue is full)`));
        else w.resolve({ code: code as ReplyCode, n, text });
      }
    }
    if (Array.isArray(decisions)) {
      for (let i = 0; i + 2 < decisions.length; i += 3) {
        const slot: unknown = decisions[i], id: unknown = decisions[i + 1], payload: unknown = decisions[i + 2];
        if (typeof slot === 'number' && typeof id === 'string' && typeof payload === 'string') this.onDecided(this.replica, slot, id, payload);
      }
    }
  }

  /** The replica went down: every waiting request fails now (and may be retried elsewhere). */
  fail(reason: string): void {
    this.down = true;
    if (this.scheduled !== null) clearImmediate(this.scheduled);
    this.scheduled = null;
    this.out = [];
    for (const w of this.waiting.values()) {
      clearTimeout(w.timer);
      w.reject(new ReplicaDownError(`replica ${this.replica} ${reason}`));
    }
    this.waiting.clear();
  }
}
