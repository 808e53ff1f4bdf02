/**
 * Acquisition functions on a GP posterior over a standardised loss (lower is better), and their maximisation over
 * the encoded search space: quasi-random candidates (scrambled Sobol), then local searches from the best candidates,
 * from a rank-weighted draw of the others and from the incumbents — projected L-BFGS over the numeric coordinates,
 * then a greedy pass over neighbouring bins and other categories, then a final continuous polish. The local search
 * follows the design of Optuna's GPSampler (optim_mixed.py); EI is optimised in log space (Ament et al., NeurIPS
 * 2023) so it keeps a useful gradient where it underflows.
 *
 * EI and PI use skopt's exploration margin ξ = 0.01 and LCB its κ = 1.96.
 */
import { logH, normLogCdf, normLogPdf } from '../core/gaussian.js';
import { minimizeBox } from '../core/minimize-box.js';
import type { Rng } from '../core/rng.js';
import { sobolPoint } from '../sobol/sequence.js';
import type { SpaceEncoding } from './encoding.js';
import type { GaussianProcess } from './gp.js';

export const ACQUISITIONS = ['EI', 'PI', 'LCB'] as const;
export type Acquisition = (typeof ACQUISITIONS)[number];

const XI = 0.01;
const KAPPA = 1.96;

/**
 * The acquisition value to maximise at a posterior (mean, variance) given the best observed value: log EI, log PI
 * or -LCB. With `grads`, also writes d/dmean and d/dvariance into grads[0], grads[1].
 */
export function acquisitionValue(kind: Acquisition, mean: number, variance: number, best: number, grads?: Float64Array): number {
  const sigma = Math.sqrt(variance);
  switch (kind) {
    case 'EI': {
      const z = (best - XI - mean) / sigma;
      const h = logH(z);
      if (grads) {
        grads[0] = -h.slope / sigma;
        grads[1] = (1 - z * h.slope) / (2 * variance);
      }
      return Math.log(sigma) + h.value;
    }
    case 'PI': {
      const z = (best - XI - mean) / sigma;
      const logCdf = normLogCdf(z);
      if (grads) {
        const ratio = Math.exp(normLogPdf(z) - logCdf);
        grads[0] = -ratio / sigma;
        grads[1] = (-ratio * z) / (2 * variance);
      }
      return logCdf;
    }
    case 'LCB': {
      if (grads) {
        grads[0] = -1;
        grads[1] = KAPPA / (2 * sigma);
      }
      return -(mean - KAPPA * sigma);
    }
  }
}

/** Scores one encoded point (no gradient). */
function score(gp: GaussianProcess, kind: Acquisition, best: number, x: ArrayLike<number>): number {
  const { mean, variance } = gp.predict(x);
  return acquisitionValue(kind, mean, variance, best);
}

export interface AcquisitionOptions {
  /** Quasi-random candidates scored before the local searches. */
  readonly candidates: number;
  /** Local searches per acquisition function (0: pure sampling, as skopt's acq_optimizer=sampling). */
  readonly localSearches: number;
  /** Points to always start a local search from (the best observed points), encoded and snapped. */
  readonly incumbents: readonly Float64Array[];
  /** True when an encoded, snapped point may not be proposed (already tried or already proposed). */
  readonly excluded: (x: Float64Array) => boolean;
}

export interface Proposal {
  readonly x: Float64Array;
  readonly value: number;
}

/**
 * Maximises each acquisition in `kinds` over the encoded space and returns one snapped, non-excluded proposal per
 * kind (undefined when every point examined was excluded: a finite space tried out).
 */
export function maximizeAcquisitions(gp: GaussianProcess, encoding: SpaceEncoding, kinds: readonly Acquisition[], best: number, rng: Rng, options: AcquisitionOptions): (Proposal | undefined)[] {
  const seed = rng.int(0, 0xffffffff);
  const pool: Float64Array[] = [];
  // Without a continuous coordinate, snapped candidates repeat: score each once.
  const dedupe = !encoding.continuousMask.some((m) => m === 1);
  const poolKeys = new Set<string>();
  const addToPool = (x: Float64Array): void => {
    if (dedupe) {
      const key = x.join(',');
      if (poolKeys.has(key)) return;
      poolKeys.add(key);
    }
    pool.push(x);
  };
  for (const x of options.incumbents) addToPool(Float64Array.from(x));
  // The incumbents that made it into the pool (duplicates dropped) lead it.
  const incumbents = pool.length;
  for (let i = 0; i < options.candidates; i++) addToPool(encoding.fromParameterSample(samplePoint(i, encoding.parameterCount, seed, rng)));
  const flat = new Float64Array(pool.length * encoding.dims);
  pool.forEach((x, i) => flat.set(x, i * encoding.dims));
  const { means, variances } = gp.predictMany(flat, pool.length);
  return kinds.map((kind) => {
    const values = pool.map((_, i) => acquisitionValue(kind, means[i] as number, variances[i] as number, best));
    const order = values.map((_, i) => i).sort((a, b) => (values[b] as number) - (values[a] as number));
    const results: Proposal[] = [];
    for (const start of localStarts(order, incumbents, options.localSearches, rng)) {
      results.push(localSearch(gp, encoding, kind, best, pool[start] as Float64Array, values[start] as number));
    }
    // The best proposal not excluded: local search results first, then the scored candidates in order.
    results.sort((a, b) => b.value - a.value);
    for (const r of results) if (!options.excluded(r.x)) return r;
    for (const i of order) if (!options.excluded(pool[i] as Float64Array)) return { x: pool[i] as Float64Array, value: values[i] as number };
    return undefined;
  });
}

/** A candidate in parameter coordinates: scrambled Sobol while the table lasts, uniform draws beyond. */
function samplePoint(index: number, parameters: number, seed: number, rng: Rng): number[] {
  if (parameters <= 1024) return sobolPoint(index, parameters, seed);
  return Array.from({ length: parameters }, () => rng.next());
}

/**
 * Indices of the pool to start local searches from: the best-scored candidate, the incumbents (the first
 * `incumbents` entries of the pool) and a draw without replacement weighted by 1/rank among the rest.
 */
function localStarts(order: readonly number[], incumbents: number, count: number, rng: Rng): number[] {
  if (count <= 0) return [];
  const chosen = new Set<number>();
  chosen.add(order[0] as number);
  for (let i = 0; i < incumbents && chosen.size < count; i++) chosen.add(i);
  const rest = order.filter((i) => !chosen.has(i));
  const weights = rest.map((_, r) => 1 / (r + 1));
  while (chosen.size < count && rest.length > 0) {
    let total = 0;
    for (const w of weights) total += w;
    let u = rng.next() * total;
    let k = 0;
    while (k < weights.length - 1 && u >= (weights[k] as number)) u -= weights[k++] as number;
    chosen.add(rest[k] as number);
    rest.splice(k, 1);
    weights.splice(k, 1);
  }
  return [...chosen];
}

/** Maximises the acquisition over the coordinates left free by `lower`/`upper` with projected L-BFGS. */
function gradientAscent(gp: GaussianProcess, kind: Acquisition, best: number, x0: Float64Array, lower: Float64Array, upper: Float64Array): Float64Array {
  const d = x0.length;
  const meanGrad = new Float64Array(d);
  const varGrad = new Float64Array(d);
  const pg = new Float64Array(2);
  const negative = (x: Float64Array, grad: Float64Array): number => {
    const { mean, variance } = gp.predictWithGradient(x, meanGrad, varGrad);
    const v = acquisitionValue(kind, mean, variance, best, pg);
    for (let j = 0; j < d; j++) grad[j] = -((pg[0] as number) * (meanGrad[j] as number) + (pg[1] as number) * (varGrad[j] as number));
    return Number.isFinite(v) ? -v : Number.POSITIVE_INFINITY;
  };
  return minimizeBox(negative, x0, lower, upper, { maxIterations: 40, gradientTolerance: 1e-5, relativeTolerance: 1e-8 }).x;
}

/** One local search from a snapped start; returns a snapped point at least as good as the start. */
function localSearch(gp: GaussianProcess, encoding: SpaceEncoding, kind: Acquisition, best: number, start: Float64Array, startValue: number): Proposal {
  const d = encoding.dims;
  let x: Float64Array = Float64Array.from(start);
  let value = startValue;
  const lower = new Float64Array(d);
  const upper = new Float64Array(d);
  const relax = (mask: Uint8Array, at: Float64Array): void => {
    for (let j = 0; j < d; j++) {
      lower[j] = mask[j] ? 0 : (at[j] as number);
      upper[j] = mask[j] ? 1 : (at[j] as number);
    }
  };
  const tryPoint = (candidate: Float64Array): boolean => {
    encoding.snapInPlace(candidate);
    const v = score(gp, kind, best, candidate);
    if (v > value) {
      x = candidate;
      value = v;
      return true;
    }
    return false;
  };
  const hasNumeric = encoding.numericMask.some((m) => m === 1);
  const hasContinuous = encoding.continuousMask.some((m) => m === 1);
  // 1. Every numeric coordinate relaxed to a continuum, categories fixed.
  if (hasNumeric) {
    relax(encoding.numericMask, x);
    tryPoint(gradientAscent(gp, kind, best, x, lower, upper));
  }
  // 2. Greedy passes over the discrete choices: neighbouring bins and every other category.
  let changed = false;
  for (let pass = 0; pass < 3; pass++) {
    let improved = false;
    for (const part of encoding.parts) {
      if (part.kind === 'numeric') {
        if (part.bins === undefined || part.bins < 2) continue;
        const width = 1 / part.bins;
        for (const step of [-1, 1, -2, 2]) {
          const candidate = Float64Array.from(x);
          candidate[part.index] = (x[part.index] as number) + step * width;
          if ((candidate[part.index] as number) < 0 || (candidate[part.index] as number) > 1) continue;
          if (tryPoint(candidate)) improved = true;
        }
      } else {
        for (let c = 0; c < part.size; c++) {
          if (x[part.offset + c] === 1) continue;
          const candidate = Float64Array.from(x);
          for (let i = 0; i < part.size; i++) candidate[part.offset + i] = i === c ? 1 : 0;
          if (tryPoint(candidate)) improved = true;
        }
      }
    }
    if (!improved) break;
    changed = true;
  }
  // 3. A final polish of the continuous coordinates once the discrete ones have moved.
  if (changed && hasContinuous) {
    relax(encoding.continuousMask, x);
    tryPoint(gradientAscent(gp, kind, best, x, lower, upper));
  }
  return { x, value };
}
