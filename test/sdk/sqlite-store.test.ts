import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, optimize, OptimizeError, search, StudyAbortedError, ValidationError, type TrialResult } from '../../src/index.js';
import { SqliteStudyStore } from '../../src/sdk/sqlite-study-store.js';
import type { StoredTrial, StudyFingerprint } from '../../src/sdk/study-store.js';

let dir: string;
let file: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'katib-sdk-'));
  file = path.join(dir, 'nested', 'studies.db');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const parameters = { lr: search.loguniform(1e-4, 1e-1), layers: search.int(1, 8), act: search.choice(['relu', 'tanh']) };
type P = { readonly lr: number; readonly layers: number; readonly act: 'relu' | 'tanh' };
const loss = (p: P): number => Math.log10(p.lr) ** 2 + p.layers / 10 + (p.act === 'tanh' ? 0.5 : 0);

function study(numTrials: number, calls: P[], extra: Partial<Parameters<typeof optimize<typeof parameters>>[0]> = {}) {
  return optimize({
    objective: async (p, trial) => {
      calls.push(p);
      trial.report({ loss: loss(p) + 1, acc: 0.5 }, 1);
      trial.report({ loss: loss(p), acc: 0.75 }, 2);
    },
    parameters,
    metric: 'loss',
    mode: 'minimize',
    additionalMetrics: ['acc'],
    algorithm: 'random',
    algorithmSettings: { random_state: 5 },
    numTrials,
    store: { sqlite: file, studyName: 'mnist' },
    ...extra,
  });
}

const summary = (t: TrialResult<P>): unknown => ({ name: t.name, number: t.number, params: t.params, status: t.status, value: t.value, metrics: t.metrics, reports: t.reports, message: t.message });

describe('optimize() with a SQLite store', () => {
  it('resumes a study by name: 5 of 10, then the other 5, never re-running the first', async () => {
    const first: P[] = [];
    const a = await study(5, first);
    expect(a.trials).toHaveLength(5);
    expect(first).toHaveLength(5);
    expect(fs.existsSync(file)).toBe(true);

    const second: P[] = [];
    const b = await study(10, second);
    expect(second).toHaveLength(5);
    expect(b.trials).toHaveLength(10);
    expect(b.trials.slice(0, 5).map(summary)).toEqual(a.trials.map(summary));
    expect(b.trials.slice(5).map((t) => t.params)).toEqual(second);
    expect(b.trials.map((t) => t.name)).toEqual(Array.from({ length: 10 }, (_, i) => `mnist-${i + 1}`));
    expect(b.message).toBe('10 trials finished, reaching numTrials=10 (10 succeeded)');

    // Seeds derive from the suggestion count and history, both stored: the resumed study is the uninterrupted one.
    fs.rmSync(file);
    const straight = await study(10, []);
    expect(straight.trials.map((t) => t.params)).toEqual(b.trials.map((t) => t.params));
  });

  it('restores every recorded field, reports included, and runs nothing when the study is complete', async () => {
    const a = await study(3, []);
    const calls: P[] = [];
    const b = await study(3, calls);
    expect(calls).toHaveLength(0);
    expect(b.trials.map(summary)).toEqual(a.trials.map(summary));
    expect(b.trials[0]?.reports.map((r) => r.step)).toEqual([1, 2]);
    // Additional metrics follow the objective's direction, as in Katib: min of 0.5 and 0.75.
    expect(b.trials[0]?.metrics['acc']).toBe(0.5);
    expect(b.best?.name).toBe(a.best?.name);
  });

  it('runs the trials a crash interrupted again, with their parameters and names', async () => {
    const first: P[] = [];
    let started4!: () => void;
    const trial4Started = new Promise<void>((r) => (started4 = r));
    // The first process "dies" during trial 4: its objective never settles and its optimize() never returns.
    void optimize({
      objective: async (p, trial) => {
        first.push(p);
        if (trial.number === 4) {
          started4();
          await new Promise(() => {});
        }
        return loss(p);
      },
      parameters,
      metric: 'loss',
      mode: 'minimize',
      algorithmSettings: { random_state: 1 },
      numTrials: 6,
      store: { sqlite: file, studyName: 'crash' },
    });
    await trial4Started;
    expect(first).toHaveLength(4);

    const second: P[] = [];
    const b = await optimize({
      objective: async (p) => {
        second.push(p);
        return loss(p);
      },
      parameters,
      metric: 'loss',
      mode: 'minimize',
      algorithmSettings: { random_state: 1 },
      numTrials: 6,
      store: { sqlite: file, studyName: 'crash' },
    });
    expect(b.trials).toHaveLength(6);
    expect(second[0]).toEqual(first[3]);
    expect(second).toHaveLength(3);
    expect(b.trials.map((t) => t.name)).toEqual(['crash-1', 'crash-2', 'crash-3', 'crash-4', 'crash-5', 'crash-6']);
    expect(b.trials.every((t) => t.status === 'Succeeded')).toBe(true);
  });

  it('stores cancelled trials as Killed and runs them again on resume', async () => {
    const controller = new AbortController();
    const first: string[] = [];
    await expect(
      study(8, [], {
        parallelTrials: 2,
        signal: controller.signal,
        objective: async (p, trial) => {
          first.push(trial.name);
          if (trial.number > 2) {
            if (trial.number === 4) controller.abort();
            await new Promise(() => {});
          }
          return loss(p);
        },
      }),
    ).rejects.toBeInstanceOf(StudyAbortedError);
    expect(first).toEqual(['mnist-1', 'mnist-2', 'mnist-3', 'mnist-4']);

    const again: string[] = [];
    const b = await study(8, [], {
      objective: async (p, trial) => {
        again.push(trial.name);
        return loss(p);
      },
    });
    expect(again).toEqual(['mnist-3', 'mnist-4', 'mnist-5', 'mnist-6', 'mnist-7', 'mnist-8']);
    expect(b.trials.map((t) => t.status)).toEqual(Array(8).fill('Succeeded'));
  });

  it('continues a grid across a resume without repeating a point', async () => {
    const grid = { a: search.int(1, 3), b: search.choice(['x', 'y']) };
    const run = (numTrials: number) =>
      optimize({ objective: async ({ a }) => a, parameters: grid, metric: 'loss', mode: 'minimize', algorithm: 'grid', numTrials, store: { sqlite: file, studyName: 'grid' } });
    await run(4);
    const b = await run(100);
    expect(b.trials.map((t) => `${t.params.a}${t.params.b}`)).toEqual(['1x', '1y', '2x', '2y', '3x', '3y']);
    expect(b.reason).toBe('SuggestionEndReached');
  });

  it('refuses to resume a study with different options, naming each difference', async () => {
    await study(2, []);
    const error = await study(4, [], { algorithm: 'grid', parameters: { ...parameters, lr: search.uniform(0.1, 0.2, { step: 0.1 }) } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues.map((i) => i.message)).toEqual([
      expect.stringMatching(/^study "mnist" in .*studies\.db was created with parameters=\[\{"name":"lr".*"logUniform".*this call has parameters=.*; resume with the original parameters or use another studyName$/) as unknown,
      `study "mnist" in ${file} was created with algorithm="random", this call has algorithm="grid"; resume with the original algorithm or use another studyName`,
    ]);
  });

  it('fails a study whose file another process wrote meanwhile, with the ConflictError as cause', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const first = study(2, [], {
      objective: async (p) => {
        started();
        await gate;
        return loss(p);
      },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    await running;
    // A second optimize() takes the study over: it runs the interrupted trial again and finishes.
    const second = await study(2, []);
    expect(second.trials).toHaveLength(2);
    release();
    const error = await first;
    expect(error).toBeInstanceOf(OptimizeError);
    expect((error as OptimizeError).cause).toBeInstanceOf(ConflictError);
    expect((error as OptimizeError).message).toMatch(/^storing the study in .*studies\.db \(study "mnist"\) failed: study ".*#mnist" was modified/);
  });

  it('keeps studies of different names apart in one file', async () => {
    await study(2, []);
    const other = await study(3, [], { store: { sqlite: file, studyName: 'other' } });
    expect(other.trials.map((t) => t.name)).toEqual(['other-1', 'other-2', 'other-3']);
    const mnist = await study(2, []);
    expect(mnist.trials).toHaveLength(2);
  });
});

describe('SqliteStudyStore', () => {
  const fingerprint: StudyFingerprint = { parameters: [], metric: 'loss', mode: 'minimize', additionalMetrics: [], metricStrategies: {}, algorithm: 'random', algorithmSettings: {} };
  const trial = (number: number): StoredTrial => ({
    number,
    name: `s-${number}`,
    assignments: { x: '1' },
    labels: {},
    status: 'Running',
    value: undefined,
    metrics: {},
    reports: [],
    message: undefined,
    startTime: 1,
    completionTime: undefined,
  });

  it('detects a second writer of the same study with a ConflictError', () => {
    const a = new SqliteStudyStore(file, 's');
    const b = new SqliteStudyStore(file, 's', 'full');
    try {
      a.open(fingerprint);
      b.open(fingerprint);
      a.commit({ finished: [], started: [trial(1)], restarted: [], stateText: '{"next":1}', suggestionCount: 1 });
      expect(() => b.commit({ finished: [], started: [trial(1)], restarted: [], stateText: undefined, suggestionCount: 1 })).toThrow(ConflictError);
      const reopened = new SqliteStudyStore(file, 's');
      const loaded = reopened.open(fingerprint);
      reopened.close();
      expect(loaded).toEqual({ trials: [trial(1)], stateText: '{"next":1}', suggestionCount: 1 });
    } finally {
      a.close();
      b.close();
    }
  });

  it('writes a batch atomically: a failing statement leaves nothing of it behind', () => {
    const a = new SqliteStudyStore(file, 's');
    try {
      a.open(fingerprint);
      a.commit({ finished: [], started: [trial(1)], restarted: [], stateText: undefined, suggestionCount: 1 });
      // Trial 1 again violates the primary key after trial 2 was inserted in the same batch.
      expect(() => a.commit({ finished: [], started: [trial(2), trial(1)], restarted: [], stateText: 'x', suggestionCount: 3 })).toThrow();
      a.commit({ finished: [{ ...trial(1), status: 'Succeeded', value: 1, completionTime: 2 }], started: [], restarted: [], stateText: undefined, suggestionCount: 1 });
      const reopened = new SqliteStudyStore(file, 's');
      const loaded = reopened.open(fingerprint);
      reopened.close();
      expect(loaded.trials.map((t) => [t.number, t.status, t.value])).toEqual([[1, 'Succeeded', 1]]);
      expect(loaded.suggestionCount).toBe(1);
    } finally {
      a.close();
    }
  });

  it('restores metrics named __proto__ and constructor as plain keys of the trial and its reports', () => {
    const a = new SqliteStudyStore(file, 's');
    try {
      a.open(fingerprint);
      a.commit({ finished: [], started: [trial(1)], restarted: [], stateText: undefined, suggestionCount: 1 });
      const metrics = JSON.parse('{"__proto__": 1, "constructor": 2, "loss": 3}') as Record<string, number>;
      const finished: StoredTrial = { ...trial(1), status: 'Succeeded', value: 3, metrics, reports: [{ step: 1, metrics, time: new Date(5) }], completionTime: 2 };
      a.commit({ finished: [finished], started: [], restarted: [], stateText: undefined, suggestionCount: 1 });
    } finally {
      a.close();
    }
    const reopened = new SqliteStudyStore(file, 's');
    const loaded = reopened.open(fingerprint);
    reopened.close();
    const t = loaded.trials[0];
    for (const m of [t?.metrics, t?.reports[0]?.metrics]) {
      expect(Object.getPrototypeOf(m)).toBe(Object.prototype);
      expect(Object.entries(m ?? {}).sort()).toEqual([
        ['__proto__', 1],
        ['constructor', 2],
        ['loss', 3],
      ]);
    }
  });
});
