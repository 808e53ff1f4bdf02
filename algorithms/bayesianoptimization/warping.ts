/**
 * Output warping before the GP fit: the Yeo-Johnson power transform (I.-K. Yeo & R. A. Johnson, "A new family of
 * power transformations to improve normality or symmetry", Biometrika 87 (2000)), with its exponent λ chosen by
 * maximum likelihood, as HEBO does (A. I. Cowen-Rivers et al., "HEBO: Pushing the Limits of Sample-Efficient
 * Hyperparameter Optimisation", JAIR 74 (2022)).
 *
 * Losses of real objectives are often heavy-tailed on the bad side (a diverged run, Branin's 300 against its 0.4):
 * standardised as they are, the few huge values set the GP's scale and the differences that matter near the
 * optimum vanish. The transform is monotone, so the ranking and the incumbent are kept. λ is restricted to ≤ 1,
 * where the transform only compresses the upper (bad) tail and stretches the lower (good) one: a heavy good tail
 * (Hartmann's few deep values) is never squashed. λ = 1 is the identity.
 */

/** The Yeo-Johnson transform of one value. */
export function yeoJohnson(v: number, lambda: number): number {
  if (v >= 0) return Math.abs(lambda) < 1e-12 ? Math.log1p(v) : ((v + 1) ** lambda - 1) / lambda;
  return Math.abs(lambda - 2) < 1e-12 ? -Math.log1p(-v) : -((1 - v) ** (2 - lambda) - 1) / (2 - lambda);
}

const LAMBDA_MIN = -3;
const LAMBDA_MAX = 1;
const LAMBDA_STEP = 0.05;

/**
 * Standardises `losses`, picks λ ∈ [-3, 1] maximising the Yeo-Johnson profile log-likelihood on a 0.05 grid, and
 * returns the transformed values (not yet re-standardised). Fewer than three values, or identical ones, come back
 * standardised only.
 */
export function warpLosses(losses: readonly number[]): number[] {
  const n = losses.length;
  const mean = losses.reduce((a, b) => a + b, 0) / Math.max(1, n);
  const sd = Math.sqrt(losses.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, n));
  if (n < 3 || !(sd > 0)) return losses.map((v) => v - mean);
  const z = losses.map((v) => (v - mean) / sd);
  let logJacobianBase = 0;
  for (const v of z) logJacobianBase += Math.sign(v) * Math.log1p(Math.abs(v));
  let best = LAMBDA_MAX;
  let bestLikelihood = Number.NEGATIVE_INFINITY;
  for (let k = 0; LAMBDA_MIN + k * LAMBDA_STEP <= LAMBDA_MAX + 1e-9; k++) {
    const lambda = LAMBDA_MIN + k * LAMBDA_STEP;
    let m = 0;
    const t = z.map((v) => yeoJohnson(v, lambda));
    for (const v of t) m += v;
    m /= n;
    let variance = 0;
    for (const v of t) variance += (v - m) ** 2;
    variance /= n;
    if (!(variance > 0) || !Number.isFinite(variance)) continue;
    const likelihood = (-n / 2) * Math.log(variance) + (lambda - 1) * logJacobianBase;
    if (likelihood > bestLikelihood) {
      bestLikelihood = likelihood;
      best = lambda;
    }
  }
  return z.map((v) => yeoJohnson(v, best));
}
