/**
 * Settings of `tpe` and `multivariate-tpe` (J. Bergstra, R. Bardenet, Y. Bengio & B. Kégl, "Algorithms for
 * Hyper-Parameter Optimization", NeurIPS 2011), as Katib names them. The defaults are Optuna's except where
 * benchmarks/sample-efficiency (six functions of 2-6 parameters, 120 seeds; median simple regret) and six further
 * functions kept out of the repository (Styblinski-Tang-4, Rastrigin-3, six-hump camel, Hartmann-3, a shifted
 * 8-D sphere, a log-int/int/categorical/log-float space) agreed on something better:
 * - `tpe`: gamma 0.15 instead of 0.1 (one good trial more in every ten gives l(x) a broader base). With whole
 *   assignments drawn from l(x) (sampler.ts) and Optuna's 24 EI candidates, gamma 0.1 → 0.15 at 50 trials over
 *   seeds 20-139: Hartmann-6 0.48 → 0.39, Rosenbrock-4 216 → 179, Ackley-5 12.4 → 11.3, Levy-4 0.89 → 0.74,
 *   Branin 0.10 → 0.076, mixed 0.039 → 0.027; gamma 0.2 was better on four of the six but worse on Hartmann-6 and on the
 *   log-int/int/categorical/log-float space. 12 and 48 candidates were no better than 24. Prior weight 2 instead
 *   of 1: where a categorical's good trials agree early on a wrong value, a heavier prior keeps the other values
 *   among the candidates; on the mixed space the runs still stuck on a wrong optimizer after 100 trials went from 34
 *   to 16 of 120 (Optuna's TPE: 18), and at 50 trials the median regret was lower on seven of the twelve functions,
 *   within noise on four, higher on Hartmann-6 (0.39 → 0.44; Optuna's TPE 0.59).
 * - `multivariate-tpe`: 48 EI candidates instead of 24 (gamma stays 0.1). One joint argmax over 24 draws from l(x)
 *   in several dimensions is a weak optimiser of the acquisition. At 50 trials: Branin 0.120 → 0.113, Hartmann-6
 *   0.40 → 0.35, Rosenbrock-4 149 → 110, Ackley-5 10.7 → 10.0, Levy-4 0.71 → 0.59, mixed 0.013 → 0.012, and as good
 *   or better at 25 and 100 trials. Gamma 0.15 helped on these six but hurt the 8-D sphere and Rastrigin-3. These
 *   were measured with the neighbour-rule bandwidths; with the shared bandwidths of spaces with a categorical
 *   (multivariate.ts), 24 candidates, gamma 0.15 and prior weight 2 each stayed within noise of these defaults.
 *
 * - `gamma` (default 0.15 for `tpe`, 0.1 for `multivariate-tpe`): the fraction of completed trials modelled as
 *   good: min(ceil(gamma · n), 25) of n (the form of Optuna's default_gamma; the cap keeps the good model sharp late
 *   in an experiment). In (0, 1]. Katib's hyperopt-era `tpe` took ceil(gamma · sqrt(n)) (default 0.25), a
 *   different count.
 * - `prior_weight` (default 2 for `tpe`, 1 for `multivariate-tpe`): weight of the prior kernel in both models,
 *   relative to 1 per observation. > 0 (a zero prior gives zero densities to unobserved categories, and the
 *   acquisition becomes undefined).
 * - `n_EI_candidates` (Katib's TPE spelling) or `n_ei_candidates` (its Optuna spelling) (default 24 for `tpe`, 48
 *   for `multivariate-tpe`): candidates drawn from the good model per suggestion; the best by l(x)/g(x) is
 *   suggested. An integer in [1, 10000].
 * - `n_startup_trials` (default 10): completed trials before the models are used; until then suggestions follow a
 *   scrambled Sobol design. An integer >= 0.
 * - `random_state`: seed (read by the service); also fixes the Sobol scrambling.
 *
 * Both algorithms accept all five (Katib's validator accepts only n_startup_trials, n_ei_candidates and
 * random_state for either; gamma and prior_weight are the settings of Katib's hyperopt-era `tpe`).
 */
import type { RawSettings } from '../core/algorithm.js';
import type { Issue } from '../core/issues.js';
import { numberSetting, rejectUnknown, seedSetting, SETTINGS_PATH } from '../core/settings.js';

export interface TpeSettings {
  readonly gamma: number;
  readonly priorWeight: number;
  readonly nEiCandidates: number;
  readonly nStartupTrials: number;
  readonly randomState: number | undefined;
}

/** Defaults of `tpe` (independent per-parameter models). */
export const TPE_DEFAULTS = { gamma: 0.15, priorWeight: 2, nEiCandidates: 24, nStartupTrials: 10 } as const;

/** Defaults of `multivariate-tpe` (one joint model): Optuna's gamma and prior weight, and more candidates. */
export const MULTIVARIATE_TPE_DEFAULTS = { ...TPE_DEFAULTS, gamma: 0.1, priorWeight: 1, nEiCandidates: 48 } as const;

type TpeDefaults = typeof TPE_DEFAULTS | typeof MULTIVARIATE_TPE_DEFAULTS;

/** The most good trials a model uses, whatever gamma says (Optuna's cap). */
export const MAX_GOOD_TRIALS = 25;

/** The most EI candidates per suggestion: the cost of a suggestion is linear in this. */
export const MAX_EI_CANDIDATES = 10_000;

export const TPE_SETTING_NAMES = ['gamma', 'prior_weight', 'n_EI_candidates', 'n_ei_candidates', 'n_startup_trials', 'random_state'] as const;

/**
 * Parses TPE settings over `defaults` (TPE_DEFAULTS or MULTIVARIATE_TPE_DEFAULTS); every problem is reported with
 * the setting's path, its value and the valid range.
 */
export function parseTpeSettings(raw: RawSettings, defaults: TpeDefaults = TPE_DEFAULTS): TpeSettings | Issue[] {
  const issues: Issue[] = [];
  rejectUnknown(raw, TPE_SETTING_NAMES, issues);
  const gamma = numberSetting(raw, 'gamma', defaults.gamma, { min: 0, exclusiveMin: true, max: 1 }, issues);
  const priorWeight = numberSetting(raw, 'prior_weight', defaults.priorWeight, { min: 0, exclusiveMin: true }, issues);
  const candidateRule = { min: 1, max: MAX_EI_CANDIDATES, integer: true };
  const upper = numberSetting(raw, 'n_EI_candidates', defaults.nEiCandidates, candidateRule, issues);
  const lower = numberSetting(raw, 'n_ei_candidates', defaults.nEiCandidates, candidateRule, issues);
  const hasUpper = (raw['n_EI_candidates'] ?? '') !== '';
  const hasLower = (raw['n_ei_candidates'] ?? '') !== '';
  if (hasUpper && hasLower) {
    issues.push({
      path: `${SETTINGS_PATH}[n_ei_candidates]`,
      message: `duplicates n_EI_candidates; set only one of them (n_EI_candidates=${JSON.stringify(raw['n_EI_candidates'])}, n_ei_candidates=${JSON.stringify(raw['n_ei_candidates'])})`,
    });
  }
  const nStartupTrials = numberSetting(raw, 'n_startup_trials', defaults.nStartupTrials, { min: 0, integer: true }, issues);
  const randomState = seedSetting(raw, 'random_state', issues);
  if (issues.length > 0) return issues;
  return { gamma, priorWeight, nEiCandidates: hasUpper ? upper : lower, nStartupTrials, randomState };
}
