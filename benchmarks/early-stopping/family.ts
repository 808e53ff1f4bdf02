/**
 * The curve family as an experiment sees it: its Katib search space (with and without the `epochs` resource
 * parameter), the conversion from a trial's assignments to a {@link Config}, the best final loss in the family, the
 * prior distribution of the regret, and the target derived from them.
 */
import { createRng } from '../../algorithms/core/rng.js';
import { parseSearchSpace, samplePrior, type SearchSpace, type WireParameter } from '../../algorithms/core/space.js';
import { isIssues, formatIssues } from '../../algorithms/core/issues.js';
import { finalLoss, MAX_EPOCHS, PARAMETERS, trueLoss, type Config } from './curves.js';

/** The name of the resource parameter that Hyperband and ASHA write each trial's epoch budget into. */
export const RESOURCE = 'epochs';

function wire(withResource: boolean): WireParameter[] {
  const params: WireParameter[] = PARAMETERS.map((p) => ({
    name: p.name,
    parameterType: p.type,
    feasibleSpace: { min: String(p.min), max: String(p.max), distribution: p.log ? 'logUniform' : 'uniform' },
  }));
  if (withResource) params.push({ name: RESOURCE, parameterType: 'int', feasibleSpace: { min: '1', max: String(MAX_EPOCHS) } });
  return params;
}

/** The typed search space; `withResource` adds the int parameter `epochs` in [1, maxEpochs]. Throws on a bad space. */
export function searchSpace(withResource: boolean): SearchSpace {
  const space = parseSearchSpace(wire(withResource));
  if (isIssues(space)) throw new Error(`the benchmark's search space is invalid:\n${formatIssues(space)}`);
  return space;
}

/** The configuration in a trial's assignments (wire strings by name); the resource parameter is ignored. */
export function configOf(assignments: Readonly<Record<string, string>>): Config {
  return PARAMETERS.map((p) => {
    const v = Number(assignments[p.name]);
    if (!Number.isFinite(v)) throw new Error(`assignment ${p.name}=${JSON.stringify(assignments[p.name])} is not a number`);
    return v;
  });
}

export interface Optimum {
  readonly config: Config;
  /** f*: the lowest noiseless loss after maxEpochs epochs of any configuration in the space. */
  readonly finalLoss: number;
}

/** The value at unit coordinate `t` of parameter `index` of {@link PARAMETERS} (log scale for log parameters). */
function atUnit(index: number, t: number): number {
  const p = PARAMETERS[index] as (typeof PARAMETERS)[number];
  const c = Math.min(1, Math.max(0, t));
  return p.log ? Math.exp(Math.log(p.min) + c * (Math.log(p.max) - Math.log(p.min))) : p.min + c * (p.max - p.min);
}

type Unit3 = readonly [number, number, number];

/** The configuration with this batch size and the other three parameters at unit coordinates `u`. */
function configAt(batch: number, u: Unit3): Config {
  return [atUnit(0, u[0]), batch, atUnit(2, u[1]), atUnit(3, u[2])];
}

/** Coordinate search over the three continuous parameters' unit coordinates, for a fixed batch size. */
function refine(batch: number, start: Unit3): { unit: Unit3; loss: number } {
  let unit: Unit3 = start;
  let loss = finalLoss(configAt(batch, unit));
  for (let step = 0.05; step > 1e-9; step /= 2) {
    for (let improved = true; improved; ) {
      improved = false;
      for (let j = 0; j < 3; j++) {
        for (const dir of [-1, 1]) {
          const cand = [...unit] as [number, number, number];
          cand[j] = Math.min(1, Math.max(0, (cand[j] as number) + dir * step));
          const l = finalLoss(configAt(batch, cand));
          if (l < loss) {
            loss = l;
            unit = cand;
            improved = true;
          }
        }
      }
    }
  }
  return { unit, loss };
}

/**
 * f* and its configuration: for every integer batch size, a 12×12×12 grid over the other three parameters' unit
 * coordinates, then a coordinate search from the grid's best point. Deterministic; about a second.
 */
export function findOptimum(): Optimum {
  const batchParam = PARAMETERS[1] as (typeof PARAMETERS)[number];
  const grid = Array.from({ length: 12 }, (_, i) => (i + 0.5) / 12);
  let best: Optimum | undefined;
  for (let batch = batchParam.min; batch <= batchParam.max; batch++) {
    let start: Unit3 = [0.5, 0.5, 0.5];
    let startLoss = Number.POSITIVE_INFINITY;
    for (const x of grid) {
      for (const y of grid) {
        for (const z of grid) {
          const loss = finalLoss(configAt(batch, [x, y, z]));
          if (loss < startLoss) {
            startLoss = loss;
            start = [x, y, z];
          }
        }
      }
    }
    const r = refine(batch, start);
    if (best === undefined || r.loss < best.finalLoss) best = { config: configAt(batch, r.unit), finalLoss: r.loss };
  }
  return best as Optimum;
}

/**
 * Regrets (final loss − f*) of `n` configurations drawn from the search space's prior with the same sampler random
 * search uses (samplePrior), sorted ascending.
 */
export function priorRegrets(optimum: Optimum, n: number, seed: string): number[] {
  const space = searchSpace(false);
  const rng = createRng(seed);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = Object.fromEntries(space.map((p) => [p.name, samplePrior(p, rng)]));
    out.push(finalLoss(configOf(a)) - optimum.finalLoss);
  }
  return out.sort((x, y) => x - y);
}

/** The fraction of `sorted` at or below `x`. */
export function fractionAtMost(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((sorted[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo / sorted.length;
}

/**
 * Spearman's rank correlation between the noiseless loss after each of `epochs` and the final loss, over `n`
 * configurations drawn from the prior: how well a short run predicts the final ranking.
 */
export function rankCorrelations(epochs: readonly number[], n: number, seed: string): Record<number, number> {
  const space = searchSpace(false);
  const rng = createRng(seed);
  const configs: Config[] = [];
  for (let i = 0; i < n; i++) configs.push(configOf(Object.fromEntries(space.map((p) => [p.name, samplePrior(p, rng)]))));
  const ranks = (values: readonly number[]): number[] => {
    const order = values.map((v, i) => ({ v, i })).sort((a, b) => a.v - b.v);
    const r = new Array<number>(values.length);
    order.forEach((o, k) => (r[o.i] = k));
    return r;
  };
  const final = ranks(configs.map(finalLoss));
  const out: Record<number, number> = {};
  for (const t of epochs) {
    const rt = ranks(configs.map((h) => trueLoss(h, t)));
    let d2 = 0;
    for (let i = 0; i < n; i++) d2 += ((rt[i] as number) - (final[i] as number)) ** 2;
    out[t] = 1 - (6 * d2) / (n * (n * n - 1));
  }
  return out;
}
