import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Goal, SettingsContext, Suggestion, TrialRecord, TrialState } from '../../algorithms/core/algorithm.js';
import { isIssues, type Issue } from '../../algorithms/core/issues.js';
import { createRng } from '../../algorithms/core/rng.js';
import { parseSearchSpace, type SearchSpace, type WireParameter } from '../../algorithms/core/space.js';
import { bracketRungs, hyperband, HyperbandLabels, maxBracket, recoverState, schedule, type HyperbandSettings, type HyperbandState } from '../../algorithms/hyperband/index.js';

function space(params: WireParameter[]): SearchSpace {
  const s = parseSearchSpace(params);
  if (isIssues(s)) throw new Error(JSON.stringify(s));
  return s;
}

const SPACE = space([
  { name: 'lr', parameterType: 'double', feasibleSpace: { min: '0.01', max: '0.05' } },
  { name: 'optimizer', parameterType: 'categorical', feasibleSpace: { list: ['sgd', 'adam'] } },
  // Katib's hyperband example declares the resource as min 1, max 1 (the algorithm ignores its bounds); a wider
  // range keeps this suite independent of whether the space parser accepts min == max.
  { name: 'epochs', parameterType: 'int', feasibleSpace: { min: '1', max: '81' } },
]);

const ctx = (over: Partial<SettingsContext> = {}): SettingsContext => ({ space: SPACE, parallelTrialCount: 100, maxTrialCount: undefined, ...over });

function settingsOf(raw: Record<string, string>, c: SettingsContext = ctx()): HyperbandSettings {
  const s = hyperband.parseSettings(raw, c);
  if (isIssues(s)) throw new Error(JSON.stringify(s));
  return s;
}

describe('hyperband bracket arithmetic', () => {
  it('reproduces the paper’s table for R = 81, eta = 3 (Li et al. 2018, Table 1)', () => {
    const table = schedule(81, 3).map((rungs) => rungs.map((r) => [r.trials, r.budget]));
    expect(table).toEqual([
      [[81, 1], [27, 3], [9, 9], [3, 27], [1, 81]],
      [[34, 3], [11, 9], [3, 27], [1, 81]],
      [[15, 9], [5, 27], [1, 81]],
      [[8, 27], [2, 81]],
      [[5, 81]],
    ]);
  });

  it.each([
    { name: 'Katib example R=2 eta=2', r: 2, eta: 2, table: [[[2, 1], [1, 2]], [[2, 2]]] },
    { name: 'R below eta: one bracket of one trial', r: 2, eta: 3, table: [[[1, 2]]] },
    { name: 'R=9 eta=3', r: 9, eta: 3, table: [[[9, 1], [3, 3], [1, 9]], [[5, 3], [1, 9]], [[3, 9]]] },
    { name: 'R=10 eta=3 (not a power)', r: 10, eta: 3, table: [[[9, 10 / 9], [3, 10 / 3], [1, 10]], [[5, 10 / 3], [1, 10]], [[3, 10]]] },
  ])('$name', ({ r, eta, table }) => {
    expect(schedule(r, eta).map((rungs) => rungs.map((x) => [x.trials, x.budget]))).toEqual(table);
  });

  it.each([
    { name: '243 = 3^5 (float log gives 4)', r: 243, eta: 3, sMax: 5 },
    { name: '1000 with eta 10', r: 1000, eta: 10, sMax: 3 },
    { name: '81 with eta 3', r: 81, eta: 3, sMax: 4 },
    { name: '80 with eta 3', r: 80, eta: 3, sMax: 3 },
    { name: '1 with eta 2', r: 1, eta: 2, sMax: 0 },
  ])('s_max for $name', ({ r, eta, sMax }) => {
    expect(maxBracket(r, eta)).toBe(sMax);
  });

  it('keeps every budget <= R, rungs shrinking, counts and total budget bounded (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 8 }), fc.double({ min: 1, max: 5000, noNaN: true }), (eta, r) => {
        const sMax = maxBracket(r, eta);
        expect(eta ** sMax).toBeLessThanOrEqual(r * (1 + 1e-12));
        expect(eta ** (sMax + 1)).toBeGreaterThan(r);
        let total = 0;
        for (let s = sMax; s >= 0; s--) {
          const rungs = bracketRungs(s, sMax, eta, r);
          expect(rungs).toHaveLength(s + 1);
          expect(rungs[rungs.length - 1]?.budget).toBe(r);
          rungs.forEach((rung, i) => {
            expect(rung.budget).toBeLessThanOrEqual(r);
            expect(rung.trials).toBeGreaterThanOrEqual(1);
            // Each rung spends at most about B = (s_max + 1) R, as the paper's budget argument needs.
            expect(rung.trials * rung.budget).toBeLessThanOrEqual((sMax + 2) * r * (1 + 1e-9));
            const next = rungs[i + 1];
            if (next) {
              expect(next.trials).toBe(Math.floor(rung.trials / eta));
              expect(next.budget).toBeCloseTo(rung.budget * eta, 6);
            }
            total += rung.trials;
          });
        }
        // The first rung is the largest one and Katib's parallelTrialCount bound.
        expect(bracketRungs(sMax, sMax, eta, r)[0]?.trials).toBe(eta ** sMax);
        expect(total).toBeLessThanOrEqual((sMax + 1) * (sMax + 1) * eta ** sMax * 2);
      }),
    );
  });
});

describe('hyperband settings', () => {
  const path = (n: string): string => `spec.algorithm.algorithmSettings[${n}]`;
  it.each<{ name: string; raw: Record<string, string>; c?: Partial<SettingsContext>; issues: Issue[] }>([
    {
      name: 'both required settings missing',
      raw: {},
      issues: [
        { path: path('resource_name'), message: 'is required: set it to the name of an int or double parameter that receives the budget; candidates: lr, epochs' },
        { path: path('r_l'), message: 'is required: set it to the maximum resource per trial, e.g. the number of epochs' },
      ],
    },
    {
      name: 'resource names no parameter',
      raw: { r_l: '9', resource_name: 'steps' },
      issues: [{ path: path('resource_name'), message: 'names no parameter of the experiment (resource_name="steps"); candidates: lr, epochs' }],
    },
    {
      name: 'resource is categorical',
      raw: { r_l: '9', resource_name: 'optimizer' },
      issues: [{ path: path('resource_name'), message: 'must name an int or double parameter, but "optimizer" is categorical (resource_name="optimizer"); candidates: lr, epochs' }],
    },
    {
      name: 'r_l below 1 for an int resource, eta not an integer >= 2, unknown setting',
      raw: { r_l: '0.5', resource_name: 'epochs', eta: '1.5', etta: '3' },
      issues: [
        { path: path('etta'), message: 'unknown setting "etta"; known settings: r_l, eta, resource_name, random_state' },
        { path: path('r_l'), message: 'must be a number >= 1 (r_l="0.5")' },
        { path: path('eta'), message: 'must be an integer >= 2 (eta="1.5")' },
      ],
    },
    {
      name: 'r_l not positive for a double resource',
      raw: { r_l: '0', resource_name: 'lr' },
      issues: [{ path: path('r_l'), message: 'must be a number > 0 (r_l="0")' }],
    },
    {
      name: 'parallelTrialCount below the first rung (Katib’s check)',
      raw: { r_l: '81', resource_name: 'epochs' },
      c: { parallelTrialCount: 80 },
      issues: [
        {
          path: 'spec.parallelTrialCount',
          message:
            'must be at least 81 for hyperband with r_l=81 and eta=3: the first rung runs eta^s_max = 81 trials at once (parallelTrialCount=80); raise parallelTrialCount, lower r_l or raise eta',
        },
      ],
    },
  ])('$name', ({ raw, c, issues }) => {
    expect(hyperband.parseSettings(raw, ctx(c))).toEqual(issues);
  });

  it('accepts Katib’s example settings with defaults', () => {
    const s = settingsOf({ resource_name: 'epochs', eta: '2', r_l: '2' }, ctx({ parallelTrialCount: 2 }));
    expect(s).toMatchObject({ maxResource: 2, eta: 2, sMax: 1 });
    expect(s.resource.name).toBe('epochs');
    expect(settingsOf({ resource_name: 'epochs', r_l: '9' }).eta).toBe(3);
  });

  it('never throws on arbitrary settings (property)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('r_l', 'eta', 'resource_name', 'random_state', 'x'), fc.string()), fc.integer({ min: 1, max: 1000 }), (raw, p) => {
        const r = hyperband.parseSettings(raw, ctx({ parallelTrialCount: p }));
        expect(isIssues(r) || typeof r === 'object').toBe(true);
      }),
    );
  });
});

/** A tiny controller: asks for suggestions, creates trials named `hb-<n>`, finishes them with `score`. */
class Sim {
  readonly trials: (TrialRecord & { status: TrialState })[] = [];
  state: HyperbandState | undefined = undefined;
  exhausted = false;
  calls = 0;
  constructor(
    readonly settings: HyperbandSettings,
    readonly goal: Goal,
    readonly score: (a: Readonly<Record<string, string>>) => number,
    readonly seed = 'seed',
  ) {}

  ask(count: number, opts: { roundTrip?: boolean; loseState?: boolean } = {}): Suggestion[] {
    const state = opts.loseState ? undefined : opts.roundTrip ? (JSON.parse(JSON.stringify(this.state ?? null)) as HyperbandState | null) ?? undefined : this.state;
    const res = hyperband.suggest(
      { space: SPACE, goal: this.goal, objectiveMetric: 'loss', history: this.trials, count, state, rng: createRng(`${this.seed}/${this.calls++}`) },
      this.settings,
    );
    this.state = res.state;
    this.exhausted = res.exhausted === true;
    for (const s of res.suggestions) {
      this.trials.push({
        name: `hb-${this.trials.length}`,
        assignments: Object.fromEntries(s.assignments.map((a) => [a.name, a.value])),
        status: 'running',
        objective: undefined,
        metrics: {},
        labels: { ...(s.labels ?? {}) },
      });
    }
    return [...res.suggestions];
  }

  finishAll(fail: (t: TrialRecord) => boolean = () => false): void {
    this.trials.forEach((t, i) => {
      if (t.status !== 'running') return;
      const objective = fail(t) ? undefined : this.score(t.assignments);
      this.trials[i] = { ...t, status: objective === undefined ? 'failed' : 'succeeded', objective, metrics: objective === undefined ? {} : { loss: objective } };
    });
  }

  /** Runs to the end with `parallel` slots, finishing the running trials whenever no suggestion comes. */
  run(parallel: number, opts: { roundTrip?: boolean; loseState?: boolean } = {}): void {
    for (let guard = 0; guard < 10_000 && !this.exhausted; guard++) {
      const running = this.trials.filter((t) => t.status === 'running').length;
      const got = running < parallel ? this.ask(parallel - running, opts) : [];
      if (got.length === 0) this.finishAll();
    }
    this.finishAll();
  }
}

const lrScore = (a: Readonly<Record<string, string>>): number => Number(a['lr']) * 100 + 1 / Number(a['epochs']);

describe('hyperband suggestions', () => {
  it('runs every bracket of R = 9, eta = 3 with the paper’s rung sizes and budgets, then is exhausted', () => {
    const sim = new Sim(settingsOf({ resource_name: 'epochs', r_l: '9' }), 'minimize', lrScore);
    sim.run(9);
    const rungs = new Map<string, string[]>();
    for (const t of sim.trials) {
      const key = `${t.labels[HyperbandLabels.bracket]}/${t.labels[HyperbandLabels.rung]}`;
      rungs.set(key, [...(rungs.get(key) ?? []), t.assignments['epochs'] as string]);
    }
    expect([...rungs.entries()]).toEqual([
      ['2/0', Array(9).fill('1')],
      ['2/1', Array(3).fill('3')],
      ['2/2', ['9']],
      ['1/0', Array(5).fill('3')],
      ['1/1', ['9']],
      ['0/0', Array(3).fill('9')],
    ]);
    expect(sim.exhausted).toBe(true);
    expect(sim.state).toEqual({ bracket: -1, rung: 0, issued: 0 });
    expect(sim.ask(5)).toEqual([]);
    expect(sim.trials.every((t) => Number(t.assignments['epochs']) <= 9)).toBe(true);
  });

  it('promotes the best 1/eta as new trials with the same other parameters and budget × eta (minimize)', () => {
    const sim = new Sim(settingsOf({ resource_name: 'epochs', r_l: '9' }), 'minimize', lrScore);
    sim.ask(9);
    expect(sim.ask(3)).toEqual([]); // the rung is still running
    sim.finishAll();
    const rung0 = [...sim.trials];
    const promoted = sim.ask(9);
    expect(promoted).toHaveLength(3);
    const best = [...rung0].sort((a, b) => (a.objective as number) - (b.objective as number)).slice(0, 3);
    promoted.forEach((p, j) => {
      const parent = best[j] as TrialRecord;
      expect(p.labels?.[HyperbandLabels.parent]).toBe(parent.name);
      expect(p.assignments).toEqual([
        { name: 'lr', value: parent.assignments['lr'] },
        { name: 'optimizer', value: parent.assignments['optimizer'] },
        { name: 'epochs', value: '3' },
      ]);
    });
  });

  it('promotes the highest objectives when maximizing', () => {
    const sim = new Sim(settingsOf({ resource_name: 'epochs', r_l: '9' }), 'maximize', lrScore);
    sim.ask(9);
    sim.finishAll();
    const worstFirst = [...sim.trials].sort((a, b) => (b.objective as number) - (a.objective as number)).slice(0, 3).map((t) => t.name);
    expect(sim.ask(9).map((s) => s.labels?.[HyperbandLabels.parent])).toEqual(worstFirst);
  });

  it('never promotes a failed trial and waits for trials not yet in the history', () => {
    const sim = new Sim(settingsOf({ resource_name: 'epochs', r_l: '9' }), 'minimize', lrScore);
    sim.ask(9);
    sim.finishAll((t) => Number(t.name.slice(3)) >= 2); // only hb-0 and hb-1 succeed
    const promoted = sim.ask(9);
    expect(promoted.map((s) => s.labels?.[HyperbandLabels.parent]).sort()).toEqual(['hb-0', 'hb-1']);
    // Remove one promoted trial from the history: as if the controller had not created it yet.
    const lagging = sim.trials.pop() as TrialRecord;
    sim.finishAll();
    expect(sim.ask(9)).toEqual([]);
    sim.trials.push({ ...lagging, status: 'succeeded', objective: 1, metrics: { loss: 1 } });
    expect(sim.ask(9).map((s) => s.labels?.[HyperbandLabels.rung])).toEqual(['2']);
  });

  it('hands out a rung across several calls when fewer suggestions are wanted', () => {
    const sim = new Sim(settingsOf({ resource_name: 'epochs', r_l: '9' }), 'minimize', lrScore);
    expect(sim.ask(4)).toHaveLength(4);
    expect(sim.state).toEqual({ bracket: 2, rung: 0, issued: 4 });
    expect(sim.ask(4)).toHaveLength(4);
    expect(sim.ask(4)).toHaveLength(1);
    expect(sim.ask(4)).toHaveLength(0);
  });

  it('continues the same bracket after its state went through JSON (a restart)', () => {
    const s = settingsOf({ resource_name: 'epochs', r_l: '27' });
    const plain = new Sim(s, 'minimize', lrScore);
    const restarted = new Sim(s, 'minimize', lrScore);
    plain.run(27);
    restarted.run(27, { roundTrip: true });
    expect(restarted.trials).toEqual(plain.trials);
  });

  it('rebuilds a lost state from the trials’ labels instead of restarting the bracket', () => {
    const s = settingsOf({ resource_name: 'epochs', r_l: '9' });
    const sim = new Sim(s, 'minimize', lrScore);
    sim.ask(9);
    sim.finishAll();
    sim.ask(2); // two of rung 1's three promotions
    expect(recoverState(sim.trials, s.sMax)).toEqual({ bracket: 2, rung: 1, issued: 2 });
    const next = sim.ask(9, { loseState: true });
    expect(next).toHaveLength(1);
    expect(next[0]?.labels?.[HyperbandLabels.rung]).toBe('1');
    const lost = new Sim(s, 'minimize', lrScore);
    lost.run(9, { loseState: true });
    expect(lost.trials).toHaveLength(9 + 3 + 1 + 5 + 1 + 3);
    expect(lost.exhausted).toBe(true);
  });

  it('writes double budgets without float noise and never above r_l', () => {
    const sim = new Sim(settingsOf({ resource_name: 'lr', r_l: '0.3', eta: '2' }), 'minimize', () => 1);
    sim.run(1);
    // r_l < eta: s_max = 0, one bracket of one trial at r_l.
    expect(sim.trials.map((t) => t.assignments['lr'])).toEqual(['0.3']);
    const ten = new Sim(settingsOf({ resource_name: 'lr', r_l: '10' }), 'minimize', (a) => Number(a['epochs']));
    ten.run(9);
    expect(new Set(ten.trials.map((t) => t.assignments['lr']))).toEqual(new Set(['1.11111111111', '3.33333333333', '10']));
  });

  it('gives the same suggestions for the same seed (determinism)', () => {
    const s = settingsOf({ resource_name: 'epochs', r_l: '9' });
    const a = new Sim(s, 'minimize', lrScore, 'x');
    const b = new Sim(s, 'minimize', lrScore, 'x');
    a.run(9);
    b.run(9);
    expect(a.trials).toEqual(b.trials);
  });
});
