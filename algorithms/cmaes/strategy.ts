/**
 * The (μ/μ_w, λ)-CMA-ES update of N. Hansen, "The CMA Evolution Strategy: A Tutorial", arXiv:1604.00772 (2016):
 * weighted recombination, cumulative step-size adaptation, rank-one and rank-μ covariance updates with the active
 * (negative) weights of that tutorial's equations (49)-(54), and its termination criteria (tolfun, tolx, tolxup,
 * no-effect axis and coordinate, condition number) as used for restarts. Pure functions over a JSON-friendly
 * distribution record; the covariance matrix is kept as its packed lower triangle.
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';

/** The search distribution N(mean, sigma² C) and its evolution paths. */
export interface Distribution {
  readonly mean: readonly number[];
  readonly sigma: number;
  /** Packed lower triangle of C, row by row: C[i][j] (j <= i) at i(i+1)/2 + j. */
  readonly cov: readonly number[];
  readonly pc: readonly number[];
  readonly ps: readonly number[];
  /** Generations told so far in this run. */
  readonly generation: number;
  /** Best and worst losses of recent generations, newest last (for tolfun); at most 2·historyLength(d, λ). */
  readonly funhist: readonly number[];
}

/** The strategy parameters that follow from the dimension and the population size (tutorial, table 1). */
export interface Constants {
  readonly dims: number;
  readonly lambda: number;
  readonly mu: number;
  readonly weights: readonly number[];
  readonly muEff: number;
  readonly cc: number;
  readonly c1: number;
  readonly cmu: number;
  readonly cs: number;
  readonly ds: number;
  readonly chiN: number;
}

/** Default population size 4 + ⌊3 ln d⌋ (tutorial, eq. 48). */
export function defaultPopulationSize(dims: number): number {
  return 4 + Math.floor(3 * Math.log(dims));
}

export function constants(dims: number, lambda: number): Constants {
  const mu = Math.floor(lambda / 2);
  const raw = Array.from({ length: lambda }, (_, i) => Math.log((lambda + 1) / 2) - Math.log(i + 1));
  const pos = raw.slice(0, mu);
  const neg = raw.slice(mu);
  const sum = (v: readonly number[]): number => v.reduce((a, b) => a + b, 0);
  const sumSq = (v: readonly number[]): number => v.reduce((a, b) => a + b * b, 0);
  const muEff = sum(pos) ** 2 / sumSq(pos);
  const muEffMinus = neg.length > 0 && sumSq(neg) > 0 ? sum(neg) ** 2 / sumSq(neg) : 0;
  const alphaCov = 2;
  const c1 = alphaCov / ((dims + 1.3) ** 2 + muEff);
  const cmu = Math.min(1 - c1 - 1e-8, (alphaCov * (muEff - 2 + 1 / muEff)) / ((dims + 2) ** 2 + (alphaCov * muEff) / 2));
  const alphaMinus = Math.min(1 + c1 / cmu, 1 + (2 * muEffMinus) / (muEff + 2), (1 - c1 - cmu) / (dims * cmu));
  const positiveSum = sum(raw.filter((w) => w > 0));
  const negativeSum = Math.abs(sum(raw.filter((w) => w < 0)));
  const weights = raw.map((w) => (w >= 0 ? w / positiveSum : negativeSum > 0 ? (alphaMinus * w) / negativeSum : 0));
  const cs = (muEff + 2) / (dims + muEff + 5);
  const ds = 1 + 2 * Math.max(0, Math.sqrt((muEff - 1) / (dims + 1)) - 1) + cs;
  const cc = (4 + muEff / dims) / (dims + 4 + (2 * muEff) / dims);
  const chiN = Math.sqrt(dims) * (1 - 1 / (4 * dims) + 1 / (21 * dims * dims));
  return { dims, lambda, mu, weights, muEff, cc, c1, cmu, cs, ds, chiN };
}

/** Generations of best/worst values tolfun looks back over: 10 + ⌈30 d / λ⌉. */
export function historyLength(dims: number, lambda: number): number {
  return 10 + Math.ceil((30 * dims) / lambda);
}

export function initialDistribution(mean: readonly number[], sigma: number): Distribution {
  const d = mean.length;
  const cov = new Array<number>((d * (d + 1)) / 2).fill(0);
  for (let i = 0; i < d; i++) cov[(i * (i + 1)) / 2 + i] = 1;
  return { mean: [...mean], sigma, cov, pc: new Array<number>(d).fill(0), ps: new Array<number>(d).fill(0), generation: 0, funhist: [] };
}

/** C as a full matrix. */
function unpack(cov: readonly number[], d: number): number[][] {
  const c = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      const v = cov[(i * (i + 1)) / 2 + j] as number;
      (c[i] as number[])[j] = v;
      (c[j] as number[])[i] = v;
    }
  }
  return c;
}

/** Eigen-decomposition C = B diag(D²) Bᵀ: columns of `b` are eigenvectors, `d` the square roots of eigenvalues. */
export interface Eigen {
  readonly b: readonly (readonly number[])[];
  readonly d: readonly number[];
}

/**
 * The last few decompositions, by C's packed entries (the oldest dropped first). C changes once per generation, but
 * the service is asked for suggestions once per trial, and the state's round trip through JSON gives back the same
 * doubles: each C is decomposed once instead of at every call (a third of a call's time at d = 4, three fifths at
 * d = 30, in process).
 */
const recentEigen = new Map<string, Eigen>();
const RECENT_EIGEN = 8;

export function eigen(dist: Distribution): Eigen {
  const key = dist.cov.join(',');
  const hit = recentEigen.get(key);
  if (hit !== undefined) return hit;
  const n = dist.mean.length;
  const evd = new EigenvalueDecomposition(new Matrix(unpack(dist.cov, n)), { assumeSymmetric: true });
  const d = evd.realEigenvalues.map((v) => Math.sqrt(Math.max(v, 1e-300)));
  const e: Eigen = Object.freeze({ b: Object.freeze(evd.eigenvectorMatrix.to2DArray().map((row) => Object.freeze(row))), d: Object.freeze(d) });
  recentEigen.set(key, e);
  if (recentEigen.size > RECENT_EIGEN) recentEigen.delete(recentEigen.keys().next().value as string);
  return e;
}

/** The point m + σ·B·D·z for a standard normal vector z (one draw of the distribution). */
export function sampleCandidate(dist: Distribution, e: Eigen, z: readonly number[]): number[] {
  const n = dist.mean.length;
  const x = [...dist.mean];
  for (let i = 0; i < n; i++) {
    const row = e.b[i] as readonly number[];
    let y = 0;
    for (let k = 0; k < n; k++) y += (row[k] as number) * (e.d[k] as number) * (z[k] as number);
    x[i] = (x[i] as number) + dist.sigma * y;
  }
  return x;
}

/** C^{-1/2}·v = B·D⁻¹·Bᵀ·v. */
function invSqrtTimes(e: Eigen, v: readonly number[]): number[] {
  const n = v.length;
  const t = new Array<number>(n).fill(0);
  for (let k = 0; k < n; k++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += ((e.b[i] as readonly number[])[k] as number) * (v[i] as number);
    t[k] = s / (e.d[k] as number);
  }
  const out = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += ((e.b[i] as readonly number[])[k] as number) * (t[k] as number);
    out[i] = s;
  }
  return out;
}

const norm = (v: readonly number[]): number => Math.sqrt(v.reduce((a, b) => a + b * b, 0));

/** Largest σ kept: beyond it the distribution no longer fits in any bounded space (and tolxup restarts it). */
const SIGMA_MAX = 1e6;

/**
 * The tell step: updates the distribution from λ evaluated points (`losses` may hold +Infinity for failed points,
 * which rank last). Points are in the same coordinates as the mean.
 */
export function tell(dist: Distribution, k: Constants, points: readonly (readonly number[])[], losses: readonly number[]): Distribution {
  const n = k.dims;
  const order = losses.map((_, i) => i).sort((a, b) => (losses[a] as number) - (losses[b] as number) || a - b);
  const e = eigen(dist);
  const ys = order.map((i) => (points[i] as readonly number[]).map((v, j) => (v - (dist.mean[j] as number)) / dist.sigma));
  const yw = new Array<number>(n).fill(0);
  for (let r = 0; r < k.mu; r++) {
    const w = k.weights[r] as number;
    const y = ys[r] as number[];
    for (let j = 0; j < n; j++) yw[j] = (yw[j] as number) + w * (y[j] as number);
  }
  const mean = dist.mean.map((m, j) => m + dist.sigma * (yw[j] as number));
  const cInvSqrtYw = invSqrtTimes(e, yw);
  const psCoef = Math.sqrt(k.cs * (2 - k.cs) * k.muEff);
  const ps = dist.ps.map((p, j) => (1 - k.cs) * p + psCoef * (cInvSqrtYw[j] as number));
  const psNorm = norm(ps);
  const sigma = Math.min(SIGMA_MAX, dist.sigma * Math.exp((k.cs / k.ds) * (psNorm / k.chiN - 1)));
  const generation = dist.generation + 1;
  const hSigma = psNorm / Math.sqrt(1 - (1 - k.cs) ** (2 * (generation + 1))) < (1.4 + 2 / (n + 1)) * k.chiN ? 1 : 0;
  const pcCoef = hSigma * Math.sqrt(k.cc * (2 - k.cc) * k.muEff);
  const pc = dist.pc.map((p, j) => (1 - k.cc) * p + pcCoef * (yw[j] as number));
  // Active weights: negative ones are rescaled by n / |C^{-1/2} y|² (tutorial, eq. 46).
  const wo = k.weights.map((w, r) => {
    if (w >= 0) return w;
    const t = norm(invSqrtTimes(e, ys[r] as number[]));
    return (w * n) / (t * t + 1e-300);
  });
  const deltaH = (1 - hSigma) * k.cc * (2 - k.cc);
  const weightSum = k.weights.reduce((a, b) => a + b, 0);
  const decay = 1 + k.c1 * deltaH - k.c1 - k.cmu * weightSum;
  const cov = [...dist.cov];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let rankMu = 0;
      for (let r = 0; r < k.lambda; r++) {
        const y = ys[r] as number[];
        rankMu += (wo[r] as number) * (y[i] as number) * (y[j] as number);
      }
      const idx = (i * (i + 1)) / 2 + j;
      cov[idx] = decay * (cov[idx] as number) + k.c1 * (pc[i] as number) * (pc[j] as number) + k.cmu * rankMu;
    }
  }
  // Best and worst finite values (failed points carry +Infinity, which JSON could not carry anyway).
  const finite = order.map((i) => losses[i] as number).filter(Number.isFinite);
  const funhist = finite.length === 0 ? [...dist.funhist] : [...dist.funhist, finite[0] as number, finite[finite.length - 1] as number].slice(-2 * historyLength(n, k.lambda));
  return { mean, sigma, cov, pc, ps, generation, funhist };
}

/**
 * Termination criteria of the tutorial (appendix B.3), as the CMA-ES restarts use them: flat recent values,
 * collapsed or exploded steps, no effect along an axis or a coordinate, an ill-conditioned covariance.
 */
export function shouldStop(dist: Distribution, k: Constants, sigma0: number): boolean {
  const n = k.dims;
  const e = eigen(dist);
  const diag = Array.from({ length: n }, (_, i) => dist.cov[(i * (i + 1)) / 2 + i] as number);
  const hist = dist.funhist.filter(Number.isFinite);
  if (dist.generation > historyLength(n, k.lambda) && hist.length > 0 && Math.max(...hist) - Math.min(...hist) < 1e-12) return true;
  const tolx = 1e-12 * sigma0;
  if (diag.every((c) => dist.sigma * c < tolx) && dist.pc.every((p) => dist.sigma * Math.abs(p) < tolx)) return true;
  const dMax = Math.max(...e.d);
  const dMin = Math.min(...e.d);
  if (dist.sigma * dMax > 1e4) return true;
  if (dist.mean.some((m, i) => m === m + 0.2 * dist.sigma * Math.sqrt(diag[i] as number))) return true;
  const axis = dist.generation % n;
  if (dist.mean.every((m, i) => m === m + 0.1 * dist.sigma * (e.d[axis] as number) * ((e.b[i] as readonly number[])[axis] as number))) return true;
  return dMax / dMin > 1e7; // condition number of C above 1e14
}
