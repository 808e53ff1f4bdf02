/** Condition bookkeeping as Katib does it: one entry per type, the newest state last, transitions timestamped. */
import type { Condition, ConditionStatus, Experiment, ExperimentConditionType, Trial, TrialConditionType } from '../api/types.js';

/** Returns a new list with `type` set; lastTransitionTime changes only when the status flips. */
export function setCondition<T extends string>(conds: readonly Condition<T>[] | undefined, type: T, status: ConditionStatus, reason: string, message: string, now: string): Condition<T>[] {
  const list = [...(conds ?? [])];
  const i = list.findIndex((c) => c.type === type);
  const prev = i >= 0 ? list[i] : undefined;
  if (prev && prev.status === status && prev.reason === reason && prev.message === message) return list;
  const next: Condition<T> = {
    type,
    status,
    reason,
    message,
    lastUpdateTime: now,
    lastTransitionTime: prev && prev.status === status ? (prev.lastTransitionTime ?? now) : now,
  };
  if (i >= 0) list.splice(i, 1);
  list.push(next);
  return list;
}

function isTrue<T extends string>(conds: readonly Condition<T>[] | undefined, type: T): boolean {
  return (conds ?? []).some((c) => c.type === type && c.status === 'True');
}

/** Marks a terminal condition: Running goes False (keeping its reason), `type` goes True. */
export function markTerminal<T extends string>(conds: readonly Condition<T>[] | undefined, running: T, type: T, reason: string, message: string, now: string): Condition<T>[] {
  let list = [...(conds ?? [])];
  const r = list.find((c) => c.type === running);
  if (r && r.status === 'True') list = setCondition(list, running, 'False', r.reason ?? '', r.message ?? '', now);
  return setCondition(list, type, 'True', reason, message, now);
}

export const TRIAL_TERMINAL: readonly TrialConditionType[] = ['Succeeded', 'Failed', 'Killed', 'EarlyStopped', 'MetricsUnavailable'];

/** The trial's phase: its terminal condition if any, else Running, else Created. */
export function trialPhase(t: Trial): TrialConditionType {
  const conds = t.status?.conditions;
  for (const type of TRIAL_TERMINAL) if (isTrue(conds, type)) return type;
  if (isTrue(conds, 'Running')) return 'Running';
  return 'Created';
}

export function isTrialActive(t: Trial): boolean {
  const p = trialPhase(t);
  return p === 'Created' || p === 'Running';
}

export function experimentCompleted(exp: Experiment): 'Succeeded' | 'Failed' | undefined {
  const conds = exp.status?.conditions;
  if (isTrue<ExperimentConditionType>(conds, 'Succeeded')) return 'Succeeded';
  if (isTrue<ExperimentConditionType>(conds, 'Failed')) return 'Failed';
  return undefined;
}

export function conditionOf<T extends string>(conds: readonly Condition<T>[] | undefined, type: T): Condition<T> | undefined {
  return (conds ?? []).find((c) => c.type === type);
}
