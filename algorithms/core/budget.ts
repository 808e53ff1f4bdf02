/**
 * Helpers shared by the multi-fidelity algorithms (Hyperband, ASHA, PBT): the resource parameter that carries a
 * trial's budget, budgets written as wire values, goal-aware ranking of finished trials, and reading integers back
 * from the labels these algorithms put on their trials.
 */
import type { Goal, RawSettings, TrialRecord } from './algorithm.js';
import { completedWithObjective, toLoss } from './algorithm.js';
import type { Issue } from './issues.js';
import { SETTINGS_PATH } from './settings.js';
import type { Assignment, RangeParameter, SearchSpace } from './space.js';

const settingPath = (name: string): string => `${SETTINGS_PATH}[${name}]`;

/** Reports a missing required setting; returns its value (undefined when absent or empty). */
export function requiredSetting(raw: RawSettings, name: string, what: string, issues: Issue[]): string | undefined {
  const text = raw[name];
  if (text === undefined || text.trim() === '') {
    issues.push({ path: settingPath(name), message: `is required: set it to ${what}` });
    return undefined;
  }
  return text;
}

/**
 * Resolves the setting `name` (e.g. `resource_name`) to an int or double parameter of the search space. Pushes an
 * issue naming the candidates when the setting is missing, names no parameter, or names a discrete or categorical one.
 */
export function resourceParameter(raw: RawSettings, name: string, space: SearchSpace, issues: Issue[]): RangeParameter | undefined {
  const candidates = space.filter((p): p is RangeParameter => p.type === 'int' || p.type === 'double').map((p) => p.name);
  const listed = candidates.length > 0 ? candidates.join(', ') : '(none: add an int or double parameter for the budget)';
  const value = requiredSetting(raw, name, `the name of an int or double parameter that receives the budget; candidates: ${listed}`, issues);
  if (value === undefined) return undefined;
  const p = space.find((q) => q.name === value);
  if (p === undefined) {
    issues.push({ path: settingPath(name), message: `names no parameter of the experiment (${name}=${JSON.stringify(value)}); candidates: ${listed}` });
    return undefined;
  }
  if (p.type !== 'int' && p.type !== 'double') {
    issues.push({
      path: settingPath(name),
      message: `must name an int or double parameter, but ${JSON.stringify(value)} is ${p.type} (${name}=${JSON.stringify(value)}); candidates: ${listed}`,
    });
    return undefined;
  }
  return p;
}

/**
 * Writes a budget as the resource parameter's wire value. An int parameter gets the largest integer not above the
 * budget (at least 1); a double drops float noise (0.1 · 3 = 0.30000000000000004 is written 0.3) unless that would
 * round up. Either way a budget never exceeds the maximum it was derived from.
 */
export function formatBudget(p: RangeParameter, budget: number): string {
  if (p.type === 'int') return String(Math.max(1, Math.floor(budget + 1e-9)));
  const short = Number(budget.toPrecision(12));
  return String(short <= budget ? short : budget);
}

/** The full assignment of `base` (wire values keyed by name) in space order, with the resource set to `budget`. */
export function withBudget(space: SearchSpace, base: Readonly<Record<string, string>>, resource: RangeParameter, budget: string): Assignment[] {
  return space.map((p) => ({ name: p.name, value: p.name === resource.name ? budget : (base[p.name] ?? '') }));
}

/**
 * Trials with a usable objective, best first for `goal`. Ties break by trial name so that the same history always
 * gives the same order.
 */
export function rankByObjective(trials: readonly TrialRecord[], goal: Goal): TrialRecord[] {
  return completedWithObjective(trials).sort((a, b) => {
    const d = toLoss(a.objective as number, goal) - toLoss(b.objective as number, goal);
    return d !== 0 ? d : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });
}

/** The non-negative integer in `labels[key]`, or undefined when absent or malformed (a user-edited label, say). */
export function intLabel(labels: Readonly<Record<string, string>>, key: string): number | undefined {
  const text = labels[key];
  if (text === undefined || !/^\d{1,9}$/.test(text)) return undefined;
  return Number(text);
}

/** Largest s >= 0 with eta^s <= r (0 when r < eta). Integer arithmetic: log(243)/log(3) is 4.999…, not 5. */
export function maxExponent(r: number, eta: number): number {
  let s = 0;
  let power = eta;
  while (power <= r * (1 + 1e-12)) {
    s++;
    power *= eta;
  }
  return s;
}
