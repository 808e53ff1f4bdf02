/**
 * `tpe`: the Tree-structured Parzen Estimator with independent per-parameter models. J. Bergstra, R. Bardenet,
 * Y. Bengio & B. Kégl, "Algorithms for Hyper-Parameter Optimization", NeurIPS 2011.
 *
 * Each parameter gets its own good model l(x) and bad model g(x) (parzen-estimator.ts over the coordinates of
 * encoding.ts) and its value is chosen by its own acquisition; the suggestion loop (startup design, split,
 * failed trials, constant liar) is in sampler.ts and the settings in settings.ts. Use `multivariate-tpe` when
 * parameters interact.
 */
import type { Algorithm } from '../core/algorithm.js';
import { suggestTpe, type TpeState } from './sampler.js';
import { parseTpeSettings, type TpeSettings } from './settings.js';

export { multivariateTpe } from './multivariate.js';
export { MULTIVARIATE_TPE_DEFAULTS, TPE_DEFAULTS, type TpeSettings } from './settings.js';
export type { TpeState } from './sampler.js';

export const tpe: Algorithm<TpeSettings, TpeState> = {
  name: 'tpe',
  parseSettings: (raw) => parseTpeSettings(raw),
  suggest: (req, settings) => suggestTpe(req, settings, 'independent'),
};
