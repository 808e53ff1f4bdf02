import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { asha, AshaLabels, MAX_PENDING, rungBudgets, type AshaSettings, type AshaState } from '../../algorithms/asha/index.js';
import type { Goal, SettingsContext, Suggestion, TrialRecord, TrialState } from '../../algorithms/core/algorithm.js';
import { isIssues, type Issue } from '../../algorithms/core/issues.js';
import { createRng } from '../../algorithms/core/rng.js';
import { isFeasible, parseSearchSpace, type SearchSpace, type WireParameter } from '../../algorithms/core/space.js';

function space(params: WireParameter[]): SearchSpace {
  const s = parseSearchSpace(params);
  if (isIssues(s)) throw new Error(JSON.stringify(s));
  return s;
}

const SPACE = space([
  { name: 'lr', parameterType: 'double', feasibleSpace: { min: '0.001', max: '0.1', distribution: 'logUniform' } },
  { name: 'layers', parameterType: 'discrete', feasibleSpace: { list: ['1', '2', '4'] } },
  { name: 'epochs', parameterType: 'int', feasibleSpace: { min: '1', max: '27' } },
  { name: 'fraction', parameterType: 'double', feasibleSpace: { min: '0', max: '1' } },
  { name: 'stepped', parameterType: 'int', feasibleSpace: { min: '2', max: '40', step: '4' } },
]);

const ctx: SettingsContext = { space: SPACE, parallelTrialCount: 4, maxTrialCount: undefined };

function settingsOf(raw: Record<string, string>): AshaSettings {
  const s = asha.parseSettings(raw, ctx);
  if (isIssues(s)) throw new Error(JSON.stringify(s));
  return s;
}

const path = (n: string): string => `spec.algorithm.algorithmSettings[${n}]`;

describe('asha rungs', () => {
  it.each([
    { name: '1 … 81, eta 3', min: 1, max: 81, eta: 3, budgets: [1, 3, 9, 27, 81] },
    { name: 'max not a rung: the top rung stays below it', min: 1, max: 100, eta: 3, budgets: [1, 3, 9, 27, 81] },
    { name: '2 … 20, eta 2', min: 2, max: 20, eta: 2, budgets: [2, 4, 8, 16] },
    { name: 'fractions', min: 0.125, max: 1, eta: 2, budgets: [0.125, 0.25, 0.5, 1] },
    { name: 'one rung', min: 5, max: 5, eta: 3, budgets: [5] },
  ])('$name', ({ min, max, eta, budgets }) => {
    expect(rungBudgets(min, max, eta)).toEqual(budgets);
  });

  it('keeps every rung within [min, max], growing by eta (property)', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.01, max: 100, noNaN: true }), fc.double({ min: 1, max: 10_000, noNaN: true }), fc.integer({ min: 2, max: 10 }), (min, factor, eta) => {
        const max = min * factor;
        const b = rungBudgets(min, max, eta);
        expect(b[0]).toBe(min);
        b.forEach((r, k) => {
          expect(r).toBeLessThanOrEqual(max);
          if (k > 0) expect(r / (b[k - 1] as number)).toBeCloseTo(eta, 9);
        });
        expect((b[b.length - 1] as number) * eta).toBeGreaterThan(max * (1 - 1e-9));
      }),
    );
  });
});

describe('asha settings', () => {
  it.each<{ name: string; raw: Record<string, string>; issues: Issue[] }>([
    {
      name: 'resource missing',
      raw: {},
      issues: [{ path: path('resource_name'), message: 'is required: set it to the name of an int or double parameter that receives the budget; candidates: lr, epochs, fraction, stepped' }],
    },
    {
      name: 'resource discrete, reduction factor 1',
      raw: { resource_name: 'layers', reduction_factor: '1' },
      issues: [
        { path: path('reduction_factor'), message: 'must be an integer >= 2 (reduction_factor="1")' },
        { path: path('resource_name'), message: 'must name an int or double parameter, but "layers" is discrete (resource_name="layers"); candidates: lr, epochs, fraction, stepped' },
      ],
    },
    {
      name: 'budgets outside the parameter’s bounds',
      raw: { resource_name: 'epochs', min_resource: '0', max_resource: '30' },
      issues: [
        { path: path('min_resource'), message: 'must be an integer >= 1 and <= 27 (min_resource="0")' },
        { path: path('max_resource'), message: 'must be an integer >= 1 and <= 27 (max_resource="30")' },
      ],
    },
    {
      name: 'max below min',
      raw: { resource_name: 'epochs', min_resource: '9', max_resource: '3' },
      issues: [{ path: path('max_resource'), message: 'must be >= min_resource (min_resource=9, max_resource=3)' }],
    },
    {
      name: 'min_resource required when the parameter’s min is 0',
      raw: { resource_name: 'fraction' },
      issues: [{ path: path('min_resource'), message: "is required because fraction's min is 0; set a budget > 0 within [0, 1]" }],
    },
    {
      name: 'rungs off the step grid',
      raw: { resource_name: 'stepped', reduction_factor: '2' },
      issues: [
        {
          path: path('min_resource'),
          message: "rung budget 4 (min_resource · reduction_factor^k) is not on stepped's step grid (step=4, min=2); choose min_resource and a step that agree",
        },
      ],
    },
  ])('$name', ({ raw, issues }) => {
    expect(asha.parseSettings(raw, ctx)).toEqual(issues);
  });

  it('defaults min and max to the parameter’s bounds and eta to 3', () => {
    expect(settingsOf({ resource_name: 'epochs' })).toMatchObject({ eta: 3, budgets: ['1', '3', '9', '27'] });
    expect(settingsOf({ resource_name: 'fraction', min_resource: '0.1' }).budgets).toEqual(['0.1', '0.3', '0.9']);
    expect(settingsOf({ resource_name: 'stepped', reduction_factor: '5' }).budgets).toEqual(['2', '10']);
  });
});

function trial(name: string, rung: number, objective: number | undefined, extra: Partial<TrialRecord> = {}): TrialRecord {
  return {
    name,
    assignments: { lr: '0.01', layers: '2', epochs: String(3 ** rung), fraction: '0.5', stepped: '2' },
    status: objective === undefined ? 'running' : 'succeeded',
    objective,
    metrics: objective === undefined ? {} : { loss: objective },
    labels: { [AshaLabels.rung]: String(rung) },
    ...extra,
  };
}

function ask(settings: AshaSettings, history: readonly TrialRecord[], count: number, state?: AshaState, goal: Goal = 'minimize') {
  return asha.suggest({ space: SPACE, goal, objectiveMetric: 'loss', history, count, state, rng: createRng('asha') }, settings);
}

const parents = (s: readonly Suggestion[]): (string | undefined)[] => s.map((x) => x.labels?.[AshaLabels.parent]);
const rungs = (s: readonly Suggestion[]): (string | undefined)[] => s.map((x) => x.labels?.[AshaLabels.rung]);

describe('asha suggestions', () => {
  const S = settingsOf({ resource_name: 'epochs' });

  it('never waits: with every rung still running a free slot gets a new configuration', () => {
    const history = Array.from({ length: 20 }, (_, i) => trial(`t${i}`, i % 3, undefined));
    const got = ask(S, history, 4);
    expect(got.suggestions).toHaveLength(4);
    expect(rungs(got.suggestions)).toEqual(['0', '0', '0', '0']);
    for (const s of got.suggestions) expect(s.assignments.find((a) => a.name === 'epochs')?.value).toBe('1');
  });

  it('promotes the best floor(n/eta) of a rung as new trials with the next budget, then fills with new ones', () => {
    const history = [5, 3, 8, 1, 9, 7, 2, 6, 4].map((v, i) => trial(`t${i}`, 0, v, { assignments: { lr: String(v / 100), layers: '1', epochs: '1', fraction: '0.5', stepped: '2' } }));
    const got = ask(S, history, 5);
    expect(parents(got.suggestions)).toEqual(['t3', 't6', 't1', undefined, undefined]);
    expect(rungs(got.suggestions)).toEqual(['1', '1', '1', '0', '0']);
    expect(got.suggestions[0]?.assignments).toEqual([
      { name: 'lr', value: '0.01' },
      { name: 'layers', value: '1' },
      { name: 'epochs', value: '3' },
      { name: 'fraction', value: '0.5' },
      { name: 'stepped', value: '2' },
    ]);
    expect(got.state.pending).toEqual(['t3', 't6', 't1']);
  });

  it('ranks by the goal: maximize promotes the largest', () => {
    const history = [5, 3, 8].map((v, i) => trial(`t${i}`, 0, v));
    expect(parents(ask(S, history, 1, undefined, 'maximize').suggestions)).toEqual(['t2']);
    expect(parents(ask(S, history, 1, undefined, 'minimize').suggestions)).toEqual(['t1']);
  });

  it('looks at the highest rung first and never promotes out of the top rung', () => {
    const history = [
      ...[1, 2, 3].map((v, i) => trial(`a${i}`, 0, v)),
      ...[4, 5, 6].map((v, i) => trial(`b${i}`, 1, v)),
      ...[7, 8, 9].map((v, i) => trial(`c${i}`, 3, v)),
    ];
    expect(parents(ask(S, history, 3).suggestions)).toEqual(['b0', 'a0', undefined]);
    expect(rungs(ask(S, history, 3).suggestions)).toEqual(['2', '1', '0']);
  });

  it('promotes a trial once: not again when its promotion is in the history or still pending', () => {
    const base = [1, 2, 3].map((v, i) => trial(`t${i}`, 0, v));
    const first = ask(S, base, 1);
    expect(parents(first.suggestions)).toEqual(['t0']);
    // The promoted trial is not in the history yet: the pending state prevents a second promotion.
    expect(parents(ask(S, base, 1, first.state).suggestions)).toEqual([undefined]);
    // Once it is, the state forgets it and the label alone prevents it.
    const later = [...base, trial('t3', 1, undefined, { labels: { [AshaLabels.rung]: '1', [AshaLabels.parent]: 't0' } })];
    const again = ask(S, later, 1, first.state);
    expect(parents(again.suggestions)).toEqual([undefined]);
    expect(again.state.pending).toEqual([]);
  });

  it('ignores failed trials in the quota and keeps the pending list bounded', () => {
    const history = [trial('f0', 0, undefined, { status: 'failed' }), trial('f1', 0, undefined, { status: 'failed' }), trial('ok', 0, 1)];
    expect(parents(ask(S, history, 1).suggestions)).toEqual([undefined]);
    const many = Array.from({ length: MAX_PENDING + 10 }, (_, i) => `old${i}`);
    expect(ask(S, [], 1, { pending: many }).state.pending).toHaveLength(MAX_PENDING);
  });

  it('serves every free slot in an asynchronous run and promotes by the rules (simulation)', () => {
    const rng = createRng('sim');
    const history: (TrialRecord & { status: TrialState })[] = [];
    let state: AshaState | undefined;
    const score = (a: Readonly<Record<string, string>>): number => Math.abs(Math.log10(Number(a['lr'])) + 2) / Number(a['epochs']);
    for (let step = 0; step < 300; step++) {
      const running = history.filter((t) => t.status === 'running');
      if (running.length >= 4) {
        const done = rng.pick(running);
        const i = history.indexOf(done);
        history[i] = { ...done, status: 'succeeded', objective: score(done.assignments), metrics: {} };
      }
      const free = 4 - history.filter((t) => t.status === 'running').length;
      const res = asha.suggest({ space: SPACE, goal: 'minimize', objectiveMetric: 'loss', history, count: free, state, rng: rng.fork(String(step)) }, S);
      expect(res.suggestions).toHaveLength(free);
      state = res.state;
      for (const s of res.suggestions) {
        history.push({ name: `t${history.length}`, assignments: Object.fromEntries(s.assignments.map((a) => [a.name, a.value])), status: 'running', objective: undefined, metrics: {}, labels: { ...(s.labels ?? {}) } });
      }
    }
    const byName = new Map(history.map((t) => [t.name, t]));
    const promotedParents = history.flatMap((t) => (t.labels[AshaLabels.parent] === undefined ? [] : [t.labels[AshaLabels.parent] as string]));
    expect(new Set(promotedParents).size).toBe(promotedParents.length);
    expect(promotedParents.length).toBeGreaterThan(10);
    for (const t of history) {
      const k = Number(t.labels[AshaLabels.rung]);
      expect(t.assignments['epochs']).toBe(S.budgets[k]);
      for (const p of SPACE) expect(isFeasible(p, t.assignments[p.name] as string)).toBe(true);
      const parent = t.labels[AshaLabels.parent];
      if (parent === undefined) continue;
      const pt = byName.get(parent) as TrialRecord;
      expect(Number(pt.labels[AshaLabels.rung])).toBe(k - 1);
      expect({ ...pt.assignments, epochs: '' }).toEqual({ ...t.assignments, epochs: '' });
    }
    expect(history.some((t) => t.labels[AshaLabels.rung] === '3')).toBe(true);
  });
});
