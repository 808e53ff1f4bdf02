/**
 * The contract every suggestion algorithm in the registry keeps, checked with property tests over generated search
 * spaces (every parameter type, distribution and step) and simulated histories (succeeded, failed, running, pending,
 * early-stopped, killed and metric-less trials with objectives, so model-based code paths run):
 *
 * - settings parse with {} (its defaults), or with the example settings of {@link REQUIRED} for an algorithm that
 *   cannot run without some; such an algorithm must indeed reject {} — nothing is skipped silently;
 * - parsing arbitrary settings never throws;
 * - every suggestion assigns every parameter once with a feasible value on its step grid, and there are at most
 *   `count` of them;
 * - the same inputs and seed give the same output, and a state that went through JSON gives the same next output;
 * - grid: no duplicates, and it exhausts after exactly its size.
 *
 * The suite iterates over `ALGORITHMS`, so an algorithm added to the registry is covered without touching this file
 * unless it needs settings or a special space, which it then declares in {@link REQUIRED}.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ALGORITHMS } from '../../algorithms/index.js';
import type { AnyAlgorithm, Goal, RawSettings, SettingsContext, SuggestResult, TrialRecord, TrialState } from '../../algorithms/core/algorithm.js';
import { formatIssues, isIssues } from '../../algorithms/core/issues.js';
import { createRng } from '../../algorithms/core/rng.js';
import { SETTINGS_PATH } from '../../algorithms/core/settings.js';
import { assignmentKey, cardinality, isFeasible, parseSearchSpace, samplePrior, snapRange, toUnit, type SearchSpace, type WireParameter } from '../../algorithms/core/space.js';

/** What an algorithm needs beyond a generated space and {} settings. */
interface Requirement {
  /** Example settings the algorithm cannot run without. */
  readonly settings: RawSettings;
  /** Parameters the settings refer to, appended to every generated space. */
  readonly extraParameters?: readonly WireParameter[];
  /** The algorithm accepts only spaces where every parameter has finitely many values. */
  readonly finiteOnly?: boolean;
  readonly parallelTrialCount?: number;
  /** Why: shown in the test names. */
  readonly why: string;
}

const BUDGET: WireParameter = { name: 'budget', parameterType: 'int', feasibleSpace: { min: '1', max: '9' } };

/** Algorithms that need more than {} and any space. Every other registered algorithm must accept both. */
const REQUIRED: Readonly<Record<string, Requirement>> = {
  grid: { settings: {}, finiteOnly: true, why: 'enumerates values, so every double needs a step' },
  hyperband: { settings: { resource_name: 'budget', r_l: '9', eta: '3' }, extraParameters: [BUDGET], parallelTrialCount: 9, why: 'needs a resource parameter and r_l' },
  asha: { settings: { resource_name: 'budget' }, extraParameters: [BUDGET], why: 'needs a resource parameter' },
  pbt: { settings: { n_population: '5', truncation_threshold: '0.4', suggestion_trial_dir: '/var/log/katib/checkpoints' }, why: 'needs n_population, truncation_threshold and suggestion_trial_dir' },
};

const NAMES = Object.keys(ALGORITHMS);
const algorithm = (name: string): AnyAlgorithm => ALGORITHMS[name as keyof typeof ALGORITHMS];

// ---------------------------------------------------------------------------------------------------------------
// Generators

const DISTRIBUTIONS = ['uniform', 'logUniform', 'normal', 'logNormal'] as const;

/**
 * A step for the range [min, max]: a round number or an arbitrary fraction of the width, never wider. An int's step
 * is a whole number or, as Katib's own tests write it, a fraction below 1 (every integer).
 */
function stepArb(width: number, integer: boolean): fc.Arbitrary<number | undefined> {
  if (integer) return fc.option(fc.oneof(fc.integer({ min: 1, max: Math.max(1, Math.min(5, width)) }), fc.constantFrom(0.01, 0.8)), { nil: undefined });
  const round = [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10].filter((s) => s <= width);
  const fraction = fc.integer({ min: 1, max: 60 }).map((k) => width / k);
  return fc.option(round.length > 0 ? fc.oneof(fc.constantFrom(...round), fraction) : fraction, { nil: undefined });
}

const doubleArb: fc.Arbitrary<Omit<WireParameter, 'name'>> = fc
  .record({ distribution: fc.constantFrom(...DISTRIBUTIONS), a: fc.integer({ min: -400, max: 200 }), b: fc.integer({ min: 1, max: 400 }), log10: fc.integer({ min: -4, max: 2 }) })
  .chain(({ distribution, a, b, log10 }) => {
    const log = distribution === 'logUniform' || distribution === 'logNormal';
    const min = log ? 10 ** log10 : a / 4;
    const max = log ? min * (1 + b / 10) : a / 4 + b / 4;
    return stepArb(max - min, false).map((step) => ({
      parameterType: 'double',
      feasibleSpace: { min: String(min), max: String(max), distribution, ...(step === undefined ? {} : { step: String(step) }) },
    }));
  });

const intArb: fc.Arbitrary<Omit<WireParameter, 'name'>> = fc
  .record({ distribution: fc.constantFrom(...DISTRIBUTIONS), min: fc.integer({ min: -20, max: 50 }), width: fc.integer({ min: 0, max: 60 }) })
  .chain(({ distribution, min, width }) => {
    const log = distribution === 'logUniform' || distribution === 'logNormal';
    const lo = log ? Math.max(1, min) : min;
    return stepArb(width, true).map((step) => ({
      parameterType: 'int',
      feasibleSpace: { min: String(lo), max: String(lo + width), distribution, ...(step === undefined || width === 0 ? {} : { step: String(step) }) },
    }));
  });

const discreteArb: fc.Arbitrary<Omit<WireParameter, 'name'>> = fc
  .uniqueArray(fc.integer({ min: -400, max: 4000 }), { minLength: 1, maxLength: 6 })
  .map((xs) => ({ parameterType: 'discrete', feasibleSpace: { list: xs.map((x) => String(x / 4)) } }));

const categoricalArb: fc.Arbitrary<Omit<WireParameter, 'name'>> = fc
  .uniqueArray(fc.stringMatching(/^[a-z][a-z0-9-]{0,7}$/), { minLength: 1, maxLength: 5 })
  .map((list) => ({ parameterType: 'categorical', feasibleSpace: { list } }));

function toSpace(params: readonly Omit<WireParameter, 'name'>[], extra: readonly WireParameter[]): SearchSpace {
  const wire = [...params.map((p, i) => ({ ...p, name: `p${i}` })), ...extra];
  const parsed = parseSearchSpace(wire);
  if (isIssues(parsed)) throw new Error(`the generator made an invalid space:\n${formatIssues(parsed)}\n${JSON.stringify(wire)}`);
  return parsed;
}

/** A search space of 1 to 5 parameters of every kind (finite kinds only for `finiteOnly`, with a small grid). */
function spaceArb(req: Requirement | undefined): fc.Arbitrary<SearchSpace> {
  const finite = req?.finiteOnly === true;
  const double = finite ? doubleArb.filter((p) => p.feasibleSpace.step !== undefined) : doubleArb;
  return fc
    .array(fc.oneof(double, intArb, discreteArb, categoricalArb), { minLength: 1, maxLength: finite ? 3 : 5 })
    .map((params) => toSpace(params, req?.extraParameters ?? []))
    .filter((s) => !finite || s.reduce((n, p) => n * cardinality(p), 1) <= 2000);
}

const STATUSES: readonly TrialState[] = [
  ...Array<TrialState>(12).fill('succeeded'),
  'failed',
  'failed',
  'running',
  'running',
  'pending',
  'early-stopped',
  'killed',
  'metrics-unavailable',
];

/** The objective of a simulated trial: a bowl in the unit-encoded space, so better regions exist. */
function objective(space: SearchSpace, assignments: Readonly<Record<string, string>>): number {
  return space.reduce((sum, p) => sum + (toUnit(p, assignments[p.name] as string) - 0.37) ** 2, 0);
}

/** A simulated history of `n` trials drawn from the priors, with mixed outcomes. */
function simulateHistory(space: SearchSpace, n: number, seed: number): TrialRecord[] {
  const rng = createRng(`history/${seed}`);
  return Array.from({ length: n }, (_, i): TrialRecord => {
    const assignments = Object.fromEntries(space.map((p) => [p.name, samplePrior(p, rng)]));
    const status = rng.pick(STATUSES);
    const value = status === 'succeeded' || (status === 'early-stopped' && rng.next() < 0.5) ? objective(space, assignments) : undefined;
    const metrics: Record<string, number> = value === undefined ? {} : { loss: value };
    return { name: `trial-${i}`, assignments, status, objective: value, metrics, labels: {} };
  });
}

interface Case {
  readonly space: SearchSpace;
  readonly history: readonly TrialRecord[];
  readonly count: number;
  readonly goal: Goal;
  readonly seed: number;
}

function caseArb(req: Requirement | undefined): fc.Arbitrary<Case> {
  return fc
    .record({ space: spaceArb(req), n: fc.integer({ min: 0, max: 40 }), count: fc.integer({ min: 1, max: 4 }), goal: fc.constantFrom<Goal>('minimize', 'maximize'), seed: fc.nat() })
    .map(({ space, n, count, goal, seed }) => ({ space, history: simulateHistory(space, n, seed), count, goal, seed }));
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

const ctxOf = (space: SearchSpace, req: Requirement | undefined): SettingsContext => ({ space, parallelTrialCount: req?.parallelTrialCount ?? 4, maxTrialCount: undefined });

function settingsFor(name: string, space: SearchSpace): unknown {
  const req = REQUIRED[name];
  const parsed = algorithm(name).parseSettings(req?.settings ?? {}, ctxOf(space, req));
  if (isIssues(parsed)) throw new Error(`${name} rejected its settings ${JSON.stringify(req?.settings ?? {})}:\n${formatIssues(parsed)}`);
  return parsed;
}

function suggest(name: string, c: Case, state: unknown, history: readonly TrialRecord[] = c.history): SuggestResult<unknown> {
  return algorithm(name).suggest(
    { space: c.space, goal: c.goal, objectiveMetric: 'loss', history, count: c.count, state, rng: createRng(`contract/${c.seed}`) },
    settingsFor(name, c.space),
  );
}

/** The history after the suggestions of `result` were created as running trials. */
function withRunning(history: readonly TrialRecord[], result: SuggestResult<unknown>): TrialRecord[] {
  return [
    ...history,
    ...result.suggestions.map((s, i) => ({
      name: s.trialName ?? `suggested-${history.length + i}`,
      assignments: Object.fromEntries(s.assignments.map((a) => [a.name, a.value])),
      status: 'running' as const,
      objective: undefined,
      metrics: {},
      labels: { ...(s.labels ?? {}) },
    })),
  ];
}

/** Problems with one result: missing or repeated parameters, infeasible or off-grid values, too many suggestions. */
function contractViolations(space: SearchSpace, count: number, result: SuggestResult<unknown>): string[] {
  const problems: string[] = [];
  if (result.suggestions.length > count) problems.push(`${result.suggestions.length} suggestions for count ${count}`);
  result.suggestions.forEach((s, i) => {
    const names = s.assignments.map((a) => a.name);
    if (names.length !== space.length || new Set(names).size !== names.length || !space.every((p) => names.includes(p.name))) {
      problems.push(`suggestion ${i} assigns [${names.join(', ')}], want each of [${space.map((p) => p.name).join(', ')}] once`);
    }
    for (const a of s.assignments) {
      const p = space.find((q) => q.name === a.name);
      if (p === undefined) continue;
      if (!isFeasible(p, a.value)) problems.push(`suggestion ${i}: ${a.name}=${a.value} is not feasible in ${JSON.stringify(p)}`);
      else if ((p.type === 'int' || p.type === 'double') && p.step !== undefined) {
        const x = Number(a.value);
        if (Math.abs(snapRange(p, x) - x) > 1e-9 * Math.max(1, Math.abs(x))) problems.push(`suggestion ${i}: ${a.name}=${a.value} is off the step grid (min=${p.min}, step=${p.step})`);
      }
    }
  });
  return problems;
}

const RUNS = { numRuns: 40 } as const;

// ---------------------------------------------------------------------------------------------------------------

describe.each(NAMES)('algorithm contract: %s', (name) => {
  const req = REQUIRED[name];
  const settingsLabel = req && Object.keys(req.settings).length > 0 ? `its example settings (${req.why})` : '{} (its defaults)';

  it(`parses ${settingsLabel} for every generated space`, () => {
    fc.assert(
      fc.property(spaceArb(req), (space) => {
        const parsed = algorithm(name).parseSettings(req?.settings ?? {}, ctxOf(space, req));
        expect(isIssues(parsed) ? formatIssues(parsed) : 'ok').toBe('ok');
      }),
      RUNS,
    );
  });

  if (req && Object.keys(req.settings).length > 0) {
    it('really requires its example settings: {} is rejected with issues naming settings', () => {
      const space = toSpace([{ parameterType: 'double', feasibleSpace: { min: '0', max: '1', step: '0.1' } }], req.extraParameters ?? []);
      const parsed = algorithm(name).parseSettings({}, ctxOf(space, req));
      expect(isIssues(parsed)).toBe(true);
      for (const issue of parsed as { path: string }[]) expect(issue.path.startsWith(SETTINGS_PATH)).toBe(true);
    });
  }

  if (req?.finiteOnly) {
    it('rejects a continuous double with an issue naming its step', () => {
      const space = toSpace([{ parameterType: 'double', feasibleSpace: { min: '0', max: '1' } }], req.extraParameters ?? []);
      const parsed = algorithm(name).parseSettings(req.settings, ctxOf(space, req));
      expect(isIssues(parsed) && parsed.map((i) => i.path)).toEqual(['spec.parameters[0].feasibleSpace.step']);
    });
  }

  it('never throws while parsing arbitrary settings', () => {
    const known = ['random_state', 'gamma', 'n_startup_trials', 'resource_name', 'eta', 'r_l', 'sigma', 'step', 'n_population'];
    const rawArb = fc.dictionary(fc.oneof(fc.constantFrom(...known), fc.string({ maxLength: 12 })), fc.oneof(fc.string({ maxLength: 8 }), fc.double().map(String), fc.integer().map(String)), { maxKeys: 5 });
    fc.assert(
      fc.property(spaceArb(req), rawArb, (space, raw) => {
        expect(() => algorithm(name).parseSettings(raw, ctxOf(space, req))).not.toThrow();
      }),
      RUNS,
    );
  });

  it('suggests at most count assignments, each feasible and on the step grid', () => {
    fc.assert(
      fc.property(caseArb(req), (c) => {
        const first = suggest(name, c, undefined);
        expect(contractViolations(c.space, c.count, first)).toEqual([]);
        // A second call with the first suggestions in flight exercises the parallel (liar / pending) paths.
        const second = suggest(name, c, first.state, withRunning(c.history, first));
        expect(contractViolations(c.space, c.count, second)).toEqual([]);
      }),
      RUNS,
    );
  });

  it('gives the same output for the same inputs and seed', () => {
    fc.assert(
      fc.property(caseArb(req), (c) => {
        expect(suggest(name, c, undefined)).toEqual(suggest(name, c, undefined));
      }),
      RUNS,
    );
  });

  it('gives the same next output from a state that went through JSON', () => {
    fc.assert(
      fc.property(caseArb(req), (c) => {
        const first = suggest(name, c, undefined);
        const text = JSON.stringify(first.state);
        const revived: unknown = text === undefined ? undefined : JSON.parse(text);
        expect(revived).toEqual(first.state);
        const history = withRunning(c.history, first);
        expect(suggest(name, c, revived, history)).toEqual(suggest(name, c, first.state, history));
      }),
      RUNS,
    );
  });
});

describe('grid contract', () => {
  it('suggests every combination exactly once, then reports itself exhausted', () => {
    const req = REQUIRED['grid'];
    fc.assert(
      fc.property(spaceArb(req), fc.integer({ min: 1, max: 7 }), (space, count) => {
        const size = space.reduce((n, p) => n * cardinality(p), 1);
        const settings = settingsFor('grid', space);
        const history: TrialRecord[] = [];
        let state: unknown;
        let exhausted = false;
        for (let call = 0; !exhausted && call <= size + 1; call++) {
          const r = algorithm('grid').suggest({ space, goal: 'minimize', objectiveMetric: 'loss', history, count, state, rng: createRng(call) }, settings);
          expect(contractViolations(space, count, r)).toEqual([]);
          state = JSON.parse(JSON.stringify(r.state)) as unknown;
          exhausted = r.exhausted === true;
          for (const s of r.suggestions) {
            const assignments = Object.fromEntries(s.assignments.map((a) => [a.name, a.value]));
            history.push({ name: `t${history.length}`, assignments, status: 'succeeded', objective: objective(space, assignments), metrics: {}, labels: {} });
          }
        }
        expect(exhausted).toBe(true);
        expect(history).toHaveLength(size);
        expect(new Set(history.map((t) => assignmentKey(space.map((p) => ({ name: p.name, value: t.assignments[p.name] as string }))))).size).toBe(size);
      }),
      { numRuns: 25 },
    );
  });
});

describe('contract coverage', () => {
  it.each(Object.keys(REQUIRED))('the requirement entry %s names a registered algorithm', (name) => {
    expect(NAMES).toContain(name);
  });
});
