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
