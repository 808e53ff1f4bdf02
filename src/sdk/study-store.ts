/**
 * Where an in-process study keeps its trials and algorithm state. The runner holds the study in memory and hands
 * the store one batch per loop turn — the trials that finished, the trials it started, the algorithm state and
 * suggestion count after the suggestions it just asked for — to write in ONE transaction before it reports a
 * trial complete or runs a new objective. So the stored state always matches the stored trials: a study resumed
 * after a crash re-runs exactly the trials that had not finished, with the parameters they had.
 *
 * The interface is synchronous: both back ends (memory, SQLite) are, and an await per batch would cost
 * throughput for nothing.
 */
import type { TrialReport, TrialStatus } from './types.js';

/** A trial as stored. Times are milliseconds since the epoch. */
export interface StoredTrial {
  readonly number: number;
  readonly name: string;
  readonly assignments: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly status: TrialStatus;
  readonly value: number | undefined;
  readonly metrics: Readonly<Record<string, number>>;
  readonly reports: readonly TrialReport[];
  readonly message: string | undefined;
  readonly startTime: number;
  readonly completionTime: number | undefined;
}

/** What must match for a stored study to be resumed: the options that shape its suggestions and values. */
export interface StudyFingerprint {
  readonly parameters: unknown;
  readonly metric: string;
  readonly mode: string;
  readonly additionalMetrics: readonly string[];
  readonly metricStrategies: Readonly<Record<string, string>>;
  readonly algorithm: string;
  readonly algorithmSettings: Readonly<Record<string, string>>;
}

/** A study as `open` finds it: empty when it was just created. */
export interface LoadedStudy {
  /** Trials in creation order. Running and Killed ones were interrupted and are run again. */
  readonly trials: readonly StoredTrial[];
  readonly stateText: string | undefined;
  readonly suggestionCount: number;
}

/** One loop turn's writes. */
export interface StudyBatch {
  /** Trials that finished (any status but Running), with their reports. */
  readonly finished: readonly StoredTrial[];
  /** New trials, Running. */
  readonly started: readonly StoredTrial[];
  /** Interrupted trials of a resumed study started again, Running; their old reports are dropped. */
  readonly restarted: readonly StoredTrial[];
  readonly stateText: string | undefined;
  readonly suggestionCount: number;
}

/** A study's persistence, one instance per optimize() call; closed by the runner when the call settles. */
export interface StudyStore {
  /** Human-readable location, for messages. */
  readonly location: string;
  /**
   * Loads the study, creating it when absent. Throws ValidationError when a stored study of that name was created
   * with a different fingerprint (naming each difference).
   */
  open(fingerprint: StudyFingerprint): LoadedStudy;
  /** Writes the batch atomically. Throws ConflictError when another process changed the study since it was read. */
  commit(batch: StudyBatch): void;
  close(): void;
}

/** The default store: nothing outlives the optimize() call. */
export class MemoryStudyStore implements StudyStore {
  readonly location = 'memory';
  open(): LoadedStudy {
    return { trials: [], stateText: undefined, suggestionCount: 0 };
  }
  commit(): void {}
  close(): void {}
}
