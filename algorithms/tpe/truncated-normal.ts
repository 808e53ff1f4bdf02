/**
 * Fast normal-distribution kernels for the Parzen estimators of TPE (Bergstra et al. 2011): the log probability mass
 * of an interval, the truncation constant and truncated sampling. These run in the innermost loops (candidates ×
 * kernels), so they trade the last digits for speed: the complementary error function is the Chebyshev fit of
 * Numerical Recipes (W. H. Press et al., 2nd ed., §6.2), relative error below 1.2e-7 everywhere including the far
 * tails, evaluated in log space so that no tail underflows; the quantile is P. J. Acklam's rational approximation
 * (relative error below 1.15e-9). The acquisition compares log-density ratios, for which this is ample.
 * core/gaussian.ts holds the full-precision versions for algorithms that need them.
 */

export const LOG_SQRT_2PI = 0.9189385332046728;
const SQRT1_2 = Math.SQRT1_2;
const LN2 = Math.LN2;

/** log erfc(x) for x >= 0, finite for every finite x (no underflow in the tail). */
function logErfcNonNegative(x: number): number {
  const t = 1 / (1 + 0.5 * x);
  const poly =
    -1.26551223 +
    t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return Math.log(t) - x * x + poly;
}

/** log Q(z) for z >= 0, where Q(z) = 1 - Φ(z) is the upper tail of the standard normal. */
function logUpperTail(z: number): number {
  return logErfcNonNegative(z * SQRT1_2) - LN2;
}

/** Φ(z), the standard normal CDF. */
export function normalCdf(z: number): number {
  if (z >= 0) return 1 - 0.5 * Math.exp(logErfcNonNegative(z * SQRT1_2));
  return 0.5 * Math.exp(logErfcNonNegative(-z * SQRT1_2));
}

/**
 * log(Φ(b) - Φ(a)) for a < b: the log probability that a standard normal falls in [a, b], to about 1e-5 absolute.
 * Narrow intervals use the midpoint rule with its second-order correction (exact to O(w⁴)), which avoids
 * subtracting two nearly equal tails and needs no exponential; wide ones subtract tails on the side of zero where
 * they are small.
 */
export function logNormalMass(a: number, b: number): number {
  const w = b - a;
  const m = 0.5 * (a + b);
  // The midpoint rule's error grows like (w·m)⁴; the tail subtraction's like 1e-7 / (w·m). Switch where both are small.
  if (w * Math.max(1, Math.abs(m)) < 0.05) {
    return -0.5 * m * m - LOG_SQRT_2PI + Math.log(w) + Math.log1p((w * w * (m * m - 1)) / 24);
  }
  if (a >= 0) {
    const la = logUpperTail(a);
    return la + Math.log1p(-Math.exp(logUpperTail(b) - la));
  }
  if (b <= 0) {
    const lb = logUpperTail(-b);
    return lb + Math.log1p(-Math.exp(logUpperTail(-a) - lb));
  }
  return Math.log1p(-(Math.exp(logUpperTail(-a)) + Math.exp(logUpperTail(b))));
}

const A = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239] as const;
const B = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1] as const;
const C = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783] as const;
const D = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416] as const;
const P_LOW = 0.02425;

/** Φ⁻¹(p) for p in (0, 1) (Acklam); ±Infinity at 0 and 1. */
export function normalQuantile(p: number): number {
  if (p <= 0) return Number.NEGATIVE_INFINITY;
  if (p >= 1) return Number.POSITIVE_INFINITY;
  if (p < P_LOW) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1);
  }
  if (p > 1 - P_LOW) {
    const q = Math.sqrt(-2 * Math.log1p(-p));
    return -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1);
  }
  const q = p - 0.5;
  const r = q * q;
  return ((((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q) / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1);
}

/**
 * A draw from N(mu, sigma²) truncated to [low, high], by inversion of the CDF with the uniform draw `u` ∈ [0, 1).
 * Every kernel of a Parzen estimator is centred inside its domain and no wider than it, so the truncated mass is
 * at least Φ(1) - Φ(0) ≈ 0.34 and inversion is well conditioned.
 */
export function sampleTruncatedNormal(mu: number, sigma: number, low: number, high: number, u: number): number {
  const pa = normalCdf((low - mu) / sigma);
  const pb = normalCdf((high - mu) / sigma);
  const x = mu + sigma * normalQuantile(pa + u * (pb - pa));
  return x < low ? low : x > high ? high : Number.isNaN(x) ? mu : x;
}
