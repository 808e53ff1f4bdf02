/**
 * Early-stopping rules as the collectors enforce them, with the semantics of the embedded runtime
 * (src/runtime/local.ts): a rule applies to a metric once that metric has been reported `startStep` times; for the
 * objective metric the value compared is the best so far (Katib's collector does this for median stopping); the
 * first rule that holds stops the trial.
 */
import type { EarlyStoppingRule } from '../api/types.js';
import type { MetricLogEntry } from '../store/store.js';

/** Why a trial was stopped: the rule that held and the step at which it did. */
export interface RuleBreach {
  readonly rule: EarlyStoppingRule;
  readonly step: number;
  /** The value compared (the best so far for the objective metric). */
  readonly value: number;
  /** `stopped early at step 4: best accuracy so far (0.51) is less than 0.6` */
  readonly message: string;
}

/** True when `value` satisfies the rule's comparison (the trial should stop). */
export function ruleHolds(rule: EarlyStoppingRule, value: number): boolean {
  const threshold = Number(rule.value);
  if (!Number.isFinite(threshold)) return false;
  switch (rule.comparison) {
    case 'less':
      return value < threshold;
    case 'greater':
      return value > threshold;
    case 'equal':
      return value === threshold;
  }
}

/**
 * Feeds reported entries through the rules; `observe` returns the first breach (once; later calls return
 * undefined). Entries must be given in report order.
 */
export class EarlyStoppingTracker {
  private readonly counts = new Map<string, number>();
  private best: number | undefined;
  private breached = false;

  constructor(
    private readonly rules: readonly EarlyStoppingRule[],
    private readonly objective: { readonly name: string; readonly maximize: boolean },
  ) {}

  /** True when there is no rule to check. */
  get empty(): boolean {
    return this.rules.length === 0;
  }

  observe(entries: readonly MetricLogEntry[]): RuleBreach | undefined {
    if (this.rules.length === 0 || this.breached) return undefined;
    for (const e of entries) {
      const n = (this.counts.get(e.name) ?? 0) + 1;
      this.counts.set(e.name, n);
      let v = Number(e.value);
      if (!Number.isFinite(v)) continue;
      const isObjective = e.name === this.objective.name;
      if (isObjective) {
        this.best = this.best === undefined ? v : this.objective.maximize ? Math.max(this.best, v) : Math.min(this.best, v);
        v = this.best;
      }
      for (const rule of this.rules) {
        if (rule.name !== e.name || n < (rule.startStep ?? 0)) continue;
        if (!ruleHolds(rule, v)) continue;
        this.breached = true;
        const what = isObjective ? `best ${e.name} so far (${v})` : `${e.name}=${e.value}`;
        const how = rule.comparison === 'equal' ? 'equal to' : `${rule.comparison} than`;
        return { rule, step: n, value: v, message: `stopped early at step ${n}: ${what} is ${how} ${rule.value}` };
      }
    }
    return undefined;
  }
}
