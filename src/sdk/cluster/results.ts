/**
 * Katib resources read back → the SDK's result types. Pure. Values follow the controller's own reading: a trial's
 * state is its first true terminal condition (conditions.ts), a metric's value is picked by the experiment's metric
 * strategy (status.ts), so `value` here is the number the controller compared when it chose the best trial.
 */
import { ownValue, setOwn } from '../../api/guards.js';
import type { Experiment, Metric, OptimalTrial, ParameterSpec, Trial } from '../../api/types.js';
import { ExperimentReason, UNAVAILABLE_METRIC_VALUE } from '../../api/types.js';
import { conditionOf, trialPhase } from '../../controller/conditions.js';
import type { UntypedParams } from '../types.js';
import type { BestTrialResult, ClusterStudyResult, ClusterTrialResult, MetricObservation } from './types.js';

function strategyOf(exp: Experiment, metric: string): 'min' | 'max' | 'latest' {
  const s = exp.spec.objective?.metricStrategies?.find((m) => m.name === metric)?.value;
  if (s) return s;
  return exp.spec.objective?.type === 'maximize' ? 'max' : 'min';
}

function toNumber(text: string | undefined): number | undefined {
  if (text === undefined || text === UNAVAILABLE_METRIC_VALUE || text === '') return undefined;
  const v = Number(text);
  return Number.isFinite(v) ? v : undefined;
}

/** Decodes Katib's assignment strings by the parameter's type: numbers for double, int and discrete. */
export function decodeAssignments(specs: readonly ParameterSpec[] | undefined, assignments: Readonly<Record<string, string>>): UntypedParams {
  const types = new Map((specs ?? []).map((p) => [p.name, p.parameterType]));
  const out: Record<string, number | string> = {};
  for (const [name, text] of Object.entries(assignments)) {
    const type = types.get(name);
    const n = Number(text);
    setOwn(out, name, type === 'categorical' || type === undefined || text.trim() === '' || !Number.isFinite(n) ? text : n);
  }
  return out;
}

function metricsOf(exp: Experiment, metrics: readonly Metric[]): Pick<BestTrialResult, 'value' | 'metrics' | 'observation'> {
  const observation: Record<string, MetricObservation> = {};
  const values: Record<string, number> = {};
  for (const m of metrics) {
    const obs = { min: toNumber(m.min), max: toNumber(m.max), latest: toNumber(m.latest) };
    setOwn(observation, m.name, obs);
    // As the controller reads it (objectiveValue): an unavailable min or max falls back to the latest value.
    const v = obs[strategyOf(exp, m.name)] ?? obs.latest;
    if (v !== undefined) setOwn(values, m.name, v);
  }
  return { value: ownValue(values, exp.spec.objective?.objectiveMetricName ?? ''), metrics: values, observation };
}

function assignmentsOf(list: readonly { name: string; value: string }[] | undefined): Record<string, string> {
  return Object.fromEntries((list ?? []).map((a) => [a.name, a.value]));
}

function dateOf(text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** The trial a Trial resource describes; `index` is its 0-based position in creation order. */
export function toTrialResult(exp: Experiment, trial: Trial, index: number): ClusterTrialResult {
  const name = trial.metadata.name;
  const assignments = assignmentsOf(trial.spec.parameterAssignments);
  const status = trialPhase(trial);
  const suffix = /-(\d+)$/.exec(name)?.[1];
  const ended = status === 'Created' || status === 'Running' || status === 'Succeeded' ? undefined : conditionOf(trial.status?.conditions, status);
  return {
    name,
    number: suffix !== undefined ? Number(suffix) : index + 1,
    params: decodeAssignments(exp.spec.parameters, assignments),
    assignments,
    status,
    ...metricsOf(exp, trial.status?.observation?.metrics ?? []),
    message: ended?.message,
    labels: { ...(trial.spec.labels ?? {}) },
    startTime: dateOf(trial.status?.startTime),
    completionTime: dateOf(trial.status?.completionTime),
  };
}

/** The best trial `status.currentOptimalTrial` names, or undefined when it names none yet. */
export function toBestResult(exp: Experiment, optimal: OptimalTrial | undefined): BestTrialResult | undefined {
  const name = optimal?.bestTrialName ?? '';
  if (name === '') return undefined;
  const assignments = assignmentsOf(optimal?.parameterAssignments);
  return { name, params: decodeAssignments(exp.spec.parameters, assignments), assignments, ...metricsOf(exp, optimal?.observation?.metrics ?? []) };
}

/** Katib's reason without its `Experiment` prefix, the spelling of the in-process STUDY_END_REASONS. */
function shortReason(reason: string | undefined): string {
  return (reason ?? '').replace(/^Experiment/, '');
}

/** The study result of a Succeeded experiment and its trials (in creation order). */
export function toStudyResult(exp: Experiment, trials: readonly Trial[]): ClusterStudyResult {
  const results = trials.map((t, i) => toTrialResult(exp, t, i));
  const bestName = exp.status?.currentOptimalTrial?.bestTrialName;
  const done = conditionOf(exp.status?.conditions, 'Succeeded') ?? conditionOf(exp.status?.conditions, 'Failed');
  return {
    studyName: exp.metadata.name,
    namespace: exp.metadata.namespace ?? '',
    best: bestName ? results.find((t) => t.name === bestName) : undefined,
    trials: results,
    reason: shortReason(done?.reason ?? ExperimentReason.Running),
    message: done?.message ?? '',
  };
}
