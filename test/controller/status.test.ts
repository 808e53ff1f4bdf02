import { describe, expect, it } from 'vitest';
import type { Experiment, Trial, TrialConditionType } from '../../src/api/types.js';
import { computeStatus, trialsToAdd } from '../../src/controller/status.js';

const NOW = '2026-01-01T00:00:00Z';

function experiment(spec: Partial<Experiment['spec']> = {}): Experiment {
  return {
    apiVersion: 'kubeflow.org/v1beta1',
    kind: 'Experiment',
    metadata: { name: 'e', namespace: 'default' },
    spec: { objective: { type: 'minimize', objectiveMetricName: 'loss', metricStrategies: [{ name: 'loss', value: 'min' }] }, parallelTrialCount: 2, maxTrialCount: 4, ...spec },
  };
}

function trial(name: string, phase: TrialConditionType, loss?: number): Trial {
  return {
    apiVersion: 'kubeflow.org/v1beta1',
    kind: 'Trial',
    metadata: { name, namespace: 'default' },
    spec: { parameterAssignments: [{ name: 'x', value: name }] },
    status: {
      conditions: phase === 'Created' ? [] : [{ type: phase, status: 'True' }],
      observation: loss === undefined ? undefined : { metrics: [{ name: 'loss', min: String(loss), max: String(loss), latest: String(loss) }] },
    },
  };
}

const reasonOf = (exp: Experiment, trials: Trial[], exhausted = false) => {
  const s = computeStatus(exp, trials, { exhausted, now: NOW });
  const done = s.conditions?.find((c) => (c.type === 'Succeeded' || c.type === 'Failed') && c.status === 'True');
  return done ? `${done.type}/${done.reason}` : 'Running';
};

describe('computeStatus', () => {
  it.each([
    { name: 'running below budget', exp: experiment(), trials: [trial('a', 'Succeeded', 1), trial('b', 'Running')], want: 'Running' },
    { name: 'max trials reached', exp: experiment(), trials: ['a', 'b', 'c', 'd'].map((n) => trial(n, 'Succeeded', 1)), want: 'Succeeded/ExperimentMaxTrialsReached' },
    { name: 'killed and early-stopped count as completed', exp: experiment(), trials: [trial('a', 'Killed'), trial('b', 'EarlyStopped', 2), trial('c', 'MetricsUnavailable'), trial('d', 'Succeeded', 1)], want: 'Succeeded/ExperimentMaxTrialsReached' },
    { name: 'goal reached (minimize)', exp: experiment({ objective: { type: 'minimize', objectiveMetricName: 'loss', goal: 0.5 } }), trials: [trial('a', 'Succeeded', 0.4)], want: 'Succeeded/ExperimentGoalReached' },
    { name: 'goal not reached', exp: experiment({ objective: { type: 'minimize', objectiveMetricName: 'loss', goal: 0.1 } }), trials: [trial('a', 'Succeeded', 0.4)], want: 'Running' },
    { name: 'goal reached (maximize)', exp: experiment({ objective: { type: 'maximize', objectiveMetricName: 'loss', goal: 0.9 } }), trials: [trial('a', 'Succeeded', 0.95)], want: 'Succeeded/ExperimentGoalReached' },
    { name: 'max failed reached', exp: experiment({ maxFailedTrialCount: 2 }), trials: [trial('a', 'Failed'), trial('b', 'MetricsUnavailable')], want: 'Failed/ExperimentFailed' },
    { name: 'suggestions exhausted, nothing active', exp: experiment({ maxTrialCount: 10 }), trials: [trial('a', 'Succeeded', 1)], exhausted: true, want: 'Succeeded/ExperimentSuggestionEndReached' },
    { name: 'exhausted but a trial still runs', exp: experiment({ maxTrialCount: 10 }), trials: [trial('a', 'Running')], exhausted: true, want: 'Running' },
  ])('$name', ({ exp, trials, exhausted, want }) => {
    expect(reasonOf(exp, trials, exhausted)).toBe(want);
  });

  it('fills lists, counts and the optimal trial', () => {
    const s = computeStatus(experiment({ maxTrialCount: 10 }), [trial('a', 'Succeeded', 0.3), trial('b', 'Succeeded', 0.1), trial('c', 'Running'), trial('d', 'Created'), trial('e', 'Failed')], { exhausted: false, now: NOW });
    expect(s).toMatchObject({
      trials: 5,
      trialsSucceeded: 2,
      trialsRunning: 1,
      trialsPending: 1,
      trialsFailed: 1,
      succeededTrialList: ['a', 'b'],
      runningTrialList: ['c'],
      pendingTrialList: ['d'],
      failedTrialList: ['e'],
      currentOptimalTrial: { bestTrialName: 'b', parameterAssignments: [{ name: 'x', value: 'b' }] },
    });
  });
});

describe('trialsToAdd', () => {
  it.each([
    { name: 'fills parallel slots', trials: [] as Trial[], max: 10, want: 2 },
    { name: 'one slot busy', trials: [trial('a', 'Running')], max: 10, want: 1 },
    { name: 'stops at the budget', trials: [trial('a', 'Succeeded', 1), trial('b', 'Succeeded', 1), trial('c', 'Running')], max: 3, want: 0 },
    { name: 'last slot of the budget', trials: [trial('a', 'Succeeded', 1), trial('b', 'Failed')], max: 3, want: 1 },
  ])('$name', ({ trials, max, want }) => {
    const exp = experiment({ maxTrialCount: max });
    expect(trialsToAdd(exp, computeStatus(exp, trials, { exhausted: false, now: NOW }))).toBe(want);
  });
});
