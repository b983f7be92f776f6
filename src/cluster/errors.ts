/** Errors propose() rejects with, so callers can tell overload from failure. */
export class OverloadError extends Error {
  override readonly name = 'OverloadError';
}
export class ReplicaDownError extends Error {
  override readonly name = 'ReplicaDownError';
}
export class ProposeTimeoutError extends Error {
  override readonly name = 'ProposeTimeoutError';
}

/**
 * A command was decided (it stays in the log, and is not retried) and its
 * state machine's apply threw: that error is its result, the same on every
 * replica. `errorName` and the message are the thrown error's.
 */
export class CommandError extends Error {
  override readonly name = 'CommandError';
  constructor(
    message: string,
    readonly slot: number,
    readonly requestId: string,
    readonly replica: number,
    readonly errorName: string,
  ) {
    super(message);
  }
}

/** A read's query threw on the replica that answered it (the replica goes on; nothing changed). */
export class QueryError extends Error {
  override readonly name = 'QueryError';
  constructor(
    message: string,
    readonly replica: number,
    readonly errorName: string,
  ) {
    super(message);
  }
}
