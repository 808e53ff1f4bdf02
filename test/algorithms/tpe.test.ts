import { describe, expect, it } from 'vitest';
import type { AnyAlgorithm, Goal, SettingsContext, SuggestResult, TrialRecord, TrialState } from '../../algorithms/core/algorithm.js';
import { isIssues } from '../../algorithms/core/issues.js';
import { createRng } from '../../algorithms/core/rng.js';
import { parseSearchSpace, toUnit, type SearchSpace, type WireParameter } from '../../algorithms/core/space.js';
import { ALGORITHMS } from '../../algorithms/index.js';
import { random, sampleAssignment } from '../../algorithms/random/index.js';
import { sobolAssignment } from '../../algorithms/sobol/index.js';
import { NEAR_DUPLICATE, type TpeState } from '../../algorithms/tpe/sampler.js';
import { MULTIVARIATE_TPE_DEFAULTS, multivariateTpe, tpe, TPE_DEFAULTS } from '../../algorithms/tpe/index.js';
import { evaluate, loadProblems, type Problem } from '../../benchmarks/common/problems.js';

function space(params: WireParameter[]): SearchSpace {
  const s = parseSearchSpace(params);
  if (isIssues(s)) throw new Error(JSON.stringify(s));
  return s;
}

const BRANIN_SPACE = space([
  { name: 'x', parameterType: 'double', feasibleSpace: { min: '-5', max: '10' } },
  { name: 'y', parameterType: 'double', feasibleSpace: { min: '0', max: '15' } },
]);

/** Branin-Hoo; global minimum 0.397887 at three points. */
function branin(x: number, y: number): number {
  const b = 5.1 / (4 * Math.PI ** 2);
  const c = 5 / Math.PI;
  const t = 1 / (8 * Math.PI);
  return (y - b * x * x + c * x - 6) ** 2 + 10 * (1 - t) * Math.cos(x) + 10;
}

const MIXED = space([
  { name: 'lr', parameterType: 'double', feasibleSpace: { min: '0.0001', max: '1', distribution: 'logUniform' } },
  { name: 'momentum', parameterType: 'double', feasibleSpace: { min: '0', max: '1' } },
  { name: 'layers', parameterType: 'int', feasibleSpace: { min: '1', max: '10' } },
  { name: 'batch', parameterType: 'discrete', feasibleSpace: { list: ['16', '32', '64', '128'] } },
  { name: 'optimizer', parameterType: 'categorical', feasibleSpace: { list: ['sgd', 'adam', 'rmsprop'] } },
]);

const ctx = (s: SearchSpace): SettingsContext => ({ space: s, parallelTrialCount: 1, maxTrialCount: undefined });
const path = (n: string): string => `spec.algorithm.algorithmSettings[${n}]`;
const ALGORITHMS_UNDER_TEST = [tpe, multivariateTpe] as const;

function settingsOf(alg: AnyAlgorithm | typeof tpe, raw: Record<string, string>, s: SearchSpace): unknown {
  const parsed = (alg as AnyAlgorithm).parseSettings(raw, ctx(s));
  if (isIssues(parsed)) throw new Error(JSON.stringify(parsed));
  return parsed;
}

const asRecord = (r: SuggestResult<unknown>, i: number): Record<string, string> => Object.fromEntries((r.suggestions[i]?.assignments ?? []).map((a) => [a.name, a.value]));

function trial(i: number, assignments: Record<string, string>, status: TrialState, objective?: number): TrialRecord {
  return { name: `t${i}`, assignments, status, objective, metrics: objective === undefined ? {} : { loss: objective }, labels: {} };
}

/** Runs `n` sequential trials of `alg` on space `s`, each scored by `loss`; returns the history. */
function runTrials(alg: AnyAlgorithm, s: SearchSpace, settings: unknown, n: number, seed: number, loss: (a: Record<string, string>) => number): TrialRecord[] {
  const history: TrialRecord[] = [];
  let state: unknown;
  for (let i = 0; i < n; i++) {
    const r = alg.suggest({ space: s, goal: 'minimize', objectiveMetric: 'loss', history, count: 1, state, rng: createRng(`${seed}/${i}`) }, settings);
    state = r.state;
    const a = asRecord(r, 0);
    history.push(trial(i, a, 'succeeded', loss(a)));
  }
  return history;
}

/** Runs `n` sequential trials of `alg` on Branin and returns the best value found. */
function bestOnBranin(alg: AnyAlgorithm, n: number, seed: number): number {
  const history = runTrials(alg, BRANIN_SPACE, settingsOf(alg, {}, BRANIN_SPACE), n, seed, (a) => branin(Number(a['x']), Number(a['y'])));
  return Math.min(...history.map((t) => t.objective as number));
}

/** `n` completed trials drawn from the priors, scored by a bowl around 0.3 in the unit-encoded space. */
function completedHistory(s: SearchSpace, n: number, seed: number): TrialRecord[] {
  const rng = createRng(`history/${seed}`);
  return Array.from({ length: n }, (_, i) => {
    const a = Object.fromEntries(sampleAssignment(s, rng).map((x) => [x.name, x.value]));
    return trial(i, a, 'succeeded', s.reduce((sum, p) => sum + (toUnit(p, a[p.name] as string) - 0.3) ** 2, 0));
  });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

describe('tpe settings', () => {
  it.each([
    ['tpe', tpe, { gamma: 0.15, priorWeight: 2, nEiCandidates: 24, nStartupTrials: 10 }],
    ['multivariate-tpe', multivariateTpe, { gamma: 0.1, priorWeight: 1, nEiCandidates: 48, nStartupTrials: 10 }],
  ] as const)('%s: {} gives the documented defaults', (_name, alg, want) => {
    expect(alg.parseSettings({}, ctx(MIXED))).toEqual({ ...want, randomState: undefined });
  });

  it('exports the defaults it applies', () => {
    expect(tpe.parseSettings({}, ctx(MIXED))).toEqual({ ...TPE_DEFAULTS, randomState: undefined });
    expect(multivariateTpe.parseSettings({}, ctx(MIXED))).toEqual({ ...MULTIVARIATE_TPE_DEFAULTS, randomState: undefined });
  });

  it.each([
    ['gamma 1 is allowed', { gamma: '1' }, { gamma: 1 }],
    ['Katib’s TPE spelling', { n_EI_candidates: '48' }, { nEiCandidates: 48 }],
    ['Katib’s Optuna spelling', { n_ei_candidates: '48' }, { nEiCandidates: 48 }],
    ['no startup trials', { n_startup_trials: '0' }, { nStartupTrials: 0 }],
    ['a seed', { random_state: '42' }, { randomState: 42 }],
    ['a heavier prior', { prior_weight: '2.5' }, { priorWeight: 2.5 }],
  ])('accepts %s', (_name, raw, want) => {
    for (const alg of ALGORITHMS_UNDER_TEST) expect(alg.parseSettings(raw, ctx(MIXED))).toMatchObject(want);
  });

  it.each([
    ['gamma of zero', { gamma: '0' }, 'gamma', 'must be a number > 0 and <= 1 (gamma="0")'],
    ['gamma above one', { gamma: '1.5' }, 'gamma', 'must be a number > 0 and <= 1 (gamma="1.5")'],
    ['gamma not a number', { gamma: 'abc' }, 'gamma', 'must be a number > 0 and <= 1 (gamma="abc")'],
    ['prior weight of zero', { prior_weight: '0' }, 'prior_weight', 'must be a number > 0 (prior_weight="0")'],
    ['no candidates', { n_EI_candidates: '0' }, 'n_EI_candidates', 'must be an integer >= 1 and <= 10000 (n_EI_candidates="0")'],
    ['fractional candidates', { n_ei_candidates: '2.5' }, 'n_ei_candidates', 'must be an integer >= 1 and <= 10000 (n_ei_candidates="2.5")'],
    ['too many candidates', { n_ei_candidates: '10001' }, 'n_ei_candidates', 'must be an integer >= 1 and <= 10000 (n_ei_candidates="10001")'],
    ['negative startup', { n_startup_trials: '-1' }, 'n_startup_trials', 'must be an integer >= 0 (n_startup_trials="-1")'],
    ['negative seed', { random_state: '-3' }, 'random_state', 'must be a non-negative integer (random_state="-3")'],
    [
      'an unknown setting',
      { n_candidates: '5' },
      'n_candidates',
      'unknown setting "n_candidates"; known settings: gamma, prior_weight, n_EI_candidates, n_ei_candidates, n_startup_trials, random_state',
    ],
    ['both spellings', { n_EI_candidates: '8', n_ei_candidates: '9' }, 'n_ei_candidates', 'duplicates n_EI_candidates; set only one of them (n_EI_candidates="8", n_ei_candidates="9")'],
  ])('rejects %s', (_name, raw, setting, message) => {
    for (const alg of ALGORITHMS_UNDER_TEST) expect(alg.parseSettings(raw, ctx(MIXED))).toEqual([{ path: path(setting), message }]);
  });

  it('reports every problem at once', () => {
    const issues = tpe.parseSettings({ gamma: '2', prior_weight: '-1', n_startup_trials: 'x' }, ctx(MIXED));
    expect(isIssues(issues) && issues.map((i) => i.path)).toEqual([path('gamma'), path('prior_weight'), path('n_startup_trials')]);
  });

  it('is registered under Katib’s names', () => {
    expect(ALGORITHMS['tpe']).toBe(tpe);
    expect(ALGORITHMS['multivariate-tpe']).toBe(multivariateTpe);
  });
});

describe.each(ALGORITHMS_UNDER_TEST.map((a) => [a.name, a as AnyAlgorithm] as const))('%s', (_name, alg) => {
  it('starts with the scrambled Sobol design, point i for trial i, and keeps its seed in the state', () => {
    const settings = settingsOf(alg, { random_state: '7' }, MIXED);
    const history: TrialRecord[] = [];
    let state: unknown;
    for (let round = 0; round < 4; round++) {
      const r = alg.suggest({ space: MIXED, goal: 'minimize', objectiveMetric: 'loss', history, count: 2, state, rng: createRng(round) }, settings);
      expect(r.state).toEqual({ seed: 7 });
      state = r.state;
      r.suggestions.forEach((s, i) => {
        expect(s.assignments).toEqual(sobolAssignment(MIXED, history.length + i, 7));
      });
      r.suggestions.forEach((_s, i) => history.push(trial(history.length, asRecord(r, i), round % 2 === 0 ? 'succeeded' : 'running', 1)));
    }
  });

  it('draws a design seed once and reuses it from the state', () => {
    const settings = settingsOf(alg, {}, MIXED);
    const first = alg.suggest({ space: MIXED, goal: 'minimize', objectiveMetric: 'loss', history: [], count: 1, state: undefined, rng: createRng('a') }, settings);
    const seed = (first.state as TpeState).seed;
    expect(Number.isInteger(seed)).toBe(true);
    const history = [trial(0, asRecord(first, 0), 'succeeded', 1)];
    const second = alg.suggest({ space: MIXED, goal: 'minimize', objectiveMetric: 'loss', history, count: 1, state: first.state, rng: createRng('b') }, settings);
    expect(second.state).toEqual({ seed });
    expect(second.suggestions[0]?.assignments).toEqual(sobolAssignment(MIXED, 1, seed));
  });

  it('beats random search on Branin (median best of 5 seeds after 60 trials)', () => {
    const seeds = [1, 2, 3, 4, 5];
    const ours = median(seeds.map((s) => bestOnBranin(alg, 60, s)));
    const baseline = median(seeds.map((s) => bestOnBranin(random as AnyAlgorithm, 60, s)));
    expect(ours).toBeLessThan(baseline);
    expect(ours).toBeLessThan(0.7); // the optimum is 0.398
  });

  it('never suggests near-duplicates in a batch or of trials in flight, even at 1000 trials', () => {
    const s = space([
      { name: 'a', parameterType: 'double', feasibleSpace: { min: '0', max: '1' } },
      { name: 'b', parameterType: 'double', feasibleSpace: { min: '-10', max: '10' } },
    ]);
    const done = completedHistory(s, 1000, 3);
    // Two trials in flight exactly at the best completed point, where the good model peaks.
    const best = done.reduce((a, b) => ((a.objective as number) <= (b.objective as number) ? a : b));
    const history = [...done, trial(1000, best.assignments, 'running'), trial(1001, best.assignments, 'pending')];
    const settings = settingsOf(alg, {}, s);
    for (const seed of [1, 2, 3]) {
      const r = alg.suggest({ space: s, goal: 'minimize', objectiveMetric: 'loss', history, count: 8, state: undefined, rng: createRng(seed) }, settings);
      expect(r.suggestions).toHaveLength(8);
      const points = [...history.slice(1000), ...r.suggestions.map((_x, i) => ({ assignments: asRecord(r, i) }))].map((t) => s.map((p) => toUnit(p, t.assignments[p.name] as string)));
      for (let i = 2; i < points.length; i++) {
        for (let j = 0; j < i; j++) {
          const distance = Math.max(...(points[i] as number[]).map((v, d) => Math.abs(v - ((points[j] as number[])[d] as number))));
          expect(distance).toBeGreaterThan(NEAR_DUPLICATE);
        }
      }
    }
  });

  it('keeps a suggestion together: with good trials in two opposite corners it does not mix their coordinates', () => {
    const s = space([
      { name: 'x', parameterType: 'double', feasibleSpace: { min: '0', max: '1' } },
      { name: 'y', parameterType: 'double', feasibleSpace: { min: '0', max: '1' } },
    ]);
    const rng = createRng('corners');
    const history = Array.from({ length: 40 }, (_, i) => trial(i, { x: String(rng.next()), y: String(rng.next()) }, 'succeeded', 1 + rng.next()));
    for (let i = 0; i < 8; i++) {
      const c = i % 2 === 0 ? 0.1 : 0.9;
      history.push(trial(40 + i, { x: String(c + 0.04 * (rng.next() - 0.5)), y: String(c + 0.04 * (rng.next() - 0.5)) }, 'succeeded', 0.1 * rng.next()));
    }
    const settings = settingsOf(alg, {}, s);
    let together = 0;
    let mixed = 0;
    for (let seed = 0; seed < 60; seed++) {
      const a = asRecord(alg.suggest({ space: s, goal: 'minimize', objectiveMetric: 'loss', history, count: 1, state: { seed: 1 }, rng: createRng(seed) }, settings), 0);
      const [x, y] = [Number(a['x']), Number(a['y'])];
      const low = (v: number): boolean => v < 0.3;
      const high = (v: number): boolean => v > 0.7;
      if ((low(x) && low(y)) || (high(x) && high(y))) together++;
      if ((low(x) && high(y)) || (high(x) && low(y))) mixed++;
    }
    // Coordinates chosen one by one would mix the corners about as often as they match; the prior's uniform draws
    // mix them now and then.
    expect(together).toBeGreaterThan(40);
    expect(mixed).toBeLessThan(together / 4);
  });

  it('treats failed trials as bad: it moves away from a region where trials fail', () => {
    const s = space([{ name: 'x', parameterType: 'double', feasibleSpace: { min: '0', max: '1' } }]);
    const settings = settingsOf(alg, {}, s);
    const rng = createRng('failures');
    // The objective is best at 0.5, but everything in [0.45, 0.55] that was tried lately failed.
    const done = Array.from({ length: 40 }, (_, i) => {
      const x = rng.next();
      return trial(i, { x: String(x) }, 'succeeded', (x - 0.5) ** 2);
    });
    const failures = Array.from({ length: 20 }, (_, i) => trial(40 + i, { x: String(0.45 + 0.1 * rng.next()) }, 'failed'));
    const distanceFromFailures = (history: TrialRecord[]): number => {
      const xs = [1, 2, 3, 4, 5, 6, 7, 8].map((seed) => {
        const r = alg.suggest({ space: s, goal: 'minimize', objectiveMetric: 'loss', history, count: 1, state: undefined, rng: createRng(seed) }, settings);
        return Math.abs(Number(asRecord(r, 0)['x']) - 0.5);
      });
      return xs.reduce((a, b) => a + b, 0) / xs.length;
    };
    expect(distanceFromFailures([...done, ...failures])).toBeGreaterThan(distanceFromFailures(done));
  });

  it('ignores killed trials and trials without an objective in the model', () => {
    const history = completedHistory(MIXED, 30, 5);
    const noise = [
      trial(30, { lr: '0.5', momentum: '0.5', layers: '5', batch: '64', optimizer: 'adam' }, 'killed'),
      trial(31, { lr: '0.5', momentum: '0.5', layers: '5', batch: '64', optimizer: 'adam' }, 'succeeded'),
      trial(32, { lr: '0.5', momentum: '0.5', layers: '5', batch: '64', optimizer: 'adam' }, 'early-stopped'),
    ];
    const settings = settingsOf(alg, {}, MIXED);
    const run = (h: TrialRecord[]): SuggestResult<unknown> => alg.suggest({ space: MIXED, goal: 'maximize', objectiveMetric: 'loss', history: h, count: 3, state: { seed: 1 }, rng: createRng(9) }, settings);
    expect(run([...history, ...noise]).suggestions).toEqual(run(history).suggestions);
  });

  it('leaves out trials whose values are no longer in the space', () => {
    const history = [...completedHistory(MIXED, 30, 6), trial(30, { lr: '5', momentum: '0.5', layers: '50', batch: '48', optimizer: 'lion' }, 'succeeded', -1)];
    const settings = settingsOf(alg, {}, MIXED);
    const run = (h: TrialRecord[]): SuggestResult<unknown> => alg.suggest({ space: MIXED, goal: 'minimize', objectiveMetric: 'loss', history: h, count: 2, state: { seed: 1 }, rng: createRng(4) }, settings);
    expect(run(history).suggestions).toEqual(run(history.slice(0, 30)).suggestions);
  });

  it('suggests the untried assignments of a small finite space before repeating one', () => {
    const s = space([
      { name: 'a', parameterType: 'categorical', feasibleSpace: { list: ['x', 'y'] } },
      { name: 'b', parameterType: 'int', feasibleSpace: { min: '0', max: '2' } },
    ]);
    const settings = settingsOf(alg, { n_startup_trials: '2' }, s);
    const history: TrialRecord[] = [];
    for (let i = 0; i < 6; i++) {
      const r = alg.suggest({ space: s, goal: 'minimize', objectiveMetric: 'loss', history, count: 1, state: { seed: 3 }, rng: createRng(i) }, settings);
      const a = asRecord(r, 0);
      history.push(trial(i, a, 'succeeded', a['a'] === 'x' ? Number(a['b']) : 10));
    }
    expect(new Set(history.map((t) => `${t.assignments['a']}/${t.assignments['b']}`)).size).toBe(6);
  });

  it('follows the goal: maximizing a score is minimizing its negation', () => {
    const history = completedHistory(MIXED, 40, 8);
    const negated = history.map((t) => ({ ...t, objective: -(t.objective as number) }));
    const settings = settingsOf(alg, {}, MIXED);
    const run = (h: TrialRecord[], goal: Goal): SuggestResult<unknown> => alg.suggest({ space: MIXED, goal, objectiveMetric: 'loss', history: h, count: 2, state: { seed: 2 }, rng: createRng(1) }, settings);
    expect(run(negated, 'maximize')).toEqual(run(history, 'minimize'));
  });
});

/**
 * A training run's loss over an architecture, an activation and three numbers whose best values depend on the
 * architecture: resnet with relu is best (0), cnn 0.05 and gelu 0.02 worse. Early good trials tend to agree on cnn.
 */
const ARCHITECTURES = space([
  { name: 'lr', parameterType: 'double', feasibleSpace: { min: '0.0001', max: '1', distribution: 'logUniform' } },
  { name: 'momentum', parameterType: 'double', feasibleSpace: { min: '0', max: '0.99' } },
  { name: 'arch', parameterType: 'categorical', feasibleSpace: { list: ['mlp', 'cnn', 'resnet'] } },
  { name: 'width', parameterType: 'int', feasibleSpace: { min: '32', max: '512' } },
  { name: 'act', parameterType: 'categorical', feasibleSpace: { list: ['relu', 'tanh', 'gelu'] } },
]);
const ARCH = { mlp: { lr: -1, penalty: 0.3 }, cnn: { lr: -2, penalty: 0.05 }, resnet: { lr: -1.5, penalty: 0 } } as const;
const ACT = { relu: 0, tanh: 0.1, gelu: 0.02 } as const;

function architectureLoss(a: Record<string, string>): number {
  const arch = ARCH[a['arch'] as keyof typeof ARCH];
  const m = Number(a['momentum']);
  const u = Math.log10(Number(a['lr']));
  return arch.penalty + ACT[a['act'] as keyof typeof ACT] + 0.2 * (u - arch.lr - 0.8 * (m - 0.9)) ** 2 + 0.5 * (m - 0.9) ** 2 + 0.03 * (Math.log2(Number(a['width'])) - 8) ** 2;
}

describe('multivariate-tpe on a space with categoricals', () => {
  it('leaves a wrong architecture its first good trials agreed on: 60 trials find resnet with relu in at least 9 of 10 seeds', () => {
    // With per-kernel bandwidths from the neighbour rule the joint model settled on a wrong one in most seeds (9 of
    // these 10; 30 of 40 over seeds 100-139 after 100 trials, against none of Optuna's multivariate TPE's 20).
    const settings = settingsOf(multivariateTpe as AnyAlgorithm, {}, ARCHITECTURES);
    let found = 0;
    for (let seed = 1; seed <= 10; seed++) {
      const history = runTrials(multivariateTpe as AnyAlgorithm, ARCHITECTURES, settings, 60, seed, architectureLoss);
      const best = history.reduce((x, y) => ((x.objective as number) <= (y.objective as number) ? x : y));
      if (best.assignments['arch'] === 'resnet' && best.assignments['act'] === 'relu') found++;
    }
    expect(found).toBeGreaterThanOrEqual(9);
  });
});

/** Hartmann-6 as benchmarks/sample-efficiency runs it (benchmarks/common/problems.json and its formula). */
const HARTMANN6 = loadProblems().find((p) => p.name === 'hartmann6') as Problem;
const HARTMANN6_SPACE = space([...HARTMANN6.parameters]);

describe('multivariate-tpe on a space of numbers alone', () => {
  it('refines around its good trials: median regret on Hartmann-6 after 50 trials below 0.35 over 10 seeds', () => {
    // The neighbour rule's bandwidths uncapped leave the first good trials' kernels as wide as the gaps between
    // scattered points, and the candidates spread over the box: 0.43 on these seeds (Optuna's multivariate TPE 0.32
    // on seeds 0-19 of benchmarks/sample-efficiency); capped at Scott's bandwidth, 0.28.
    const regrets: number[] = [];
    for (let seed = 1; seed <= 10; seed++) {
      const settings = settingsOf(multivariateTpe as AnyAlgorithm, { random_state: String(seed) }, HARTMANN6_SPACE);
      const history = runTrials(multivariateTpe as AnyAlgorithm, HARTMANN6_SPACE, settings, 50, seed, (a) => evaluate(HARTMANN6, a));
      regrets.push(Math.min(...history.map((t) => t.objective as number)) - HARTMANN6.optimum);
    }
    expect(median(regrets)).toBeLessThan(0.35);
  });
});

describe('tpe timing', () => {
  it('prints the cost of one suggestion at 100 and 1000 completed trials', () => {
    const lines: string[] = [];
    for (const n of [100, 1000]) {
      const history = completedHistory(MIXED, n, 11);
      for (const alg of ALGORITHMS_UNDER_TEST) {
        const settings = settingsOf(alg, {}, MIXED);
        const call = (seed: number): unknown => (alg as AnyAlgorithm).suggest({ space: MIXED, goal: 'minimize', objectiveMetric: 'loss', history, count: 1, state: { seed: 1 }, rng: createRng(seed) }, settings);
        for (let w = 0; w < 10; w++) call(w);
        const reps = 30;
        const t0 = performance.now();
        const cpu0 = process.cpuUsage();
        for (let r = 0; r < reps; r++) call(100 + r);
        const cpu = process.cpuUsage(cpu0);
        // CPU time too: on a shared machine the wall clock also counts time spent waiting for a core.
        const wallMs = (performance.now() - t0) / reps;
        const cpuMs = (cpu.user + cpu.system) / 1000 / reps;
        lines.push(`${alg.name} at ${n} trials: ${wallMs.toFixed(2)} ms wall, ${cpuMs.toFixed(2)} ms CPU per suggestion`);
      }
    }
    console.log(`TPE timing (5 mixed parameters):\n${lines.join('\n')}`);
    expect(lines).toHaveLength(4);
  });
});
