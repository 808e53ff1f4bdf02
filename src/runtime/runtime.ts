/**
 * Where trials run. The controller drives a TrialRuntime without knowing whether trials are local processes or
 * Kubernetes objects: it starts a trial's run, observes its phase, and stops it. Every method is idempotent and
 * keyed by the trial, so a restarted controller simply observes again.
 */
import type { Experiment, Trial } from '../api/types.js';

export const RUN_PHASES = ['absent', 'pending', 'running', 'succeeded', 'failed', 'early-stopped', 'killed'] as const;
export type RunPhase = (typeof RUN_PHASES)[number];

export interface RunObservation {
  readonly phase: RunPhase;
  /** Why it failed or was stopped, with the exit code and the last output lines where known. */
  readonly message?: string;
  readonly startTime?: string;
  readonly completionTime?: string;
  /** The last lines of the trial's output, for messages. */
  readonly outputTail?: readonly string[];
}

export interface TrialRuntime {
  /**
   * Starts the trial's run unless it exists (or ended) already. Resolves `'pending'` when the run cannot start yet
   * (e.g. waiting for free GPUs); the trial then stays Created and the controller tries again later.
   */
  start(exp: Experiment, trial: Trial): Promise<void | 'pending'>;
  /** The run's phase now. `succeeded` is reported only once every metric it printed has been stored. */
  observe(exp: Experiment, trial: Trial): Promise<RunObservation>;
  /** Stops the run (SIGTERM, then SIGKILL after the grace period); the next observe reports `reason`. */
  stop(exp: Experiment, trial: Trial, reason: 'killed' | 'early-stopped', message?: string): Promise<void>;
  /** Removes what the run left behind (its folder or object). */
  remove?(exp: Experiment, trial: Trial): Promise<void>;
  /** Calls `listener` with the experiment's name when one of its runs changes phase. */
  onChange(listener: (experiment: { namespace: string; name: string }) => void): () => void;
  close(): Promise<void>;
}
