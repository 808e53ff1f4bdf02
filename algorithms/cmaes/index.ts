/**
 * CMA-ES: N. Hansen, "The CMA Evolution Strategy: A Tutorial", arXiv:1604.00772 (2016) (see strategy.ts), with the
 * restart strategies IPOP (A. Auger & N. Hansen, "A Restart CMA Evolution Strategy With Increasing Population
 * Size", CEC 2005) and BIPOP (N. Hansen, "Benchmarking a BI-Population CMA-ES on the BBOB-2009 Function Testbed",
 * GECCO 2009).
 *
 * Settings (as Katib's CMA-ES services):
 * - `sigma`: initial step size as a fraction of every parameter's range (the search runs in the unit cube, as in
 *   Optuna's CmaEsSampler, whose sigma0 Katib passes it as); any number > 0, default 1/6, Optuna's default. Above 1
 *   the first generations spread wider than the box and their draws are repaired into it (see Boundaries); Katib
 *   accepts such values (its own tests use sigma 2), so they are not refused.
 * - `restart_strategy`: `none` (default; `None` accepted too), `ipop` (restart with twice the population on
 *   stagnation) or `bipop` (alternate such large-population runs with small-population, small-step runs, giving
 *   each regime a similar budget).
 * - `random_state`: seed of the mutation sequences and of restart points; with it the same history and state give
 *   the same suggestions. Without it, a seed is drawn on the first call and kept in the state.
 *
 * Mutations are quasi-random, after O. Teytaud & S. Gelly, "DCMA: yet another derandomization in
 * covariance-matrix-adaptation", GECCO 2007: the standard normal vectors z of a generation are the inverse-normal
 * images of an Owen-scrambled Sobol sequence (a new scrambling per generation), so a generation's λ draws cover the
 * distribution evenly instead of clumping. On the sample-efficiency benchmark (Rosenbrock-4, Ackley-5, Levy-4,
 * Branin, Hartmann-6, mixed) it lowered the median regret at 100 trials on every function, Rosenbrock-4's by more
 * than half, compared with pseudo-random z.
 *
 * Encoding: one coordinate per parameter in [0, 1] (log scale for log distributions). Finite parameters (ints,
 * stepped doubles, discretes and categoricals) round a coordinate to the value whose equal-width bin contains it,
 * as Optuna's CmaEsSampler rounds ints; the point told back is the evaluated (rounded) one. A categorical thus
 * becomes an ordinal coordinate in the order of its list. Boundaries: a draw outside the cube is redrawn up to 100
 * times, then clipped (repair), as the cmaes library does.
 *
 * Generations: every suggestion carries the label `katib-ts/cmaes-generation=<run>-<generation>`. A generation is
 * told as soon as λ of its trials have finished; requests that arrive before then (parallel trials, or k > 1) get
 * further draws from the same distribution, so a request is never left empty, and trials of a generation beyond the
 * first λ finished are ignored once it has been told. Callers that drop labels are matched by a hash of the
 * assignment kept in the state (the latest 4λ); the history's unlabelled trials are hashed only while fewer trials
 * carry the generation's label than suggestions were handed out in it.
 *
 * Failed trials (failed, killed, metrics unavailable) count as finished and rank below every trial with a value, so
 * the distribution moves away from them without any invented loss; a generation in which every trial failed leaves
 * the distribution unchanged.
 *
 * State: the distribution (mean, σ, packed covariance, evolution paths, recent best and worst values), the
 * generation, the run's identifier, the count of quasi-random points used and of suggestions handed out in the
 * generation, the restart bookkeeping and at most 4λ assignment hashes: O(d²), independent of the number of
 * trials. Katib's controller sends the state back with each request. When it is missing (a client that drops the
 * reply's algorithm settings) or does not fit the space, it is recomputed from the trials: their finished ones, in
 * history order, are told in consecutive groups of λ, which for a caller asking one trial at a time are exactly the
 * generations it ran (see recoverState). The latest such replays are remembered, so such a caller pays for the
 * generations its new trials complete rather than for its whole history (RecoveryMemo).
 *
 * Unlike Katib's Optuna-based service, one-parameter spaces and spaces without a continuous parameter are accepted:
 * the encoding above handles them.
 */
import { completedWithObjective, toLoss, type Algorithm, type SuggestResult, type Suggestion, type TrialRecord } from '../core/algorithm.js';
import { binnedFromUnit, binnedToUnit } from '../core/binned-unit.js';
import { normQuantile } from '../core/gaussian.js';
import type { Issue } from '../core/issues.js';
import { createRng, type Rng } from '../core/rng.js';
import { choiceSetting, numberSetting, rejectUnknown, seedSetting } from '../core/settings.js';
import { assignmentKey, cardinality, type Assignment, type SearchSpace } from '../core/space.js';
import { historyKeys } from '../random/index.js';
import { mix32, sobolPoint } from '../sobol/sequence.js';
import { constants, defaultPopulationSize, eigen, initialDistribution, sampleCandidate, shouldStop, tell, type Distribution } from './strategy.js';

export const RESTART_STRATEGIES = ['none', 'ipop', 'bipop'] as const;
export type RestartStrategy = (typeof RESTART_STRATEGIES)[number];

/** The trial label naming the CMA-ES run and generation a suggestion belongs to. */
export const GENERATION_LABEL = 'katib-ts/cmaes-generation';

export interface CmaesSettings {
  readonly sigma: number;
  readonly restartStrategy: RestartStrategy;
  readonly randomState: number | undefined;
}

export interface CmaesState {
  readonly dims: number;
  /** Identifies the current run (changes at every restart) in generation labels. */
  readonly run: string;
  readonly popsize: number;
  readonly dist: Distribution;
  /** Hashes of the assignments handed out in the current generation (newest last, at most 4λ). */
  readonly keys: readonly string[];
  /**
   * Suggestions handed out in the current generation, all of them (`keys` keeps the newest 4λ). Absent in states
   * written before it was kept: the generation's members are then looked for in the whole history.
   */
  readonly issued?: number;
  /** Points of the current generation's quasi-random sequence used so far (draws and redraws). */
  readonly drawn: number;
  readonly restarts: RestartBookkeeping;
}

/** IPOP/BIPOP bookkeeping (BIPOP's regimes and their evaluation budgets). */
export interface RestartBookkeeping {
  /** Restarts so far (large-population ones for BIPOP). */
  readonly count: number;
  readonly regime: 'large' | 'small';
  readonly smallEvaluations: number;
  readonly largeEvaluations: number;
  /** Evaluations told in the current run. */
  readonly runEvaluations: number;
  /** Seed for restart draws when no random_state is set. */
  readonly seed: number;
}

const DEFAULT_SIGMA = 1 / 6;
const MAX_RESAMPLES = 100;
const INC_POPSIZE = 2;

export const cmaes: Algorithm<CmaesSettings, CmaesState> = {
  name: 'cmaes',
  parseSettings(raw) {
    const issues: Issue[] = [];
    rejectUnknown(raw, ['sigma', 'restart_strategy', 'random_state'], issues);
    const sigma = numberSetting(raw, 'sigma', DEFAULT_SIGMA, { min: 0, exclusiveMin: true }, issues);
    // Katib's Optuna service spells "none" as Python's None too.
    const restartStrategy = choiceSetting(raw['restart_strategy'] === 'None' ? { ...raw, restart_strategy: 'none' } : raw, 'restart_strategy', 'none', RESTART_STRATEGIES, issues);
    const randomState = seedSetting(raw, 'random_state', issues);
    return issues.length > 0 ? issues : { sigma, restartStrategy, randomState };
  },
  suggest(req, settings): SuggestResult<CmaesState> {
    const dims = req.space.length;
    const state = isUsableState(req.state, dims)
      ? tellFinishedGeneration(req.state, req.space, req.history, req.goal, settings)
      : recoverState(freshState(dims, settings, req.rng), req.space, req.history, req.goal, settings);
    const size = req.space.reduce((n, p) => n * cardinality(p), 1);
    // Only a finite space can run out of untried points; with a continuous parameter the history is not read here.
    const seen = Number.isFinite(size) ? historyKeys(req.space, req.history) : new Set<string>();
    const e = eigen(state.dist);
    const label = `${state.run}-${state.dist.generation}`;
    const keys = [...state.keys];
    const mutations = mutationStream(state);
    const suggestions: Suggestion[] = [];
    for (let i = 0; i < req.count; i++) {
      let a = decode(req.space, drawInCube(state.dist, e, mutations.next));
      // In a finite space, redraw an assignment already tried while untried ones remain (bounded).
      for (let tries = 0; Number.isFinite(size) && seen.size < size && seen.has(assignmentKey(a)) && tries < 32; tries++) {
        a = decode(req.space, drawInCube(state.dist, e, mutations.next));
      }
      const key = assignmentKey(a);
      seen.add(key);
      keys.push(hashKey(key));
      suggestions.push({ assignments: a, labels: { [GENERATION_LABEL]: label } });
    }
    // A state without the count (an earlier version's) stays without it until its generation is told: counting
    // from here would miss the suggestions handed out before, and with them the trials they became.
    const issued = state.issued === undefined ? {} : { issued: state.issued + suggestions.length };
    return { suggestions, state: { ...state, keys: keys.slice(-4 * state.popsize), ...issued, drawn: mutations.used() } };
  },
};

function isUsableState(s: CmaesState | undefined, dims: number): s is CmaesState {
  if (!s || typeof s !== 'object' || s.dims !== dims || typeof s.run !== 'string' || !Array.isArray(s.keys)) return false;
  const d = s.dist as Distribution | undefined;
  const finite = (v: unknown, n: number): boolean => Array.isArray(v) && v.length === n && v.every((x) => typeof x === 'number' && Number.isFinite(x));
  return (
    !!d &&
    Number.isInteger(s.popsize) &&
    s.popsize >= 2 &&
    finite(d.mean, dims) &&
    finite(d.pc, dims) &&
    finite(d.ps, dims) &&
    finite(d.cov, (dims * (dims + 1)) / 2) &&
    typeof d.sigma === 'number' &&
    d.sigma > 0 &&
    Number.isFinite(d.sigma) &&
    Number.isInteger(d.generation) &&
    finite(d.funhist, Array.isArray(d.funhist) ? d.funhist.length : -1) &&
    !!s.restarts &&
    typeof s.restarts === 'object' &&
    (s.restarts.regime === 'large' || s.restarts.regime === 'small') &&
    [s.restarts.count, s.restarts.smallEvaluations, s.restarts.largeEvaluations, s.restarts.runEvaluations, s.restarts.seed].every((v) => Number.isInteger(v) && v >= 0) &&
    s.keys.every((k) => typeof k === 'string') &&
    (s.issued === undefined || (Number.isInteger(s.issued) && s.issued >= 0)) &&
    Number.isInteger(s.drawn) &&
    s.drawn >= 0 &&
    s.drawn < 2 ** 32
  );
}

function newRunId(rng: Rng): string {
  return rng.int(0, 36 ** 6 - 1).toString(36).padStart(6, '0');
}

function freshState(dims: number, settings: CmaesSettings, rng: Rng): CmaesState {
  const popsize = defaultPopulationSize(dims);
  return {
    dims,
    run: newRunId(rng),
    popsize,
    dist: initialDistribution(new Array<number>(dims).fill(0.5), settings.sigma),
    keys: [],
    issued: 0,
    drawn: 0,
    restarts: { count: 0, regime: 'large', smallEvaluations: 0, largeEvaluations: 0, runEvaluations: 0, seed: settings.randomState ?? rng.int(0, 0xffffffff) },
  };
}

/** Smallest and largest uniform fed to the normal quantile: a scrambled coordinate may be exactly 0. */
const U_EDGE = 2 ** -33;

/**
 * The current generation's standard normal mutations: point `drawn`, `drawn + 1`, … of a Sobol sequence scrambled
 * for this run and generation, mapped through Φ⁻¹ coordinate by coordinate.
 */
function mutationStream(state: CmaesState): { next: () => number[]; used: () => number } {
  const seed = mix32((state.restarts.seed ^ mix32(hashNumber(state.run)) ^ Math.imul(state.dist.generation + 1, 0x9e3779b1)) >>> 0);
  let index = state.drawn;
  return {
    next: () => sobolPoint(index++, state.dims, seed).map((u) => normQuantile(Math.min(1 - U_EDGE, Math.max(U_EDGE, u)))),
    used: () => index,
  };
}

/** A draw from the distribution inside [0, 1]^d: redrawn while outside (bounded), then clipped. */
function drawInCube(dist: Distribution, e: ReturnType<typeof eigen>, nextNormal: () => number[]): number[] {
  for (let i = 0; i < MAX_RESAMPLES; i++) {
    const x = sampleCandidate(dist, e, nextNormal());
    if (x.every((v) => v >= 0 && v <= 1)) return x;
  }
  return sampleCandidate(dist, e, nextNormal()).map((v) => Math.min(1, Math.max(0, v)));
}

function decode(space: SearchSpace, x: readonly number[]): Assignment[] {
  return space.map((p, i) => ({ name: p.name, value: binnedFromUnit(p, x[i] as number) }));
}

const FNV_OFFSET = 0x811c9dc5;

/** FNV-1a of a string, continuing from `h`. */
function hashNumber(text: string, h = FNV_OFFSET): number {
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * hashKey(assignmentKey(the trial's values of the space's parameters)), computed without building the key: a call
 * that matches by hash runs this for every unlabelled trial of the history.
 */
function hashAssignments(space: SearchSpace, assignments: Readonly<Record<string, string>>): string {
  let h = FNV_OFFSET;
  for (let i = 0; i < space.length; i++) {
    const p = space[i] as SearchSpace[number];
    if (i > 0) h = Math.imul(h ^ 0, 0x01000193) >>> 0; // assignmentKey's separator, \u0000
    h = hashNumber(p.name, h);
    h = Math.imul(h ^ 0x3d, 0x01000193) >>> 0; // '='
    h = hashNumber(assignments[p.name] ?? '', h);
  }
  return h.toString(36);
}

/** FNV-1a of a string, base 36: a short stand-in for an assignment key in the state. */
function hashKey(text: string): string {
  return hashNumber(text).toString(36);
}

/** Trial states that will not change any more: the trial counts towards its generation, with or without a value. */
const TERMINAL = new Set<TrialRecord['status']>(['failed', 'killed', 'metrics-unavailable', 'early-stopped', 'succeeded']);

/**
 * Tells the current generation when λ of its trials have finished, then restarts on stagnation per the strategy.
 * Returns the state unchanged while the generation is still running.
 */
function tellFinishedGeneration(state: CmaesState, space: SearchSpace, history: readonly TrialRecord[], goal: 'minimize' | 'maximize', settings: CmaesSettings): CmaesState {
  const label = `${state.run}-${state.dist.generation}`;
  const labelled = generationMembers(history, label, state.issued);
  // Unlabelled trials are matched by hash only while some suggestion of this generation has not come back with its
  // label (a caller that drops labels): hashing every unlabelled trial at every call would make the cost of a call
  // grow with the history.
  const keys = labelled.length < state.keys.length ? new Set(state.keys) : undefined;
  const members = keys ? history.filter((t) => t.labels[GENERATION_LABEL] === label || (t.labels[GENERATION_LABEL] === undefined && keys.has(hashAssignments(space, t.assignments)))) : labelled;
  const finished = finishedOf(space, members, goal);
  return finished.length < state.popsize ? state : tellGeneration(state, finished, settings);
}

/**
 * The trials labelled with the current generation, in history order. The history is read from its newest end, where
 * callers that send trials in creation order (ours) have the generation's members: once as many are found as
 * suggestions were handed out in the generation (`issued`), no older trial can carry its label, so at 1000 trials a
 * call reads a handful of them rather than all (a caller in another order, or a state without the count, reads the
 * whole history, as before).
 */
function generationMembers(history: readonly TrialRecord[], label: string, issued: number | undefined): TrialRecord[] {
  const members: TrialRecord[] = [];
  const limit = issued ?? Number.POSITIVE_INFINITY;
  for (let i = history.length - 1; i >= 0 && members.length < limit; i--) {
    const t = history[i] as TrialRecord;
    if (t.labels[GENERATION_LABEL] === label) members.push(t);
  }
  return members.reverse();
}

/**
 * The state of a caller that did not send the previous reply's algorithm settings back (a client that drops them,
 * or a lost state), recomputed from the trials: the finished trials, in history order, are told in consecutive
 * groups of λ (restarting per the strategy as they go), which are exactly the generations a caller asking for one
 * trial at a time produced; the finished remainder and the unfinished trials make up the current generation.
 * Replaying the whole history is O(n·d²) (about 3 ms at 1000 trials of 4 parameters), so the latest replays are
 * remembered (see {@link RecoveryMemo}): a caller that never sends the state back but resends its history with new
 * trials appended pays for the generations those complete, as a caller that keeps the state does.
 */
function recoverState(fresh: CmaesState, space: SearchSpace, history: readonly TrialRecord[], goal: 'minimize' | 'maximize', settings: CmaesSettings): CmaesState {
  const finished = finishedOf(space, history, goal);
  const key = recoveryKey(fresh, settings, finished);
  const hit = recoveries.lookup(key, finished);
  let state = hit ? adoptRecovered(hit.state, fresh, settings) : fresh;
  let told = hit?.told ?? 0;
  while (finished.length - told >= state.popsize) {
    const lambda = state.popsize;
    state = tellGeneration(state, finished.slice(told, told + lambda), settings);
    told += lambda;
  }
  if (told > (hit?.told ?? 0)) recoveries.remember(key, finished, told, state);
  // The current generation's quasi-random stream continues after the points its members used.
  const unfinished = history.length - finished.length;
  return { ...state, drawn: Math.min(2 ** 32 - 1, finished.length - told + Math.max(0, unfinished)) };
}

interface Recovery {
  /** The told trials' points, row by row, and their losses, in the order told. */
  readonly xs: Float64Array;
  readonly losses: Float64Array;
  readonly told: number;
  /** The state after telling them (before `drawn` is set for the call). */
  readonly state: CmaesState;
}

/**
 * The latest replays of recoverState: for each, the finished trials it told (their points and losses, compared
 * exactly) and the state they gave. A replay whose finished trials begin with a remembered one's continues from
 * its state. This is a memo of a pure function, not state: a miss or an eviction costs time only, and the result is
 * the same (test/algorithms/cmaes.test.ts). Keyed by what the replay depends on besides the trials: the
 * dimensions, the settings and the first finished trial (so two experiments of the same shape keep one entry
 * each), and with IPOP or BIPOP the run and seed the replay started from, whose restarts draw from them. Without
 * restarts the run and seed name labels and mutations only, so the remembered state takes the caller's. Bounded:
 * 16 replays and 8 MiB of remembered points; beyond that the least recently used go first.
 */
class RecoveryMemo {
  private readonly entries = new Map<string, Recovery>();
  private bytes = 0;

  constructor(
    readonly maxEntries = 16,
    readonly maxBytes = 8 * 1024 * 1024,
  ) {}

  /** The remembered replay under `key` whose told trials are the first of `finished`, if any. */
  lookup(key: string, finished: readonly Finished[]): Recovery | undefined {
    const hit = this.entries.get(key);
    if (hit === undefined || hit.told > finished.length) return undefined;
    const dims = hit.xs.length / Math.max(1, hit.told);
    for (let i = 0; i < hit.told; i++) {
      const f = finished[i] as Finished;
      if (!Object.is(f.loss, hit.losses[i]) || f.x.length !== dims) return undefined;
      for (let d = 0; d < dims; d++) if (!Object.is(f.x[d], hit.xs[i * dims + d])) return undefined;
    }
    // Most recently used last.
    this.entries.delete(key);
    this.entries.set(key, hit);
    return hit;
  }

  remember(key: string, finished: readonly Finished[], told: number, state: CmaesState): void {
    const dims = finished[0]?.x.length ?? 0;
    const xs = new Float64Array(told * dims);
    const losses = new Float64Array(told);
    for (let i = 0; i < told; i++) {
      const f = finished[i] as Finished;
      xs.set(f.x, i * dims);
      losses[i] = f.loss;
    }
    this.forget(key);
    const size = xs.byteLength + losses.byteLength;
    if (size > this.maxBytes) return;
    this.entries.set(key, { xs, losses, told, state });
    this.bytes += size;
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries && this.bytes <= this.maxBytes) break;
      this.forget(oldest);
    }
  }

  private forget(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    this.bytes -= entry.xs.byteLength + entry.losses.byteLength;
  }

  /** Replays remembered. */
  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }
}

/** The process's replays (one suggestion service serves many experiments). */
export const recoveries = new RecoveryMemo();

/** What a replay depends on besides the trials (see RecoveryMemo). */
function recoveryKey(fresh: CmaesState, settings: CmaesSettings, finished: readonly Finished[]): string {
  const first = finished[0];
  const from = settings.restartStrategy === 'none' ? '' : `${fresh.run}/${fresh.restarts.seed}`;
  return `${fresh.dims}/${fresh.popsize}/${settings.sigma}/${settings.restartStrategy}/${from}/${first ? `${first.x.join(',')}:${first.loss}` : ''}`;
}

/** A remembered state with the caller's run and seed where they did not shape it (no restarts). */
function adoptRecovered(remembered: CmaesState, fresh: CmaesState, settings: CmaesSettings): CmaesState {
  if (settings.restartStrategy !== 'none') return remembered;
  return { ...remembered, run: fresh.run, restarts: { ...remembered.restarts, seed: fresh.restarts.seed } };
}

/** The trials that will not change any more, as points in the unit cube with their loss (failed: +∞). */
function finishedOf(space: SearchSpace, trials: readonly TrialRecord[], goal: 'minimize' | 'maximize'): Finished[] {
  const valued = new Set(completedWithObjective(trials).map((t) => t.name));
  const finished: Finished[] = [];
  for (const t of trials) {
    if (!valued.has(t.name) && !TERMINAL.has(t.status)) continue;
    const x = space.map((p) => binnedToUnit(p, t.assignments[p.name] ?? ''));
    if (!x.every(Number.isFinite)) continue;
    finished.push({ x, loss: valued.has(t.name) ? toLoss(t.objective as number, goal) : Number.POSITIVE_INFINITY });
  }
  return finished;
}

interface Finished {
  readonly x: number[];
  readonly loss: number;
}

/** Tells the current generation λ of its finished trials, then restarts on stagnation per the strategy. */
function tellGeneration(state: CmaesState, finished: readonly Finished[], settings: CmaesSettings): CmaesState {
  // The first λ finished in history order, trials with a value before failed ones.
  const chosen = [...finished.filter((f) => Number.isFinite(f.loss)), ...finished.filter((f) => !Number.isFinite(f.loss))].slice(0, state.popsize);
  const k = constants(state.dims, state.popsize);
  let dist: Distribution;
  if (chosen.some((c) => Number.isFinite(c.loss))) {
    dist = tell(
      state.dist,
      k,
      chosen.map((c) => c.x),
      chosen.map((c) => c.loss),
    );
  } else {
    dist = { ...state.dist, generation: state.dist.generation + 1 };
  }
  const restarts = { ...state.restarts, runEvaluations: state.restarts.runEvaluations + state.popsize };
  const next: CmaesState = { ...state, dist, keys: [], issued: 0, drawn: 0, restarts };
  if (settings.restartStrategy === 'none' || !shouldStop(dist, k, settings.sigma)) return next;
  return restart(next, settings);
}

/** Starts a new run per IPOP or BIPOP: a uniformly drawn mean, the initial step size and a new population size. */
function restart(state: CmaesState, settings: CmaesSettings): CmaesState {
  const r = state.restarts;
  // Restart draws come from a stream of their own, so they do not depend on how many suggestions a call made.
  const rng = createRng(`cmaes-restart/${r.seed}/${r.count}/${r.smallEvaluations + r.largeEvaluations + r.runEvaluations}`);
  const base = defaultPopulationSize(state.dims);
  let popsize: number;
  let sigma = settings.sigma;
  let next: RestartBookkeeping;
  if (settings.restartStrategy === 'ipop') {
    popsize = state.popsize * INC_POPSIZE;
    next = { ...r, count: r.count + 1, largeEvaluations: r.largeEvaluations + r.runEvaluations, runEvaluations: 0 };
  } else {
    const small = r.regime === 'small' ? r.smallEvaluations + r.runEvaluations : r.smallEvaluations;
    const large = r.regime === 'large' ? r.largeEvaluations + r.runEvaluations : r.largeEvaluations;
    if (small < large) {
      // A small-population regime: λ between λ₀ and the last large λ, step size shrunk by up to 100.
      const multiplier = INC_POPSIZE ** r.count;
      popsize = Math.max(base, Math.floor(base * multiplier ** (rng.next() ** 2)));
      sigma = settings.sigma * 10 ** (-2 * rng.next());
      next = { ...r, regime: 'small', smallEvaluations: small, largeEvaluations: large, runEvaluations: 0 };
    } else {
      popsize = base * INC_POPSIZE ** (r.count + 1);
      next = { ...r, count: r.count + 1, regime: 'large', smallEvaluations: small, largeEvaluations: large, runEvaluations: 0 };
    }
  }
  const mean = Array.from({ length: state.dims }, () => rng.next());
  return { ...state, run: newRunId(rng), popsize, dist: initialDistribution(mean, sigma), keys: [], issued: 0, drawn: 0, restarts: next };
}
