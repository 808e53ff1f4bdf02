import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Goal, SettingsContext, Suggestion, TrialRecord } from '../../algorithms/core/algorithm.js';
import { cmaes, GENERATION_LABEL, recoveries, type CmaesSettings, type CmaesState } from '../../algorithms/cmaes/index.js';
import { constants, defaultPopulationSize, initialDistribution, tell } from '../../algorithms/cmaes/strategy.js';
import { isIssues, type Issue } from '../../algorithms/core/issues.js';
import { createRng } from '../../algorithms/core/rng.js';
import { isFeasible, parseSearchSpace, samplePrior, type SearchSpace, type WireParameter } from '../../algorithms/core/space.js';

function space(params: WireParameter[]): SearchSpace {
  const s = parseSearchSpace(params);
  if (isIssues(s)) throw new Error(JSON.stringify(s));
  return s;
}

const ALL_TYPES = space([
  { name: 'uniform', parameterType: 'double', feasibleSpace: { min: '-1', max: '3' } },
  { name: 'log', parameterType: 'double', feasibleSpace: { min: '0.0001', max: '1', distribution: 'logUniform' } },
  { name: 'normal', parameterType: 'double', feasibleSpace: { min: '0', max: '6', distribution: 'normal' } },
  { name: 'lognormal', parameterType: 'double', feasibleSpace: { min: '0.01', max: '100', distribution: 'logNormal' } },
  { name: 'stepped', parameterType: 'double', feasibleSpace: { min: '0.1', max: '0.9', step: '0.2' } },
  { name: 'int', parameterType: 'int', feasibleSpace: { min: '1', max: '9' } },
  { name: 'intlog', parameterType: 'int', feasibleSpace: { min: '1', max: '1024', distribution: 'logUniform' } },
  { name: 'intstep', parameterType: 'int', feasibleSpace: { min: '2', max: '40', step: '4' } },
  { name: 'discrete', parameterType: 'discrete', feasibleSpace: { list: ['16', '32', '64', '128'] } },
  { name: 'categorical', parameterType: 'categorical', feasibleSpace: { list: ['sgd', 'adam', 'rmsprop'] } },
]);

const SPHERE = space(['a', 'b', 'c', 'd', 'e', 'f'].map((name) => ({ name, parameterType: 'double', feasibleSpace: { min: '-5', max: '5' } })));
const sphere = (a: Record<string, string>): number => Object.values(a).reduce((s, v) => s + (Number(v) - 1.3) ** 2, 0);

const ctx = (s: SearchSpace): SettingsContext => ({ space: s, parallelTrialCount: 1, maxTrialCount: undefined });

/** A random wire parameter of any type and distribution, edge cases included (min = max, one-value lists). */
const wireParameter = (name: string): fc.Arbitrary<WireParameter> =>
  fc.oneof(
    fc.tuple(fc.double({ min: -100, max: 100, noNaN: true }), fc.double({ min: 0, max: 100, noNaN: true }), fc.constantFrom('uniform', 'normal')).map(([lo, w, distribution]) => ({ name, parameterType: 'double', feasibleSpace: { min: String(lo), max: String(lo + w), distribution } })),
    fc.tuple(fc.double({ min: 1e-6, max: 10, noNaN: true }), fc.double({ min: 1, max: 1e4, noNaN: true }), fc.constantFrom('logUniform', 'logNormal')).map(([lo, f, distribution]) => ({ name, parameterType: 'double', feasibleSpace: { min: String(lo), max: String(lo * f), distribution } })),
    fc.tuple(fc.constantFrom(0.1, 0.5, 2), fc.integer({ min: 1, max: 10 }), fc.constantFrom(0.1, 0.25, 0.3), fc.constantFrom('uniform', 'logUniform')).map(([lo, n, step, distribution]) => ({ name, parameterType: 'double', feasibleSpace: { min: String(lo), max: String(Number((lo + n * step + step / 3).toFixed(6))), step: String(step), distribution } })),
    fc.tuple(fc.integer({ min: -50, max: 50 }), fc.integer({ min: 0, max: 20 }), fc.integer({ min: 1, max: 5 }), fc.constantFrom('uniform', 'normal')).map(([lo, n, step, distribution]) => ({ name, parameterType: 'int', feasibleSpace: { min: String(lo), max: String(lo + n * step), step: n > 0 ? String(step) : '', distribution } })),
    fc.tuple(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 1000 }), fc.constantFrom('logUniform', 'logNormal')).map(([lo, f, distribution]) => ({ name, parameterType: 'int', feasibleSpace: { min: String(lo), max: String(lo * f), distribution } })),
    fc.uniqueArray(fc.integer({ min: -1000, max: 1000 }), { minLength: 1, maxLength: 6 }).map((v) => ({ name, parameterType: 'discrete', feasibleSpace: { list: v.map(String) } })),
    fc.integer({ min: 1, max: 6 }).map((n) => ({ name, parameterType: 'categorical', feasibleSpace: { list: Array.from({ length: n }, (_, k) => `c${k}`) } })),
  );
const randomSpace = fc.integer({ min: 1, max: 4 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => wireParameter(`p${i}`))));
const path = (n: string): string => `spec.algorithm.algorithmSettings[${n}]`;

function settingsOf(raw: Record<string, string>, s: SearchSpace = ALL_TYPES): CmaesSettings {
  const parsed = cmaes.parseSettings(raw, ctx(s));
  if (isIssues(parsed)) throw new Error(JSON.stringify(parsed));
  return parsed;
}

const asRecord = (s: Suggestion): Record<string, string> => Object.fromEntries(s.assignments.map((a) => [a.name, a.value]));

interface Run {
  history: TrialRecord[];
  state: CmaesState | undefined;
  sizes: number[];
}

/**
 * Drives CMA-ES for `trials` trials, `parallel` at a time; `f` scores an assignment (undefined: the trial failed).
 * The state goes through JSON between calls, as it does over gRPC.
 */
function drive(s: SearchSpace, raw: Record<string, string>, trials: number, f: (a: Record<string, string>) => number | undefined, opts: { parallel?: number; seed?: string; goal?: Goal; dropLabels?: boolean; dropState?: boolean } = {}): Run {
  const settings = settingsOf(raw, s);
  const history: TrialRecord[] = [];
  const sizes: number[] = [];
  let state: CmaesState | undefined;
  for (let call = 0; history.length < trials; call++) {
    const count = Math.min(opts.parallel ?? 1, trials - history.length);
    const res = cmaes.suggest({ space: s, goal: opts.goal ?? 'minimize', objectiveMetric: 'loss', history, count, state, rng: createRng(`${opts.seed ?? 's'}/${call}`) }, settings);
    const json = JSON.stringify(res.state);
    sizes.push(json.length);
    state = opts.dropState ? undefined : (JSON.parse(json) as CmaesState);
    expect(res.suggestions).toHaveLength(count);
    for (const sug of res.suggestions) {
      const a = asRecord(sug);
      const v = f(a);
      history.push({
        name: `t${history.length}`,
        assignments: a,
        status: v === undefined ? 'failed' : 'succeeded',
        objective: v,
        metrics: v === undefined ? {} : { loss: v },
        labels: opts.dropLabels ? {} : { ...(sug.labels ?? {}) },
      });
    }
  }
  return { history, state, sizes };
}

const bestOf = (h: readonly TrialRecord[]): number => Math.min(...h.map((t) => t.objective ?? Number.POSITIVE_INFINITY));

describe('cmaes settings', () => {
  it.each<{ name: string; raw: Record<string, string>; want: CmaesSettings }>([
    { name: 'defaults', raw: {}, want: { sigma: 1 / 6, restartStrategy: 'none', randomState: undefined } },
    { name: 'all set', raw: { sigma: '0.3', restart_strategy: 'bipop', random_state: '7' }, want: { sigma: 0.3, restartStrategy: 'bipop', randomState: 7 } },
    { name: "Katib's Python spelling of none", raw: { restart_strategy: 'None' }, want: { sigma: 1 / 6, restartStrategy: 'none', randomState: undefined } },
    { name: 'ipop, the whole range', raw: { restart_strategy: 'ipop', sigma: '1' }, want: { sigma: 1, restartStrategy: 'ipop', randomState: undefined } },
    { name: "wider than the box, as Katib's own tests ask", raw: { sigma: '2' }, want: { sigma: 2, restartStrategy: 'none', randomState: undefined } },
  ])('$name', ({ raw, want }) => {
    expect(settingsOf(raw)).toEqual(want);
  });

  it.each<{ name: string; raw: Record<string, string>; issues: Issue[] }>([
    { name: 'sigma zero', raw: { sigma: '0' }, issues: [{ path: path('sigma'), message: 'must be a number > 0 (sigma="0")' }] },
    { name: 'sigma infinite', raw: { sigma: 'Infinity' }, issues: [{ path: path('sigma'), message: 'must be a number > 0 (sigma="Infinity")' }] },
    { name: 'sigma not a number', raw: { sigma: 'wide' }, issues: [{ path: path('sigma'), message: 'must be a number > 0 (sigma="wide")' }] },
    { name: 'unknown strategy', raw: { restart_strategy: 'lbfgs' }, issues: [{ path: path('restart_strategy'), message: 'must be one of none, ipop, bipop (restart_strategy="lbfgs")' }] },
    {
      name: 'every problem at once',
      raw: { popsize: '10', sigma: '-1', random_state: 'abc' },
      issues: [
        { path: path('popsize'), message: 'unknown setting "popsize"; known settings: sigma, restart_strategy, random_state' },
        { path: path('sigma'), message: 'must be a number > 0 (sigma="-1")' },
        { path: path('random_state'), message: 'must be a non-negative integer (random_state="abc")' },
      ],
    },
  ])('$name', ({ raw, issues }) => {
    expect(cmaes.parseSettings(raw, ctx(ALL_TYPES))).toEqual(issues);
  });
});

describe('cmaes suggestions', () => {
  it('suggests feasible values, the same twice over, for any space and history (property)', () => {
    fc.assert(
      fc.property(randomSpace, fc.integer({ min: 0, max: 25 }), fc.integer({ min: 1, max: 3 }), fc.string(), (params, trials, count, seed) => {
        const s = space(params);
        const rng = createRng(`history ${seed}`);
        const statuses = ['succeeded', 'succeeded', 'failed', 'running', 'succeeded', 'killed', 'early-stopped'] as const;
        const history: TrialRecord[] = Array.from({ length: trials }, (_, i) => {
          const status = statuses[i % statuses.length] as TrialRecord['status'];
          const objective = status === 'succeeded' || status === 'early-stopped' ? rng.normal() : undefined;
          return { name: `t${i}`, assignments: Object.fromEntries(s.map((p) => [p.name, samplePrior(p, rng)])), status, objective, metrics: {}, labels: {} };
        });
        const settings = cmaes.parseSettings({}, ctx(s));
        if (isIssues(settings)) throw new Error(JSON.stringify(settings));
        const ask = (): ReturnType<typeof cmaes.suggest> => cmaes.suggest({ space: s, goal: 'maximize', objectiveMetric: 'loss', history, count, state: undefined, rng: createRng(seed) }, settings);
        const first = ask();
        expect(ask()).toEqual(first);
        expect(first.suggestions).toHaveLength(count);
        for (const sug of first.suggestions) for (const p of s) expect(isFeasible(p, sug.assignments.find((a) => a.name === p.name)?.value ?? ''), p.name).toBe(true);
        expect(JSON.parse(JSON.stringify(first.state))).toEqual(first.state);
      }),
      { numRuns: 100 },
    );
  });

  it.each([
    { name: 'one at a time', parallel: 1 },
    { name: 'four at a time', parallel: 4 },
    { name: 'a step wider than the box', parallel: 1, sigma: '2' },
  ])('$name: every value is in bounds and on its grid', ({ parallel, sigma }) => {
    const { history } = drive(ALL_TYPES, { sigma: sigma ?? '0.5' }, 120, (a) => Number(a['uniform']) + Number(a['int']), { parallel });
    for (const t of history) for (const p of ALL_TYPES) expect(isFeasible(p, t.assignments[p.name] as string), `${p.name}=${t.assignments[p.name]}`).toBe(true);
  });

  it('is deterministic: same seed and history give the same suggestions', () => {
    const f = (a: Record<string, string>): number => sphere(a);
    const a = drive(SPHERE, { random_state: '3' }, 40, f, { seed: 'same' });
    const b = drive(SPHERE, { random_state: '3' }, 40, f, { seed: 'same' });
    const c = drive(SPHERE, { random_state: '3' }, 40, f, { seed: 'other' });
    expect(b.history).toEqual(a.history);
    expect(c.history.map((t) => t.assignments)).not.toEqual(a.history.map((t) => t.assignments));
  });

  it('gives the same next suggestions from a state that went through JSON as from the original object', () => {
    const { history, state } = drive(SPHERE, {}, 37, sphere);
    const settings = settingsOf({}, SPHERE);
    const roundTripped = JSON.parse(JSON.stringify(state)) as CmaesState;
    const ask = (st: CmaesState | undefined): readonly Suggestion[] => cmaes.suggest({ space: SPHERE, goal: 'minimize', objectiveMetric: 'loss', history, count: 3, state: st, rng: createRng('next') }, settings).suggestions;
    expect(ask(roundTripped)).toEqual(ask(state));
  });

  it('keeps the state bounded: its size does not grow with the number of trials', () => {
    const { sizes, state } = drive(ALL_TYPES, {}, 200, (a) => Number(a['uniform']) ** 2 + Number(a['int']));
    const d = ALL_TYPES.length;
    const at50 = sizes[49] as number;
    const at200 = sizes[199] as number;
    expect(at200).toBeLessThan(1.3 * at50);
    // mean, paths, packed covariance: (3d + d(d+1)/2) numbers of at most ~24 characters, plus 4λ short hashes.
    expect(at200).toBeLessThan(24 * (3 * d + (d * (d + 1)) / 2) + 12 * 4 * (state?.popsize ?? 0) + 600);
    expect(state?.dist.generation).toBeGreaterThan(15);
  });

  it('labels each suggestion with its generation and moves to the next once λ trials have finished', () => {
    const lambda = defaultPopulationSize(SPHERE.length);
    const { history } = drive(SPHERE, {}, 3 * lambda, sphere);
    const labels = history.map((t) => t.labels[GENERATION_LABEL] as string);
    const run = (labels[0] as string).split('-')[0];
    expect(labels).toEqual(Array.from({ length: 3 * lambda }, (_, i) => `${run}-${Math.floor(i / lambda)}`));
  });

  it('answers parallel requests with distinct draws of the current generation, never an empty reply', () => {
    const lambda = defaultPopulationSize(SPHERE.length);
    const settings = settingsOf({}, SPHERE);
    const first = cmaes.suggest({ space: SPHERE, goal: 'minimize', objectiveMetric: 'loss', history: [], count: lambda + 3, state: undefined, rng: createRng(1) }, settings);
    const keys = first.suggestions.map((s) => JSON.stringify(s.assignments));
    expect(new Set(keys).size).toBe(lambda + 3);
    expect(new Set(first.suggestions.map((s) => s.labels?.[GENERATION_LABEL])).size).toBe(1);
    // Nothing has finished: a further request still gets draws from generation 0.
    const running: TrialRecord[] = first.suggestions.map((s, i) => ({ name: `r${i}`, assignments: asRecord(s), status: 'running', objective: undefined, metrics: {}, labels: { ...(s.labels ?? {}) } }));
    const second = cmaes.suggest({ space: SPHERE, goal: 'minimize', objectiveMetric: 'loss', history: running, count: 2, state: first.state, rng: createRng(2) }, settings);
    expect(second.suggestions).toHaveLength(2);
    expect(second.suggestions.map((s) => s.labels?.[GENERATION_LABEL])).toEqual([first.suggestions[0]?.labels?.[GENERATION_LABEL], first.suggestions[0]?.labels?.[GENERATION_LABEL]]);
    expect(second.state.dist.generation).toBe(0);
  });

  it.each([
    { name: 'all λ came back labelled, one still running: an unlabelled copy of another is no member', dropLast: false, generation: 0 },
    { name: 'the last came back finished without its label: it is matched by its hash', dropLast: true, generation: 1 },
  ])('matches unlabelled trials by hash only while some suggestion lacks its label: $name', ({ dropLast, generation }) => {
    const lambda = defaultPopulationSize(SPHERE.length);
    const settings = settingsOf({}, SPHERE);
    const first = cmaes.suggest({ space: SPHERE, goal: 'minimize', objectiveMetric: 'loss', history: [], count: lambda, state: undefined, rng: createRng(3) }, settings);
    const trial = (s: Suggestion, i: number, status: TrialRecord['status'], labels: Record<string, string>): TrialRecord => {
      const v = status === 'succeeded' ? sphere(asRecord(s)) : undefined;
      return { name: `t${i}`, assignments: asRecord(s), status, objective: v, metrics: v === undefined ? {} : { loss: v }, labels };
    };
    const history = first.suggestions.map((s, i) => {
      const last = i === lambda - 1;
      return trial(s, i, last && !dropLast ? 'running' : 'succeeded', last && dropLast ? {} : { ...(s.labels ?? {}) });
    });
    if (!dropLast) history.push(trial(first.suggestions[0] as Suggestion, lambda, 'succeeded', {}));
    const next = cmaes.suggest({ space: SPHERE, goal: 'minimize', objectiveMetric: 'loss', history, count: 1, state: first.state, rng: createRng(4) }, settings);
    expect(next.state.dist.generation).toBe(generation);
  });

  it('finds the generation in a history in any order, reading from the newest end only as far as it must', () => {
    const lambda = defaultPopulationSize(SPHERE.length);
    const settings = settingsOf({}, SPHERE);
    // Two generations in creation order; the second has finished, and the state counts its λ suggestions.
    const { history, state } = drive(SPHERE, {}, 2 * lambda, sphere);
    expect(state?.issued).toBe(lambda);
    // A state written before the count was kept: the whole history is read.
    const older: CmaesState = { ...(state as CmaesState) };
    delete (older as { issued?: number }).issued;
    const rng = createRng('shuffle');
    const shuffled = [...history];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = rng.int(0, i);
      [shuffled[i], shuffled[j]] = [shuffled[j] as TrialRecord, shuffled[i] as TrialRecord];
    }
    const reads = { count: 0 };
    const counted = (h: readonly TrialRecord[]): readonly TrialRecord[] =>
      new Proxy(h, {
        get(target, key, receiver) {
          if (typeof key === 'string' && /^\d+$/.test(key)) reads.count++;
          return Reflect.get(target, key, receiver) as unknown;
        },
      });
    const ask = (h: readonly TrialRecord[], s: CmaesState) => {
      reads.count = 0;
      const res = cmaes.suggest({ space: SPHERE, goal: 'minimize', objectiveMetric: 'loss', history: counted(h), count: 2, state: s, rng: createRng(8) }, settings);
      return { res, reads: reads.count };
    };
    for (const h of [history, [...history].reverse(), shuffled]) {
      const withCount = ask(h, state as CmaesState);
      expect(withCount.res.state.dist.generation).toBe(2);
      expect(withCount.res.state.issued).toBe(2);
      const whole = ask(h, older);
      expect(whole.reads).toBeGreaterThanOrEqual(2 * lambda);
      expect(withCount.res).toEqual(whole.res);
    }
    // In creation order the generation is the newest λ trials: the older one is not read.
    expect(ask(history, state as CmaesState).reads).toBeLessThanOrEqual(lambda);
    // Mid-generation, a state without the count keeps none until the generation is told: some of its suggestions
    // were handed out uncounted.
    const partial = history.slice(0, lambda + 3);
    const midway = ask(partial, older);
    expect(midway.res.state.dist.generation).toBe(1);
    expect(midway.res.state.issued).toBeUndefined();
    expect(midway.reads).toBeGreaterThanOrEqual(partial.length);
  });

  it('draws its mutations from a quasi-random sequence: the state counts the points used, a tell resets the count', () => {
    const lambda = defaultPopulationSize(SPHERE.length);
    const settings = settingsOf({}, SPHERE);
    const first = cmaes.suggest({ space: SPHERE, goal: 'minimize', objectiveMetric: 'loss', history: [], count: 3, state: undefined, rng: createRng(5) }, settings);
    expect(first.state.drawn).toBeGreaterThanOrEqual(3);
    // The same state gives the same draws whatever the call's random stream: mutations do not come from it.
    const again = cmaes.suggest({ space: SPHERE, goal: 'minimize', objectiveMetric: 'loss', history: [], count: 2, state: first.state, rng: createRng(6) }, settings);
    const other = cmaes.suggest({ space: SPHERE, goal: 'minimize', objectiveMetric: 'loss', history: [], count: 2, state: first.state, rng: createRng(7) }, settings);
    expect(other.suggestions).toEqual(again.suggestions);
    expect(again.suggestions.map(asRecord)).not.toContainEqual(asRecord(first.suggestions[0] as Suggestion));
    const { state } = drive(SPHERE, {}, lambda + 1, sphere);
    expect(state?.dist.generation).toBe(1);
    expect(state?.drawn).toBeGreaterThanOrEqual(1);
    expect(state?.drawn).toBeLessThan(lambda);
  });

  it('converges on a 6-D sphere (regret below 1e-2 after 400 trials)', () => {
    const { history } = drive(SPHERE, {}, 400, sphere);
    expect(bestOf(history)).toBeLessThan(1e-2);
    expect(bestOf(history.slice(0, 50))).toBeGreaterThan(bestOf(history));
  });

  it('maximises as well as it minimises', () => {
    const { history } = drive(SPHERE, {}, 300, (a) => -sphere(a), { goal: 'maximize' });
    expect(Math.max(...history.map((t) => t.objective ?? Number.NEGATIVE_INFINITY))).toBeGreaterThan(-0.05);
  });

  it('ranks failed trials last: the search leaves a region where trials fail', () => {
    // Minimum at a = 4.5, but every trial with a > 2 fails: the best reachable value is at the edge a = 2.
    const f = (a: Record<string, string>): number | undefined => (Number(a['a']) > 2 ? undefined : (Number(a['a']) - 4.5) ** 2 + sphere({ ...a, a: '1.3' }));
    const { history, state } = drive(SPHERE, {}, 300, f);
    expect(history.some((t) => t.status === 'failed')).toBe(true);
    expect(state?.dist.generation).toBeGreaterThan(20);
    expect(bestOf(history)).toBeLessThan(6.25 + 0.5);
    // The mean ends near the boundary of the failing region (a = 2 is 0.7 in the unit cube).
    expect(state?.dist.mean[0]).toBeGreaterThan(0.6);
    expect(state?.dist.mean[0]).toBeLessThan(0.75);
  });

  it('moves past a generation in which every trial failed, leaving the distribution unchanged', () => {
    const lambda = defaultPopulationSize(SPHERE.length);
    const { state } = drive(SPHERE, {}, lambda, () => undefined);
    const { state: after } = drive(SPHERE, {}, lambda + 1, () => undefined);
    expect(state?.dist.generation).toBe(0);
    expect(after?.dist.generation).toBe(1);
    expect(after?.dist.mean).toEqual(state?.dist.mean);
    expect(after?.dist.sigma).toBe(state?.dist.sigma);
  });

  it('matches trials by the assignment hashes in its state when the labels are dropped', () => {
    const lambda = defaultPopulationSize(SPHERE.length);
    const { state } = drive(SPHERE, {}, 3 * lambda + 1, sphere, { dropLabels: true });
    expect(state?.dist.generation).toBe(3);
    expect(state?.keys.length).toBeLessThanOrEqual(4 * lambda);
  });

  it.each([
    { name: 'none keeps its run', strategy: 'none' },
    { name: 'ipop doubles the population', strategy: 'ipop' },
    { name: 'bipop starts a small-population regime', strategy: 'bipop' },
  ])('$name when the search stagnates (a flat objective)', ({ strategy }) => {
    const flat = space([
      { name: 'x', parameterType: 'double', feasibleSpace: { min: '0', max: '1' } },
      { name: 'y', parameterType: 'double', feasibleSpace: { min: '0', max: '1' } },
    ]);
    const lambda = defaultPopulationSize(2);
    const { history, state } = drive(flat, { restart_strategy: strategy, random_state: '1' }, 40 * lambda, () => 1);
    const runs = new Set(history.map((t) => (t.labels[GENERATION_LABEL] as string).split('-')[0]));
    if (strategy === 'none') {
      expect(runs.size).toBe(1);
      expect(state?.popsize).toBe(lambda);
    } else if (strategy === 'ipop') {
      expect(runs.size).toBeGreaterThan(1);
      expect(state?.popsize).toBe(2 * lambda);
    } else {
      expect(runs.size).toBeGreaterThan(1);
      expect(state?.restarts.regime).toBe('small');
      expect(state?.dist.sigma).toBeLessThanOrEqual(1 / 6);
    }
  });

  it.each<{ name: string; corrupt: (s: CmaesState) => unknown }>([
    { name: 'not an object', corrupt: () => 42 },
    { name: 'a covariance of the wrong size', corrupt: (s) => ({ ...s, dist: { ...s.dist, cov: s.dist.cov.slice(1) } }) },
    { name: 'a null in the mean (NaN after JSON)', corrupt: (s) => ({ ...s, dist: { ...s.dist, mean: [null, ...s.dist.mean.slice(1)] } }) },
    { name: 'a negative step size', corrupt: (s) => ({ ...s, dist: { ...s.dist, sigma: -1 } }) },
    { name: 'unknown restart regime', corrupt: (s) => ({ ...s, restarts: { ...s.restarts, regime: 'medium' } }) },
  ])('recomputes the run from the trials when the state is malformed: $name', ({ corrupt }) => {
    const lambda = defaultPopulationSize(SPHERE.length);
    const { state, history } = drive(SPHERE, {}, 30, sphere);
    const bad = corrupt(state as CmaesState) as CmaesState;
    const res = cmaes.suggest({ space: SPHERE, goal: 'minimize', objectiveMetric: 'loss', history, count: 2, state: bad, rng: createRng(4) }, settingsOf({}, SPHERE));
    expect(res.state.dist.generation).toBe(Math.floor(30 / lambda));
    expect(res.state.dist.mean).toEqual(state?.dist.mean);
    expect(res.state.drawn).toBe(30 % lambda + 2);
    expect(res.suggestions).toHaveLength(2);
  });

  it('recomputes its state from the trials for a caller that never sends it back, and still converges', () => {
    const lambda = defaultPopulationSize(SPHERE.length);
    const kept = drive(SPHERE, {}, 400, sphere);
    const dropped = drive(SPHERE, {}, 400, sphere, { dropState: true, dropLabels: true });
    expect(bestOf(dropped.history)).toBeLessThan(1e-2);
    // One trial at a time, the generations are consecutive groups of λ: the replay tells the same ones.
    const last = cmaes.suggest({ space: SPHERE, goal: 'minimize', objectiveMetric: 'loss', history: dropped.history, count: 1, state: undefined, rng: createRng(1) }, settingsOf({}, SPHERE));
    expect(last.state.dist.generation).toBe(Math.floor(400 / lambda));
    expect(kept.state?.dist.generation).toBe(Math.floor(400 / lambda));
  });

  it('continues a remembered replay for a stateless caller, with the same result as a replay from scratch (property)', () => {
    const strategies = ['none', 'ipop', 'bipop'] as const;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.constantFrom(...strategies), fc.constantFrom(undefined, '7'), fc.integer({ min: 1, max: 3 }), (seed, restart, randomState, parallel) => {
        const raw: Record<string, string> = { restart_strategy: restart, sigma: '0.4', ...(randomState ? { random_state: randomState } : {}) };
        const settings = settingsOf(raw, SPHERE);
        const history: TrialRecord[] = [];
        recoveries.clear();
        for (let call = 0; history.length < 90; call++) {
          const req = { space: SPHERE, goal: 'minimize' as const, objectiveMetric: 'loss', history: [...history], count: parallel, state: undefined };
          // With the replays the earlier calls left, then from scratch (which leaves the memo as the first would).
          const remembered = cmaes.suggest({ ...req, rng: createRng(`${seed}/${call}`) }, settings);
          recoveries.clear();
          const scratch = cmaes.suggest({ ...req, rng: createRng(`${seed}/${call}`) }, settings);
          expect(remembered).toEqual(scratch);
          for (const sug of remembered.suggestions) {
            const a = asRecord(sug);
            // Every fifth trial fails: failures are told too.
            const v = history.length % 5 === 4 ? undefined : sphere(a);
            history.push({ name: `t${history.length}`, assignments: a, status: v === undefined ? 'failed' : 'succeeded', objective: v, metrics: v === undefined ? {} : { loss: v }, labels: {} });
          }
        }
      }),
      { numRuns: 12 },
    );
  });

  it('replays from scratch when a remembered trial changed, and keeps at most 16 replays', () => {
    const settings = settingsOf({ random_state: '3' }, SPHERE);
    const { history } = drive(SPHERE, { random_state: '3' }, 60, sphere, { dropState: true, dropLabels: true });
    const ask = (h: TrialRecord[]) => cmaes.suggest({ space: SPHERE, goal: 'minimize', objectiveMetric: 'loss', history: h, count: 1, state: undefined, rng: createRng(9) }, settings);
    recoveries.clear();
    ask(history);
    // Two trials of one generation (λ = 9: trials 18-26) trade values, which reorders that generation.
    const value = (i: number): number => history[i]?.objective ?? Number.NaN;
    const changed = history.map((t, i) => (i === 18 || i === 19 ? { ...t, objective: value(37 - i), metrics: { loss: value(37 - i) } } : t));
    expect(value(18)).not.toBe(value(19));
    const afterMemo = ask(changed);
    recoveries.clear();
    expect(afterMemo).toEqual(ask(changed));
    // The same two trade points instead, keeping their values.
    ask(history);
    const moved = history.map((t, i) => (i === 18 || i === 19 ? { ...t, assignments: (history[37 - i] as TrialRecord).assignments } : t));
    const afterMemoMoved = ask(moved);
    recoveries.clear();
    expect(afterMemoMoved).toEqual(ask(moved));
    // Experiments of the same shape, each its own entry, the oldest evicted past 16.
    recoveries.clear();
    for (let e = 0; e < 20; e++) ask(history.map((t) => ({ ...t, objective: (t.objective ?? 0) + e, metrics: { loss: (t.objective ?? 0) + e } })));
    expect(recoveries.size).toBe(16);
  });

  it('starts afresh from a state of another space', () => {
    const { state } = drive(SPHERE, {}, 20, sphere);
    const res = cmaes.suggest({ space: ALL_TYPES, goal: 'minimize', objectiveMetric: 'loss', history: [], count: 2, state, rng: createRng(4) }, settingsOf({}));
    expect(res.state.dims).toBe(ALL_TYPES.length);
    expect(res.suggestions).toHaveLength(2);
  });
});

describe('cmaes update (tutorial)', () => {
  it('moves the mean downhill and widens the step on a linear slope', () => {
    const d = 4;
    const k = constants(d, defaultPopulationSize(d));
    let dist = initialDistribution([0.5, 0.5, 0.5, 0.5], 0.1);
    const rng = createRng(9);
    for (let g = 0; g < 5; g++) {
      const points = Array.from({ length: k.lambda }, () => dist.mean.map((m) => m + dist.sigma * rng.normal()));
      dist = tell(
        dist,
        k,
        points,
        points.map((p) => p[0] as number),
      );
    }
    expect(dist.mean[0]).toBeLessThan(0.3);
    expect(dist.sigma).toBeGreaterThan(0.1);
    expect(dist.generation).toBe(5);
  });

  it('has the weights of the tutorial: positive ones sum to 1, λ - μ negative ones', () => {
    const k = constants(6, 9);
    expect(k.mu).toBe(4);
    expect(k.weights.slice(0, 4).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(k.weights.slice(4).every((w) => w <= 0)).toBe(true);
    expect(k.muEff).toBeGreaterThan(2);
    expect(k.muEff).toBeLessThan(4);
  });
});
