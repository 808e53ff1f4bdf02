/** Helpers that parse algorithm settings with messages naming the setting, the value and the valid range. */
import type { Issue } from './issues.js';
import type { RawSettings } from './algorithm.js';

export const SETTINGS_PATH = 'spec.algorithm.algorithmSettings';

/** The setting name under which algorithm state travels in replies; never a user setting. */
export const STATE_SETTING = 'katib-ts.state';

const path = (name: string): string => `${SETTINGS_PATH}[${name}]`;

/** Reports every setting not in `known` (the state setting is always allowed). */
export function rejectUnknown(raw: RawSettings, known: readonly string[], issues: Issue[]): void {
  for (const name of Object.keys(raw)) {
    if (name === STATE_SETTING || known.includes(name)) continue;
    issues.push({ path: path(name), message: `unknown setting ${JSON.stringify(name)}; known settings: ${known.join(', ') || '(none)'}` });
  }
}

export interface NumberRule {
  readonly min?: number;
  readonly max?: number;
  readonly exclusiveMin?: boolean;
  readonly exclusiveMax?: boolean;
  readonly integer?: boolean;
}

function describe(rule: NumberRule): string {
  const lo = rule.min === undefined ? '' : `${rule.exclusiveMin ? '>' : '>='} ${rule.min}`;
  const hi = rule.max === undefined ? '' : `${rule.exclusiveMax ? '<' : '<='} ${rule.max}`;
  const kind = rule.integer ? 'an integer' : 'a number';
  return [kind, lo, hi].filter(Boolean).join(' ').replace(/ (>=|>) /, ' $1 ').replace(/(\d) (<=|<)/, '$1 and $2');
}

/** Parses a numeric setting; returns `fallback` when absent and pushes an issue when invalid. */
export function numberSetting(raw: RawSettings, name: string, fallback: number, rule: NumberRule, issues: Issue[]): number {
  const text = raw[name];
  if (text === undefined || text === '') return fallback;
  const v = Number(text);
  const ok =
    text.trim() !== '' &&
    Number.isFinite(v) &&
    (!rule.integer || Number.isInteger(v)) &&
    (rule.min === undefined || (rule.exclusiveMin ? v > rule.min : v >= rule.min)) &&
    (rule.max === undefined || (rule.exclusiveMax ? v < rule.max : v <= rule.max));
  if (!ok) {
    issues.push({ path: path(name), message: `must be ${describe(rule)} (${name}=${JSON.stringify(text)})` });
    return fallback;
  }
  return v;
}

/** Parses an optional integer seed (`random_state`); undefined when absent. */
export function seedSetting(raw: RawSettings, name: string, issues: Issue[]): number | undefined {
  const text = raw[name];
  if (text === undefined || text === '') return undefined;
  const v = Number(text);
  if (!Number.isInteger(v) || v < 0) {
    issues.push({ path: path(name), message: `must be a non-negative integer (${name}=${JSON.stringify(text)})` });
    return undefined;
  }
  return v;
}

/** Parses a setting that must be one of `choices`. */
export function choiceSetting<C extends string>(raw: RawSettings, name: string, fallback: C, choices: readonly C[], issues: Issue[]): C {
  const text = raw[name];
  if (text === undefined || text === '') return fallback;
  if (!(choices as readonly string[]).includes(text)) {
    issues.push({ path: path(name), message: `must be one of ${choices.join(', ')} (${name}=${JSON.stringify(text)})` });
    return fallback;
  }
  return text as C;
}

/** Parses a boolean setting written as true/false. */
export function boolSetting(raw: RawSettings, name: string, fallback: boolean, issues: Issue[]): boolean {
  const text = raw[name];
  if (text === undefined || text === '') return fallback;
  const t = text.toLowerCase();
  if (t === 'true') return true;
  if (t === 'false') return false;
  issues.push({ path: path(name), message: `must be true or false (${name}=${JSON.stringify(text)})` });
  return fallback;
}
