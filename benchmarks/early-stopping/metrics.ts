/**
 * From a run's trace to the benchmark's two numbers, identically for every method (ours and Optuna's):
 * - the INCUMBENT after each finished trial is the configuration with the lowest objective (its lowest reported loss,
 *   Katib's default `min` metric strategy) among the trials that trained the full maxEpochs; trials stopped early or
 *   run on a smaller budget never become the incumbent (Optuna's best_trial likewise ignores pruned trials);
 * - its REGRET is the noiseless final loss of that configuration minus f*, the best final loss in the family: what
 *   the recommendation is worth when retrained, not its noisy observed value;
 * - COMPUTE TO TARGET is the number of epochs the whole run had spent when the incumbent's regret first fell to the
 *   target or below (undefined when it never did before the run's cap);
 * - REGRET AT BUDGET is the incumbent's regret using only trials finished within the budget (undefined when no
 *   trial had trained the full maxEpochs by then).
 */
import { finalLoss, type Config } from './curves.js';

/** One finished trial, in the order the (sequential) run finished them. */
export interface TraceEvent {
  /** Epochs the whole run had spent when this trial finished. */
  readonly spent: number;
  /** Present when the trial trained the full maxEpochs: its configuration and objective (lowest reported loss). */
  readonly full?: { readonly config: Config; readonly objective: number };
}

export interface RunMetrics {
  readonly computeToTarget: number | undefined;
  readonly regretAtBudget: number | undefined;
  /** Epochs spent by the run in all (it stops at the cap, or once past the budget with the target reached). */
  readonly spent: number;
  readonly trials: number;
  readonly fullTrials: number;
}

/** The benchmark's numbers for one run; `bestFinal` is f*, `target` the regret to reach. */
export function runMetrics(events: readonly TraceEvent[], bestFinal: number, target: number, budget: number): RunMetrics {
  let incumbent: { objective: number; regret: number } | undefined;
  let computeToTarget: number | undefined;
  let regretAtBudget: number | undefined;
  let fullTrials = 0;
  for (const e of events) {
    if (e.full !== undefined) {
      fullTrials++;
      if (incumbent === undefined || e.full.objective < incumbent.objective) {
        incumbent = { objective: e.full.objective, regret: finalLoss(e.full.config) - bestFinal };
      }
    }
    if (computeToTarget === undefined && incumbent !== undefined && incumbent.regret <= target) computeToTarget = e.spent;
    if (e.spent <= budget && incumbent !== undefined) regretAtBudget = incumbent.regret;
  }
  return { computeToTarget, regretAtBudget, spent: events.at(-1)?.spent ?? 0, trials: events.length, fullTrials };
}

/**
 * Decides when a simulated run may stop: once it has spent `cap` epochs, or once it is past `budget` with the
 * target reached (both numbers are then known). Fed one finished trial at a time.
 */
export class StopWatch {
  private best: { objective: number; regret: number } | undefined;
  private reached = false;

  constructor(
    private readonly bestFinal: number,
    private readonly target: number,
    private readonly budget: number,
    private readonly cap: number,
  ) {}

  /** Records a finished trial; returns true when the run may stop. */
  add(e: TraceEvent): boolean {
    if (e.full !== undefined && (this.best === undefined || e.full.objective < this.best.objective)) {
      this.best = { objective: e.full.objective, regret: finalLoss(e.full.config) - this.bestFinal };
    }
    if (this.best !== undefined && this.best.regret <= this.target) this.reached = true;
    return e.spent >= this.cap || (e.spent >= this.budget && this.reached);
  }
}

export interface Summary {
  readonly median: number;
  readonly q1: number;
  readonly q3: number;
  /** Runs with a value (the others count as +Infinity: not reached before the cap). */
  readonly defined: number;
  readonly runs: number;
}

/** Quantile q of sorted values, linear interpolation between order statistics (R's type 7); Infinity propagates. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  if (lo === hi || a === b) return a;
  return a + (b - a) * (pos - lo);
}

/** Median and quartiles; undefined values count as +Infinity (a target not reached, a regret not available). */
export function summarize(values: readonly (number | undefined)[]): Summary {
  const sorted = values.map((v) => v ?? Number.POSITIVE_INFINITY).sort((a, b) => a - b);
  return { median: quantile(sorted, 0.5), q1: quantile(sorted, 0.25), q3: quantile(sorted, 0.75), defined: values.filter((v) => v !== undefined).length, runs: values.length };
}
