/**
 * Katib's api.v1.beta1 messages as @grpc/proto-loader delivers them (keepCase, enums as names, defaults filled),
 * and conversions between them and our domain types. Used on both sides: the service decodes requests, the
 * controller encodes them.
 */
import type { Goal, TrialRecord, TrialState } from '../../algorithms/core/algorithm.js';
import type { WireParameter } from '../../algorithms/core/space.js';
import type { AlgorithmSetting, EarlyStoppingRule, Experiment, ObjectiveSpec, ParameterSpec, Trial } from '../api/types.js';
import { ownValue } from '../api/guards.js';
import { UNAVAILABLE_METRIC_VALUE } from '../api/types.js';

export interface PbSetting {
  name: string;
  value: string;
}
export interface PbFeasibleSpace {
  max: string;
  min: string;
  list: string[];
  step: string;
  distribution: string;
}
export interface PbParameterSpec {
  name: string;
  parameter_type: string;
  feasible_space: PbFeasibleSpace | null;
}
export interface PbObjective {
  type: string;
  goal: number;
  objective_metric_name: string;
  additional_metric_names: string[];
}
export interface PbExperiment {
  name: string;
  spec: {
    parameter_specs: { parameters: PbParameterSpec[] } | null;
    objective: PbObjective | null;
    algorithm: { algorithm_name: string; algorithm_settings: PbSetting[] } | null;
    early_stopping: { algorithm_name: string; algorithm_settings: PbSetting[] } | null;
    parallel_trial_count: number;
    max_trial_count: number;
  } | null;
}
export interface PbTrial {
  name: string;
  spec: { objective: PbObjective | null; parameter_assignments: { assignments: PbSetting[] } | null; labels: Record<string, string> } | null;
  status: { start_time: string; completion_time: string; condition: string; observation: { metrics: PbSetting[] } | null } | null;
}
export interface PbEarlyStoppingRule {
  name: string;
  value: string;
  comparison: string;
  start_step: number;
}
export interface PbGetSuggestionsRequest {
  experiment: PbExperiment | null;
  trials: PbTrial[];
  current_request_number: number;
  total_request_number: number;
}
export interface PbGetSuggestionsReply {
  parameter_assignments: { assignments: PbSetting[]; trial_name: string; labels: Record<string, string> }[];
  algorithm: { algorithm_name: string; algorithm_settings: PbSetting[] } | null;
  early_stopping_rules: PbEarlyStoppingRule[];
}

const DISTRIBUTION_FROM_PB: Record<string, string> = {
  DISTRIBUTION_UNSPECIFIED: '',
  UNIFORM: 'uniform',
  LOG_UNIFORM: 'logUniform',
  NORMAL: 'normal',
  LOG_NORMAL: 'logNormal',
};
const DISTRIBUTION_TO_PB: Record<string, string> = {
  '': 'DISTRIBUTION_UNSPECIFIED',
  uniform: 'UNIFORM',
  logUniform: 'LOG_UNIFORM',
  normal: 'NORMAL',
  logNormal: 'LOG_NORMAL',
};

const CONDITION_TO_STATE: Record<string, TrialState> = {
  CREATED: 'pending',
  RUNNING: 'running',
  SUCCEEDED: 'succeeded',
  KILLED: 'killed',
  FAILED: 'failed',
  METRICSUNAVAILABLE: 'metrics-unavailable',
  EARLYSTOPPED: 'early-stopped',
  UNKNOWN: 'pending',
};

/** Our parameter form from the wire. Unknown parameter types pass through lower-cased so validation can name them. */
export function parametersFromPb(params: readonly PbParameterSpec[]): WireParameter[] {
  return params.map((p) => ({
    name: p.name,
    parameterType: p.parameter_type === 'UNKNOWN_TYPE' ? '' : p.parameter_type.toLowerCase(),
    feasibleSpace: {
      min: p.feasible_space?.min ?? '',
      max: p.feasible_space?.max ?? '',
      step: p.feasible_space?.step ?? '',
      list: p.feasible_space?.list ?? [],
      distribution: DISTRIBUTION_FROM_PB[p.feasible_space?.distribution ?? ''] ?? p.feasible_space?.distribution ?? '',
    },
  }));
}

export function goalFromPb(objective: PbObjective | null): Goal {
  return objective?.type === 'MAXIMIZE' ? 'maximize' : 'minimize';
}

export function settingsFromPb(settings: readonly PbSetting[] | undefined): Record<string, string> {
  // Object.fromEntries defines properties, so a `__proto__` name stays a plain key; a later name wins.
  return Object.fromEntries((settings ?? []).map((s) => [s.name, s.value]));
}

/** A trial as algorithms see it. The objective is the observation metric named by the experiment's objective. */
export function trialFromPb(t: PbTrial, objectiveMetric: string): TrialRecord {
  const metrics: Record<string, number> = Object.fromEntries(
    (t.status?.observation?.metrics ?? []).filter((m) => m.value !== '' && m.value !== UNAVAILABLE_METRIC_VALUE && Number.isFinite(Number(m.value))).map((m) => [m.name, Number(m.value)]),
  );
  return {
    name: t.name,
    assignments: settingsFromPb(t.spec?.parameter_assignments?.assignments),
    status: CONDITION_TO_STATE[t.status?.condition ?? 'CREATED'] ?? 'pending',
    objective: ownValue(metrics, objectiveMetric),
    metrics,
    labels: { ...(t.spec?.labels ?? {}) },
  };
}

function objectiveToPb(o: ObjectiveSpec | undefined): PbObjective {
  return {
    type: o?.type === 'maximize' ? 'MAXIMIZE' : o?.type === 'minimize' ? 'MINIMIZE' : 'UNKNOWN',
    goal: o?.goal ?? 0,
    objective_metric_name: o?.objectiveMetricName ?? '',
    additional_metric_names: o?.additionalMetricNames ?? [],
  };
}

function parameterToPb(p: ParameterSpec): PbParameterSpec {
  return {
    name: p.name,
    parameter_type: (p.parameterType ?? '').toUpperCase() || 'UNKNOWN_TYPE',
    feasible_space: {
      min: p.feasibleSpace?.min ?? '',
      max: p.feasibleSpace?.max ?? '',
      list: p.feasibleSpace?.list ?? [],
      step: p.feasibleSpace?.step ?? '',
      distribution: DISTRIBUTION_TO_PB[p.feasibleSpace?.distribution ?? ''] ?? 'DISTRIBUTION_UNSPECIFIED',
    },
  };
}

/** The experiment as Katib's controller sends it; `settings` overrides the spec's algorithm settings (state). */
export function experimentToPb(exp: Experiment, settings?: readonly AlgorithmSetting[]): PbExperiment {
  const s = exp.spec;
  return {
    name: exp.metadata.name,
    spec: {
      parameter_specs: { parameters: (s.parameters ?? []).map(parameterToPb) },
      objective: objectiveToPb(s.objective),
      algorithm: { algorithm_name: s.algorithm?.algorithmName ?? '', algorithm_settings: [...(settings ?? s.algorithm?.algorithmSettings ?? [])] },
      early_stopping: s.earlyStopping
        ? { algorithm_name: s.earlyStopping.algorithmName ?? '', algorithm_settings: [...(s.earlyStopping.algorithmSettings ?? [])] }
        : null,
      parallel_trial_count: s.parallelTrialCount ?? 0,
      max_trial_count: s.maxTrialCount ?? 0,
    },
  };
}

const CONDITION_TO_PB: Record<string, string> = {
  Created: 'CREATED',
  Running: 'RUNNING',
  Succeeded: 'SUCCEEDED',
  Killed: 'KILLED',
  Failed: 'FAILED',
  MetricsUnavailable: 'METRICSUNAVAILABLE',
  EarlyStopped: 'EARLYSTOPPED',
};

/** The latest true condition of a trial, as Katib orders them. */
export function trialCondition(t: Trial): string {
  const conds = (t.status?.conditions ?? []).filter((c) => c.status === 'True');
  return conds.length > 0 ? (conds[conds.length - 1]?.type ?? 'Created') : 'Created';
}

/** A trial as Katib's controller sends it: each metric's value per its metric strategy. */
export function trialToPb(t: Trial): PbTrial {
  const strategies = new Map((t.spec.objective?.metricStrategies ?? []).map((m) => [m.name, m.value]));
  const metrics: PbSetting[] = (t.status?.observation?.metrics ?? []).map((m) => {
    const strategy = strategies.get(m.name) ?? 'latest';
    const v = strategy === 'min' ? m.min : strategy === 'max' ? m.max : m.latest;
    return { name: m.name, value: v === UNAVAILABLE_METRIC_VALUE || v === '' ? m.latest : v };
  });
  return {
    name: t.metadata.name,
    spec: {
      objective: objectiveToPb(t.spec.objective),
      parameter_assignments: { assignments: t.spec.parameterAssignments.map((a) => ({ name: a.name, value: a.value })) },
      labels: { ...(t.spec.labels ?? t.metadata.labels ?? {}) },
    },
    status: {
      start_time: t.status?.startTime ?? '',
      completion_time: t.status?.completionTime ?? '',
      condition: CONDITION_TO_PB[trialCondition(t)] ?? 'UNKNOWN',
      observation: { metrics },
    },
  };
}

const COMPARISON_FROM_PB: Record<string, EarlyStoppingRule['comparison']> = { EQUAL: 'equal', LESS: 'less', GREATER: 'greater' };
const COMPARISON_TO_PB: Record<EarlyStoppingRule['comparison'], string> = { equal: 'EQUAL', less: 'LESS', greater: 'GREATER' };

export function rulesFromPb(rules: readonly PbEarlyStoppingRule[]): EarlyStoppingRule[] {
  return rules
    .filter((r) => COMPARISON_FROM_PB[r.comparison] !== undefined)
    .map((r) => ({ name: r.name, value: r.value, comparison: COMPARISON_FROM_PB[r.comparison] as EarlyStoppingRule['comparison'], startStep: r.start_step }));
}

export function rulesToPb(rules: readonly EarlyStoppingRule[]): PbEarlyStoppingRule[] {
  return rules.map((r) => ({ name: r.name, value: r.value, comparison: COMPARISON_TO_PB[r.comparison], start_step: r.startStep ?? 0 }));
}
