/**
 * The error classes every package throws. Each carries its data in readonly fields and says whether retrying the
 * same operation can help (`retryable`). `cause` is always kept.
 */
import type { Issue } from '../algorithms/core/issues.js';
import { formatIssues } from '../algorithms/core/issues.js';

export class KatibError extends Error {
  /** True when the same call may succeed later (a conflict, a lost connection); false for bad input. */
  readonly retryable: boolean = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** User input failed validation; `issues` lists every problem with its field path. */
export class ValidationError extends KatibError {
  constructor(
    readonly issues: readonly Issue[],
    readonly source?: string,
  ) {
    super(`${source ? `${source}: ` : ''}${issues.length === 1 ? 'invalid' : `${issues.length} problems`}\n${formatIssues(issues)}`);
  }
}

/** The object does not exist. */
export class NotFoundError extends KatibError {
  constructor(
    readonly kind: string,
    readonly key: string,
  ) {
    super(`${kind} ${JSON.stringify(key)} not found`);
  }
}

/** An object of that name exists already. */
export class AlreadyExistsError extends KatibError {
  constructor(
    readonly kind: string,
    readonly key: string,
  ) {
    super(`${kind} ${JSON.stringify(key)} already exists`);
  }
}

/** The object changed since it was read (stale resourceVersion): read again and retry. */
export class ConflictError extends KatibError {
  override readonly retryable = true;
  constructor(
    readonly kind: string,
    readonly key: string,
    readonly expected?: string,
    readonly actual?: string,
  ) {
    super(`${kind} ${JSON.stringify(key)} was modified (resourceVersion ${expected ?? '?'} is stale, now ${actual ?? '?'}); retry with a fresh read`);
  }
}

/** A dependency (database, suggestion service, API server) could not be reached; retrying may help. */
export class UnavailableError extends KatibError {
  override readonly retryable = true;
}

/** An error that retrying cannot fix; reconcilers stop requeueing on it. */
export class TerminalError extends KatibError {}
