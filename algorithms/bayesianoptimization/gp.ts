/**
 * Gaussian-process regression with an ARD Matérn 5/2 kernel, as in C. E. Rasmussen & C. K. I. Williams, "Gaussian
 * Processes for Machine Learning", MIT Press (2006), chapters 2, 4 and 5. Inputs live in [0, 1]^D and outputs are
 * standardised by the caller. Kernel hyperparameters (inverse squared lengthscales λ_j, signal variance s, noise
 * variance) are set by maximising the log marginal likelihood plus weak log priors (the priors of Optuna's GPSampler:
 * -(0.1/λ + 0.1·λ) per dimension, Gamma(2, 1) on s, Gamma(1.1, 30) on the noise), with analytic gradients and a
 * projected L-BFGS in log space. The posterior uses a Cholesky factor with jitter and can be conditioned on extra
 * points (for the kriging believer) by extending the factor by one row, without refitting.
 */
import { choleskyAppend, choleskyInverseInto, choleskyWithJitter, choleskyWithJitterInto, solveLowerInPlace, solveLowerTransposedInPlace } from '../core/linalg.js';
import { minimizeBox } from '../core/minimize-box.js';

/** Kernel hyperparameters in log space: log λ_1..log λ_D, log s, log(noise - MIN_NOISE). JSON-friendly. */
export type LogKernelParams = readonly number[];

/** The noise variance never drops below this (standardised units): keeps the matrix well conditioned. */
export const MIN_NOISE = 1e-6;

const LOWER_LOG_LAMBDA = Math.log(1e-4);
const UPPER_LOG_LAMBDA = Math.log(1e5);
const LOWER_LOG_SCALE = Math.log(1e-3);
const UPPER_LOG_SCALE = Math.log(1e3);
const LOWER_LOG_NOISE = Math.log(1e-9);
const UPPER_LOG_NOISE = Math.log(10);

const SQRT5 = Math.sqrt(5);

/** Matérn 5/2 correlation as a function of the squared scaled distance r² = Σ λ_j (x_j - x'_j)². */
function matern(r2: number): number {
  const r = SQRT5 * Math.sqrt(r2);
  return (1 + r + (r * r) / 3) * Math.exp(-r);
}

/** d matern / d r², finite at r² = 0. */
function maternSlope(r2: number): number {
  const r = SQRT5 * Math.sqrt(r2);
  return (-5 / 6) * (1 + r) * Math.exp(-r);
}

/** The default starting point of the hyperparameter search: unit lengthscales and signal variance, noise 1e-2. */
export function defaultLogParams(dims: number): number[] {
  return [...new Array<number>(dims).fill(0), 0, Math.log(1e-2)];
}

function paramBounds(dims: number): { lower: Float64Array; upper: Float64Array } {
  const lower = new Float64Array(dims + 2).fill(LOWER_LOG_LAMBDA);
  const upper = new Float64Array(dims + 2).fill(UPPER_LOG_LAMBDA);
  lower[dims] = LOWER_LOG_SCALE;
  upper[dims] = UPPER_LOG_SCALE;
  lower[dims + 1] = LOWER_LOG_NOISE;
  upper[dims + 1] = UPPER_LOG_NOISE;
  return { lower, upper };
}

/**
 * The negative log marginal likelihood minus log prior of standardised data and its gradient in log space.
 * `x` is n×dims row-major.
 */
export function makeHyperparameterLoss(x: Float64Array, y: Float64Array, dims: number): (theta: Float64Array, grad: Float64Array) => number {
  const n = y.length;
  const pairs = (n * (n - 1)) / 2;
  // Squared coordinate differences of every pair (a > b), pair-major: the kernel and its gradient reuse them.
  const sqd = new Float64Array(pairs * dims);
  for (let a = 1, p = 0; a < n; a++) {
    for (let b = 0; b < a; b++, p++) {
      for (let j = 0; j < dims; j++) {
        const diff = (x[a * dims + j] as number) - (x[b * dims + j] as number);
        sqd[p * dims + j] = diff * diff;
      }
    }
  }
  const k = new Float64Array(n * n);
  const r2s = new Float64Array(pairs);
  const lambda = new Float64Array(dims);
  // Working arrays for every evaluation (a fit evaluates the loss a few hundred times): three n×n arrays (2.4 MiB at
  // 200 points) allocated once instead of per evaluation keep the service's peak memory down.
  const l = new Float64Array(n * n);
  const inv = new Float64Array(n * n);
  const work = new Float64Array(n * n);
  const alpha = new Float64Array(n);
  return (theta, grad) => {
    for (let j = 0; j < dims; j++) lambda[j] = Math.exp(theta[j] as number);
    const s = Math.exp(theta[dims] as number);
    const noiseExcess = Math.exp(theta[dims + 1] as number);
    const noise = noiseExcess + MIN_NOISE;
    for (let a = 1, p = 0; a < n; a++) {
      for (let b = 0; b < a; b++, p++) {
        let r2 = 0;
        for (let j = 0; j < dims; j++) r2 += (lambda[j] as number) * (sqd[p * dims + j] as number);
        r2s[p] = r2;
        k[a * n + b] = s * matern(r2);
      }
    }
    for (let a = 0; a < n; a++) k[a * n + a] = s + noise;
    try {
      choleskyWithJitterInto(k, n, l);
    } catch {
      grad.fill(0);
      return Number.POSITIVE_INFINITY;
    }
    alpha.set(y);
    solveLowerInPlace(l, n, alpha);
    let quad = 0;
    for (let i = 0; i < n; i++) quad += (alpha[i] as number) * (alpha[i] as number);
    solveLowerTransposedInPlace(l, n, alpha);
    let logDet = 0;
    for (let i = 0; i < n; i++) logDet += Math.log(l[i * n + i] as number);
    choleskyInverseInto(l, n, inv, work);
    // W = ααᵀ - K⁻¹; dL/dθ = -½ tr(W dK/dθ).
    grad.fill(0);
    let gScale = 0;
    let trW = 0;
    for (let a = 0; a < n; a++) trW += (alpha[a] as number) * (alpha[a] as number) - (inv[a * n + a] as number);
    for (let a = 1, p = 0; a < n; a++) {
      const aa = alpha[a] as number;
      for (let b = 0; b < a; b++, p++) {
        const w = aa * (alpha[b] as number) - (inv[a * n + b] as number);
        gScale += w * (k[a * n + b] as number);
        const c = w * s * maternSlope(r2s[p] as number);
        for (let j = 0; j < dims; j++) grad[j] = (grad[j] as number) + c * (sqd[p * dims + j] as number);
      }
    }
    for (let j = 0; j < dims; j++) grad[j] = -(grad[j] as number) * (lambda[j] as number);
    grad[dims] = -(gScale + 0.5 * trW * s);
    grad[dims + 1] = -0.5 * trW * noiseExcess;
    let loss = 0.5 * quad + logDet;
    // Log priors (Optuna's GPSampler defaults), subtracted from the loss.
    for (let j = 0; j < dims; j++) {
      const lj = lambda[j] as number;
      loss += 0.1 / lj + 0.1 * lj;
      grad[j] = (grad[j] as number) - 0.1 / lj + 0.1 * lj;
    }
    loss -= Math.log(s) - s;
    grad[dims] = (grad[dims] as number) + s - 1;
    loss -= 0.1 * Math.log(noise) - 30 * noise;
    grad[dims + 1] = (grad[dims + 1] as number) - (0.1 / noise - 30) * noiseExcess;
    return loss;
  };
}

/**
 * Fits the kernel hyperparameters to standardised data by minimising {@link makeHyperparameterLoss} from each of
 * `starts` (log space) and keeping the best. Returns the default parameters when every start fails.
 */
export function fitKernel(x: Float64Array, y: Float64Array, dims: number, starts: readonly LogKernelParams[], maxIterations = 60): number[] {
  const loss = makeHyperparameterLoss(x, y, dims);
  const { lower, upper } = paramBounds(dims);
  let best: number[] = defaultLogParams(dims);
  let bestValue = Number.POSITIVE_INFINITY;
  for (const start of starts) {
    if (start.length !== dims + 2 || !start.every(Number.isFinite)) continue;
    const result = minimizeBox(loss, start, lower, upper, { maxIterations, gradientTolerance: 1e-3, relativeTolerance: 1e-7 });
    if (result.value < bestValue) {
      bestValue = result.value;
      best = Array.from(result.x);
    }
  }
  return best;
}

/** The GP posterior given data and fixed hyperparameters; can take pseudo-observations one at a time. */
export class GaussianProcess {
  readonly dims: number;
  private x: Float64Array;
  private y: Float64Array;
  private n: number;
  private l: Float64Array;
  private alpha: Float64Array;
  private readonly lambda: Float64Array;
  readonly signal: number;
  readonly noise: number;
  /**
   * Working arrays of length n for {@link predictWithGradient}, which the acquisition's local search calls thousands
   * of times per suggestion: typed arrays live outside V8's heap, and allocating three per call piled up megabytes
   * of garbage between collections. Replaced when {@link condition} adds a point.
   */
  private scratch: { kv: Float64Array; r2: Float64Array; v: Float64Array } | undefined;

  /** Builds the posterior of `x` (n×dims row-major) and standardised `y` under the hyperparameters `logParams`. */
  constructor(x: Float64Array, y: Float64Array, dims: number, logParams: LogKernelParams) {
    this.dims = dims;
    this.x = x;
    this.y = y;
    this.n = y.length;
    this.lambda = Float64Array.from(logParams.slice(0, dims), Math.exp);
    this.signal = Math.exp(logParams[dims] as number);
    this.noise = Math.exp(logParams[dims + 1] as number) + MIN_NOISE;
    const n = this.n;
    const k = new Float64Array(n * n);
    for (let a = 0; a < n; a++) {
      k[a * n + a] = this.signal + this.noise;
      for (let b = 0; b < a; b++) {
        const v = this.kernelRows(a, x, b, x);
        k[a * n + b] = v;
        k[b * n + a] = v;
      }
    }
    this.l = choleskyWithJitter(k, n).l;
    this.alpha = this.solve(y);
  }

  /** Number of points the posterior conditions on (real and pseudo). */
  get size(): number {
    return this.n;
  }

  /** Inverse squared lengthscales. */
  get inverseSquaredLengthscales(): readonly number[] {
    return Array.from(this.lambda);
  }

  private kernelRows(a: number, xa: ArrayLike<number>, b: number, xb: ArrayLike<number>): number {
    const d = this.dims;
    let r2 = 0;
    for (let j = 0; j < d; j++) {
      const diff = (xa[a * d + j] as number) - (xb[b * d + j] as number);
      r2 += (this.lambda[j] as number) * diff * diff;
    }
    return this.signal * matern(r2);
  }

  private solve(b: ArrayLike<number>): Float64Array {
    const v = Float64Array.from(b);
    solveLowerInPlace(this.l, this.n, v);
    solveLowerTransposedInPlace(this.l, this.n, v);
    return v;
  }

  /** Kernel vector k(point, X) for a point of `dims` coordinates. */
  private kernelVector(point: ArrayLike<number>, out: Float64Array, r2Out?: Float64Array): void {
    const d = this.dims;
    for (let i = 0; i < this.n; i++) {
      let r2 = 0;
      for (let j = 0; j < d; j++) {
        const diff = (point[j] as number) - (this.x[i * d + j] as number);
        r2 += (this.lambda[j] as number) * diff * diff;
      }
      if (r2Out) r2Out[i] = r2;
      out[i] = this.signal * matern(r2);
    }
  }

  /** Posterior mean and variance of the latent function at `point`. */
  predict(point: ArrayLike<number>): { mean: number; variance: number } {
    const kv = new Float64Array(this.n);
    this.kernelVector(point, kv);
    let mean = 0;
    for (let i = 0; i < this.n; i++) mean += (kv[i] as number) * (this.alpha[i] as number);
    solveLowerInPlace(this.l, this.n, kv);
    let reduction = 0;
    for (let i = 0; i < this.n; i++) reduction += (kv[i] as number) * (kv[i] as number);
    return { mean, variance: Math.max(this.signal - reduction, 1e-12 * this.signal) };
  }

  /**
   * Posterior means and variances at many points (`points` is count×dims row-major). Solves for blocks of points at
   * once so the triangular solve's inner loop runs over contiguous memory: several times faster than {@link predict}
   * point by point.
   */
  predictMany(points: Float64Array, count: number): { means: Float64Array; variances: Float64Array } {
    const n = this.n;
    const d = this.dims;
    const means = new Float64Array(count);
    const variances = new Float64Array(count);
    const block = 64;
    const kb = new Float64Array(n * block);
    for (let start = 0; start < count; start += block) {
      const m = Math.min(block, count - start);
      for (let i = 0; i < n; i++) {
        const ri = i * block;
        for (let b = 0; b < m; b++) {
          const p = (start + b) * d;
          let r2 = 0;
          for (let j = 0; j < d; j++) {
            const diff = (points[p + j] as number) - (this.x[i * d + j] as number);
            r2 += (this.lambda[j] as number) * diff * diff;
          }
          kb[ri + b] = this.signal * matern(r2);
        }
      }
      for (let b = 0; b < m; b++) means[start + b] = 0;
      for (let i = 0; i < n; i++) {
        const ai = this.alpha[i] as number;
        const ri = i * block;
        for (let b = 0; b < m; b++) means[start + b] = (means[start + b] as number) + ai * (kb[ri + b] as number);
      }
      // Forward substitution L·V = K for the block, row by row.
      for (let i = 0; i < n; i++) {
        const ri = i * block;
        const li = i * n;
        for (let k = 0; k < i; k++) {
          const lik = this.l[li + k] as number;
          if (lik === 0) continue;
          const rk = k * block;
          for (let b = 0; b < m; b++) kb[ri + b] = (kb[ri + b] as number) - lik * (kb[rk + b] as number);
        }
        const inv = 1 / (this.l[li + i] as number);
        for (let b = 0; b < m; b++) kb[ri + b] = (kb[ri + b] as number) * inv;
      }
      for (let b = 0; b < m; b++) {
        let reduction = 0;
        for (let i = 0; i < n; i++) reduction += (kb[i * block + b] as number) ** 2;
        variances[start + b] = Math.max(this.signal - reduction, 1e-12 * this.signal);
      }
    }
    return { means, variances };
  }

  /**
   * Posterior mean and variance at `point` with their gradients with respect to the point, written into
   * `meanGrad` and `varianceGrad` (length dims).
   */
  predictWithGradient(point: ArrayLike<number>, meanGrad: Float64Array, varianceGrad: Float64Array): { mean: number; variance: number } {
    const n = this.n;
    const d = this.dims;
    if (this.scratch?.kv.length !== n) this.scratch = { kv: new Float64Array(n), r2: new Float64Array(n), v: new Float64Array(n) };
    const { kv, r2, v } = this.scratch;
    this.kernelVector(point, kv, r2);
    let mean = 0;
    for (let i = 0; i < n; i++) mean += (kv[i] as number) * (this.alpha[i] as number);
    v.set(kv);
    solveLowerInPlace(this.l, n, v);
    let reduction = 0;
    for (let i = 0; i < n; i++) reduction += (v[i] as number) * (v[i] as number);
    solveLowerTransposedInPlace(this.l, n, v); // v = K⁻¹k
    meanGrad.fill(0);
    varianceGrad.fill(0);
    for (let i = 0; i < n; i++) {
      // dk_i/dx_j = s·m'(r²)·2λ_j(x_j - X_ij)
      const c = 2 * this.signal * maternSlope(r2[i] as number);
      const cm = c * (this.alpha[i] as number);
      const cv = -2 * c * (v[i] as number);
      for (let j = 0; j < d; j++) {
        const t = (this.lambda[j] as number) * ((point[j] as number) - (this.x[i * d + j] as number));
        meanGrad[j] = (meanGrad[j] as number) + cm * t;
        varianceGrad[j] = (varianceGrad[j] as number) + cv * t;
      }
    }
    const variance = this.signal - reduction;
    if (variance < 1e-12 * this.signal) {
      varianceGrad.fill(0);
      return { mean, variance: 1e-12 * this.signal };
    }
    return { mean, variance };
  }

  /**
   * Conditions the posterior on one more observation (a pseudo-observation of the kriging believer: the current
   * mean at a pending point). Leaves the posterior unchanged when the extended matrix is not positive definite.
   */
  condition(point: ArrayLike<number>, value: number): void {
    const kv = new Float64Array(this.n);
    this.kernelVector(point, kv);
    const l = choleskyAppend(this.l, this.n, kv, this.signal + this.noise);
    if (!l) return;
    const x = new Float64Array((this.n + 1) * this.dims);
    x.set(this.x);
    for (let j = 0; j < this.dims; j++) x[this.n * this.dims + j] = point[j] as number;
    const y = new Float64Array(this.n + 1);
    y.set(this.y);
    y[this.n] = value;
    this.x = x;
    this.y = y;
    this.l = l;
    this.n += 1;
    this.alpha = this.solve(y);
  }
}
