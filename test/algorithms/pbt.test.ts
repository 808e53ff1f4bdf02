import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Goal, SettingsContext, Suggestion, TrialRecord, TrialState } from '../../algorithms/core/algorithm.js';
import { isIssues, type Issue } from '../../algorithms/core/issues.js';
import { createRng } from '../../algorithms/core/rng.js';
import { isFeasible, parseSearchSpace, type SearchSpace, type WireParameter } from '../../algorithms/core/space.js';
import { checkpointPlan, explore, MAX_ATTEMPTS, pbt, PbtLabels, perturb, planMember, recoverState, type PbtSettings, type PbtState } from '../../algorithms/pbt/index.js';

function space(params: WireParameter[]): SearchSpace {
  const s = parseSearchSpace(params);
  if (isIssues(s)) throw new Error(JSON.stringify(s));
  return s;
}

const SPACE = space([
  { name: 'lr', parameterType: 'double', feasibleSpace: { min: '0.0001', max: '0.02', step: '0.0001' } },
  { name: 'momentum', parameterType: 'double', feasibleSpace: { min: '0.5', max: '0.99' } },
  { name: 'batch', parameterType: 'int', feasibleSpace: { min: '1', max: '10' } },
  { name: 'width', parameterType: 'discrete', feasibleSpace: { list: ['16', '32', '64'] } },
  { name: 'act', parameterType: 'categorical', feasibleSpace: { list: ['relu', 'tanh', 'gelu'] } },
]);

const ctx: SettingsContext = { space: SPACE, parallelTrialCount: 3, maxTrialCount: undefined };
const path = (n: string): string => `spec.algorithm.algorithmSettings[${n}]`;

function settingsOf(raw: Record<string, string>): PbtSettings {
  const s = pbt.parseSettings(raw, ctx);
  if (isIssues(s)) throw new Error(JSON.stringify(s));
  return s;
}

const KATIB_EXAMPLE = { suggestion_trial_dir: '/var/log/katib/checkpoints/', n_population: '40', truncation_threshold: '0.2' };

describe('pbt settings', () => {
  it('accepts Katib’s simple-pbt example; resample_probability defaults to 0', () => {
    expect(settingsOf(KATIB_EXAMPLE)).toEqual({ population: 40, truncationThreshold: 0.2, resampleProbability: 0, trialDir: '/var/log/katib/checkpoints/' });
  });

  it.each<{ name: string; raw: Record<string, string>; issues: Issue[] }>([
    {
      name: 'all required settings missing',
      raw: {},
      issues: [
        { path: path('n_population'), message: 'is required: set it to the population size, an integer >= 5' },
        { path: path('truncation_threshold'), message: 'is required: set it to the fraction of the population that exploits, between 0 and 1' },
        { path: path('suggestion_trial_dir'), message: 'is required: set it to the folder where each trial finds its checkpoint, e.g. /var/log/katib/checkpoints/' },
      ],
    },
    {
      name: 'values out of range',
      raw: { ...KATIB_EXAMPLE, n_population: '4', truncation_threshold: '1.5', resample_probability: '-0.1', seed: '1' },
      issues: [
        { path: path('seed'), message: 'unknown setting "seed"; known settings: n_population, truncation_threshold, resample_probability, suggestion_trial_dir, random_state' },
        { path: path('n_population'), message: 'must be an integer >= 5 (n_population="4")' },
        { path: path('truncation_threshold'), message: 'must be a number >= 0 and <= 1 (truncation_threshold="1.5")' },
        { path: path('resample_probability'), message: 'must be a number >= 0 and <= 1 (resample_probability="-0.1")' },
      ],
    },
  ])('$name', ({ raw, issues }) => {
    expect(pbt.parseSettings(raw, ctx)).toEqual(issues);
  });
});

/** An Rng whose next() returns the given values in turn (then 0.5); enough for perturb's coin. */
function scripted(...values: number[]) {
  const rng = createRng('scripted');
  let i = 0;
  return { ...rng, next: () => (i < values.length ? (values[i++] as number) : 0.5) };
}

const byName = (n: string) => SPACE.find((p) => p.name === n) as SearchSpace[number];

describe('pbt explore', () => {
  it.each([
    { name: 'double × 0.8 on the step grid', param: 'lr', value: '0.01', coin: 0.1, out: '0.008' },
    { name: 'double × 1.2', param: 'lr', value: '0.01', coin: 0.9, out: '0.012' },
    { name: 'double × 1.2 clamped to max', param: 'lr', value: '0.019', coin: 0.9, out: '0.02' },
    { name: 'continuous double × 0.8 clamped to min', param: 'momentum', value: '0.55', coin: 0.1, out: '0.5' },
    { name: 'small int moves one step up when rounding swallows × 1.2', param: 'batch', value: '2', coin: 0.9, out: '3' },
    { name: 'small int moves one step down', param: 'batch', value: '2', coin: 0.1, out: '1' },
    { name: 'int at max stays at max', param: 'batch', value: '10', coin: 0.9, out: '10' },
    { name: 'discrete to the next entry', param: 'width', value: '32', coin: 0.9, out: '64' },
    { name: 'discrete at the top end moves inwards', param: 'width', value: '64', coin: 0.9, out: '32' },
    { name: 'discrete at the bottom end moves inwards', param: 'width', value: '16', coin: 0.1, out: '32' },
    { name: 'categorical to the next entry', param: 'act', value: 'tanh', coin: 0.9, out: 'gelu' },
    { name: 'categorical wraps around', param: 'act', value: 'relu', coin: 0.1, out: 'gelu' },
  ])('perturb: $name', ({ param, value, coin, out }) => {
    expect(perturb(byName(param), value, scripted(coin))).toBe(out);
  });

  it('stays feasible for any value, perturbation or resampling (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_000_000 }), fc.double({ min: 0, max: 1, noNaN: true }), (seed, p) => {
        const rng = createRng(seed);
        let values = Object.fromEntries(SPACE.map((q) => [q.name, q.type === 'categorical' ? q.values[0] : q.type === 'discrete' ? q.raw[0] : String(q.min)])) as Record<string, string>;
        for (let k = 0; k < 5; k++) {
          values = explore(SPACE, values, p, rng);
          for (const q of SPACE) expect(isFeasible(q, values[q.name] as string)).toBe(true);
        }
      }),
    );
  });

  it('resamples every parameter with resample_probability 1 and perturbs with 0', () => {
    const start = { lr: '0.01', momentum: '0.7', batch: '5', width: '32', act: 'tanh' };
    const perturbed = explore(SPACE, start, 0, createRng(3));
    expect(perturbed['lr'] === '0.008' || perturbed['lr'] === '0.012').toBe(true);
    expect(['16', '64']).toContain(perturbed['width']);
    const draws = Array.from({ length: 50 }, (_, i) => explore(SPACE, start, 1, createRng(i))['lr']);
    expect(draws.filter((v) => v !== '0.008' && v !== '0.012' && v !== '0.01').length).toBeGreaterThan(40);
  });
});

function record(name: string, member: number, generation: number, objective: number | undefined, extra: Partial<TrialRecord> = {}): TrialRecord {
  return {
    name,
    assignments: { lr: '0.01', momentum: '0.7', batch: String(member + 1), width: '32', act: 'relu' },
    status: objective === undefined ? 'running' : 'succeeded',
    objective,
    metrics: {},
    labels: { [PbtLabels.generation]: String(generation), [PbtLabels.member]: String(member) },
    ...extra,
  };
}

describe('pbt exploit', () => {
  const S: PbtSettings = { population: 5, truncationThreshold: 0.4, resampleProbability: 0, trialDir: '/ckpt' };
  // Losses: member 3 best, then 0, 4, 1, 2 worst. Bottom floor(5 · 0.4) = 2: members 1 and 2. Top ceil(2) = 2: 3 and 0.
  const previous = [2, 4, 5, 1, 3].map((v, i) => record(`g0-${i}`, i, 0, v));

  it.each([0, 3, 4])('member %i (not in the bottom) continues from its own checkpoint with its own hyperparameters', (i) => {
    const plan = planMember(i, previous, S, 'minimize', SPACE, createRng(1));
    expect(plan).toEqual({ assignments: previous[i]?.assignments, parent: previous[i], exploited: false });
  });

  it.each([1, 2])('member %i (bottom) copies a top member’s checkpoint and explores its hyperparameters', (i) => {
    for (let seed = 0; seed < 20; seed++) {
      const plan = planMember(i, previous, S, 'minimize', SPACE, createRng(seed));
      expect(plan.exploited).toBe(true);
      expect(['g0-3', 'g0-0']).toContain(plan.parent.name);
      // Explored: perturbation always moves these (neither is at an end of a non-cyclic range).
      expect(plan.assignments['act']).not.toBe('relu');
      expect(['16', '64']).toContain(plan.assignments['width']);
    }
  });

  it('turns the ranking around when maximizing, and a member without a result always exploits', () => {
    expect(planMember(3, previous, S, 'maximize', SPACE, createRng(1)).exploited).toBe(true);
    expect(planMember(2, previous, S, 'maximize', SPACE, createRng(1)).exploited).toBe(false);
    const holed = [...previous.slice(0, 3), undefined, previous[4]];
    expect(planMember(3, holed, S, 'minimize', SPACE, createRng(1)).exploited).toBe(true);
  });

  it('never exploits with truncation_threshold 0', () => {
    const none = { ...S, truncationThreshold: 0 };
    for (let i = 0; i < 5; i++) expect(planMember(i, previous, none, 'minimize', SPACE, createRng(i)).exploited).toBe(false);
  });
});

/** A controller for PBT: names trials `pbt-<n>`, finishes them with a score of the assignments. */
class Sim {
  readonly trials: (TrialRecord & { status: TrialState })[] = [];
  state: PbtState | undefined;
  exhausted = false;
  private calls = 0;
  constructor(
    readonly settings: PbtSettings,
    readonly goal: Goal = 'maximize',
  ) {}

  ask(count: number, opts: { roundTrip?: boolean; loseState?: boolean } = {}): Suggestion[] {
    const state = opts.loseState ? undefined : opts.roundTrip ? (JSON.parse(JSON.stringify(this.state ?? null)) as PbtState | null) ?? undefined : this.state;
    const res = pbt.suggest({ space: SPACE, goal: this.goal, objectiveMetric: 'acc', history: this.trials, count, state, rng: createRng(`pbt/${this.calls++}`) }, this.settings);
    this.state = res.state;
    this.exhausted = res.exhausted === true;
    for (const s of res.suggestions) {
      this.trials.push({ name: `pbt-${this.trials.length}`, assignments: Object.fromEntries(s.assignments.map((a) => [a.name, a.value])), status: 'running', objective: undefined, metrics: {}, labels: { ...(s.labels ?? {}) } });
    }
    return [...res.suggestions];
  }

  finishAll(fail: (t: TrialRecord) => boolean = () => false): void {
    this.trials.forEach((t, i) => {
      if (t.status !== 'running') return;
      const objective = fail(t) ? undefined : -Math.abs(Number(t.assignments['lr']) - 0.005) + Number(t.labels[PbtLabels.generation]);
      this.trials[i] = { ...t, status: objective === undefined ? 'failed' : 'succeeded', objective };
    });
  }

  runGenerations(generations: number, parallel: number, opts: { roundTrip?: boolean; loseState?: boolean } = {}): void {
    for (let guard = 0; guard < 10_000; guard++) {
      const running = this.trials.filter((t) => t.status === 'running').length;
      const got = running < parallel ? this.ask(parallel - running, opts) : [];
      if (got.length === 0) this.finishAll();
      const top = Math.max(...this.trials.map((t) => Number(t.labels[PbtLabels.generation])));
      if (top >= generations) break;
    }
  }
}

const gen = (t: TrialRecord): number => Number(t.labels[PbtLabels.generation]);

describe('pbt generations', () => {
  const S = settingsOf({ suggestion_trial_dir: '/ckpt', n_population: '6', truncation_threshold: '0.34' });

  it('keeps lineage: every generation-(g+1) trial’s parent is a generation-g trial (simulation)', () => {
    const sim = new Sim(S);
    sim.runGenerations(5, 4);
    const names = new Map(sim.trials.map((t) => [t.name, t]));
    for (let g = 0; g < 5; g++) {
      const members = sim.trials.filter((t) => gen(t) === g);
      expect(members.map((t) => t.labels[PbtLabels.member]).sort()).toEqual(['0', '1', '2', '3', '4', '5']);
    }
    let exploits = 0;
    for (const t of sim.trials) {
      const parent = t.labels[PbtLabels.parent];
      if (gen(t) === 0) {
        expect(parent).toBeUndefined();
        continue;
      }
      const p = names.get(parent as string) as TrialRecord;
      expect(gen(p)).toBe(gen(t) - 1);
      expect(p.status).toBe('succeeded');
      if (p.labels[PbtLabels.member] === t.labels[PbtLabels.member]) {
        expect(t.assignments).toEqual(p.assignments); // continued
      } else {
        exploits++; // copied a better member of the previous generation
        const siblings = sim.trials.filter((x) => gen(x) === gen(p)).map((x) => x.objective as number).sort((a, b) => b - a);
        expect(p.objective as number).toBeGreaterThanOrEqual(siblings[2] as number); // top ceil(6 · 0.34) = 3
      }
    }
    // floor(6 · 0.34) = 2 members exploit per generation, unless they copy from themselves (never: top and bottom are disjoint).
    expect(exploits).toBe(2 * 4);
    for (const t of sim.trials) for (const p of SPACE) expect(isFeasible(p, t.assignments[p.name] as string)).toBe(true);
  });

  it('suggests nothing while the generation is still running, then starts the next one', () => {
    const sim = new Sim(S);
    expect(sim.ask(10)).toHaveLength(6);
    expect(sim.ask(10)).toHaveLength(0);
    sim.finishAll();
    const next = sim.ask(2);
    expect(next.map((s) => [s.labels?.[PbtLabels.generation], s.labels?.[PbtLabels.member]])).toEqual([
      ['1', '0'],
      ['1', '1'],
    ]);
    expect(sim.state).toEqual({ generation: 1, issued: 2, retried: [] });
  });

  it('continues identically after its state went through JSON, and rebuilds a lost state from labels', () => {
    const plain = new Sim(S);
    const restarted = new Sim(S);
    plain.runGenerations(3, 4);
    restarted.runGenerations(3, 4, { roundTrip: true });
    expect(restarted.trials).toEqual(plain.trials);

    const lost = new Sim(S);
    lost.runGenerations(3, 4, { loseState: true });
    for (let g = 0; g < 3; g++) expect(lost.trials.filter((t) => gen(t) === g)).toHaveLength(6);
    expect(recoverState(lost.trials, 6)).toMatchObject({ generation: 3 });
  });

  it('retries a failed trial with the same assignments and labels, at most MAX_ATTEMPTS times in all', () => {
    const sim = new Sim(S);
    sim.ask(6);
    sim.finishAll((t) => t.labels[PbtLabels.member] === '2');
    const retry = sim.ask(6);
    expect(retry).toHaveLength(1);
    const failed = sim.trials.find((t) => t.labels[PbtLabels.member] === '2') as TrialRecord;
    expect(Object.fromEntries((retry[0] as Suggestion).assignments.map((a) => [a.name, a.value]))).toEqual(failed.assignments);
    expect(retry[0]?.labels).toEqual(failed.labels);
    expect(sim.ask(6)).toEqual([]); // the retry is running
    for (let k = 1; k < MAX_ATTEMPTS; k++) {
      sim.finishAll((t) => t.labels[PbtLabels.member] === '2');
      const next = sim.ask(1);
      if (k < MAX_ATTEMPTS - 1) expect(next.map((s) => s.labels?.[PbtLabels.member])).toEqual(['2']);
      else expect(next.map((s) => s.labels?.[PbtLabels.generation])).toEqual(['1']); // given up: generation 1 starts
    }
    expect(sim.trials.filter((t) => t.labels[PbtLabels.member] === '2' && gen(t) === 0)).toHaveLength(MAX_ATTEMPTS);
    // Member 2 has no result, so it exploits in generation 1.
    sim.ask(10);
    const child = sim.trials.find((t) => gen(t) === 1 && t.labels[PbtLabels.member] === '2') as TrialRecord;
    expect(child.labels[PbtLabels.parent]).not.toBe(failed.name);
  });

  it('reports itself exhausted when a whole generation ends without a result', () => {
    const sim = new Sim(settingsOf({ suggestion_trial_dir: '/ckpt', n_population: '5', truncation_threshold: '0.2' }));
    for (let k = 0; k < MAX_ATTEMPTS; k++) {
      sim.ask(10);
      sim.finishAll(() => true);
    }
    expect(sim.ask(10)).toEqual([]);
    expect(sim.exhausted).toBe(true);
  });
});

describe('pbt checkpoints', () => {
  it.each<{ name: string; labels: Record<string, string>; plan: { folder: string; copyFrom: string | undefined } }>([
    { name: 'generation 0 starts empty', labels: { [PbtLabels.generation]: '0' }, plan: { folder: 'exp/exp-7', copyFrom: undefined } },
    { name: 'later generations copy the parent', labels: { [PbtLabels.generation]: '2', [PbtLabels.parent]: 'exp-3' }, plan: { folder: 'exp/exp-7', copyFrom: 'exp/exp-3' } },
  ])('$name', ({ labels, plan }) => {
    expect(checkpointPlan('exp', { name: 'exp-7', labels })).toEqual(plan);
  });
});
