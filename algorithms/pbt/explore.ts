/**
 * PBT's explore step, after Jaderberg et al., "Population Based Training of Neural Networks", arXiv:1711.09846
 * (2017), section 3.1: "perturb" multiplies a hyperparameter by 0.8 or 1.2; "resample" draws it afresh from its
 * prior. Here each parameter is resampled with probability `resampleProbability` and perturbed otherwise (Ray
 * Tune's reading; Katib's service keeps the value unchanged instead of perturbing once the setting is given).
 * Results always stay feasible: clamped to the bounds and snapped to the step grid or the list.
 */
import type { Rng } from '../core/rng.js';
import { formatValue, samplePrior, snapRange, type Parameter, type SearchSpace } from '../core/space.js';

/** The perturbation factors of the paper. */
export const PERTURB_FACTORS = [0.8, 1.2] as const;

/**
 * Perturbs one value. Numbers are multiplied by 0.8 or 1.2; when the step grid or integer rounding would swallow
 * the change, the value moves one step in the factor's direction instead (otherwise a small int such as 2 could
 * never move). Discrete values move to a neighbouring list entry (inwards at the ends), categorical values to the
 * next or previous entry, cyclically, as Katib does. A value not in the space is resampled.
 */
export function perturb(p: Parameter, value: string, rng: Rng): string {
  const up = rng.next() >= 0.5;
  switch (p.type) {
    case 'categorical': {
      const i = p.values.indexOf(value);
      if (i < 0) return samplePrior(p, rng);
      const n = p.values.length;
      return p.values[(i + (up ? 1 : n - 1)) % n] as string;
    }
    case 'discrete': {
      let i = p.raw.indexOf(value);
      if (i < 0) i = p.values.indexOf(Number(value));
      if (i < 0) return samplePrior(p, rng);
      const n = p.raw.length;
      if (n === 1) return p.raw[0] as string;
      const j = up ? (i + 1 < n ? i + 1 : i - 1) : i - 1 >= 0 ? i - 1 : i + 1;
      return p.raw[j] as string;
    }
    case 'int':
    case 'double': {
      const x = Number(value);
      if (!Number.isFinite(x)) return samplePrior(p, rng);
      const factor = up ? PERTURB_FACTORS[1] : PERTURB_FACTORS[0];
      let y = snapRange(p, x * factor);
      if (y === snapRange(p, x) && p.step !== undefined) {
        // Multiplying moves a positive value up for 1.2 and a negative one down; zero follows the factor.
        const direction = Math.sign(x * factor - x) || (up ? 1 : -1);
        y = snapRange(p, snapRange(p, x) + direction * p.step);
      }
      return formatValue(p, y);
    }
  }
}

/** Explores a whole assignment (wire values keyed by name); returns a new record in space order. */
export function explore(space: SearchSpace, values: Readonly<Record<string, string>>, resampleProbability: number, rng: Rng): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of space) {
    const v = values[p.name];
    out[p.name] = v === undefined || rng.next() < resampleProbability ? samplePrior(p, rng) : perturb(p, v, rng);
  }
  return out;
}
