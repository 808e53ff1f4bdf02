/**
 * `multivariate-tpe`: TPE with one joint model over all parameters, so that interactions between parameters are
 * learned. S. Falkner, A. Klein & F. Hutter, "BOHB: Robust and Efficient Hyperparameter Optimization at Scale",
 * ICML 2018 (multivariate kernel density TPE), in the form of Optuna's `TPESampler(multivariate=True)`: product
 * kernels with per-dimension bandwidths from the neighbour rule (parzen-estimator.ts).
 *
 * Settings and behaviour are those of `tpe` (settings.ts, sampler.ts); only the model differs.
 */
import type { Algorithm } from '../core/algorithm.js';
import { suggestTpe, type TpeState } from './sampler.js';
import { parseTpeSettings, type TpeSettings } from './settings.js';

export const multivariateTpe: Algorithm<TpeSettings, TpeState> = {
  name: 'multivariate-tpe',
  parseSettings: (raw) => parseTpeSettings(raw),
  suggest: (req, settings) => suggestTpe(req, settings, 'joint'),
};
