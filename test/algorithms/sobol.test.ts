import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SettingsContext, TrialRecord } from '../../algorithms/core/algorithm.js';
import { isIssues, type Issue } from '../../algorithms/core/issues.js';
import { createRng } from '../../algorithms/core/rng.js';
import { isFeasible, parseSearchSpace, samplePrior, type SearchSpace, type WireParameter } from '../../algorithms/core/space.js';
import { sobol, valueFromUniform, type SobolSettings, type SobolState } from '../../algorithms/sobol/index.js';
import { SOBOL_MAX_DIMENSIONS, sobolPoint } from '../../algorithms/sobol/sequence.js';

function space(params: WireParameter[]): SearchSpace {
  const s = parseSearchSpace(params);
  if (isIssues(s)) throw new Error(JSON.stringify(s));
  return s;
}

/** Every parameter type and distribution the wire format allows. */
const ALL_TYPES = space([
  { name: 'uniform', parameterType: 'double', feasibleSpace: { min: '-1', max: '3' } },
  { name: 'log', parameterType: 'double', feasibleSpace: { min: '0.0001', max: '1', distribution: 'logUniform' } },
  { name: 'normal', parameterType: 'double', feasibleSpace: { min: '0', max: '6', distribution: 'normal' } },
  { name: 'lognormal', parameterType: 'double', feasibleSpace: { min: '0.01', max: '100', distribution: 'logNormal' } },
  { name: 'stepped', parameterType: 'double', feasibleSpace: { min: '0.1', max: '0.9', step: '0.2' } },
  { name: 'int', parameterType: 'int', feasibleSpace: { min: '1', max: '9' } },
  { name: 'intlog', parameterType: 'int', feasibleSpace: { min: '1', max: '1024', distribution: 'logUniform' } },
  { name: 'intstep', parameterType: 'int', feasibleSpace: { min: '2', max: '40', step: '4' } },
  { name: 'intnormal', parameterType: 'int', feasibleSpace: { min: '0', max: '30', distribution: 'normal' } },
  { name: 'discrete', parameterType: 'discrete', feasibleSpace: { list: ['16', '32', '64', '128'] } },
  { name: 'categorical', parameterType: 'categorical', feasibleSpace: { list: ['sgd', 'adam', 'rmsprop'] } },
]);

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

function settingsOf(raw: Record<string, string>, s: SearchSpace = ALL_TYPES): SobolSettings {
  const parsed = sobol.parseSettings(raw, ctx(s));
  if (isIssues(parsed)) throw new Error(JSON.stringify(parsed));
  return parsed;
}

const path = (n: string): string => `spec.algorithm.algorithmSettings[${n}]`;

function trial(name: string, assignments: Record<string, string>, status: TrialRecord['status'] = 'succeeded', objective = 1): TrialRecord {
  return { name, assignments, status, objective: status === 'succeeded' ? objective : undefined, metrics: {}, labels: {} };
}

/** Runs `rounds` calls of `count` suggestions each, feeding every suggestion back as a finished trial. */
function drive(s: SearchSpace, raw: Record<string, string>, rounds: number, count: number, seed = 'x'): { history: TrialRecord[]; state: SobolState | undefined } {
  const settings = settingsOf(raw, s);
  const history: TrialRecord[] = [];
  let state: SobolState | undefined;
  for (let r = 0; r < rounds; r++) {
    const res = sobol.suggest({ space: s, goal: 'minimize', objectiveMetric: 'loss', history, count, state, rng: createRng(`${seed}/${r}`) }, settings);
    state = JSON.parse(JSON.stringify(res.state)) as SobolState;
    for (const sug of res.suggestions) history.push(trial(`t${history.length}`, Object.fromEntries(sug.assignments.map((a) => [a.name, a.value]))));
  }
  return { history, state };
}

describe('sobol sequence', () => {
  it('matches the classical sequence (Joe & Kuo) for the first points', () => {
    const expected = [
      [0, 0, 0],
      [0.5, 0.5, 0.5],
      [0.75, 0.25, 0.25],
      [0.25, 0.75, 0.75],
      [0.375, 0.375, 0.625],
      [0.875, 0.875, 0.125],
      [0.625, 0.125, 0.875],
      [0.125, 0.625, 0.375],
    ];
    expected.forEach((p, i) => expect(sobolPoint(i, 3)).toEqual(p));
  });

  it('supports at least 40 dimensions (the embedded Joe & Kuo table has 1024)', () => {
    expect(SOBOL_MAX_DIMENSIONS).toBe(1024);
    expect(sobolPoint(5, SOBOL_MAX_DIMENSIONS)).toHaveLength(1024);
    expect(() => sobolPoint(0, SOBOL_MAX_DIMENSIONS + 1)).toThrow(/1025 dimensions exceed the 1024 supported/);
  });

  it.each([
    { name: 'plain', seed: undefined },
    { name: 'scrambled, seed 1', seed: 1 },
    { name: 'scrambled, seed 987654321', seed: 987654321 },
  ])('$name: the first 2^m points put exactly one point in each of 2^m equal intervals of every coordinate', ({ seed }) => {
    const m = 7;
    const n = 2 ** m;
    const dims = [0, 1, 2, 10, 39, 40, 200, 1023];
    const points = Array.from({ length: n }, (_, i) => sobolPoint(i, 1024, seed));
    for (const d of dims) {
      const cells = new Set(points.map((p) => Math.floor((p[d] as number) * n)));
      expect(cells.size, `dimension ${d + 1}`).toBe(n);
    }
    expect(points.every((p) => p.every((v) => v >= 0 && v < 1))).toBe(true);
  });

  it('gives different sequences for different seeds and the plain one without a seed', () => {
    expect(sobolPoint(3, 4, 1)).not.toEqual(sobolPoint(3, 4, 2));
    expect(sobolPoint(3, 4, 1)).toEqual(sobolPoint(3, 4, 1));
    expect(sobolPoint(0, 4, 1)).not.toEqual([0, 0, 0, 0]);
  });
});

describe('sobol settings', () => {
  it.each<{ name: string; raw: Record<string, string>; want: SobolSettings }>([
    { name: 'defaults', raw: {}, want: { scrambled: true, randomState: undefined } },
    { name: 'plain sequence', raw: { scrambled: 'false' }, want: { scrambled: false, randomState: undefined } },
    { name: 'seeded, any case', raw: { scrambled: 'TRUE', random_state: '42' }, want: { scrambled: true, randomState: 42 } },
  ])('$name', ({ raw, want }) => {
    expect(settingsOf(raw)).toEqual(want);
  });

  it.each<{ name: string; raw: Record<string, string>; issues: Issue[] }>([
    { name: 'scrambled not a boolean', raw: { scrambled: 'yes' }, issues: [{ path: path('scrambled'), message: 'must be true or false (scrambled="yes")' }] },
    { name: 'negative seed', raw: { random_state: '-3' }, issues: [{ path: path('random_state'), message: 'must be a non-negative integer (random_state="-3")' }] },
    { name: 'fractional seed', raw: { random_state: '1.5' }, issues: [{ path: path('random_state'), message: 'must be a non-negative integer (random_state="1.5")' }] },
    {
      name: 'unknown setting and a bad value together',
      raw: { scramble: 'true', scrambled: '1' },
      issues: [
        { path: path('scramble'), message: 'unknown setting "scramble"; known settings: scrambled, random_state' },
        { path: path('scrambled'), message: 'must be true or false (scrambled="1")' },
      ],
    },
  ])('$name', ({ raw, issues }) => {
    expect(sobol.parseSettings(raw, ctx(ALL_TYPES))).toEqual(issues);
  });

  it('rejects more parameters than the direction numbers cover', () => {
    const wide = space(Array.from({ length: 1025 }, (_, i) => ({ name: `p${i}`, parameterType: 'double', feasibleSpace: { min: '0', max: '1' } })));
    expect(sobol.parseSettings({}, ctx(wide))).toEqual([{ path: 'spec.parameters', message: 'sobol supports at most 1024 parameters (got 1025); use random search' }]);
  });
});

describe('sobol suggestions', () => {
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
        const settings = sobol.parseSettings({}, ctx(s));
        if (isIssues(settings)) throw new Error(JSON.stringify(settings));
        const ask = (): ReturnType<typeof sobol.suggest> => sobol.suggest({ space: s, goal: 'maximize', objectiveMetric: 'loss', history, count, state: undefined, rng: createRng(seed) }, settings);
        const first = ask();
        expect(ask()).toEqual(first);
        expect(first.suggestions).toHaveLength(count);
        for (const sug of first.suggestions) for (const p of s) expect(isFeasible(p, sug.assignments.find((a) => a.name === p.name)?.value ?? ''), p.name).toBe(true);
        expect(JSON.parse(JSON.stringify(first.state))).toEqual(first.state);
      }),
      { numRuns: 100 },
    );
  });

  it.each<{ name: string; raw: Record<string, string>; rounds: number; count: number }>([
    { name: 'scrambled, one at a time', raw: {}, rounds: 200, count: 1 },
    { name: 'plain, five at a time', raw: { scrambled: 'false' }, rounds: 40, count: 5 },
  ])('$name: every value is in bounds and on its grid', ({ raw, rounds, count }) => {
    const { history } = drive(ALL_TYPES, raw, rounds, count);
    expect(history).toHaveLength(rounds * count);
    for (const t of history) for (const p of ALL_TYPES) expect(isFeasible(p, t.assignments[p.name] as string), `${p.name}=${t.assignments[p.name]}`).toBe(true);
  });

  it('gives every value of a finite parameter an equal share', () => {
    const { history } = drive(ALL_TYPES, { random_state: '3' }, 128, 1);
    const counts = (name: string): number[] => Object.values(history.reduce<Record<string, number>>((c, t) => ({ ...c, [t.assignments[name] as string]: (c[t.assignments[name] as string] ?? 0) + 1 }), {}));
    expect(counts('discrete')).toEqual([32, 32, 32, 32]);
    expect(counts('int')).toHaveLength(9);
    for (const c of counts('int')) expect(Math.abs(c - 128 / 9)).toBeLessThanOrEqual(1);
    for (const c of counts('categorical')) expect(Math.abs(c - 128 / 3)).toBeLessThanOrEqual(1);
  });

  it('follows a normal prior: most values near the centre, none outside the bounds', () => {
    const { history } = drive(ALL_TYPES, { random_state: '5' }, 256, 1);
    const values = history.map((t) => Number(t.assignments['normal']));
    const central = values.filter((v) => v >= 2 && v <= 4).length / values.length;
    // ±1 standard deviation of a normal truncated at ±3: 68.4% (a uniform prior would give 33%).
    expect(central).toBeGreaterThan(0.6);
    expect(central).toBeLessThan(0.76);
  });

  it('maps the unit interval onto equal-width bins and the normal quantile', () => {
    const [, , normal, , , int, , , , discrete] = ALL_TYPES;
    expect(['0', '0.24', '0.25', '0.99'].map((u) => valueFromUniform(discrete!, Number(u)))).toEqual(['16', '16', '32', '128']);
    expect(valueFromUniform(int!, 0)).toBe('1');
    expect(valueFromUniform(int!, 0.999)).toBe('9');
    expect(Number(valueFromUniform(normal!, 0.5))).toBeCloseTo(3, 12);
    expect(Number(valueFromUniform(normal!, 0))).toBeCloseTo(0, 9);
  });

  it('is deterministic: the same seed gives the same suggestions, another seed others', () => {
    const a = drive(ALL_TYPES, { random_state: '11' }, 20, 2).history;
    const b = drive(ALL_TYPES, { random_state: '11' }, 20, 2, 'another rng').history;
    const c = drive(ALL_TYPES, { random_state: '12' }, 20, 2).history;
    expect(b.map((t) => t.assignments)).toEqual(a.map((t) => t.assignments));
    expect(c.map((t) => t.assignments)).not.toEqual(a.map((t) => t.assignments));
  });

  it('keeps the scrambling seed in the state when none is set, so later calls continue the same sequence', () => {
    const first = drive(ALL_TYPES, {}, 6, 1, 'one').history;
    const second = drive(ALL_TYPES, {}, 6, 1, 'two').history;
    expect(second.slice(1).map((t) => t.assignments)).not.toEqual(first.slice(1).map((t) => t.assignments));
    // Replaying with the first run's state from call 3 gives the first run's later points.
    const settings = settingsOf({});
    const { state } = drive(ALL_TYPES, {}, 3, 1, 'one');
    const res = sobol.suggest({ space: ALL_TYPES, goal: 'minimize', objectiveMetric: 'loss', history: first.slice(0, 3), count: 3, state, rng: createRng('unrelated') }, settings);
    expect(res.suggestions.map((s) => Object.fromEntries(s.assignments.map((a) => [a.name, a.value])))).toEqual(first.slice(3).map((t) => t.assignments));
  });

  it('keeps a bounded state: the next index and the seed', () => {
    const { state } = drive(ALL_TYPES, { random_state: '1' }, 50, 4);
    expect(state).toEqual({ next: 200, seed: 1 });
    expect(drive(ALL_TYPES, { scrambled: 'false' }, 3, 1).state).toEqual({ next: 3 });
  });

  it.each<{ name: string; state: unknown; want: SobolState }>([
    { name: 'not an object', state: 'garbage', want: { next: 2, seed: 9 } },
    { name: 'a negative index', state: { next: -4, seed: 9 }, want: { next: 2, seed: 9 } },
    { name: 'a fractional index and a string seed', state: { next: 1.5, seed: '9' }, want: { next: 2, seed: 9 } },
  ])('ignores a malformed state field: $name', ({ state, want }) => {
    const settings = settingsOf({ random_state: '9' });
    const res = sobol.suggest({ space: ALL_TYPES, goal: 'minimize', objectiveMetric: 'loss', history: [], count: 2, state: state as SobolState, rng: createRng(1) }, settings);
    expect(res.state).toEqual(want);
  });

  it('resumes after as many points as there are trials when the state is lost', () => {
    const settings = settingsOf({ random_state: '9' });
    const { history } = drive(ALL_TYPES, { random_state: '9' }, 10, 1);
    const res = sobol.suggest({ space: ALL_TYPES, goal: 'minimize', objectiveMetric: 'loss', history: history.slice(0, 7), count: 3, state: undefined, rng: createRng('z') }, settings);
    expect(res.suggestions.map((s) => Object.fromEntries(s.assignments.map((a) => [a.name, a.value])))).toEqual(history.slice(7).map((t) => t.assignments));
    expect(res.state).toEqual({ next: 10, seed: 9 });
  });

  it('skips points already tried in a finite space and repeats only once every assignment has been tried', () => {
    const small = space([
      { name: 'a', parameterType: 'categorical', feasibleSpace: { list: ['x', 'y', 'z'] } },
      { name: 'b', parameterType: 'int', feasibleSpace: { min: '0', max: '1' } },
    ]);
    const { history } = drive(small, { random_state: '2' }, 8, 1);
    const keys = history.map((t) => `${t.assignments['a']}/${t.assignments['b']}`);
    expect(new Set(keys.slice(0, 6)).size).toBe(6);
    expect(keys).toHaveLength(8);
  });
});
