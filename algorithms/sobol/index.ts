/**
 * Quasi-random search along a Sobol sequence: I. M. Sobol', "On the distribution of points in a cube and the
 * approximate evaluation of integrals", USSR Comput. Math. Math. Phys. 7 (1967); direction numbers of S. Joe and
 * F. Y. Kuo (2008) for up to 1024 parameters; Owen scrambling (A. B. Owen, 1995) by B. Burley's hash-based method
 * (JCGT 2020). See sequence.ts.
 *
 * Settings:
 * - `scrambled` (default true): Owen-scramble the sequence. Scrambling keeps the low discrepancy, removes the
 *   plain sequence's first point at the corner of the space and its alignment on dyadic fractions, and makes each
 *   seed a different design. `false` gives the classical sequence (its first point is every parameter's minimum).
 * - `random_state`: the scrambling seed. Without it a seed is drawn on the first call and kept in the state.
 *
 * The i-th point of the sequence maps to parameter values coordinate by coordinate: a finite parameter (int,
 * stepped double, discrete, categorical) takes the value whose equal-width bin contains the coordinate, a
 * continuous double its (log-)linear position, and a normal or logNormal distribution its truncated-normal quantile
 * (Katib's convention: the bounds are ±3 standard deviations), so the design follows the declared prior.
 *
 * State: the index of the next point and the seed. Points whose assignment is already in the history (a lost state,
 * or a small finite space) are skipped, a bounded number of times per suggestion.
 */
import type { Algorithm, SuggestResult, Suggestion } from '../core/algorithm.js';
import { binnedFromUnit, isBinned } from '../core/binned-unit.js';
import { normCdf, normQuantile } from '../core/gaussian.js';
import type { Issue } from '../core/issues.js';
import { boolSetting, rejectUnknown, seedSetting } from '../core/settings.js';
import { assignmentKey, cardinality, formatValue, snapRange, type Assignment, type Parameter, type SearchSpace } from '../core/space.js';
import { historyKeys } from '../random/index.js';
import { sobolPoint, SOBOL_MAX_DIMENSIONS } from './sequence.js';

export interface SobolSettings {
  readonly scrambled: boolean;
  readonly randomState: number | undefined;
}

export interface SobolState {
  /** Index of the next point of the sequence. */
  readonly next: number;
  /** Scrambling seed (absent for the plain sequence). */
  readonly seed?: number;
}

/** How many already-tried points one suggestion may skip before accepting a repeat. */
const MAX_SKIPS = 256;

const EDGE = normCdf(-3);

/**
 * Maps a coordinate u ∈ [0, 1) of a quasi-random point to a value of `p` (see the module comment): equal-width bins
 * for finite uniform parameters, (log-)linear for continuous ones, the truncated-normal quantile for normal priors.
 */
export function valueFromUniform(p: Parameter, u: number): string {
  if ((p.type === 'int' || p.type === 'double') && (p.distribution === 'normal' || p.distribution === 'logNormal')) {
    const log = p.distribution === 'logNormal';
    const lo = log ? Math.log(p.min) : p.min;
    const hi = log ? Math.log(p.max) : p.max;
    if (hi <= lo) return formatValue(p, snapRange(p, p.min));
    const z = normQuantile(EDGE + Math.min(1, Math.max(0, u)) * (1 - 2 * EDGE));
    const v = (lo + hi) / 2 + ((hi - lo) / 6) * Math.min(3, Math.max(-3, z));
    return formatValue(p, snapRange(p, log ? Math.exp(v) : v));
  }
  return binnedFromUnit(p, u);
}

/** The assignment of point `index` of the (optionally scrambled) sequence. */
export function sobolAssignment(space: SearchSpace, index: number, seed: number | undefined): Assignment[] {
  const u = sobolPoint(index, space.length, seed);
  return space.map((p, d) => ({ name: p.name, value: valueFromUniform(p, u[d] as number) }));
}

const isUint32 = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;

/** The usable parts of a state that came over the wire (a malformed field is dropped, never trusted). */
function readState(raw: unknown): { next?: number; seed?: number } | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  return { ...(isUint32(r['next']) ? { next: r['next'] } : {}), ...(isUint32(r['seed']) ? { seed: r['seed'] } : {}) };
}

export const sobol: Algorithm<SobolSettings, SobolState> = {
  name: 'sobol',
  parseSettings(raw, ctx) {
    const issues: Issue[] = [];
    rejectUnknown(raw, ['scrambled', 'random_state'], issues);
    const scrambled = boolSetting(raw, 'scrambled', true, issues);
    const randomState = seedSetting(raw, 'random_state', issues);
    if (ctx.space.length > SOBOL_MAX_DIMENSIONS) {
      issues.push({ path: 'spec.parameters', message: `sobol supports at most ${SOBOL_MAX_DIMENSIONS} parameters (got ${ctx.space.length}); use random search` });
    }
    return issues.length > 0 ? issues : { scrambled, randomState };
  },
  suggest(req, settings): SuggestResult<SobolState> {
    const previous = readState(req.state);
    const seed = settings.scrambled ? (settings.randomState ?? previous?.seed ?? req.rng.int(0, 0xffffffff)) : undefined;
    // A lost state resumes after as many points as there are trials; skipping below handles any overlap.
    let next = previous?.next ?? req.history.length;
    const seen = historyKeys(req.space, req.history);
    const size = req.space.reduce((n, p) => n * cardinality(p), 1);
    const finite = req.space.every(isBinned);
    const suggestions: Suggestion[] = [];
    for (let i = 0; i < req.count; i++) {
      let a = sobolAssignment(req.space, next++, seed);
      // Skip repeats only while the finite space still has untried assignments.
      for (let skips = 0; finite && seen.size < size && seen.has(assignmentKey(a)) && skips < MAX_SKIPS; skips++) {
        a = sobolAssignment(req.space, next++, seed);
      }
      seen.add(assignmentKey(a));
      suggestions.push({ assignments: a });
    }
    return { suggestions, state: seed === undefined ? { next } : { next, seed } };
  },
};
