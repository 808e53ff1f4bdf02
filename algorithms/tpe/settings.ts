/**
 * Settings of `tpe` and `multivariate-tpe` (J. Bergstra, R. Bardenet, Y. Bengio & B. Kégl, "Algorithms for
 * Hyper-Parameter Optimization", NeurIPS 2011), as Katib names them, with Optuna's defaults. Optuna's defaults are
 * kept: in our side-by-side runs (Branin, Hartmann-6, Rosenbrock-4; 96 trials, 20-40 seeds) 64 EI candidates
 * instead of 24 made no difference beyond the noise.
 *
 * - `gamma` (default 0.1): the fraction of completed trials modelled as good: min(ceil(gamma · n), 25) of n
 *   (Optuna's default_gamma; the cap keeps the good model sharp late in an experiment). In (0, 1].
 * - `prior_weight` (default 1): weight of the prior kernel in both models, relative to 1 per observation. > 0 (a
 *   zero prior gives zero densities to unobserved categories, and the acquisition becomes undefined).
 * - `n_EI_candidates` (Katib's TPE spelling) or `n_ei_candidates` (its Optuna spelling) (default 24): candidates drawn
 *   from the good model per suggestion; the best by l(x)/g(x) is suggested. An integer in [1, 10000].
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

export const TPE_DEFAULTS = { gamma: 0.1, priorWeight: 1, nEiCandidates: 24, nStartupTrials: 10 } as const;

/** The most good trials a model uses, whatever gamma says (Optuna's cap). */
export const MAX_GOOD_TRIALS = 25;

/** The most EI candidates per suggestion: the cost of a suggestion is linear in this. */
export const MAX_EI_CANDIDATES = 10_000;

export const TPE_SETTING_NAMES = ['gamma', 'prior_weight', 'n_EI_candidates', 'n_ei_candidates', 'n_startup_trials', 'random_state'] as const;

/** Parses TPE settings; every problem is reported with the setting's path, its value and the valid range. */
export function parseTpeSettings(raw: RawSettings): TpeSettings | Issue[] {
  const issues: Issue[] = [];
  rejectUnknown(raw, TPE_SETTING_NAMES, issues);
  const gamma = numberSetting(raw, 'gamma', TPE_DEFAULTS.gamma, { min: 0, exclusiveMin: true, max: 1 }, issues);
  const priorWeight = numberSetting(raw, 'prior_weight', TPE_DEFAULTS.priorWeight, { min: 0, exclusiveMin: true }, issues);
  const candidateRule = { min: 1, max: MAX_EI_CANDIDATES, integer: true };
  const upper = numberSetting(raw, 'n_EI_candidates', TPE_DEFAULTS.nEiCandidates, candidateRule, issues);
  const lower = numberSetting(raw, 'n_ei_candidates', TPE_DEFAULTS.nEiCandidates, candidateRule, issues);
  const hasUpper = (raw['n_EI_candidates'] ?? '') !== '';
  const hasLower = (raw['n_ei_candidates'] ?? '') !== '';
  if (hasUpper && hasLower) {
    issues.push({
      path: `${SETTINGS_PATH}[n_ei_candidates]`,
      message: `duplicates n_EI_candidates; set only one of them (n_EI_candidates=${JSON.stringify(raw['n_EI_candidates'])}, n_ei_candidates=${JSON.stringify(raw['n_ei_candidates'])})`,
    });
  }
  const nStartupTrials = numberSetting(raw, 'n_startup_trials', TPE_DEFAULTS.nStartupTrials, { min: 0, integer: true }, issues);
  const randomState = seedSetting(raw, 'random_state', issues);
  if (issues.length > 0) return issues;
  return { gamma, priorWeight, nEiCandidates: hasUpper ? upper : lower, nStartupTrials, randomState };
}
