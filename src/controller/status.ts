/**
 * Pure computation of an Experiment's status from its trials, as Katib's status util does: trial lists and
 * counts, the current optimal trial, and the completion condition (goal reached, max failed trials, max trials,
 * suggestions exhausted). One deliberate difference: MetricsUnavailable trials count as completed in planning too
 * (Katib counts them only in the completion check, so it can create more trials than maxTrialCount).
 */
import type { Experiment, ExperimentStatus, Trial } from '../api/types.js';
import { ExperimentReason } from '../api/types.js';
import { objectiveValue } from '../collector/parse.js';
import { experimentCompleted, markTerminal, setCondition, trialPhase } from './conditions.js';

export interface StatusInputs {
  /** The suggestion service said it will never suggest again. */
  readonly exhausted: boolean;
  readonly now: string;
}

function strategyOf(exp: Experiment, metric: string): 'min' | 'max' | 'latest' {
  const s = exp.spec.objective?.metricStrategies?.find((m) => m.name === metric)?.value;
  if (s) return s;
  return exp.spec.objective?.type === 'maximize' ? 'max' : 'min';
}

/** The trial's objective value per the experiment's metric strategy, if it has one. */
export function trialObjective(exp: Experiment, t: Trial): number | undefined {
  const metric = exp.spec.objective?.objectiveMetricName ?? '';
  return objectiveValue(t.status?.observation, metric, strategyOf(exp, metric));
}

/** Counts and lists of trials by phase, and the best trial. Does not touch conditions. */
export function summarizeTrials(exp: Experiment, trials: readonly Trial[]): { status: ExperimentStatus; goalReached: boolean } {
  const s: ExperimentStatus = {
    trials: trials.length,
    runningTrialList: [],
    pendingTrialList: [],
    failedTrialList: [],
    succeededTrialList: [],
    killedTrialList: [],
    earlyStoppedTrialList: [],
    metricsUnavailableTrialList: [],
  };
  const lists: Record<string, string[]> = {
    Running: s.runningTrialList as string[],
    Created: s.pendingTrialList as string[],
    Failed: s.failedTrialList as string[],
    Succeeded: s.succeededTrialList as string[],
    Killed: s.killedTrialList as string[],
    EarlyStopped: s.earlyStoppedTrialList as string[],
    MetricsUnavailable: s.metricsUnavailableTrialList as string[],
  };
  const maximize = exp.spec.objective?.type === 'maximize';
  const goal = exp.spec.objective?.goal;
  let best: { trial: Trial; value: number } | undefined;
  for (const t of trials) {
    lists[trialPhase(t)]?.push(t.metadata.name);
    const v = trialObjective(exp, t);
    if (v === undefined) continue;
    if (!best || (maximize ? v > best.value : v < best.value)) best = { trial: t, value: v };
  }
  s.trialsRunning = s.runningTrialList?.length ?? 0;
  s.trialsPending = s.pendingTrialList?.length ?? 0;
  s.trialsSucceeded = s.succeededTrialList?.length ?? 0;
  s.trialsFailed = s.failedTrialList?.length ?? 0;
  s.trialsKilled = s.killedTrialList?.length ?? 0;
  s.trialsEarlyStopped = s.earlyStoppedTrialList?.length ?? 0;
  s.trialMetricsUnavailable = s.metricsUnavailableTrialList?.length ?? 0;
  if (best) {
    s.currentOptimalTrial = {
      bestTrialName: best.trial.metadata.name,
      parameterAssignments: best.trial.spec.parameterAssignments.map((a) => ({ ...a })),
      observation: { metrics: (best.trial.status?.observation?.metrics ?? []).map((m) => ({ ...m })) },
    };
  }
  const goalReached = goal !== undefined && best !== undefined && (maximize ? best.value >= goal : best.value <= goal);
  return { status: s, goalReached };
}

/** Trials that count as finished for maxTrialCount. */
export function completedCount(s: ExperimentStatus): number {
  return (s.trialsSucceeded ?? 0) + (s.trialsFailed ?? 0) + (s.trialsKilled ?? 0) + (s.trialsEarlyStopped ?? 0) + (s.trialMetricsUnavailable ?? 0);
}

export function activeCount(s: ExperimentStatus): number {
  return (s.trialsPending ?? 0) + (s.trialsRunning ?? 0);
}

/** The experiment's next status: summary plus conditions. Completed experiments keep their conditions. */
export function computeStatus(exp: Experiment, trials: readonly Trial[], inputs: StatusInputs): ExperimentStatus {
  const { status, goalReached } = summarizeTrials(exp, trials);
  const prev = exp.status ?? {};
  const next: ExperimentStatus = {
    ...status,
    startTime: prev.startTime ?? inputs.now,
    completionTime: prev.completionTime,
    lastReconcileTime: inputs.now,
    conditions: prev.conditions ?? [],
  };
  if (!conditionIs(next, 'Created')) next.conditions = setCondition(next.conditions, 'Created', 'True', ExperimentReason.Created, 'Experiment is created', inputs.now);
  if (experimentCompleted(exp)) return next;
  const failed = (status.trialsFailed ?? 0) + (status.trialMetricsUnavailable ?? 0);
  const maxFailed = exp.spec.maxFailedTrialCount;
  const max = exp.spec.maxTrialCount;
  let end: { type: 'Succeeded' | 'Failed'; reason: string; message: string } | undefined;
  if (goalReached) end = { type: 'Succeeded', reason: ExperimentReason.GoalReached, message: 'Experiment has succeeded because Objective goal has reached' };
  else if (maxFailed !== undefined && failed > 0 && failed >= maxFailed)
    end = { type: 'Failed', reason: ExperimentReason.Failed, message: `Experiment has failed because max failed count has reached (${failed} of maxFailedTrialCount=${maxFailed})` };
  else if (max !== undefined && completedCount(status) >= max) end = { type: 'Succeeded', reason: ExperimentReason.MaxTrialsReached, message: 'Experiment has succeeded because max trial count has reached' };
  else if (inputs.exhausted && activeCount(status) === 0)
    end = { type: 'Succeeded', reason: ExperimentReason.SuggestionEndReached, message: 'Experiment has succeeded because suggestion service has reached the end' };
  if (end) {
    next.conditions = markTerminal(next.conditions, 'Running', end.type, end.reason, end.message, inputs.now);
    next.completionTime = inputs.now;
  } else {
    next.conditions = setCondition(next.conditions, 'Running', 'True', ExperimentReason.Running, 'Experiment is running', inputs.now);
  }
  return next;
}

function conditionIs(s: ExperimentStatus, type: 'Created'): boolean {
  return (s.conditions ?? []).some((c) => c.type === type && c.status === 'True');
}

/** How many new trials to start now, as Katib's ReconcileTrials: fill up to parallelTrialCount within maxTrialCount. */
export function trialsToAdd(exp: Experiment, s: ExperimentStatus): number {
  const parallel = exp.spec.parallelTrialCount ?? 3;
  const active = activeCount(s);
  if (active >= parallel) return 0;
  const max = exp.spec.maxTrialCount;
  const required = max === undefined ? parallel : Math.min(parallel, max - completedCount(s));
  return Math.max(0, required - active);
}
