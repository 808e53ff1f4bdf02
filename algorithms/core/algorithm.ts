/**
 * The contract every suggestion algorithm implements. An algorithm is a pure function of its inputs: the search
 * space, the trial history, its previous state and a seeded Rng. It performs no I/O and reads no clock. The caller
 * (the gRPC adapter or the in-process SDK) persists the returned `state` and hands it back on the next call.
 */
import type { Issue } from './issues.js';
import type { Rng } from './rng.js';
import type { Assignment, SearchSpace } from './space.js';

export type Goal = 'minimize' | 'maximize';

/** A trial as algorithms see it. Values are never mutated by an algorithm. */
export interface TrialRecord {
  readonly name: string;
  /** Parameter values as wire strings, keyed by parameter name. */
  readonly assignments: Readonly<Record<string, string>>;
  readonly status: TrialState;
  /** The objective metric's value (per the objective's metric strategy) when the trial reported one. */
  readonly objective: number | undefined;
  /** Every reported metric's value (per its strategy), objective included. */
  readonly metrics: Readonly<Record<string, number>>;
  readonly labels: Readonly<Record<string, string>>;
}

export const TRIAL_STATES = ['pending', 'running', 'succeeded', 'failed', 'killed', 'early-stopped', 'metrics-unavailable'] as const;
export type TrialState = (typeof TRIAL_STATES)[number];

/** One suggested trial: its assignments, and optionally a name and labels the controller should give it. */
export interface Suggestion {
  readonly assignments: readonly Assignment[];
  readonly trialName?: string;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface SuggestRequest<State> {
  readonly space: SearchSpace;
  readonly goal: Goal;
  /** The objective metric's name (needed by multi-fidelity algorithms that read intermediate values). */
  readonly objectiveMetric: string;
  /** Every trial of the experiment: completed, running and failed. */
  readonly history: readonly TrialRecord[];
  /** How many suggestions are wanted now (>= 1). */
  readonly count: number;
  /** The state returned by the previous call, or undefined on the first call (or when the caller lost it). */
  readonly state: State | undefined;
  readonly rng: Rng;
}

export interface SuggestResult<State> {
  /** At most `count` suggestions; fewer when the algorithm is waiting for trials to finish or is exhausted. */
  readonly suggestions: readonly Suggestion[];
  readonly state: State;
  /** True when the algorithm will never suggest again (a finished grid, say): the experiment then ends. */
  readonly exhausted?: boolean;
}

/** Settings as they travel: name to string value. */
export type RawSettings = Readonly<Record<string, string>>;

export interface Algorithm<Settings, State> {
  readonly name: string;
  /**
   * Parses and validates the experiment's algorithm settings in the context of its search space. Returns every
   * problem, each naming the setting (`spec.algorithm.algorithmSettings[NAME]`), the value and the valid range.
   * Unknown settings are issues too, so a typo never silently falls back to a default.
   */
  parseSettings(raw: RawSettings, ctx: SettingsContext): Settings | Issue[];
  suggest(req: SuggestRequest<State>, settings: Settings): SuggestResult<State>;
}

/** What settings validation may depend on besides the settings themselves. */
export interface SettingsContext {
  readonly space: SearchSpace;
  readonly parallelTrialCount: number;
  readonly maxTrialCount: number | undefined;
}

/** An algorithm with its type parameters erased, for the registry. */
export type AnyAlgorithm = Algorithm<unknown, unknown>;

/** Converts an objective value into a loss to minimize. */
export function toLoss(value: number, goal: Goal): number {
  return goal === 'minimize' ? value : -value;
}

/** Trials that finished with a usable objective value. */
export function completedWithObjective(history: readonly TrialRecord[]): TrialRecord[] {
  return history.filter((t) => (t.status === 'succeeded' || t.status === 'early-stopped') && t.objective !== undefined && Number.isFinite(t.objective));
}

/** Trials still pending or running: their outcome is unknown. */
export function inFlight(history: readonly TrialRecord[]): TrialRecord[] {
  return history.filter((t) => t.status === 'pending' || t.status === 'running');
}
