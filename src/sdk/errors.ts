/**
 * The SDK's errors. Bad options are the shared ValidationError (every problem with its option path); a study that
 * ends badly rejects with a subclass of OptimizeError carrying the partial result, so no finished trial is lost to
 * the caller.
 */
import { KatibError } from '../errors.js';
import type { StudyResult, UntypedParams } from './types.js';

/** A study could not finish as asked. `result` holds what it did finish, when it got that far. */
export class OptimizeError<P = UntypedParams> extends KatibError {
  constructor(
    message: string,
    readonly result?: StudyResult<P>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The study was cancelled through `options.signal`, or `onTrialComplete` threw (then `cause` is what it threw).
 * Named `AbortError` like the platform's own, so `err.name === 'AbortError'` checks work. Trials running at that
 * moment are Killed; with a SQLite store a later optimize() with the same study name runs them again.
 */
export class StudyAbortedError<P = UntypedParams> extends OptimizeError<P> {
  override readonly name = 'AbortError';
  constructor(
    message: string,
    override readonly result: StudyResult<P>,
    options?: { cause?: unknown },
  ) {
    super(message, result, options);
  }
}

/** `maxFailedTrials` trials failed; `result.trials` holds them with their messages. */
export class StudyFailedError<P = UntypedParams> extends OptimizeError<P> {
  constructor(
    message: string,
    override readonly result: StudyResult<P>,
    readonly failedTrials: number,
  ) {
    super(message, result);
  }
}

/**
 * The `reason` of an aborted `trial.signal`: why the objective should stop. `kind` is `early-stopped` when an
 * early-stopping rule fired, `cancelled` when the study is ending. Named `AbortError` for the platform's checks.
 */
export class TrialStoppedError extends KatibError {
  override readonly name = 'AbortError';
  constructor(
    readonly trialName: string,
    readonly kind: 'early-stopped' | 'cancelled',
    message: string,
  ) {
    super(message);
  }
}
