import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isIssues, type Issue } from '../../algorithms/core/issues.js';
import { EARLY_STOPPING_ALGORITHMS, median, medianStop, type MedianStopSettings } from '../../algorithms/earlystopping/index.js';

const path = (n: string): string => `spec.earlyStopping.algorithmSettings[${n}]`;
const DEFAULTS: MedianStopSettings = { minTrialsRequired: 3, startStep: 4 };

describe('medianstop settings', () => {
  it('defaults to Katib’s min_trials_required=3 and start_step=4', () => {
    expect(medianStop.parseSettings({})).toEqual(DEFAULTS);
    expect(medianStop.parseSettings({ min_trials_required: '1', start_step: '10' })).toEqual({ minTrialsRequired: 1, startStep: 10 });
    expect(EARLY_STOPPING_ALGORITHMS.medianstop).toBe(medianStop);
  });

  it.each<{ name: string; raw: Record<string, string>; issues: Issue[] }>([
    {
      name: 'zero trials and step zero',
      raw: { min_trials_required: '0', start_step: '0' },
      issues: [
        { path: path('min_trials_required'), message: 'must be an integer >= 1 (min_trials_required="0")' },
        { path: path('start_step'), message: 'must be an integer >= 1 (start_step="0")' },
      ],
    },
    {
      name: 'fractions and words',
      raw: { min_trials_required: '2.5', start_step: 'four' },
      issues: [
        { path: path('min_trials_required'), message: 'must be an integer >= 1 (min_trials_required="2.5")' },
        { path: path('start_step'), message: 'must be an integer >= 1 (start_step="four")' },
      ],
    },
    {
      name: 'unknown setting',
      raw: { min_trial_required: '3' },
      issues: [{ path: path('min_trial_required'), message: 'unknown setting "min_trial_required"; known settings: min_trials_required, start_step' }],
    },
  ])('$name', ({ raw, issues }) => {
    expect(medianStop.parseSettings(raw)).toEqual(issues);
  });

  it('never throws (property)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('min_trials_required', 'start_step', 'other'), fc.string()), (raw) => {
        const r = medianStop.parseSettings(raw);
        if (!isIssues(r)) expect(r.minTrialsRequired).toBeGreaterThanOrEqual(1);
      }),
    );
  });
});

describe('median', () => {
  it.each([
    { name: 'odd count', values: [5, 1, 3], m: 3 },
    { name: 'even count', values: [4, 1, 3, 10], m: 3.5 },
    { name: 'one value', values: [7], m: 7 },
    { name: 'negative values', values: [-1, -5, -3], m: -3 },
  ])('$name', ({ values, m }) => {
    expect(median(values)).toBe(m);
  });
});

describe('medianstop rules', () => {
  // Averages of the first 4 observations: 0.25, 0.5, 0.75 and 10 (a diverged trial). Median 0.625; Katib's mean 2.875.
  const completed = [
    [0.1, 0.2, 0.3, 0.4, 99],
    [0.5, 0.5, 0.5, 0.5],
    [0.6, 0.7, 0.8, 0.9, 0.1, 0.1],
    [10, 10, 10, 10],
  ];

  it('minimize: stop a trial whose best-so-far is greater than the median of the running averages', () => {
    expect(medianStop.rules({ metricName: 'loss', goal: 'minimize', completed, settings: DEFAULTS })).toEqual([{ name: 'loss', value: '0.625', comparison: 'greater', startStep: 4 }]);
  });

  it('maximize: stop a trial whose best-so-far is less than the median', () => {
    const acc = [
      [0.5, 0.6],
      [0.7, 0.8, 0.9],
      [0.2, 0.3, 0.4, 0.5, 0.6],
    ];
    // start_step 2: averages 0.55, 0.75, 0.25; median 0.55.
    expect(medianStop.rules({ metricName: 'accuracy', goal: 'maximize', completed: acc, settings: { minTrialsRequired: 3, startStep: 2 } })).toEqual([
      { name: 'accuracy', value: '0.55', comparison: 'less', startStep: 2 },
    ]);
  });

  it('gives no rule while fewer than min_trials_required trials have completed', () => {
    expect(medianStop.rules({ metricName: 'loss', goal: 'minimize', completed: completed.slice(0, 2), settings: DEFAULTS })).toEqual([]);
    expect(medianStop.rules({ metricName: 'loss', goal: 'minimize', completed: [], settings: { minTrialsRequired: 1, startStep: 1 } })).toEqual([]);
  });

  it('averages what a short trial reported and ignores trials with no finite observation', () => {
    const logs = [[2], [1, 3], [Number.NaN], [], [4, Number.NaN, 6]];
    // Counted: 2, 2, 5 (three trials); the NaN-only and empty logs do not count.
    expect(medianStop.rules({ metricName: 'm', goal: 'minimize', completed: logs, settings: { minTrialsRequired: 3, startStep: 3 } })).toEqual([
      { name: 'm', value: '2', comparison: 'greater', startStep: 3 },
    ]);
    expect(medianStop.rules({ metricName: 'm', goal: 'minimize', completed: logs, settings: { minTrialsRequired: 4, startStep: 3 } })).toEqual([]);
  });

  it('lies between the smallest and largest running average (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 6 }), (logs, startStep) => {
        const [rule] = medianStop.rules({ metricName: 'm', goal: 'maximize', completed: logs, settings: { minTrialsRequired: 1, startStep } });
        const averages = logs.map((l) => l.slice(0, startStep).reduce((a, b) => a + b, 0) / Math.min(startStep, l.length));
        const v = Number(rule?.value);
        expect(v).toBeGreaterThanOrEqual(Math.min(...averages) - 1e-6);
        expect(v).toBeLessThanOrEqual(Math.max(...averages) + 1e-6);
        expect(averages.filter((a) => a < v - 1e-6).length).toBeLessThanOrEqual(Math.floor(averages.length / 2));
        expect(averages.filter((a) => a > v + 1e-6).length).toBeLessThanOrEqual(Math.floor(averages.length / 2));
      }),
    );
  });
});
