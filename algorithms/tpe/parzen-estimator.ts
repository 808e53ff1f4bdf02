/**
 * Parzen estimators: mixtures of product kernels over the dimensions of encoding.ts, one kernel per observation plus
 * a prior kernel. J. Bergstra, R. Bardenet, Y. Bengio & B. Kégl, "Algorithms for Hyper-Parameter Optimization",
 * NeurIPS 2011, §4; the kernel choices follow Optuna's `_ParzenEstimator` (S. Watanabe, "Tree-Structured Parzen
 * Estimator: Understanding Its Algorithm Components and Their Roles for Better Empirical Performance", 2023):
 *
 * - numeric kernels are normals truncated to the domain; an ordinal value gets the mass of its cell. Under the
 *   `neighbours` rule (independent models) a kernel's bandwidth is the larger distance to its sorted neighbours
 *   among the observations and the prior's centre (Optuna 3.1's rule; the domain ends count as neighbours, except
 *   that the outermost kernels only look inwards: consider_endpoints = false), clipped to
 *   [(high - low) / min(100, kernels + 1), high - low] (the "magic clip", which keeps a crowd of observations from
 *   collapsing to spikes); under the `joint` rule (the multivariate model of a space with a categorical parameter)
 *   every observation's kernel has Scott's bandwidth; under the `capped` rule (the multivariate model of a space
 *   of numbers alone) the neighbour rule's, at most Scott's (see {@link BandwidthRule});
 * - a categorical kernel of an observation o puts (w + [c = o]) / (K·w + 1) on value c, with w = prior weight /
 *   number of kernels (an Aitchison–Aitken-like smoothing towards uniform); the prior kernel is uniform;
 * - the prior kernel (see encoding.ts) has weight `priorWeight`, the observations the weights they are given.
 *
 * Two densities come out of one estimator. {@link logPdfParzen} is the mixture itself, from which
 * {@link sampleParzen} draws. {@link logAcquisitionPdf} is the density that TPE's acquisition log l(x) - log g(x)
 * compares: the same kernels, each weighted by its weight times its relative bandwidth s (σ / (high - low); in a
 * joint model the geometric mean over the numeric dimensions, so the factor does not grow with the dimension), then
 * renormalised. Every kernel thus adds a bump of the same height per unit weight wherever it sits, and a narrow
 * kernel no longer outweighs a wide one by 1/σ. That is how Optuna up to 3.4 evaluated its continuous kernels (its
 * truncated-normal log pdf left out -log σ; optuna/optuna#5109); with proper densities our TPE lost to Optuna 3.1
 * on all six functions of benchmarks/sample-efficiency, with height weighting it is at or below it (see sampler.ts).
 * Here ordinal kernels are weighted the same way, so that a fine integer grid behaves like the continuous range.
 *
 * One estimator over all dimensions is the joint (multivariate) model of Falkner et al. 2018 / Optuna; one
 * estimator per dimension is the independent model of the original TPE. All arrays are typed and built once; log
 * densities of a batch of candidates cost one pass over candidates × kernels per dimension with no allocation in
 * the loop, and ordinal cells are evaluated once per distinct candidate value.
 */
import type { Rng } from '../core/rng.js';
import { cellHigh, cellLow, ordinalSnap, type Dim } from './encoding.js';
import { LOG_SQRT_2PI, logNormalMass, sampleTruncatedNormal } from './truncated-normal.js';

/** Per-dimension kernel parameters. Numeric: mu, sigma and a log normaliser; categorical: observed indices. */
interface DimKernels {
  readonly dim: Dim;
  readonly mu: Float64Array;
  readonly sigma: Float64Array;
  /** Continuous: -log σ - log √(2π) - log Z; ordinal: -log Z (Z the mass inside the domain). */
  readonly logNorm: Float64Array;
  /**
   * Ordinal: kernels grouped by equal (mu, sigma). Observations of a grid parameter repeat a few values, so cell
   * masses are computed once per group (Optuna's unique-inverse trick): kernel j belongs to group[j].
   */
  readonly group: Int32Array;
  readonly groupMu: Float64Array;
  readonly groupSigma: Float64Array;
  readonly groupLogNorm: Float64Array;
  /** Categorical: log kernel probability of the observed value, of any other value, and of the uniform prior. */
  readonly logHit: number;
  readonly logMiss: number;
  readonly logPrior: number;
  readonly hitProbability: number;
}

/** A Parzen estimator over `dims`; the last kernel is the prior. */
export interface ParzenEstimator {
  readonly dims: readonly Dim[];
  readonly kernels: number;
  /** Normalised log mixture weights of the kernels (the density; sampling). */
  readonly logWeights: Float64Array;
  /** Normalised log weights of the kernels in the acquisition density: weight × relative bandwidth. */
  readonly logAcquisitionWeights: Float64Array;
  readonly cumulativeWeights: Float64Array;
  readonly perDim: readonly DimKernels[];
}

/**
 * Builds the bandwidths of the kernel centres `mus` (coordinates: the observations, then the prior's centre) of a
 * numeric dimension into `out` (same length): the larger gap to the sorted neighbours, outermost kernels looking
 * inwards only, magic-clipped to [width / min(100, kernels + 1), width]. The caller overwrites the prior's own.
 */
function bandwidths(mus: Float64Array, low: number, high: number, out: Float64Array): void {
  const m = mus.length;
  const width = high - low;
  const minSigma = width / Math.min(100, m + 1);
  if (m === 0) return;
  // A stable argsort without a comparator: sort the values natively, then give each observation, in index order,
  // the next free slot of its block of equal values.
  const sorted = Float64Array.from(mus).sort();
  const used = new Uint32Array(m);
  for (let i = 0; i < m; i++) {
    const here = mus[i] as number;
    let lo = 0;
    let hi = m;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((sorted[mid] as number) < here) lo = mid + 1;
      else hi = mid;
    }
    const r = lo + (used[lo] as number);
    used[lo] = (used[lo] as number) + 1;
    const left = r === 0 ? low : (sorted[r - 1] as number);
    const right = r === m - 1 ? high : (sorted[r + 1] as number);
    let s: number;
    if (m >= 2 && r === 0) s = right - here;
    else if (m >= 2 && r === m - 1) s = here - left;
    else s = Math.max(here - left, right - here);
    out[i] = s < minSigma ? minSigma : s > width ? width : s;
  }
}

/**
 * How the observations' kernels get their bandwidths in numeric dimensions: `neighbours`, each its own from the gaps
 * to its neighbours (see {@link bandwidths}); `joint`, all the same, {@link JOINT_BANDWIDTH} · n^(-1/(d + 4)) of the
 * domain's width for n observations in d dimensions (Scott's rule, as Optuna's multivariate TPE has it, with a
 * smaller constant); `capped`, each the smaller of the two.
 */
export type BandwidthRule = 'neighbours' | 'joint' | 'capped';

/**
 * The constant of the `joint` rule, as a fraction of the domain's width. Optuna 3.1 uses 0.2, which spread the
 * search too thin on the functions of benchmarks/sample-efficiency (Hartmann-6 0.65 against 0.33 at 50 trials);
 * 0.08-0.1 were the best of 0.05-0.2 (see multivariate.ts).
 */
const JOINT_BANDWIDTH = 0.1;

/** The `joint` rule's bandwidth relative to the domain's width, for n observations in d dimensions. */
export function jointBandwidth(n: number, d: number): number {
  return JOINT_BANDWIDTH * Math.max(n, 1) ** (-1 / (d + 4));
}

/**
 * Builds an estimator from observations: `columns[d][i]` is observation i's encoded value in dimension d (see
 * encoding.ts), `weights[i]` its weight (> 0). The prior kernel gets `priorWeight`; weights are normalised. `rule`
 * sets the observations' numeric bandwidths; the prior kernel keeps its own.
 */
export function buildParzenEstimator(dims: readonly Dim[], columns: readonly Float64Array[], weights: Float64Array, priorWeight: number, rule: BandwidthRule = 'neighbours'): ParzenEstimator {
  const m = weights.length;
  const kernels = m + 1;
  let total = priorWeight;
  for (let i = 0; i < m; i++) total += weights[i] as number;
  const logWeights = new Float64Array(kernels);
  const cumulativeWeights = new Float64Array(kernels);
  let acc = 0;
  for (let j = 0; j < kernels; j++) {
    const w = (j < m ? (weights[j] as number) : priorWeight) / total;
    logWeights[j] = Math.log(w);
    acc += w;
    cumulativeWeights[j] = acc;
  }
  cumulativeWeights[kernels - 1] = 1;
  const perDim = dims.map((dim, d): DimKernels => {
    const col = columns[d] as Float64Array;
    if (dim.kind === 'categorical') {
      const w = priorWeight / kernels;
      const denominator = dim.size * w + 1;
      const empty = new Float64Array(0);
      return {
        dim,
        mu: col,
        sigma: empty,
        logNorm: empty,
        group: new Int32Array(0),
        groupMu: empty,
        groupSigma: empty,
        groupLogNorm: empty,
        logHit: Math.log((w + 1) / denominator),
        logMiss: Math.log(w / denominator),
        logPrior: -Math.log(dim.size),
        hitProbability: 1 / denominator,
      };
    }
    const mu = new Float64Array(kernels);
    const sigma = new Float64Array(kernels);
    const logNorm = new Float64Array(kernels);
    if (dim.kind === 'ordinal') {
      for (let i = 0; i < m; i++) mu[i] = dim.logGrid ? ordinalCoordinateFast(dim, col[i] as number) : (col[i] as number) / (dim.size - 1);
    } else {
      mu.set(col.subarray(0, m));
    }
    mu[m] = dim.priorMu;
    if (rule === 'joint') sigma.fill(jointBandwidth(m, dims.length) * (dim.high - dim.low));
    else bandwidths(mu, dim.low, dim.high, sigma);
    if (rule === 'capped') {
      const cap = jointBandwidth(m, dims.length) * (dim.high - dim.low);
      for (let i = 0; i < m; i++) if ((sigma[i] as number) > cap) sigma[i] = cap;
    }
    sigma[m] = dim.priorSigma;
    if (dim.kind === 'continuous') {
      for (let j = 0; j < kernels; j++) {
        const s = sigma[j] as number;
        const mj = mu[j] as number;
        logNorm[j] = -Math.log(s) - LOG_SQRT_2PI - logNormalMass((dim.low - mj) / s, (dim.high - mj) / s);
      }
      const none = new Float64Array(0);
      return { dim, mu, sigma, logNorm, group: new Int32Array(0), groupMu: none, groupSigma: none, groupLogNorm: none, logHit: 0, logMiss: 0, logPrior: 0, hitProbability: 0 };
    }
    const { group, groupMu, groupSigma } = groupKernels(mu, sigma);
    const groupLogNorm = new Float64Array(groupMu.length);
    for (let g = 0; g < groupMu.length; g++) {
      const s = groupSigma[g] as number;
      const mg = groupMu[g] as number;
      groupLogNorm[g] = -logNormalMass((dim.low - mg) / s, (dim.high - mg) / s);
    }
    for (let j = 0; j < kernels; j++) logNorm[j] = groupLogNorm[group[j] as number] as number;
    return { dim, mu, sigma, logNorm, group, groupMu, groupSigma, groupLogNorm, logHit: 0, logMiss: 0, logPrior: 0, hitProbability: 0 };
  });
  return { dims, kernels, logWeights, logAcquisitionWeights: acquisitionWeights(perDim, logWeights), cumulativeWeights, perDim };
}

/**
 * log(w_j · s_j) normalised, where s_j is kernel j's bandwidth relative to the domain, geometric mean over the
 * numeric dimensions (1 where there are none: categorical kernels have no bandwidth).
 */
function acquisitionWeights(perDim: readonly DimKernels[], logWeights: Float64Array): Float64Array {
  const out = Float64Array.from(logWeights);
  const numeric = perDim.filter((k) => k.dim.kind !== 'categorical');
  if (numeric.length === 0) return out;
  for (const k of numeric) {
    const logWidth = Math.log(k.dim.high - k.dim.low);
    for (let j = 0; j < out.length; j++) out[j] = (out[j] as number) + (Math.log(k.sigma[j] as number) - logWidth) / numeric.length;
  }
  let max = Number.NEGATIVE_INFINITY;
  for (const v of out) if (v > max) max = v;
  let sum = 0;
  for (const v of out) sum += Math.exp(v - max);
  const logTotal = max + Math.log(sum);
  for (let j = 0; j < out.length; j++) out[j] = (out[j] as number) - logTotal;
  return out;
}

/** Groups kernels with equal (mu, sigma), numbering groups in order of first appearance. */
function groupKernels(mu: Float64Array, sigma: Float64Array): { group: Int32Array; groupMu: Float64Array; groupSigma: Float64Array } {
  const ids = new Map<number, Map<number, number>>();
  const group = new Int32Array(mu.length);
  const mus: number[] = [];
  const sigmas: number[] = [];
  for (let j = 0; j < mu.length; j++) {
    const m = mu[j] as number;
    const s = sigma[j] as number;
    let bySigma = ids.get(m);
    if (bySigma === undefined) ids.set(m, (bySigma = new Map()));
    let id = bySigma.get(s);
    if (id === undefined) {
      id = mus.length;
      bySigma.set(s, id);
      mus.push(m);
      sigmas.push(s);
    }
    group[j] = id;
  }
  return { group, groupMu: Float64Array.from(mus), groupSigma: Float64Array.from(sigmas) };
}

function ordinalCoordinateFast(dim: Dim, k: number): number {
  return (Math.log(dim.gridMin + k * dim.gridStep) - dim.logMin) / dim.logSpan;
}

/** Index of the kernel whose cumulative weight first reaches u. */
function pickKernel(cumulative: Float64Array, u: number): number {
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((cumulative[mid] as number) < u) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Draws `count` candidates: per candidate a kernel by weight, then every dimension from that kernel. Returns one
 * column of encoded values per dimension.
 */
export function sampleParzen(pe: ParzenEstimator, rng: Rng, count: number): Float64Array[] {
  const out = pe.dims.map(() => new Float64Array(count));
  const prior = pe.kernels - 1;
  for (let i = 0; i < count; i++) {
    const j = pickKernel(pe.cumulativeWeights, rng.next());
    for (let d = 0; d < pe.perDim.length; d++) {
      const k = pe.perDim[d] as DimKernels;
      const dim = k.dim;
      const col = out[d] as Float64Array;
      if (dim.kind === 'categorical') {
        const uniform = Math.min(dim.size - 1, Math.floor(rng.next() * dim.size));
        col[i] = j === prior || rng.next() >= k.hitProbability ? uniform : (k.mu[j] as number);
        continue;
      }
      const x = sampleTruncatedNormal(k.mu[j] as number, k.sigma[j] as number, dim.low, dim.high, rng.next());
      col[i] = dim.kind === 'ordinal' ? ordinalSnap(dim, x) : x;
    }
  }
  return out;
}

/**
 * Log densities of `count` candidates (columns of encoded values, as {@link sampleParzen} returns) into a new
 * array. `scratch` (length >= count × kernels) may be passed to avoid an allocation.
 */
export function logPdfParzen(pe: ParzenEstimator, candidates: readonly Float64Array[], count: number, scratch?: Float64Array): Float64Array {
  return logMixture(pe, pe.logWeights, candidates, count, scratch);
}

/**
 * Log acquisition densities of `count` candidates (see the module comment): the kernels of {@link logPdfParzen},
 * each weighted by its weight times its relative bandwidth. What TPE's l(x) / g(x) compares.
 */
export function logAcquisitionPdf(pe: ParzenEstimator, candidates: readonly Float64Array[], count: number, scratch?: Float64Array): Float64Array {
  return logMixture(pe, pe.logAcquisitionWeights, candidates, count, scratch);
}

function logMixture(pe: ParzenEstimator, logWeights: Float64Array, candidates: readonly Float64Array[], count: number, scratch?: Float64Array): Float64Array {
  const nk = pe.kernels;
  const acc = scratch && scratch.length >= count * nk ? scratch : new Float64Array(count * nk);
  for (let i = 0; i < count; i++) acc.set(logWeights, i * nk);
  const m = nk - 1;
  for (let d = 0; d < pe.perDim.length; d++) {
    const k = pe.perDim[d] as DimKernels;
    const dim = k.dim;
    const col = candidates[d] as Float64Array;
    const { mu, sigma, logNorm } = k;
    if (dim.kind === 'continuous') {
      for (let i = 0; i < count; i++) {
        const x = col[i] as number;
        const row = i * nk;
        for (let j = 0; j < nk; j++) {
          const z = (x - (mu[j] as number)) / (sigma[j] as number);
          acc[row + j] = (acc[row + j] as number) - 0.5 * z * z + (logNorm[j] as number);
        }
      }
    } else if (dim.kind === 'categorical') {
      for (let i = 0; i < count; i++) {
        const x = col[i] as number;
        const row = i * nk;
        for (let j = 0; j < m; j++) acc[row + j] = (acc[row + j] as number) + ((mu[j] as number) === x ? k.logHit : k.logMiss);
        acc[row + m] = (acc[row + m] as number) + k.logPrior;
      }
    } else {
      // Ordinal: cell masses depend only on the candidate's grid point and the kernel's group, so compute them once
      // per distinct point and group.
      const { group, groupMu, groupSigma, groupLogNorm } = k;
      const groups = groupMu.length;
      const term = new Float64Array(groups);
      const done = new Uint8Array(count);
      for (let i = 0; i < count; i++) {
        if (done[i]) continue;
        const x = col[i] as number;
        const lo = cellLow(dim, x);
        const hi = cellHigh(dim, x);
        for (let g = 0; g < groups; g++) {
          const s = groupSigma[g] as number;
          const mg = groupMu[g] as number;
          term[g] = logNormalMass((lo - mg) / s, (hi - mg) / s) + (groupLogNorm[g] as number);
        }
        for (let r = i; r < count; r++) {
          if (done[r] || (col[r] as number) !== x) continue;
          done[r] = 1;
          const row = r * nk;
          for (let j = 0; j < nk; j++) acc[row + j] = (acc[row + j] as number) + (term[group[j] as number] as number);
        }
      }
    }
  }
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const row = i * nk;
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < nk; j++) if ((acc[row + j] as number) > max) max = acc[row + j] as number;
    if (max === Number.NEGATIVE_INFINITY) {
      out[i] = max;
      continue;
    }
    // Kernels more than e^-40 below the largest cannot change the sum in double precision: skip their exp.
    const floor = max - 40;
    let sum = 0;
    for (let j = 0; j < nk; j++) {
      const v = acc[row + j] as number;
      if (v > floor) sum += Math.exp(v - max);
    }
    out[i] = max + Math.log(sum);
  }
  return out;
}
