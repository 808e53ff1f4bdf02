/**
 * Hyperband's bracket arithmetic, after Li et al., "Hyperband: A Novel Bandit-Based Approach to Hyperparameter
 * Optimization", JMLR 18 (2018), Algorithm 1:
 *
 *   s_max = floor(log_eta(R)),  B = (s_max + 1) R
 *   for s = s_max … 0:   n = ceil(B/R · eta^s / (s + 1)),  r = R · eta^-s
 *     for i = 0 … s:     n_i = floor(n · eta^-i) configurations, each run with r_i = r · eta^i
 *
 * Rung i + 1 keeps the best n_{i+1} = floor(n_i / eta) of rung i, so a rung never holds more trials than the one
 * below it, and the last rung of every bracket runs at exactly R.
 */
import { maxExponent } from '../core/budget.js';

export interface Rung {
  /** Configurations evaluated in this rung. */
  readonly trials: number;
  /** The resource each gets: R · eta^(i - s), never more than R. */
  readonly budget: number;
}

/** s_max for maximum resource `r` and reduction factor `eta`. */
export function maxBracket(r: number, eta: number): number {
  return maxExponent(r, eta);
}

/** The rungs of bracket `s`: rung i has n_i trials at budget r_i. */
export function bracketRungs(s: number, sMax: number, eta: number, r: number): Rung[] {
  const n = Math.ceil(((sMax + 1) * eta ** s) / (s + 1));
  const rungs: Rung[] = [];
  for (let i = 0; i <= s; i++) {
    // R / eta^(s-i) rather than r · eta^i: the last rung is then R itself, with no rounding above it.
    rungs.push({ trials: Math.floor(n / eta ** i), budget: i === s ? r : r / eta ** (s - i) });
  }
  return rungs;
}

/** Every bracket, from s_max down to 0, as Hyperband runs them. */
export function schedule(r: number, eta: number): Rung[][] {
  const sMax = maxBracket(r, eta);
  const out: Rung[][] = [];
  for (let s = sMax; s >= 0; s--) out.push(bracketRungs(s, sMax, eta, r));
  return out;
}
