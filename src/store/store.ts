/**
 * The Store: where Experiments, Trials and Suggestions live. One interface, two homes: the embedded SQLite store
 * and the Kubernetes store (custom resources). The controller only talks to this interface, so the two modes run
 * the same reconcile code. One conformance suite (test/store/conformance.ts) runs over every implementation.
 *
 * Semantics follow the Kubernetes API: every object has a `metadata.resourceVersion`; `create*` fails with
 * AlreadyExistsError on a duplicate name; `update*` fails with ConflictError when the given resourceVersion is not
 * the stored one; status updates change only `status` (the status subresource); deleting an Experiment removes its
 * Trials and Suggestion (owner cascade).
 */
import type { Experiment, SuggestionResource, Trial } from '../api/types.js';

/** Identifies a namespaced object. Embedded mode uses the namespace `default` unless the YAML names one. */
export interface ObjectKey {
  readonly namespace: string;
  readonly name: string;
}

export const DEFAULT_NAMESPACE = 'default';

/** What changed, for watchers. */
export interface StoreEvent {
  readonly kind: 'Experiment' | 'Trial' | 'Suggestion';
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly key: ObjectKey;
  /** The experiment the object belongs to (itself for an Experiment). */
  readonly experiment: ObjectKey;
}

export interface Store {
  createExperiment(exp: Experiment, signal?: AbortSignal): Promise<Experiment>;
  getExperiment(key: ObjectKey, signal?: AbortSignal): Promise<Experiment | undefined>;
  listExperiments(namespace?: string, signal?: AbortSignal): Promise<Experiment[]>;
  /** Replaces `status` only; `exp.metadata.resourceVersion` must be current. Returns the stored object. */
  updateExperimentStatus(exp: Experiment, signal?: AbortSignal): Promise<Experiment>;
  /** Deletes the experiment and everything it owns. Returns false when it did not exist. */
  deleteExperiment(key: ObjectKey, signal?: AbortSignal): Promise<boolean>;

  createTrial(trial: Trial, signal?: AbortSignal): Promise<Trial>;
  getTrial(key: ObjectKey, signal?: AbortSignal): Promise<Trial | undefined>;
  /** The experiment's trials in creation order. */
  listTrials(experiment: ObjectKey, signal?: AbortSignal): Promise<Trial[]>;
  updateTrialStatus(trial: Trial, signal?: AbortSignal): Promise<Trial>;

  createSuggestion(s: SuggestionResource, signal?: AbortSignal): Promise<SuggestionResource>;
  getSuggestion(key: ObjectKey, signal?: AbortSignal): Promise<SuggestionResource | undefined>;
  /** Replaces `spec` and `status` of the suggestion; conflict-checked like the others. */
  updateSuggestion(s: SuggestionResource, signal?: AbortSignal): Promise<SuggestionResource>;

  /** Calls `listener` on every change until the returned function is called. */
  watch(listener: (event: StoreEvent) => void): () => void;
  close(): Promise<void>;
}

/** One metric value as the DB-manager stores it: Katib keeps values as strings, timestamps as RFC3339. */
export interface MetricLogEntry {
  readonly timestamp: string;
  readonly name: string;
  readonly value: string;
}

export interface ObservationQuery {
  readonly metricName?: string;
  /** Inclusive lower bound, RFC3339. */
  readonly startTime?: string;
  /** Inclusive upper bound, RFC3339. */
  readonly endTime?: string;
}

/**
 * Observation logs: every metric value a trial reports, read back by time (equal times in report order, as Katib's
 * `ORDER BY time`). Back ends: SQLite, PostgreSQL, MySQL.
 * `report` is idempotent per (trial, batch id) when a batch id is given, so a retried report never duplicates.
 */
export interface ObservationStore {
  report(trialName: string, entries: readonly MetricLogEntry[], batchId?: string): Promise<void>;
  get(trialName: string, query?: ObservationQuery): Promise<MetricLogEntry[]>;
  delete(trialName: string): Promise<void>;
  close(): Promise<void>;
}
