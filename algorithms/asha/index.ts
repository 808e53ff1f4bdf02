/**
 * ASHA: asynchronous successive halving. Li, Jamieson, Rostamizadeh, Gonina, Ben-Tzur, Hardt, Recht & Talwalkar,
 * "A System for Massively Parallel Hyperparameter Tuning", MLSys 2020, Algorithm 2.
 *
 * Rungs k = 0 … K have budgets r_k = min_resource · eta^k <= max_resource. Whenever a slot is free (every call,
 * for each suggestion wanted) the algorithm looks for a promotion, highest rung first: a trial among the best
 * floor(|rung k| / eta) finished trials of rung k that has not been promoted yet is promoted to rung k + 1 — a NEW
 * trial with the same other parameters and budget r_{k+1}. When nothing is promotable it starts a new
 * configuration at rung 0 (non-resource parameters drawn from their priors with the seeded Rng). A free slot never
 * waits for a rung to fill: that is what makes it asynchronous. It never reports itself exhausted; maxTrialCount
 * ends the experiment.
 *
 * Settings (katib-ts's own; Katib has no ASHA service):
 * - `resource_name` (required): an int or double parameter that receives the budget.
 * - `min_resource` (default: the parameter's min, when > 0), `max_resource` (default: the parameter's max).
 *   Every rung budget must be a feasible value of the parameter (inside its bounds and on its step grid).
 * - `reduction_factor` (default 3): eta, an integer >= 2.
 * - `random_state` (optional): seed, read by the service.
 *
 * History is the record: each suggestion carries `katib-ts/asha-rung` and, for promotions, `katib-ts/asha-parent`
 * (the promoted trial's name). State is only the promotions suggested but not yet seen as trials — a suggestion
 * reaches the history after the controller creates its trial, and without it a second call in between would
 * promote the same trial twice. Entries leave the state once their trial appears; at most {@link MAX_PENDING}.
 */
import type { Algorithm, SuggestResult, Suggestion, TrialRecord } from '../core/algorithm.js';
import { formatBudget, intLabel, maxExponent, rankByObjective, resourceParameter, withBudget } from '../core/budget.js';
import type { Issue } from '../core/issues.js';
import { numberSetting, rejectUnknown, seedSetting, SETTINGS_PATH } from '../core/settings.js';
import { isFeasible, type RangeParameter } from '../core/space.js';
import { sampleAssignment } from '../random/index.js';

/** Labels on every trial ASHA suggests. */
export const AshaLabels = {
  rung: 'katib-ts/asha-rung',
  /** On promotions: the name of the trial promoted. */
  parent: 'katib-ts/asha-parent',
} as const;

export const ASHA_SETTINGS = ['resource_name', 'min_resource', 'max_resource', 'reduction_factor', 'random_state'] as const;

/** The most promotions remembered while waiting for their trials to appear. */
export const MAX_PENDING = 1024;

export interface AshaSettings {
  readonly resource: RangeParameter;
  readonly eta: number;
  /** r_0 … r_K as wire values of the resource parameter. */
  readonly budgets: readonly string[];
}

export interface AshaState {
  /** Names of trials promoted by earlier calls whose promoted trial is not yet in the history. */
  readonly pending: readonly string[];
}

/** The budgets of rungs 0 … K: min · eta^k for every k with min · eta^k <= max. */
export function rungBudgets(minResource: number, maxResource: number, eta: number): number[] {
  const top = maxExponent(maxResource / minResource, eta);
  return Array.from({ length: top + 1 }, (_, k) => Math.min(maxResource, minResource * eta ** k));
}

function readPending(state: unknown): string[] {
  if (typeof state !== 'object' || state === null) return [];
  const pending = (state as Record<string, unknown>)['pending'];
  return Array.isArray(pending) ? pending.filter((n): n is string => typeof n === 'string') : [];
}

export const asha: Algorithm<AshaSettings, AshaState> = {
  name: 'asha',
  parseSettings(raw, ctx) {
    const issues: Issue[] = [];
    rejectUnknown(raw, ASHA_SETTINGS, issues);
    seedSetting(raw, 'random_state', issues);
    const eta = numberSetting(raw, 'reduction_factor', 3, { min: 2, integer: true }, issues);
    const p = resourceParameter(raw, 'resource_name', ctx.space, issues);
    if (p === undefined) return issues;
    const integer = p.type === 'int';
    const path = (name: string): string => `${SETTINGS_PATH}[${name}]`;
    if (p.min <= 0 && (raw['min_resource'] ?? '') === '') {
      issues.push({ path: path('min_resource'), message: `is required because ${p.name}'s min is ${p.min}; set a budget > 0 within [${p.min}, ${p.max}]` });
    }
    const minResource = numberSetting(raw, 'min_resource', p.min, { min: Math.max(0, p.min), exclusiveMin: p.min <= 0, max: p.max, integer }, issues);
    const maxResource = numberSetting(raw, 'max_resource', p.max, { min: Math.max(0, p.min), exclusiveMin: p.min <= 0, max: p.max, integer }, issues);
    if (issues.length > 0) return issues;
    if (maxResource < minResource) {
      return [{ path: path('max_resource'), message: `must be >= min_resource (min_resource=${minResource}, max_resource=${maxResource})` }];
    }
    const budgets = rungBudgets(minResource, maxResource, eta).map((b) => formatBudget(p, b));
    const off = budgets.find((b) => !isFeasible(p, b));
    if (off !== undefined) {
      return [
        {
          path: path('min_resource'),
          message: `rung budget ${off} (min_resource · reduction_factor^k) is not on ${p.name}'s step grid (step=${p.step}, min=${p.min}); choose min_resource and a step that agree`,
        },
      ];
    }
    return { resource: p, eta, budgets };
  },
  suggest(req, settings): SuggestResult<AshaState> {
    const { budgets, eta, resource } = settings;
    const top = budgets.length - 1;
    const rungs: TrialRecord[][] = budgets.map(() => []);
    const promoted = new Set<string>();
    for (const t of req.history) {
      const k = intLabel(t.labels, AshaLabels.rung);
      if (k !== undefined && k <= top) rungs[k]?.push(t);
      const parent = t.labels[AshaLabels.parent];
      if (parent !== undefined) promoted.add(parent);
    }
    const pending = readPending(req.state).filter((n) => !promoted.has(n));
    for (const n of pending) promoted.add(n);

    // Promotion candidates, highest rung first, best first within a rung: the quota floor(|rung| / eta) is fixed
    // for this call because no new result arrives during it.
    const candidates: { trial: TrialRecord; rung: number }[] = [];
    for (let k = top - 1; k >= 0; k--) {
      const ranked = rankByObjective(rungs[k] ?? [], req.goal);
      const quota = Math.floor(ranked.length / eta);
      for (const trial of ranked.slice(0, quota)) if (!promoted.has(trial.name)) candidates.push({ trial, rung: k });
    }

    const suggestions: Suggestion[] = [];
    for (const c of candidates) {
      if (suggestions.length >= req.count) break;
      const rung = c.rung + 1;
      suggestions.push({
        assignments: withBudget(req.space, c.trial.assignments, resource, budgets[rung] as string),
        labels: { [AshaLabels.rung]: String(rung), [AshaLabels.parent]: c.trial.name },
      });
      pending.push(c.trial.name);
    }
    while (suggestions.length < req.count) {
      const sample = Object.fromEntries(sampleAssignment(req.space, req.rng).map((a) => [a.name, a.value]));
      suggestions.push({ assignments: withBudget(req.space, sample, resource, budgets[0] as string), labels: { [AshaLabels.rung]: '0' } });
    }
    return { suggestions, state: { pending: pending.slice(-MAX_PENDING) } };
  },
};
