/**
 * The SDK's errors. Bad options are the shared ValidationError (every problem with its option path); a study that
 * ends badly rejects with a subclass of OptimizeError carrying the partial result, so no finished trial is lost to
 * the caller.
 */
import { AlreadyExistsError, KatibError } from '../errors.js';
import type { ClusterStudyResult } from './cluster/types.js';
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

/**
 * The Experiment ended Failed on the cluster (too many failed trials, or the controller rejected it). `reason` and
 * `conditionMessage` are its Failed condition's; `result` holds its trials when optimize() got them.
 */
export class ExperimentFailedError extends KatibError {
  constructor(
    readonly experimentName: string,
    readonly namespace: string,
    readonly reason: string,
    readonly conditionMessage: string,
    readonly result?: ClusterStudyResult,
  ) {
    super(`experiment ${namespace}/${experimentName} failed (${reason}): ${conditionMessage}`);
  }
}

/** Waiting for an experiment took longer than `timeoutMs`; the experiment goes on, so waiting again may help. */
export class WaitTimeoutError extends KatibError {
  override readonly retryable = true;
  constructor(
    readonly experimentName: string,
    readonly namespace: string,
    readonly timeoutMs: number,
    /** The experiment's true conditions when the time ran out, e.g. `['Created', 'Running']`. */
    readonly conditions: readonly string[],
  ) {
    super(
      `experiment ${namespace}/${experimentName} did not finish within timeoutMs=${timeoutMs} (conditions: ${conditions.join(', ') || 'none yet'}); it keeps running: wait again, or deleteExperiment() to stop it`,
    );
  }
}

/**
 * Waiting was cancelled through `signal` (its reason is `cause`). The experiment keeps running on the cluster:
 * deleteExperiment() stops it. Named `AbortError` like the platform's own.
 */
export class WaitAbortedError extends KatibError {
  override readonly name = 'AbortError';
  constructor(
    readonly experimentName: string,
    readonly namespace: string,
    options?: { cause?: unknown },
  ) {
    super(`stopped waiting for experiment ${namespace}/${experimentName}; it keeps running on the cluster (deleteExperiment() stops it)`, options);
  }
}

/** An Experiment of that name exists in the namespace already. */
export class ExperimentExistsError extends AlreadyExistsError {
  constructor(
    readonly experimentName: string,
    readonly namespace: string,
  ) {
    super('Experiment', `${namespace}/${experimentName}`);
    this.message = `${this.message}; give another experimentName, or delete it first with deleteExperiment(${JSON.stringify(experimentName)})`;
  }
}
