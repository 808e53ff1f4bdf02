/**
 * The standard normal distribution to full double precision in the tails, and the pieces of the expected
 * improvement that model-based algorithms need in log space (so an improvement of 1e-300 still ranks above one of
 * 1e-310). Log EI follows S. Ament et al., "Unexpected Improvements to Expected Improvement for Bayesian
 * Optimization", NeurIPS 2023. Tails use the Laplace continued fraction of the Mills ratio.
 */

const INV_SQRT_2PI = 0.3989422804014327;
const LOG_SQRT_2PI = 0.9189385332046728;

/** Density of the standard normal. */
export function normPdf(z: number): number {
  return INV_SQRT_2PI * Math.exp(-0.5 * z * z);
}

/** Log density of the standard normal. */
export function normLogPdf(z: number): number {
  return -0.5 * z * z - LOG_SQRT_2PI;
}

/** Sum of x^(2n+1) / (1·3·5···(2n+1)): Φ(x) = 1/2 + φ(x) · series(x). Accurate for |x| <= 3. */
function oddSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
    term *= x2 / (2 * n + 1);
    sum += term;
  }
  return sum;
}

/** Mills ratio R(x) = Q(x) / φ(x) for x >= 3 (Q the upper tail), by the Laplace continued fraction (modified Lentz). */
function millsTail(x: number): number {
  // R(x) = 1 / (x + 1 / (x + 2 / (x + 3 / (x + ...))))
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let k = 1; k < 500; k++) {
    d = x + k * d;
    d = Math.abs(d) < tiny ? tiny : d;
    c = x + k / c;
    c = Math.abs(c) < tiny ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return 1 / f;
}

/** The Mills ratio R(x) = Q(x) / φ(x) for x >= 0. */
export function millsRatio(x: number): number {
  if (x >= 3) return millsTail(x);
  return 0.5 / normPdf(x) - oddSeries(x);
}

/** The standard normal CDF Φ(z), with small relative error in both tails. */
export function normCdf(z: number): number {
  if (Number.isNaN(z)) return Number.NaN;
  if (z <= -3) return z < -40 ? 0 : normPdf(z) * millsTail(-z);
  if (z >= 3) return z > 40 ? 1 : 1 - normPdf(z) * millsTail(z);
  return 0.5 + normPdf(z) * oddSeries(z);
}

/** log Φ(z), finite far into the lower tail. */
export function normLogCdf(z: number): number {
  if (z <= -3) return normLogPdf(z) + Math.log(millsTail(-z));
  return Math.log(normCdf(z));
}

/** 1 - x·R(x) for x >= 0 (R the Mills ratio): the factor h(-x) / φ(x) of the expected improvement. */
function oneMinusXMills(x: number): number {
  if (x > 20) {
    // Asymptotic series 1/x² - 3/x⁴ + 15/x⁶ - 105/x⁸ + 945/x¹⁰: the continued fraction cancels too much here.
    const u = 1 / (x * x);
    return u * (1 - u * (3 - u * (15 - u * (105 - 945 * u))));
  }
  return 1 - x * millsRatio(x);
}

/**
 * log h(z) and its derivative, where h(z) = φ(z) + z·Φ(z) and EI = σ·h((best - μ) / σ) for minimisation.
 * h'(z) = Φ(z), so the derivative is Φ(z) / h(z).
 */
export function logH(z: number): { value: number; slope: number } {
  if (z >= -3) {
    const cdf = normCdf(z);
    const h = normPdf(z) + z * cdf;
    if (h > 0) return { value: Math.log(h), slope: cdf / h };
  }
  const x = -z;
  const r = oneMinusXMills(x);
  const mills = x > 20 ? (1 - r) / x : millsRatio(x);
  return { value: normLogPdf(z) + Math.log(r), slope: mills / r };
}

/**
 * The standard normal quantile Φ⁻¹(p) for p in (0, 1), by safeguarded Newton iteration on log Φ (so the lower tail
 * keeps its relative precision); accurate to about 1e-12 in z.
 */
export function normQuantile(p: number): number {
  if (!(p > 0 && p < 1)) return p === 0 ? Number.NEGATIVE_INFINITY : p === 1 ? Number.POSITIVE_INFINITY : Number.NaN;
  if (p > 0.5) return -normQuantile(1 - p);
  const target = Math.log(p);
  let lo = -40;
  let hi = 0;
  // A rough start from the logistic approximation keeps the iteration short.
  let z = Math.max(-38, Math.log(p / (1 - p)) / 1.702);
  for (let it = 0; it < 200; it++) {
    const logCdf = normLogCdf(z);
    const f = logCdf - target;
    if (f > 0) hi = z;
    else lo = z;
    let next = z - f / Math.exp(normLogPdf(z) - logCdf);
    if (!(next > lo && next < hi)) next = (lo + hi) / 2;
    if (Math.abs(next - z) < 1e-13 * Math.max(1, Math.abs(z))) return next;
    z = next;
  }
  return z;
}
