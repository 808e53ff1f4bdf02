/**
 * The median stopping rule. Golovin, Solnik, Moitra, Kochanski, Karro & Sculley, "Google Vizier: A Service for
 * Black-Box Optimization", KDD 2017, section 3.2.2: a trial is stopped at step s when its best objective so far is
 * strictly worse than the median of the completed trials' running averages of the objective up to step s.
 *
 * As Katib's medianstop service does, the rule is computed once, for s = `start_step`: each succeeded trial
 * contributes the average of its first `start_step` objective observations (fewer if it reported fewer), and the
 * metrics collector then compares the running trial's best-so-far value against that threshold from its
 * `start_step`-th observation on. The difference: Katib's service takes the MEAN of those averages (despite the
 * name); here it is the true MEDIAN, as the paper defines the rule. The two differ whenever the averages are
 * skewed — one diverged trial with a huge loss drags Katib's threshold up and stops nobody.
 *
 * Settings (Katib's): `min_trials_required` (default 3): no rule until that many trials have completed;
 * `start_step` (default 4): observations a trial reports before the rule applies to it. Pure: the observation logs
 * arrive as arrays; the gRPC EarlyStopping service fetches them.
 */
import type { Goal, RawSettings } from '../core/algorithm.js';
import type { Issue } from '../core/issues.js';
import { numberSetting, rejectUnknown, SETTINGS_PATH } from '../core/settings.js';

export const EARLY_STOPPING_SETTINGS_PATH = 'spec.earlyStopping.algorithmSettings';

export const MEDIAN_STOP_SETTINGS = ['min_trials_required', 'start_step'] as const;

export interface MedianStopSettings {
  readonly minTrialsRequired: number;
  readonly startStep: number;
}

/** One early-stopping rule in Katib's shape: the trial stops once `metric <comparison> value` holds. */
export interface StopRule {
  readonly name: string;
  readonly value: string;
  readonly comparison: 'equal' | 'less' | 'greater';
  readonly startStep: number;
}

export interface MedianStopInput {
  /** The objective metric's name. */
  readonly metricName: string;
  readonly goal: Goal;
  /** The objective's observations of every succeeded trial, each in step order. */
  readonly completed: readonly (readonly number[])[];
  readonly settings: MedianStopSettings;
}

/** The median of a non-empty list: the middle value, or the mean of the two middle values. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export const medianStop = {
  name: 'medianstop',
  /**
   * Parses and validates the early-stopping settings; returns every problem, each naming
   * `spec.earlyStopping.algorithmSettings[NAME]`, the value and the valid range. Unknown settings are problems.
   */
  parseSettings(raw: RawSettings): MedianStopSettings | Issue[] {
    const issues: Issue[] = [];
    rejectUnknown(raw, MEDIAN_STOP_SETTINGS, issues);
    const minTrialsRequired = numberSetting(raw, 'min_trials_required', 3, { min: 1, integer: true }, issues);
    const startStep = numberSetting(raw, 'start_step', 4, { min: 1, integer: true }, issues);
    // The shared helpers write algorithm-setting paths; these settings live under spec.earlyStopping.
    if (issues.length > 0) return issues.map((i) => ({ ...i, path: i.path.replace(SETTINGS_PATH, EARLY_STOPPING_SETTINGS_PATH) }));
    return { minTrialsRequired, startStep };
  },
  /**
   * The rules for running trials: none while fewer than `min_trials_required` completed trials have an
   * observation; otherwise one rule on the objective — `less` than the median when maximizing, `greater` when
   * minimizing. Non-finite values among the first `start_step` observations are ignored; a trial with no finite one
   * does not count.
   */
  rules(input: MedianStopInput): StopRule[] {
    const { startStep, minTrialsRequired } = input.settings;
    const averages: number[] = [];
    for (const log of input.completed) {
      const first = log.slice(0, startStep).filter((v) => Number.isFinite(v));
      if (first.length > 0) averages.push(first.reduce((a, b) => a + b, 0) / first.length);
    }
    if (averages.length < minTrialsRequired) return [];
    return [{ name: input.metricName, value: String(median(averages)), comparison: input.goal === 'maximize' ? 'less' : 'greater', startStep }];
  },
} as const;
