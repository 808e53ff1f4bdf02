import { describe, expect, expectTypeOf, it } from 'vitest';
import { cardinality, isFeasible, parseSearchSpace, type SearchSpace } from '../../algorithms/core/space.js';
import { isIssues } from '../../algorithms/core/issues.js';
import { findAlgorithm } from '../../algorithms/index.js';
import type { Experiment } from '../../src/api/types.js';
import { getSuggestions } from '../../src/suggestion/adapter.js';
import { experimentToPb } from '../../src/suggestion/wire.js';
import {
  optimize,
  search,
  StudyAbortedError,
  StudyFailedError,
  toParameterSpecs,
  TrialStoppedError,
  type SearchSpaceMap,
  type Trial,
  type TrialResult,
} from '../../src/index.js';
import { toWireParameters } from '../../src/sdk/search.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function spaceOf(parameters: SearchSpaceMap): SearchSpace {
  const space = parseSearchSpace(toWireParameters(parameters));
  if (isIssues(space)) throw new Error(JSON.stringify(space));
  return space;
}

describe('optimize()', () => {
  it('types params and results from the parameters map', async () => {
    const result = await optimize({
      objective: async (params, trial) => {
        expectTypeOf(params).toEqualTypeOf<{ readonly lr: number; readonly layers: number; readonly act: 'relu' | 'tanh' }>();
        expectTypeOf(trial.params.act).toEqualTypeOf<'relu' | 'tanh'>();
        // @ts-expect-error: no such parameter
        void params.momentum;
        return Math.log10(params.lr) ** 2 + params.layers + (params.act === 'relu' ? 0 : 1);
      },
      parameters: { lr: search.loguniform(1e-4, 1e-1), layers: search.int(1, 8), act: search.choice(['relu', 'tanh']) },
      metric: 'loss',
      mode: 'minimize',
      numTrials: 8,
    });
    expectTypeOf(result.trials).toEqualTypeOf<readonly TrialResult<{ readonly lr: number; readonly layers: number; readonly act: 'relu' | 'tanh' }>[]>();
    expect(result.trials).toHaveLength(8);
    for (const t of result.trials) {
      expect(typeof t.params.lr).toBe('number');
      expect(Number.isInteger(t.params.layers)).toBe(true);
      expect(['relu', 'tanh']).toContain(t.params.act);
      expect(t.status).toBe('Succeeded');
      expect(t.value).toBe(Math.log10(t.params.lr) ** 2 + t.params.layers + (t.params.act === 'relu' ? 0 : 1));
    }
    const best = result.best;
    expect(best?.value).toBe(Math.min(...result.trials.map((t) => t.value as number)));
    expect(result.reason).toBe('MaxTrialsReached');
    expect(result.message).toBe('8 trials finished, reaching numTrials=8 (8 succeeded)');
    expect(result.trials.map((t) => t.name)).toEqual(Array.from({ length: 8 }, (_, i) => `study-${i + 1}`));
  });

  // Every registered algorithm that needs no settings beyond its defaults runs a small study on a mixed space.
  const parameters = { x: search.uniform(-2, 2, { step: 0.5 }), n: search.int(1, 4), act: search.choice(['relu', 'tanh']) };
  const generic = ['random', 'grid', 'tpe', 'multivariate-tpe', 'sobol', 'cmaes', 'bayesianoptimization'].filter((a) => findAlgorithm(a) !== undefined);
  it.each(generic)('runs a study with %s: every suggestion is in the space, and the study records it', async (algorithm) => {
    const space = spaceOf(parameters);
    const result = await optimize({
      objective: async ({ x, n, act }) => (x - 0.5) ** 2 + n + (act === 'tanh' ? 0.5 : 0),
      parameters,
      metric: 'loss',
      mode: 'minimize',
      algorithm,
      algorithmSettings: { random_state: 11 },
      numTrials: 12,
      parallelTrials: 3,
    });
    expect(result.trials).toHaveLength(12);
    for (const t of result.trials) {
      for (const p of space) expect(isFeasible(p, t.assignments[p.name] as string)).toBe(true);
      expect(t.status).toBe('Succeeded');
    }
    expect(result.best?.value).toBe(Math.min(...result.trials.map((t) => t.value as number)));
  });

  it('ends when grid is exhausted and says so', async () => {
    const result = await optimize({
      objective: async ({ lr, act }) => lr * (act === 'a' ? 1 : 2),
      parameters: { lr: search.discrete([0.1, 0.01, 0.001]), act: search.choice(['a', 'b']) },
      metric: 'loss',
      mode: 'minimize',
      algorithm: 'grid',
      numTrials: 50,
      parallelTrials: 4,
    });
    expect(result.trials).toHaveLength(6);
    expect(new Set(result.trials.map((t) => `${t.params.lr}/${t.params.act}`)).size).toBe(6);
    expect(result.reason).toBe('SuggestionEndReached');
    expect(result.message).toBe('algorithm grid has no more suggestions after 6 of numTrials=50 trials (6 succeeded)');
    expect(result.best?.params).toEqual({ lr: 0.001, act: 'a' });
  });

  it('runs objectives concurrently, never more than parallelTrials at once', async () => {
    for (const parallelTrials of [1, 4]) {
      let now = 0;
      let max = 0;
      const result = await optimize({
        objective: async ({ x }) => {
          max = Math.max(max, ++now);
          await sleep(5);
          now--;
          return x;
        },
        parameters: { x: search.uniform(0, 1) },
        metric: 'loss',
        mode: 'minimize',
        numTrials: 12,
        parallelTrials,
      });
      expect(result.trials).toHaveLength(12);
      expect(max).toBe(parallelTrials);
    }
  });

  it('passes running trials to the algorithm in the history, as the adapter does', async () => {
    const seen: number[] = [];
    const grid = findAlgorithm('grid');
    if (!grid) throw new Error('grid is registered');
    // Grid skips assignments already in the history: with running trials passed, a parallel grid never repeats.
    const result = await optimize({
      objective: async ({ k }) => {
        seen.push(k);
        await sleep(1);
        return k;
      },
      parameters: { k: search.int(1, 9) },
      metric: 'loss',
      mode: 'minimize',
      algorithm: 'grid',
      numTrials: 9,
      parallelTrials: 3,
    });
    expect(result.trials.map((t) => t.params.k)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect([...seen].sort()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('uses the returned value, else reduces reports by the metric strategy (Katib: min when minimizing)', async () => {
    const result = await optimize({
      objective: async ({ mode }, trial) => {
        trial.report({ loss: 3, acc: 0.5 });
        trial.report({ loss: 1, acc: 0.7 });
        trial.report({ loss: 2, acc: 0.6 });
        if (mode === 'number') return 0.25;
        if (mode === 'record') return { loss: 0.5, f1: 0.9 };
        return undefined;
      },
      parameters: { mode: search.choice(['number', 'record', 'reported']) },
      metric: 'loss',
      mode: 'minimize',
      additionalMetrics: ['acc'],
      metricStrategies: { acc: 'latest' },
      algorithm: 'grid',
      numTrials: 3,
    });
    const byMode = Object.fromEntries(result.trials.map((t) => [t.params.mode, t]));
    expect(byMode['number']?.value).toBe(0.25);
    expect(byMode['number']?.metrics).toEqual({ loss: 0.25, acc: 0.6 });
    expect(byMode['record']?.metrics).toEqual({ loss: 0.5, acc: 0.6, f1: 0.9 });
    expect(byMode['reported']?.value).toBe(1);
    expect(byMode['reported']?.reports.map((r) => r.step)).toEqual([1, 2, 3]);
    expect(result.best?.params.mode).toBe('number');
  });

  // A metric is named by the user: one that Object.prototype also names is read from the trial's own metrics only.
  it.each(['constructor', 'toString', 'hasOwnProperty', '__proto__'])('takes an objective metric named %s from the trial, not from Object.prototype', async (metric) => {
    const result = await optimize({
      objective: async ({ k }, trial) => {
        if (k === 4) return undefined;
        trial.report({ [metric]: k + 2, acc: 0.5 });
        trial.report({ [metric]: k + 1 });
        if (k === 3) return { [metric]: 0.5 };
        return undefined;
      },
      parameters: { k: search.int(1, 4) },
      metric,
      mode: 'minimize',
      additionalMetrics: ['acc'],
      algorithm: 'grid',
      numTrials: 4,
    });
    expect(result.trials.map((t) => [t.status, t.value])).toEqual([
      ['Succeeded', 2],
      ['Succeeded', 3],
      ['Succeeded', 0.5],
      ['MetricsUnavailable', undefined],
    ]);
    expect(result.trials[3]?.message).toBe(`the objective returned no ${metric} and reported none; return a number or call trial.report({ ${metric}: value })`);
    expect(result.best?.name).toBe('study-3');
    const first = result.trials[0];
    expect(Object.getPrototypeOf(first?.metrics)).toBe(Object.prototype);
    expect(Object.entries(first?.metrics ?? {})).toEqual([
      [metric, 2],
      ['acc', 0.5],
    ]);
  });

  it('applies a metric strategy given for a metric named __proto__, and the default one to a metric named constructor', async () => {
    const result = await optimize({
      objective: async (_params, trial) => {
        trial.report({ loss: 1, ['__proto__']: 3, constructor: 3 });
        trial.report({ loss: 2, ['__proto__']: 1, constructor: 1 });
        trial.report({ loss: 3, ['__proto__']: 2, constructor: 2 });
      },
      parameters: { k: search.int(1, 1) },
      metric: 'loss',
      mode: 'minimize',
      additionalMetrics: ['__proto__', 'constructor'],
      metricStrategies: JSON.parse('{"__proto__": "latest"}') as Record<string, 'latest'>,
      algorithm: 'grid',
      numTrials: 1,
    });
    expect(Object.entries(result.trials[0]?.metrics ?? {})).toEqual([
      ['loss', 1],
      ['__proto__', 2],
      ['constructor', 1],
    ]);
  });

  it('passes parameters named __proto__ and constructor to the objective as plain keys', async () => {
    const seen: unknown[] = [];
    const parameters = JSON.parse('{"__proto__": null, "constructor": null}') as Record<string, unknown>;
    parameters['__proto__'] = search.int(1, 2);
    parameters['constructor'] = search.choice(['a']);
    const result = await optimize({
      objective: async (params) => {
        seen.push(Object.entries(params));
        return 1;
      },
      parameters: parameters as SearchSpaceMap,
      metric: 'loss',
      mode: 'minimize',
      algorithm: 'grid',
      numTrials: 2,
    });
    const expected = [
      [
        ['__proto__', 1],
        ['constructor', 'a'],
      ],
      [
        ['__proto__', 2],
        ['constructor', 'a'],
      ],
    ];
    expect(seen).toEqual(expected);
    expect(result.trials.map((t) => Object.entries(t.params))).toEqual(expected);
    expect(result.trials.map((t) => Object.entries(t.assignments))).toEqual([
      [
        ['__proto__', '1'],
        ['constructor', 'a'],
      ],
      [
        ['__proto__', '2'],
        ['constructor', 'a'],
      ],
    ]);
  });

  it('early-stops by an objective metric named constructor, from the reports that carry it', async () => {
    const result = await optimize({
      objective: async ({ q }, trial) => {
        trial.report({ acc: 0 });
        for (let s = 1; s <= 10; s++) {
          trial.report({ constructor: q / s });
          if (trial.shouldStop()) return;
        }
      },
      parameters: { q: search.discrete([1, 2, 3, 50, 1.5]) },
      metric: 'constructor',
      mode: 'minimize',
      additionalMetrics: ['acc'],
      algorithm: 'grid',
      earlyStopping: { algorithm: 'medianstop', settings: { min_trials_required: 3, start_step: 2 } },
      numTrials: 5,
    });
    expect(result.trials.map((t) => t.status)).toEqual(['Succeeded', 'Succeeded', 'Succeeded', 'EarlyStopped', 'Succeeded']);
    expect(result.trials[3]?.message).toBe('stopped early at step 2: best constructor so far (25) is greater than 1.5');
  });

  it('maximizes with the max strategy, and ends when the goal is reached', async () => {
    const result = await optimize({
      objective: async ({ k }, trial) => {
        trial.report(k / 10, 0);
        trial.report(k / 20, 10);
      },
      parameters: { k: search.int(1, 20) },
      metric: 'accuracy',
      mode: 'maximize',
      goal: 0.5,
      algorithm: 'grid',
      numTrials: 20,
    });
    expect(result.trials.map((t) => t.value)).toEqual([0.1, 0.2, 0.3, 0.4, 0.5]);
    expect(result.trials[0]?.reports.map((r) => r.step)).toEqual([0, 10]);
    expect(result.reason).toBe('GoalReached');
    expect(result.message).toBe('trial study-5 reached the goal: accuracy=0.5 >= goal=0.5 (5 trials: 5 succeeded)');
  });

  it('marks a trial without a value MetricsUnavailable, and one returning a non-metric Failed', async () => {
    const result = await optimize({
      objective: async ({ k }, trial) => {
        if (k === 1) return undefined;
        if (k === 2) return Number.NaN;
        if (k === 3) return 'fine' as unknown as number;
        trial.report({ loss: Number.NaN });
        return { loss: 'x' as unknown as number };
      },
      parameters: { k: search.int(1, 4) },
      metric: 'loss',
      mode: 'minimize',
      algorithm: 'grid',
      numTrials: 4,
    });
    expect(result.trials.map((t) => [t.status, t.message])).toEqual([
      ['MetricsUnavailable', 'the objective returned no loss and reported none; return a number or call trial.report({ loss: value })'],
      ['MetricsUnavailable', 'the objective returned NaN for loss'],
      ['Failed', 'the objective returned "fine"; return a number, a record of metrics, or nothing after trial.report()'],
      ['Failed', 'the objective returned a non-number for metric "loss" (loss="x"); return numbers only'],
    ]);
    expect(result.best).toBeUndefined();
  });

  it('marks a throwing objective Failed with its message, and ends the study at maxFailedTrials after the running trials finish', async () => {
    const result = await optimize({
      objective: async ({ k }) => {
        if (k === 2) throw new Error('out of memory at batch 3');
        if (k === 5) throw new Error('CUDA error');
        return k;
      },
      parameters: { k: search.int(1, 9) },
      metric: 'loss',
      mode: 'minimize',
      algorithm: 'grid',
      numTrials: 9,
    });
    expect(result.trials.filter((t) => t.status === 'Failed').map((t) => t.message)).toEqual(['out of memory at batch 3', 'CUDA error']);
    expect(result.message).toBe('9 trials finished, reaching numTrials=9 (7 succeeded, 2 failed)');

    let error: unknown;
    try {
      await optimize({
        objective: async ({ k }) => {
          if (k % 2 === 1) throw new Error(`boom ${k}`);
          await sleep(20);
          return k;
        },
        parameters: { k: search.int(1, 9) },
        metric: 'loss',
        mode: 'minimize',
        algorithm: 'grid',
        numTrials: 9,
        parallelTrials: 2,
        maxFailedTrials: 2,
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StudyFailedError);
    const failed = error as StudyFailedError;
    expect(failed.failedTrials).toBe(2);
    expect(failed.message).toBe('2 trials failed, reaching maxFailedTrials=2; the last, study-3: boom 3');
    expect(failed.result.reason).toBe('MaxFailedTrialsReached');
    // Trial 3 failed while trial 2 was still running: trial 2 finished and was kept, and nothing else started.
    expect(failed.result.trials.map((t) => [t.params.k, t.status])).toEqual([
      [1, 'Failed'],
      [2, 'Succeeded'],
      [3, 'Failed'],
    ]);
    expect(failed.result.best?.params.k).toBe(2);
  });

  it('stops a bad trial early with medianstop, as the collector checks each report; the stopped trial counts and feeds the algorithm', async () => {
    const signals: { name: string; reason: unknown }[] = [];
    const result = await optimize({
      // loss at step s is q / s: the q=50 trial is far worse than the median of the others.
      objective: async ({ q }, trial) => {
        trial.signal.addEventListener('abort', () => signals.push({ name: trial.name, reason: trial.signal.reason }));
        for (let s = 1; s <= 10; s++) {
          trial.report(q / s);
          if (trial.shouldStop()) return;
        }
      },
      parameters: { q: search.discrete([1, 2, 3, 50, 1.5]) },
      metric: 'loss',
      mode: 'minimize',
      algorithm: 'grid',
      earlyStopping: { algorithm: 'medianstop', settings: { min_trials_required: 3, start_step: 2 } },
      numTrials: 5,
    });
    expect(result.trials.map((t) => t.status)).toEqual(['Succeeded', 'Succeeded', 'Succeeded', 'EarlyStopped', 'Succeeded']);
    const stopped = result.trials[3] as TrialResult<{ readonly q: 1 | 2 | 3 | 50 | 1.5 }>;
    // The median of the first two reports' averages of q = 1, 2, 3 is 0.75 * 2 = 1.5; 50 then 25 exceed it at report 2.
    expect(stopped.message).toBe('stopped early at step 2: best loss so far (25) is greater than 1.5');
    expect((signals[0]?.reason as Error).message).toBe('trial study-4 stopped early at step 2: best loss so far (25) is greater than 1.5');
    expect(stopped.reports.map((r) => r.metrics['loss'])).toEqual([50, 25]);
    expect(stopped.value).toBe(25);
    expect(signals).toHaveLength(1);
    expect(signals[0]?.name).toBe('study-4');
    expect(signals[0]?.reason).toBeInstanceOf(TrialStoppedError);
    expect((signals[0]?.reason as TrialStoppedError).kind).toBe('early-stopped');
    // q = 1.5 averages 1.125 over its first two reports: below the median, it runs to the end.
    expect(result.trials[4]?.reports).toHaveLength(10);
    expect(result.message).toBe('5 trials finished, reaching numTrials=5 (4 succeeded, 1 stopped early)');
  });

  it('keeps the early-stopped status whatever the objective does after the stop', async () => {
    const result = await optimize({
      objective: async ({ q }, trial) => {
        for (let s = 1; s <= 4; s++) trial.report(q * 10 - s);
        if (trial.shouldStop()) throw new Error('aborted by the signal');
        return q;
      },
      parameters: { q: search.discrete([1, 1.1, 1.2, 9]) },
      metric: 'loss',
      mode: 'minimize',
      algorithm: 'grid',
      earlyStopping: { algorithm: 'medianstop', settings: { min_trials_required: 3, start_step: 1 } },
      numTrials: 4,
    });
    const last = result.trials[3];
    expect(last?.status).toBe('EarlyStopped');
    expect(last?.reports).toHaveLength(1);
    expect(last?.value).toBe(89);
  });

  it('rejects on cancel with the partial result; running trials are Killed and their signal aborted', async () => {
    const controller = new AbortController();
    const reasons: unknown[] = [];
    let completed = 0;
    let error: unknown;
    try {
      await optimize({
        objective: async ({ x }, trial: Trial<{ readonly x: number }>) => {
          if (trial.number <= 3) return x;
          await new Promise<void>((resolve) =>
            trial.signal.addEventListener('abort', () => {
              reasons.push(trial.signal.reason);
              resolve();
            }),
          );
          return x;
        },
        parameters: { x: search.uniform(0, 1) },
        metric: 'loss',
        mode: 'minimize',
        numTrials: 10,
        parallelTrials: 2,
        signal: controller.signal,
        onTrialComplete: () => {
          if (++completed === 3) setTimeout(() => controller.abort(), 5);
        },
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StudyAbortedError);
    const aborted = error as StudyAbortedError;
    expect(aborted.name).toBe('AbortError');
    expect(aborted.result.reason).toBe('Aborted');
    expect(aborted.result.trials.map((t) => t.status)).toEqual(['Succeeded', 'Succeeded', 'Succeeded', 'Killed', 'Killed']);
    expect(aborted.message).toBe('the study was cancelled after 3 of numTrials=10 trials (3 succeeded); 2 running trials were killed');
    expect(aborted.result.trials[3]?.message).toBe('killed: the study was cancelled');
    expect(reasons).toHaveLength(2);
    for (const r of reasons) expect((r as TrialStoppedError).kind).toBe('cancelled');
  });

  it('rejects at once, running nothing, when the signal is already aborted', async () => {
    let calls = 0;
    const promise = optimize({
      objective: async () => ++calls,
      parameters: { x: search.uniform(0, 1) },
      metric: 'loss',
      mode: 'minimize',
      numTrials: 3,
      signal: AbortSignal.abort(new Error('user pressed Ctrl-C')),
    });
    await expect(promise).rejects.toThrow('the study was cancelled: user pressed Ctrl-C after 0 of numTrials=3 trials (0 succeeded); 0 running trials were killed');
    expect(calls).toBe(0);
  });

  it('calls onTrialComplete in completion order; a throwing callback ends the study with it as cause', async () => {
    const order: string[] = [];
    const result = await optimize({
      objective: async ({ k }) => {
        await sleep((5 - k) * 3);
        return k;
      },
      parameters: { k: search.int(1, 4) },
      metric: 'loss',
      mode: 'minimize',
      algorithm: 'grid',
      numTrials: 4,
      parallelTrials: 4,
      onTrialComplete: async (t) => {
        await sleep(1);
        order.push(`${t.name}:${t.status}`);
      },
    });
    expect(order).toEqual(['study-4:Succeeded', 'study-3:Succeeded', 'study-2:Succeeded', 'study-1:Succeeded']);
    expect(result.trials).toHaveLength(4);

    const cause = new Error('disk full');
    const rejected = optimize({
      objective: async ({ k }) => k,
      parameters: { k: search.int(1, 4) },
      metric: 'loss',
      mode: 'minimize',
      algorithm: 'grid',
      numTrials: 4,
      onTrialComplete: (t) => {
        if (t.number === 2) throw cause;
      },
    });
    await expect(rejected).rejects.toMatchObject({ name: 'AbortError', cause, message: expect.stringMatching(/^onTrialComplete threw: disk full after [234] of numTrials=4 trials/) as unknown });
  });

  it('is reproducible with random_state, and its first batch is what the Suggestion service gives', async () => {
    const parameters = { lr: search.loguniform(1e-4, 1e-1), layers: search.int(1, 8), act: search.choice(['relu', 'tanh']) };
    const run = async (seed: number): Promise<string[]> => {
      const r = await optimize({
        objective: async ({ lr, layers }) => lr * layers,
        parameters,
        metric: 'loss',
        mode: 'minimize',
        algorithm: 'random',
        algorithmSettings: { random_state: seed },
        numTrials: 9,
        parallelTrials: 3,
      });
      return r.trials.map((t) => JSON.stringify(t.assignments));
    };
    const a = await run(7);
    expect(await run(7)).toEqual(a);
    expect(await run(8)).not.toEqual(a);

    const exp: Experiment = {
      apiVersion: 'kubeflow.org/v1beta1',
      kind: 'Experiment',
      metadata: { name: 'exp' },
      spec: {
        objective: { type: 'minimize', objectiveMetricName: 'loss' },
        algorithm: { algorithmName: 'random', algorithmSettings: [{ name: 'random_state', value: '7' }] },
        parameters: toParameterSpecs(parameters),
        parallelTrialCount: 3,
        maxTrialCount: 9,
      },
    };
    const reply = getSuggestions({ experiment: experimentToPb(exp), trials: [], current_request_number: 3, total_request_number: 3 });
    expect(reply.parameter_assignments.map((p) => JSON.stringify(Object.fromEntries(p.assignments.map((x) => [x.name, x.value]))))).toEqual(a.slice(0, 3));
  });

  it('carries algorithm state between calls: a grid with one slot at a time still enumerates every point once', async () => {
    const parameters = { a: search.int(1, 3), b: search.choice(['x', 'y']) };
    expect(spaceOf(parameters).reduce((n, p) => n * cardinality(p), 1)).toBe(6);
    const result = await optimize({ objective: async ({ a }) => a, parameters, metric: 'loss', mode: 'minimize', algorithm: 'grid', numTrials: 6 });
    expect(result.trials.map((t) => `${t.params.a}${t.params.b}`)).toEqual(['1x', '1y', '2x', '2y', '3x', '3y']);
    expect(result.reason).toBe('MaxTrialsReached');
  });

  it('fails a trial whose report is not a number, with a message naming the metric', async () => {
    const result = await optimize({
      objective: async (_p, trial) => {
        trial.report({ loss: '0.3' as unknown as number });
        return 1;
      },
      parameters: { x: search.uniform(0, 1) },
      metric: 'loss',
      mode: 'minimize',
      numTrials: 1,
    });
    expect(result.trials[0]?.status).toBe('Failed');
    expect(result.trials[0]?.message).toBe('invalid\ntrial.report: metrics.loss must be a number (loss="0.3")');
  });
});

describe('optimize() with multi-fidelity algorithms', () => {
  // The loss falls with the budget and depends on x: promotions must go to the best configurations of a rung.
  const objective = async ({ x, epochs }: { readonly x: number; readonly epochs: number }): Promise<number> => (x - 0.3) ** 2 + 1 / epochs;

  it('runs Hyperband to the end of its brackets, promoting by label, and says it is exhausted', async () => {
    const result = await optimize({
      objective,
      parameters: { x: search.uniform(0, 1), epochs: search.int(1, 9) },
      metric: 'loss',
      mode: 'minimize',
      algorithm: 'hyperband',
      algorithmSettings: { r_l: 9, eta: 3, resource_name: 'epochs', random_state: 1 },
      numTrials: 1000,
      parallelTrials: 9,
    });
    expect(result.reason).toBe('SuggestionEndReached');
    const promoted = result.trials.filter((t) => t.labels['katib-ts/hyperband-parent'] !== undefined);
    expect(promoted.length).toBeGreaterThan(0);
    for (const t of promoted) {
      const parent = result.trials.find((p) => p.name === t.labels['katib-ts/hyperband-parent']);
      expect(parent?.params.x).toBe(t.params.x);
      expect(t.params.epochs).toBeGreaterThan(parent?.params.epochs ?? 0);
    }
    expect(result.best?.params.epochs).toBe(9);
  });

  it('runs ASHA asynchronously: promotions carry the parent and a larger budget', async () => {
    const result = await optimize({
      objective,
      parameters: { x: search.uniform(0, 1), epochs: search.int(1, 9) },
      metric: 'loss',
      mode: 'minimize',
      algorithm: 'asha',
      algorithmSettings: { resource_name: 'epochs', min_resource: 1, max_resource: 9, reduction_factor: 3, random_state: 2 },
      numTrials: 30,
      parallelTrials: 3,
    });
    expect(result.trials).toHaveLength(30);
    const promoted = result.trials.filter((t) => t.labels['katib-ts/asha-parent'] !== undefined);
    expect(promoted.length).toBeGreaterThan(0);
    for (const t of promoted) {
      const parent = result.trials.find((p) => p.name === t.labels['katib-ts/asha-parent']);
      expect(parent?.params.x).toBe(t.params.x);
      expect(t.params.epochs).toBe((parent?.params.epochs ?? 0) * 3);
    }
  });
});
