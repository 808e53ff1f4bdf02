import { describe, expect, it } from 'vitest';
import { ALGORITHMS } from '../../algorithms/index.js';
import { optimize, search, ValidationError } from '../../src/index.js';

const valid = {
  objective: async () => 1,
  parameters: { x: search.uniform(0, 1) },
  metric: 'loss',
  mode: 'minimize',
  numTrials: 3,
} as const;

/** The issues optimize() rejects `options` with, as `path: message` lines. */
async function issues(options: unknown): Promise<string[]> {
  let error: unknown;
  try {
    await optimize(options as Parameters<typeof optimize>[0]);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ValidationError);
  const v = error as ValidationError;
  expect(v.source).toBe('optimize');
  return v.issues.map((i) => `${i.path}: ${i.message}`);
}

const known = Object.keys(ALGORITHMS).join(', ');

describe('optimize() option validation', () => {
  it.each<{ name: string; patch: Record<string, unknown>; want: string[] }>([
    { name: 'numTrials 0', patch: { numTrials: 0 }, want: ['numTrials: must be an integer >= 1 (numTrials=0)'] },
    { name: 'numTrials fractional', patch: { numTrials: 2.5 }, want: ['numTrials: must be an integer >= 1 (numTrials=2.5)'] },
    { name: 'numTrials missing', patch: { numTrials: undefined }, want: ['numTrials: is required: the number of trials to finish, an integer >= 1'] },
    { name: 'parallelTrials 0', patch: { parallelTrials: 0 }, want: ['parallelTrials: must be an integer >= 1 (parallelTrials=0)'] },
    { name: 'maxFailedTrials negative', patch: { maxFailedTrials: -1 }, want: ['maxFailedTrials: must be an integer >= 0 (maxFailedTrials=-1)'] },
    { name: 'objective not a function', patch: { objective: 3 }, want: ['objective: must be a function (params, trial) => value (objective=3)'] },
    { name: 'empty metric', patch: { metric: '' }, want: ['metric: must be the objective metric\'s name, a non-empty string (metric="")'] },
    { name: 'bad mode', patch: { mode: 'min' }, want: ['mode: must be minimize or maximize (mode="min")'] },
    { name: 'unknown algorithm', patch: { algorithm: 'hyperopt' }, want: [`algorithm: unknown algorithm "hyperopt"; registered algorithms: ${known}`] },
    { name: 'unknown option (a typo)', patch: { numTrial: 3 }, want: [`numTrial: unknown option "numTrial"; known options: objective, parameters, metric, mode, additionalMetrics, metricStrategies, goal, algorithm, algorithmSettings, earlyStopping, numTrials, parallelTrials, maxFailedTrials, store, studyName, signal, onTrialComplete`] },
    { name: 'no parameters', patch: { parameters: {} }, want: ['parameters: must map at least one parameter name to a search helper, e.g. { lr: search.loguniform(1e-4, 1e-1) } (parameters=an object)'] },
    { name: 'a parameter that is not a helper result', patch: { parameters: { x: [0, 1] } }, want: ["parameters.x: must be a search helper's result such as search.uniform(0, 1); its type undefined is not double, int, discrete or categorical"] },
    {
      name: 'an unknown algorithm setting (from the algorithm\'s own parseSettings)',
      patch: { algorithmSettings: { random_stat: 1 } },
      want: ['algorithmSettings[random_stat]: unknown setting "random_stat"; known settings: random_state'],
    },
    { name: 'a bad seed', patch: { algorithmSettings: { random_state: -1 } }, want: ['algorithmSettings[random_state]: must be a non-negative integer (random_state="-1")'] },
    { name: 'a setting that is an object', patch: { algorithmSettings: { random_state: {} } }, want: ['algorithmSettings[random_state]: must be a string, finite number or boolean (random_state=an object)'] },
    {
      name: 'grid needs a step (issue mapped to the parameter name)',
      patch: { algorithm: 'grid' },
      want: ['parameters.x.step: grid needs a step for double parameter "x" (min=0, max=1); add feasibleSpace.step'],
    },
    { name: 'unknown early-stopping algorithm', patch: { earlyStopping: { algorithm: 'truncation' } }, want: ['earlyStopping.algorithm: unknown early-stopping algorithm "truncation"; known: medianstop'] },
    {
      name: 'bad early-stopping settings',
      patch: { earlyStopping: { algorithm: 'medianstop', settings: { start_step: 0, min_trial_required: 2 } } },
      want: ['earlyStopping.settings[min_trial_required]: unknown setting "min_trial_required"; known settings: min_trials_required, start_step', 'earlyStopping.settings[start_step]: must be an integer >= 1 (start_step="0")'],
    },
    { name: 'additional metric repeating the objective', patch: { additionalMetrics: ['acc', 'loss'] }, want: ['additionalMetrics[1]: repeats "loss"; list each metric once, the objective metric not at all'] },
    { name: 'bad metric strategy', patch: { metricStrategies: { loss: 'mean' } }, want: ['metricStrategies.loss: must be one of min, max, latest (loss="mean")'] },
    { name: 'goal not a number', patch: { goal: '0.1' }, want: ['goal: must be a finite number (goal="0.1")'] },
    { name: 'signal not an AbortSignal', patch: { signal: {} }, want: ['signal: must be an AbortSignal (signal=an object)'] },
    { name: 'store neither memory nor sqlite', patch: { store: 'redis' }, want: ["store: must be 'memory' or { sqlite: FILE, studyName: NAME } (store=\"redis\")"] },
    {
      name: 'sqlite store without a valid study name',
      patch: { store: { sqlite: '/tmp/x.db', studyName: 'My Study' } },
      want: ["store.studyName: must be lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters (store.studyName=\"My Study\")"],
    },
    { name: 'bad synchronous', patch: { store: { sqlite: '/tmp/x.db', studyName: 's', synchronous: 'off' } }, want: ['store.synchronous: must be normal or full (synchronous="off")'] },
  ])('rejects $name', async ({ patch, want }) => {
    expect(await issues({ ...valid, ...patch })).toEqual(want);
  });

  it('collects every problem before failing', async () => {
    expect(await issues({ ...valid, numTrials: 0, mode: 'up', algorithm: 'nope' })).toEqual([
      'mode: must be minimize or maximize (mode="up")',
      'numTrials: must be an integer >= 1 (numTrials=0)',
      `algorithm: unknown algorithm "nope"; registered algorithms: ${known}`,
    ]);
  });

  it('rejects options that are not an object', async () => {
    expect(await issues(undefined)).toEqual(['options: must be an object (options=undefined)']);
  });

  it('names the option and echoes the value in the message', async () => {
    await expect(optimize({ ...valid, numTrials: 0 })).rejects.toThrow('optimize: invalid\nnumTrials: must be an integer >= 1 (numTrials=0)');
  });
});
