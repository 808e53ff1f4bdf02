/**
 * The public types of the in-process SDK: what `optimize()` takes, what the objective receives, and what a study
 * returns. Names and spellings follow Katib where it has one (trial conditions, metric strategies, settings).
 */
import type { AlgorithmName } from '../../algorithms/index.js';
import type { ParamsOf, SearchSpaceMap } from './search.js';

/** A trial's state, named as Katib's trial conditions. */
export const TRIAL_STATUSES = ['Running', 'Succeeded', 'Failed', 'EarlyStopped', 'MetricsUnavailable', 'Killed'] as const;
/** One of {@link TRIAL_STATUSES}. */
export type TrialStatus = (typeof TRIAL_STATUSES)[number];

/** How a metric's values over a trial's reports reduce to one value (Katib's metric strategies). */
export const METRIC_STRATEGIES = ['min', 'max', 'latest'] as const;
/** One of {@link METRIC_STRATEGIES}. */
export type MetricStrategy = (typeof METRIC_STRATEGIES)[number];

/** Why a study ended, named as Katib's experiment reasons (without their `Experiment` prefix) plus `Aborted`. */
export const STUDY_END_REASONS = ['MaxTrialsReached', 'SuggestionEndReached', 'GoalReached', 'MaxFailedTrialsReached', 'Aborted'] as const;
/** One of {@link STUDY_END_REASONS}. */
export type StudyEndReason = (typeof STUDY_END_REASONS)[number];

/** Parameters with their types erased: what an error carries, since errors cannot be generic at the catch site. */
export type UntypedParams = Readonly<Record<string, number | string>>;

/** One `trial.report()` call as recorded. */
export interface TrialReport {
  /** The step given to `report`, or the report's ordinal (1, 2, ...) when none was given. */
  readonly step: number;
  readonly metrics: Readonly<Record<string, number>>;
  readonly time: Date;
}

/** A trial as the study recorded it. */
export interface TrialResult<P = UntypedParams> {
  /** `<studyName>-<number>`, or the name the algorithm chose (PBT, Hyperband). Unique within the study. */
  readonly name: string;
  /** 1-based creation order within the study. */
  readonly number: number;
  readonly params: P;
  /** Parameter values exactly as the algorithm suggested them (Katib's wire strings). */
  readonly assignments: Readonly<Record<string, string>>;
  readonly status: TrialStatus;
  /** The objective metric's value (returned, or reduced from reports by its strategy); undefined when none. */
  readonly value: number | undefined;
  /** Every metric's value, objective included, each returned or reduced by its strategy. */
  readonly metrics: Readonly<Record<string, number>>;
  /** Every `trial.report()` call in order (those after an early stop are not recorded). */
  readonly reports: readonly TrialReport[];
  /** Why it failed (the thrown error's message), stopped early, or was killed; undefined for a success. */
  readonly message: string | undefined;
  /** Labels the algorithm gave the trial (PBT's generation and parent, for instance). */
  readonly labels: Readonly<Record<string, string>>;
  readonly startTime: Date;
  /** When it finished; undefined while running. */
  readonly completionTime: Date | undefined;
}

/** What `optimize()` resolves with (and what its errors carry as partial results). */
export interface StudyResult<P = UntypedParams> {
  readonly studyName: string;
  /** The best Succeeded or EarlyStopped trial by the objective; undefined when no trial produced a value. */
  readonly best: TrialResult<P> | undefined;
  /** Every trial in creation order, resumed ones included. */
  readonly trials: readonly TrialResult<P>[];
  readonly reason: StudyEndReason;
  /** The reason in words, with the counts behind it. */
  readonly message: string;
}

/** Metrics an objective returns or reports: a number is the objective metric's value. */
export type Metrics = number | Readonly<Record<string, number>>;

/** The handle an objective receives with its params. */
export interface Trial<P = UntypedParams> {
  readonly name: string;
  readonly number: number;
  readonly params: P;
  /**
   * Aborted when the trial should stop: an early-stopping rule fired, or the study was cancelled. Pass it to
   * fetch, timers, or your training loop. Its `reason` is a TrialStoppedError.
   */
  readonly signal: AbortSignal;
  /**
   * Records intermediate metrics (a number is the objective metric) at `step` (default: previous step + 1, from 1)
   * and checks the early-stopping rules, as Katib's metrics collector checks each observation. Ignored once the
   * trial has stopped or finished. Throws ValidationError for a metric that is not a number or a step that is not
   * finite.
   */
  report(metrics: Metrics, step?: number): void;
  /** True once `signal` is aborted: the objective should return (its later reports are ignored). */
  shouldStop(): boolean;
}

/**
 * The function under optimization. Return the objective metric's value, a record of metrics (the objective metric
 * among them), or nothing when the values were reported with `trial.report()`. Throwing marks the trial Failed
 * with the error's message.
 */
export type Objective<P> = (params: P, trial: Trial<P>) => Metrics | void | Promise<Metrics | void>;

/** Where a study lives. */
export type StoreOption =
  | 'memory'
  | {
      /** SQLite file; created with its folder when missing. */
      readonly sqlite: string;
      /** The study's name within the file: calling optimize() again with it resumes the study. */
      readonly studyName: string;
      /**
       * SQLite's `synchronous`: `normal` (default) keeps every completed trial through a process crash, `full`
       * also through a power loss or OS crash, at the cost of one fsync per batch.
       */
      readonly synchronous?: 'normal' | 'full';
    };

/** Early stopping as Katib's `spec.earlyStopping`. */
export interface EarlyStoppingOption {
  readonly algorithm: 'medianstop';
  /** Katib's settings: `min_trials_required` (default 3) and `start_step` (default 4). */
  readonly settings?: Readonly<Record<string, string | number>>;
}

/**
 * What a study searches and how it ends: the options `optimize()` takes in process and on a cluster alike, with the
 * same meanings and defaults.
 */
export interface StudySpecOptions<M extends SearchSpaceMap> {
  /** Parameter name to a `search` helper; at least one. */
  readonly parameters: M;
  /** The objective metric's name. */
  readonly metric: string;
  readonly mode: 'minimize' | 'maximize';
  /** Other metrics to record; each reduced by its strategy. Default none (reported metrics are still kept). */
  readonly additionalMetrics?: readonly string[];
  /** Strategy per metric. Default: `min` when minimizing, `max` when maximizing, for every metric (as Katib). */
  readonly metricStrategies?: Readonly<Record<string, MetricStrategy>>;
  /** Ends the study once the best value reaches it (Katib's `objective.goal`). Default: none. */
  readonly goal?: number;
  /** A registered algorithm's name. Default `random`. */
  readonly algorithm?: AlgorithmName | (string & Record<never, never>);
  /** The algorithm's Katib settings (values are sent as strings), `random_state` included. Default none. */
  readonly algorithmSettings?: Readonly<Record<string, string | number | boolean>>;
  readonly earlyStopping?: EarlyStoppingOption;
  /** Trials to finish (Succeeded, Failed, EarlyStopped or MetricsUnavailable); an integer >= 1. */
  readonly numTrials: number;
  /** Trials running at once; an integer >= 1. Default 1. */
  readonly parallelTrials?: number;
  /** The study fails once this many trials failed (Failed or MetricsUnavailable). Default: no limit. */
  readonly maxFailedTrials?: number;
}

/** The options of `optimize()` in process: the study runs `objective` in this process. */
export interface OptimizeOptions<M extends SearchSpaceMap> extends StudySpecOptions<M> {
  readonly objective: Objective<ParamsOf<M>>;
  /** Not with `objective`: `trainJob` runs the study on a cluster instead (see ClusterOptimizeOptions). */
  readonly trainJob?: never;
  /** Default `memory`. */
  readonly store?: StoreOption;
  /** Names the trials of an in-memory study (`<studyName>-<n>`). Default `study`; use `store.studyName` with SQLite. */
  readonly studyName?: string;
  /** Cancels the study: optimize() rejects with a StudyAbortedError carrying the partial result. */
  readonly signal?: AbortSignal;
  /**
   * Called after each trial finishes and is stored, in completion order; awaited before the next call. A throw
   * ends the study like a cancellation, with the thrown error as `cause`.
   */
  readonly onTrialComplete?: (trial: TrialResult<ParamsOf<M>>) => void | Promise<void>;
}
