/**
 * Early stopping in process, as a Katib experiment does it: the rules come from the early-stopping algorithm
 * (algorithms/earlystopping) when a trial starts, computed from the objective observations of the Succeeded trials;
 * each report is then checked as Katib's metrics collector checks an observation (src/runtime/local.ts): the
 * objective metric is compared by its best value so far, other metrics by the reported value, and a rule applies
 * from its `startStep`-th observation of the metric on (reports are counted, whatever `step` they carry).
 */
import type { Goal } from '../../algorithms/core/algorithm.js';
import type { Issue } from '../../algorithms/core/issues.js';
import { isIssues } from '../../algorithms/core/issues.js';
import { EARLY_STOPPING_ALGORITHMS, type StopRule } from '../../algorithms/earlystopping/index.js';
import { EARLY_STOPPING_SETTINGS_PATH, type MedianStopSettings } from '../../algorithms/earlystopping/medianstop.js';
import { EarlyStoppingTracker } from '../collector/rules.js';

/** A study's early-stopping algorithm with its parsed settings, ready to compute rules. */
export interface EarlyStoppingPlan {
  readonly settings: MedianStopSettings;
  /** The rules for a trial starting now, given each Succeeded trial's objective values in report order. */
  rules(completed: readonly (readonly number[])[]): StopRule[];
}

/**
 * Resolves `earlyStopping` (already shape-checked) into a plan, or the issues with paths under
 * `earlyStopping.settings`. Never throws.
 */
export function planEarlyStopping(algorithm: string, settings: Readonly<Record<string, string>>, metricName: string, goal: Goal): EarlyStoppingPlan | Issue[] {
  const impl = Object.prototype.hasOwnProperty.call(EARLY_STOPPING_ALGORITHMS, algorithm) ? EARLY_STOPPING_ALGORITHMS[algorithm as keyof typeof EARLY_STOPPING_ALGORITHMS] : undefined;
  if (!impl) {
    return [{ path: 'earlyStopping.algorithm', message: `unknown early-stopping algorithm ${JSON.stringify(algorithm)}; known: ${Object.keys(EARLY_STOPPING_ALGORITHMS).join(', ')}` }];
  }
  const parsed = impl.parseSettings(settings);
  if (isIssues(parsed)) return parsed.map((i) => ({ path: i.path.replace(`${EARLY_STOPPING_SETTINGS_PATH}[`, 'earlyStopping.settings['), message: i.message }));
  return { settings: parsed, rules: (completed) => impl.rules({ metricName, goal, completed, settings: parsed }) };
}

/**
 * Checks one trial's reports against its rules with the collectors' own tracker (per-metric counts, best-so-far of
 * the objective), so in-process studies stop trials exactly as `katib run` and the sidecar do.
 */
export class RuleChecker {
  private readonly tracker: EarlyStoppingTracker;

  constructor(rules: readonly StopRule[], objectiveMetric: string, maximize: boolean) {
    this.tracker = new EarlyStoppingTracker(rules, { name: objectiveMetric, maximize });
  }

  /** Feeds one report; returns the stop message when a rule fires, undefined otherwise. */
  check(metrics: Readonly<Record<string, number>>): string | undefined {
    if (this.tracker.empty) return undefined;
    const entries = Object.entries(metrics).map(([name, value]) => ({ timestamp: '', name, value: String(value) }));
    return this.tracker.observe(entries)?.message;
  }
}
