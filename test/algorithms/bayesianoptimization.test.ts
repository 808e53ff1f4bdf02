import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bayesianoptimization, MAX_TRAINING_POINTS, type BayesianOptimizationSettings, type BayesianOptimizationState } from '../../algorithms/bayesianoptimization/index.js';
import type { Goal, SettingsContext, Suggestion, TrialRecord } from '../../algorithms/core/algorithm.js';
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

const allTypesObjective = (a: Record<string, string>): number =>
  (Number(a['uniform']) - 1) ** 2 +
  (Math.log10(Number(a['log'])) + 2) ** 2 +
  Math.abs(Number(a['int']) - 4) +
  (a['categorical'] === 'adam' ? 0 : 1) +
  Math.abs(Math.log2(Number(a['discrete'])) - 5) +
  Number(a['stepped']);

const QUADRATIC = space([
  { name: 'x', parameterType: 'double', feasibleSpace: { min: '-5', max: '5' } },
  { name: 'y', parameterType: 'double', feasibleSpace: { min: '-5', max: '5' } },
]);
const quadratic = (a: Record<string, string>): number => (Number(a['x']) - 1.7) ** 2 + 2 * (Number(a['y']) + 0.9) ** 2;

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

function settingsOf(raw: Record<string, string>, s: SearchSpace = ALL_TYPES): BayesianOptimizationSettings {
  const parsed = bayesianoptimization.parseSettings(raw, ctx(s));
  if (isIssues(parsed)) throw new Error(JSON.stringify(parsed));
  return parsed;
}

const asRecord = (s: Suggestion): Record<string, string> => Object.fromEntries(s.assignments.map((a) => [a.name, a.value]));

function done(name: string, assignments: Record<string, string>, objective: number | undefined, status: TrialRecord['status'] = 'succeeded'): TrialRecord {
  return { name, assignments, status, objective, metrics: objective === undefined ? {} : { loss: objective }, labels: {} };
}

/** Drives the algorithm for `trials` trials, `parallel` at a time; the state goes through JSON between calls. */
function drive(s: SearchSpace, raw: Record<string, string>, trials: number, f: (a: Record<string, string>) => number | undefined, opts: { parallel?: number; seed?: string; goal?: Goal } = {}): { history: TrialRecord[]; state: BayesianOptimizationState | undefined; sizes: number[] } {
  const settings = settingsOf(raw, s);
  const history: TrialRecord[] = [];
  const sizes: number[] = [];
  let state: BayesianOptimizationState | undefined;
  for (let call = 0; history.length < trials; call++) {
    const count = Math.min(opts.parallel ?? 1, trials - history.length);
    const res = bayesianoptimization.suggest({ space: s, goal: opts.goal ?? 'minimize', objectiveMetric: 'loss', history, count, state, rng: createRng(`${opts.seed ?? 's'}/${call}`) }, settings);
    const json = JSON.stringify(res.state);
    sizes.push(json.length);
    state = JSON.parse(json) as BayesianOptimizationState;
    expect(res.suggestions).toHaveLength(count);
    for (const sug of res.suggestions) {
      const a = asRecord(sug);
      const v = f(a);
      history.push(done(`t${history.length}`, a, v, v === undefined ? 'failed' : 'succeeded'));
    }
  }
  return { history, state, sizes };
}

const best = (h: readonly TrialRecord[]): number => Math.min(...h.map((t) => t.objective ?? Number.POSITIVE_INFINITY));

describe('bayesianoptimization settings', () => {
  it.each<{ name: string; raw: Record<string, string>; want: BayesianOptimizationSettings }>([
    { name: 'defaults (those of skopt)', raw: {}, want: { nInitialPoints: 10, acqFunc: 'gp_hedge', acqOptimizer: 'auto', randomState: undefined } },
    { name: 'GP named explicitly', raw: { base_estimator: 'GP', acq_func: 'EI', acq_optimizer: 'lbfgs' }, want: { nInitialPoints: 10, acqFunc: 'EI', acqOptimizer: 'lbfgs', randomState: undefined } },
    { name: 'no initial design', raw: { n_initial_points: '0', acq_func: 'LCB', acq_optimizer: 'sampling', random_state: '5' }, want: { nInitialPoints: 0, acqFunc: 'LCB', acqOptimizer: 'sampling', randomState: 5 } },
    { name: 'PI', raw: { acq_func: 'PI' }, want: { nInitialPoints: 10, acqFunc: 'PI', acqOptimizer: 'auto', randomState: undefined } },
  ])('$name', ({ raw, want }) => {
    expect(settingsOf(raw)).toEqual(want);
  });

  it.each<{ name: string; raw: Record<string, string>; issues: Issue[] }>([
    { name: 'a random forest', raw: { base_estimator: 'RF' }, issues: [{ path: path('base_estimator'), message: 'only GP is offered (base_estimator="RF"); remove the setting or set it to GP' }] },
    { name: 'gradient boosting', raw: { base_estimator: 'GBRT' }, issues: [{ path: path('base_estimator'), message: 'only GP is offered (base_estimator="GBRT"); remove the setting or set it to GP' }] },
    { name: 'negative initial points', raw: { n_initial_points: '-1' }, issues: [{ path: path('n_initial_points'), message: 'must be an integer >= 0 (n_initial_points="-1")' }] },
    { name: 'fractional initial points', raw: { n_initial_points: '2.5' }, issues: [{ path: path('n_initial_points'), message: 'must be an integer >= 0 (n_initial_points="2.5")' }] },
    { name: "skopt's per-second EI", raw: { acq_func: 'EIps' }, issues: [{ path: path('acq_func'), message: 'must be one of gp_hedge, EI, PI, LCB (acq_func="EIps")' }] },
    { name: 'unknown optimizer', raw: { acq_optimizer: 'adam' }, issues: [{ path: path('acq_optimizer'), message: 'must be one of auto, sampling, lbfgs (acq_optimizer="adam")' }] },
    {
      name: 'every problem at once',
      raw: { kappa: '2', base_estimator: 'ET', random_state: '-1' },
      issues: [
        { path: path('kappa'), message: 'unknown setting "kappa"; known settings: base_estimator, n_initial_points, acq_func, acq_optimizer, random_state' },
        { path: path('base_estimator'), message: 'only GP is offered (base_estimator="ET"); remove the setting or set it to GP' },
        { path: path('random_state'), message: 'must be a non-negative integer (random_state="-1")' },
      ],
    },
  ])('$name', ({ raw, issues }) => {
    expect(bayesianoptimization.parseSettings(raw, ctx(ALL_TYPES))).toEqual(issues);
  });
});

describe('bayesianoptimization suggestions', () => {
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
        const settings = bayesianoptimization.parseSettings({}, ctx(s));
        if (isIssues(settings)) throw new Error(JSON.stringify(settings));
        const ask = (): ReturnType<typeof bayesianoptimization.suggest> => bayesianoptimization.suggest({ space: s, goal: 'maximize', objectiveMetric: 'loss', history, count, state: undefined, rng: createRng(seed) }, settings);
        const first = ask();
        expect(ask()).toEqual(first);
        expect(first.suggestions).toHaveLength(count);
        for (const sug of first.suggestions) for (const p of s) expect(isFeasible(p, sug.assignments.find((a) => a.name === p.name)?.value ?? ''), p.name).toBe(true);
        expect(JSON.parse(JSON.stringify(first.state))).toEqual(first.state);
      }),
      { numRuns: 40 },
    );
  });

  it.each<{ name: string; raw: Record<string, string>; parallel: number }>([
    { name: 'gp_hedge, one at a time', raw: {}, parallel: 1 },
    { name: 'EI, three at a time', raw: { acq_func: 'EI', n_initial_points: '5' }, parallel: 3 },
    { name: 'LCB by sampling only', raw: { acq_func: 'LCB', acq_optimizer: 'sampling', n_initial_points: '3' }, parallel: 2 },
  ])('$name: every value is in bounds and on its grid, initial design and model alike', ({ raw, parallel }) => {
    const { history } = drive(ALL_TYPES, raw, 24, allTypesObjective, { parallel });
    for (const t of history) for (const p of ALL_TYPES) expect(isFeasible(p, t.assignments[p.name] as string), `${p.name}=${t.assignments[p.name]}`).toBe(true);
    expect(new Set(history.map((t) => JSON.stringify(t.assignments))).size).toBe(history.length);
  });

  it('starts with a stratified Sobol design: the first 8 points fill 8 equal intervals of each coordinate', () => {
    const { history } = drive(QUADRATIC, { n_initial_points: '8' }, 8, quadratic);
    for (const name of ['x', 'y']) {
      const cells = new Set(history.map((t) => Math.floor(((Number(t.assignments[name]) + 5) / 10) * 8)));
      expect(cells.size, name).toBe(8);
    }
  });

  it('is deterministic: the same seed and history give the same suggestions', () => {
    const a = drive(QUADRATIC, { random_state: '4', n_initial_points: '5' }, 14, quadratic, { seed: 'a' }).history;
    const b = drive(QUADRATIC, { random_state: '4', n_initial_points: '5' }, 14, quadratic, { seed: 'a' }).history;
    expect(b).toEqual(a);
  });

  it('finds the minimum of a 2-D quadratic far faster than random search', () => {
    const regrets: number[] = [];
    const randomRegrets: number[] = [];
    for (const seed of ['1', '2', '3']) {
      regrets.push(best(drive(QUADRATIC, { random_state: seed }, 30, quadratic, { seed }).history));
      const rng = createRng(seed);
      randomRegrets.push(Math.min(...Array.from({ length: 30 }, () => quadratic(Object.fromEntries(QUADRATIC.map((p) => [p.name, samplePrior(p, rng)]))))));
    }
    const median = (v: number[]): number => [...v].sort((a, b) => a - b)[1] as number;
    expect(median(regrets)).toBeLessThan(0.01);
    expect(median(regrets)).toBeLessThan(median(randomRegrets) / 20);
  });

  it('maximises as well as it minimises', () => {
    const { history } = drive(QUADRATIC, { acq_func: 'EI' }, 25, (a) => -quadratic(a), { goal: 'maximize' });
    expect(Math.max(...history.map((t) => t.objective ?? Number.NEGATIVE_INFINITY))).toBeGreaterThan(-0.05);
  });

  it('spreads parallel suggestions (kriging believer): distinct points, away from running trials', () => {
    const settings = settingsOf({ n_initial_points: '6', acq_func: 'EI' }, QUADRATIC);
    const { history } = drive(QUADRATIC, { n_initial_points: '6' }, 12, quadratic);
    const res = bayesianoptimization.suggest({ space: QUADRATIC, goal: 'minimize', objectiveMetric: 'loss', history, count: 4, state: undefined, rng: createRng(1) }, settings);
    const points = res.suggestions.map((s) => asRecord(s));
    const dist = (a: Record<string, string>, b: Record<string, string>): number => Math.hypot(Number(a['x']) - Number(b['x']), Number(a['y']) - Number(b['y']));
    for (let i = 0; i < points.length; i++) for (let j = 0; j < i; j++) expect(dist(points[i] as Record<string, string>, points[j] as Record<string, string>)).toBeGreaterThan(1e-3);
    // With the first one running, a fresh request proposes something else.
    const running = [...history, { ...done('r', points[0] as Record<string, string>, undefined), status: 'running' as const }];
    const next = bayesianoptimization.suggest({ space: QUADRATIC, goal: 'minimize', objectiveMetric: 'loss', history: running, count: 1, state: undefined, rng: createRng(1) }, settings);
    expect(dist(asRecord(next.suggestions[0] as Suggestion), points[0] as Record<string, string>)).toBeGreaterThan(1e-3);
  });

  it('leaves failed trials out of the model and keeps going along the design while nothing has a value', () => {
    const allFailed = drive(QUADRATIC, {}, 15, () => undefined);
    expect(allFailed.history.every((t) => t.status === 'failed')).toBe(true);
    expect(new Set(allFailed.history.map((t) => JSON.stringify(t.assignments))).size).toBe(15);
    // Half the space fails: the search still converges in the other half.
    const halfFailed = drive(QUADRATIC, { acq_func: 'EI' }, 30, (a) => (Number(a['x']) > 3 ? undefined : quadratic(a)));
    expect(halfFailed.history.some((t) => t.status === 'failed')).toBe(true);
    expect(best(halfFailed.history)).toBeLessThan(0.05);
  });

  it('does not repeat an assignment of a small finite space while untried ones remain', () => {
    const small = space([
      { name: 'opt', parameterType: 'categorical', feasibleSpace: { list: ['a', 'b', 'c'] } },
      { name: 'n', parameterType: 'int', feasibleSpace: { min: '1', max: '4' } },
    ]);
    const { history } = drive(small, { n_initial_points: '3' }, 12, (a) => Number(a['n']) + (a['opt'] === 'b' ? 0 : 2));
    expect(new Set(history.map((t) => JSON.stringify(t.assignments))).size).toBe(12);
  });

  it('copes with a space of a single assignment: it repeats it once tried', () => {
    const single = space([
      { name: 'opt', parameterType: 'categorical', feasibleSpace: { list: ['adam'] } },
      { name: 'n', parameterType: 'int', feasibleSpace: { min: '3', max: '3' } },
    ]);
    const { history } = drive(single, { n_initial_points: '2' }, 12, () => 1, { parallel: 2 });
    expect(history.every((t) => t.assignments['opt'] === 'adam' && t.assignments['n'] === '3')).toBe(true);
  });

  it.each<{ name: string; state: unknown }>([
    { name: 'not an object', state: [1, 2, 3] },
    { name: 'a kernel with a null and a hedge without proposals', state: { seed: 3, kernel: [0, null, 1], hedge: { gains: [1, 2, 3] } } },
    { name: 'gains of the wrong length', state: { seed: 3, hedge: { gains: [1], proposals: [[0.5, 0.5]] } } },
  ])('ignores a malformed state: $name', ({ state }) => {
    const { history } = drive(QUADRATIC, { n_initial_points: '4' }, 8, quadratic);
    const res = bayesianoptimization.suggest({ space: QUADRATIC, goal: 'minimize', objectiveMetric: 'loss', history, count: 2, state: state as BayesianOptimizationState, rng: createRng(2) }, settingsOf({ n_initial_points: '4' }, QUADRATIC));
    expect(res.suggestions).toHaveLength(2);
    expect(res.state.kernel).toHaveLength(4);
    expect(res.state.hedge?.gains).toEqual([0, 0, 0]);
  });

  it('keeps a bounded state: seed, kernel hyperparameters and the hedge', () => {
    const { state, sizes } = drive(ALL_TYPES, {}, 30, allTypesObjective);
    const dims = 3 + ALL_TYPES.length - 1; // the categorical takes three coordinates
    expect(state?.kernel).toHaveLength(dims + 2);
    expect(state?.hedge?.gains).toHaveLength(3);
    expect(state?.hedge?.proposals.every((p) => p.length === dims)).toBe(true);
    expect(Math.max(...sizes)).toBeLessThan(24 * (dims + 2 + 3 + 3 * dims) + 200);
  });

  it('suggests quickly with 200 trials of history (timing printed, not asserted)', () => {
    const branin = space([
      { name: 'x1', parameterType: 'double', feasibleSpace: { min: '-5', max: '10' } },
      { name: 'x2', parameterType: 'double', feasibleSpace: { min: '0', max: '15' } },
    ]);
    const f = (a: Record<string, string>): number => {
      const x1 = Number(a['x1']);
      const x2 = Number(a['x2']);
      return (x2 - (5.1 / (4 * Math.PI ** 2)) * x1 * x1 + (5 / Math.PI) * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * Math.PI)) * Math.cos(x1) + 10;
    };
    const rng = createRng('history');
    const history = Array.from({ length: MAX_TRAINING_POINTS }, (_, i) => {
      const a = Object.fromEntries(branin.map((p) => [p.name, samplePrior(p, rng)]));
      return done(`t${i}`, a, f(a));
    });
    for (const [label, raw] of [
      ['gp_hedge', {}],
      ['EI', { acq_func: 'EI' }],
    ] as const) {
      const settings = settingsOf(raw, branin);
      let state: BayesianOptimizationState | undefined;
      const times: number[] = [];
      for (let call = 0; call < 4; call++) {
        const t0 = performance.now();
        const res = bayesianoptimization.suggest({ space: branin, goal: 'minimize', objectiveMetric: 'loss', history, count: 1, state, rng: createRng(call) }, settings);
        times.push(performance.now() - t0);
        state = res.state;
        expect(res.suggestions).toHaveLength(1);
      }
      console.log(`bayesianoptimization ${label}, ${history.length} trials: cold ${times[0]?.toFixed(0)} ms, warm ${times.slice(1).map((t) => t.toFixed(0)).join(' / ')} ms`);
    }
  });
});
