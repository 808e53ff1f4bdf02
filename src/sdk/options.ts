/**
 * optimize()'s options → options with defaults → validated: every problem is collected, each with the option's
 * path and the value, before one ValidationError is thrown. The options arrive as `unknown` (JavaScript callers
 * pass anything), so nothing here trusts the declared types.
 */
import type { AnyAlgorithm, Goal, RawSettings } from '../../algorithms/core/algorithm.js';
import type { Issue } from '../../algorithms/core/issues.js';
import { isIssues } from '../../algorithms/core/issues.js';
import { parseSearchSpace, type SearchSpace } from '../../algorithms/core/space.js';
import { ALGORITHMS, findAlgorithm } from '../../algorithms/index.js';
import { ownValue, setOwn } from '../api/guards.js';
import { ValidationError } from '../errors.js';
import { planEarlyStopping, type EarlyStoppingPlan } from './early-stopping.js';
import { checkSearchParameter, toWireParameters, type SearchSpaceMap } from './search.js';
import { METRIC_STRATEGIES, type MetricStrategy, type Objective, type TrialResult } from './types.js';

/** Where the resolved study lives. */
export type ResolvedStore =
  | { readonly kind: 'memory'; readonly studyName: string }
  | { readonly kind: 'sqlite'; readonly file: string; readonly studyName: string; readonly synchronous: 'normal' | 'full' };

/** The study's options, shared by the in-process and the cluster path, validated and with defaults applied. */
export interface StudyOptions {
  readonly parameters: SearchSpaceMap;
  readonly space: SearchSpace;
  readonly metric: string;
  readonly goal: Goal;
  readonly additionalMetrics: readonly string[];
  /** Strategy of a metric: its own, or the objective direction's default. */
  readonly strategyOf: (metric: string) => MetricStrategy;
  readonly strategies: Readonly<Record<string, MetricStrategy>>;
  readonly goalValue: number | undefined;
  readonly algorithmName: string;
  readonly algorithm: AnyAlgorithm;
  readonly settings: unknown;
  readonly raw: RawSettings;
  readonly earlyStopping: (EarlyStoppingPlan & { readonly algorithm: string; readonly raw: RawSettings }) | undefined;
  readonly numTrials: number;
  readonly parallelTrials: number;
  readonly maxFailedTrials: number | undefined;
}

/** Validated in-process options with defaults applied. */
export interface ResolvedOptions extends StudyOptions {
  readonly objective: Objective<unknown>;
  readonly store: ResolvedStore;
  readonly signal: AbortSignal | undefined;
  readonly onTrialComplete: ((trial: TrialResult<unknown>) => void | Promise<void>) | undefined;
}

/** The options that define a study, the same in process and on a cluster. */
export const STUDY_OPTION_NAMES = [
  'parameters',
  'metric',
  'mode',
  'additionalMetrics',
  'metricStrategies',
  'goal',
  'algorithm',
  'algorithmSettings',
  'earlyStopping',
  'numTrials',
  'parallelTrials',
  'maxFailedTrials',
] as const;

/** Every option optimize() knows; any other key is reported as unknown (a typo never silently does nothing). */
export const OPTION_NAMES = [
  'objective',
  ...STUDY_OPTION_NAMES,
  'store',
  'studyName',
  'signal',
  'onTrialComplete',
] as const;

/**
 * Options only the cluster path (`optimize({ trainJob })`) knows; named here so the in-process path can say that
 * one of them needs `trainJob` rather than calling it unknown.
 */
export const CLUSTER_ONLY_OPTION_NAMES = ['trainJob', 'namespace', 'kubeConfig', 'experimentName', 'metricsCollector', 'wait', 'timeoutMs', 'pollIntervalMs'] as const;

/** Default algorithm when `algorithm` is omitted. */
export const DEFAULT_ALGORITHM = 'random';
/** Default study name of an in-memory study. */
export const DEFAULT_STUDY_NAME = 'study';

/** Echoes an option's value in a message: strings quoted, other values by their kind. */
export const fmt = (v: unknown): string => {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === undefined || v === null) return String(v);
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'function' ? 'a function' : `an ${typeof v}`;
};

/** A plain object (not null, not an array). */
export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reports each key of `o` that is not in `known`, at `prefix + key`: with `hint(key)` where it gives one (an option
 * of optimize()'s other path), otherwise listing the known options.
 */
export function reportUnknownKeys(o: Record<string, unknown>, known: readonly string[], prefix: string, issues: Issue[], hint?: (key: string) => string | undefined): void {
  for (const key of Object.keys(o)) {
    if (known.includes(key)) continue;
    issues.push({ path: `${prefix}${key}`, message: hint?.(key) ?? `unknown option ${JSON.stringify(key)}; known options: ${known.join(', ')}` });
  }
}

/** Study names become trial names (`<studyName>-<n>`): a DNS-1123 label, as Katib's object names. */
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function integerOption(o: Record<string, unknown>, name: string, fallback: number | undefined, min: number, issues: Issue[]): number | undefined {
  const v = o[name];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    issues.push({ path: name, message: `must be an integer >= ${min} (${name}=${fmt(v)})` });
    return fallback;
  }
  return v;
}

/** Maps the algorithms' Katib field paths onto option paths. */
function optionPath(path: string, names: readonly string[]): string {
  return path
    .replace(/^spec\.algorithm\.algorithmSettings/, 'algorithmSettings')
    .replace(/^spec\.parameters\[(\d+)\](\.feasibleSpace)?/, (_m, i: string) => `parameters.${names[Number(i)] ?? i}`)
    .replace(/^spec\.parameters/, 'parameters');
}

function settingsRecord(v: unknown, path: string, issues: Issue[]): Record<string, string> {
  const raw: Record<string, string> = {};
  if (v === undefined) return raw;
  if (!isRecord(v)) {
    issues.push({ path, message: `must be an object of setting name to string, number or boolean (${path}=${fmt(v)})` });
    return raw;
  }
  for (const [name, value] of Object.entries(v)) {
    if (typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) setOwn(raw, name, String(value));
    else issues.push({ path: `${path}[${name}]`, message: `must be a string, finite number or boolean (${name}=${fmt(value)})` });
  }
  return raw;
}

/**
 * Validates optimize()'s options and applies the defaults. Throws ValidationError (source `optimize`) listing every
 * problem: unknown options, bad types and ranges, an unknown algorithm (naming the registered ones), and the
 * issues the algorithm's and the early-stopping algorithm's `parseSettings` report.
 */
export function resolveOptions(input: unknown): ResolvedOptions {
  const issues: Issue[] = [];
  if (!isRecord(input)) throw new ValidationError([{ path: 'options', message: `must be an object (options=${fmt(input)})` }], 'optimize');
  const o = input;
  reportUnknownKeys(o, OPTION_NAMES, '', issues, (key) =>
    (CLUSTER_ONLY_OPTION_NAMES as readonly string[]).includes(key) ? `is an option of optimize() on a cluster; give trainJob to run the study on Kubernetes, or remove ${key}` : undefined,
  );

  if (typeof o['objective'] !== 'function') issues.push({ path: 'objective', message: `must be a function (params, trial) => value (objective=${fmt(o['objective'])})` });
  const study = resolveStudyOptions(o, issues);

  const store = resolveStore(o, issues);

  const signal = o['signal'];
  if (signal !== undefined && !(signal instanceof AbortSignal)) issues.push({ path: 'signal', message: `must be an AbortSignal (signal=${fmt(signal)})` });
  const onTrialComplete = o['onTrialComplete'];
  if (onTrialComplete !== undefined && typeof onTrialComplete !== 'function') issues.push({ path: 'onTrialComplete', message: `must be a function (onTrialComplete=${fmt(onTrialComplete)})` });

  if (issues.length > 0) throw new ValidationError(issues, 'optimize');
  return {
    ...study,
    objective: o['objective'] as Objective<unknown>,
    store,
    signal: signal as AbortSignal | undefined,
    onTrialComplete: onTrialComplete as ResolvedOptions['onTrialComplete'],
  };
}

/**
 * Validates the options both paths share (parameters, metric and mode, metrics and strategies, goal, algorithm and
 * its settings, early stopping, trial counts) and applies their defaults; pushes every problem onto `issues`, with
 * the option's path. The result is meaningful only when no issue was pushed. Never throws.
 */
export function resolveStudyOptions(o: Record<string, unknown>, issues: Issue[]): StudyOptions {
  // Parameters: each must be a search helper's result, re-checked because JavaScript can hand us anything.
  const parameters = o['parameters'];
  let space: SearchSpace | undefined;
  let names: string[] = [];
  if (!isRecord(parameters) || Object.keys(parameters).length === 0) {
    issues.push({ path: 'parameters', message: `must map at least one parameter name to a search helper, e.g. { lr: search.loguniform(1e-4, 1e-1) } (parameters=${fmt(parameters)})` });
  } else {
    names = Object.keys(parameters);
    const before = issues.length;
    for (const name of names) {
      if (name === '') issues.push({ path: 'parameters', message: 'a parameter name must not be empty' });
      issues.push(...checkSearchParameter(parameters[name], `parameters.${name}`));
    }
    if (issues.length === before) {
      const parsed = parseSearchSpace(toWireParameters(parameters as SearchSpaceMap));
      if (isIssues(parsed)) issues.push(...parsed.map((i) => ({ path: optionPath(i.path, names), message: i.message })));
      else space = parsed;
    }
  }

  const metric = o['metric'];
  if (typeof metric !== 'string' || metric === '') issues.push({ path: 'metric', message: `must be the objective metric's name, a non-empty string (metric=${fmt(metric)})` });
  const mode = o['mode'];
  if (mode !== 'minimize' && mode !== 'maximize') issues.push({ path: 'mode', message: `must be minimize or maximize (mode=${fmt(mode)})` });
  const goal: Goal = mode === 'maximize' ? 'maximize' : 'minimize';

  const additionalMetrics: string[] = [];
  const extra = o['additionalMetrics'];
  if (extra !== undefined) {
    if (!Array.isArray(extra)) issues.push({ path: 'additionalMetrics', message: `must be an array of metric names (additionalMetrics=${fmt(extra)})` });
    else
      extra.forEach((m: unknown, i) => {
        if (typeof m !== 'string' || m === '') issues.push({ path: `additionalMetrics[${i}]`, message: `must be a non-empty string (additionalMetrics[${i}]=${fmt(m)})` });
        else if (m === metric || additionalMetrics.includes(m)) issues.push({ path: `additionalMetrics[${i}]`, message: `repeats ${JSON.stringify(m)}; list each metric once, the objective metric not at all` });
        else additionalMetrics.push(m);
      });
  }

  const strategies: Record<string, MetricStrategy> = {};
  const ms = o['metricStrategies'];
  if (ms !== undefined) {
    if (!isRecord(ms)) issues.push({ path: 'metricStrategies', message: `must be an object of metric name to min, max or latest (metricStrategies=${fmt(ms)})` });
    else
      for (const [name, s] of Object.entries(ms)) {
        if (!(METRIC_STRATEGIES as readonly unknown[]).includes(s)) issues.push({ path: `metricStrategies.${name}`, message: `must be one of ${METRIC_STRATEGIES.join(', ')} (${name}=${fmt(s)})` });
        else setOwn(strategies, name, s as MetricStrategy);
      }
  }
  const defaultStrategy: MetricStrategy = goal === 'maximize' ? 'max' : 'min';

  const goalValue = o['goal'];
  if (goalValue !== undefined && (typeof goalValue !== 'number' || !Number.isFinite(goalValue))) issues.push({ path: 'goal', message: `must be a finite number (goal=${fmt(goalValue)})` });

  const numTrials = integerOption(o, 'numTrials', undefined, 1, issues);
  if (o['numTrials'] === undefined) issues.push({ path: 'numTrials', message: 'is required: the number of trials to finish, an integer >= 1' });
  const parallelTrials = integerOption(o, 'parallelTrials', 1, 1, issues) ?? 1;
  const maxFailedTrials = integerOption(o, 'maxFailedTrials', undefined, 0, issues);

  // The algorithm and its settings, parsed by the algorithm itself in the context the adapter gives it.
  const algorithmName = o['algorithm'] === undefined ? DEFAULT_ALGORITHM : o['algorithm'];
  const algorithm = typeof algorithmName === 'string' ? findAlgorithm(algorithmName) : undefined;
  if (!algorithm) issues.push({ path: 'algorithm', message: `unknown algorithm ${fmt(algorithmName)}; registered algorithms: ${Object.keys(ALGORITHMS).join(', ')}` });
  const raw = settingsRecord(o['algorithmSettings'], 'algorithmSettings', issues);
  let settings: unknown;
  if (algorithm && space && numTrials !== undefined && !issues.some((i) => i.path.startsWith('algorithmSettings'))) {
    const parsed = algorithm.parseSettings(raw, { space, parallelTrialCount: parallelTrials, maxTrialCount: numTrials });
    if (isIssues(parsed)) issues.push(...parsed.map((i) => ({ path: optionPath(i.path, names), message: i.message })));
    else settings = parsed;
  }

  let earlyStopping: StudyOptions['earlyStopping'];
  const es = o['earlyStopping'];
  if (es !== undefined) {
    if (!isRecord(es)) issues.push({ path: 'earlyStopping', message: `must be an object { algorithm: 'medianstop', settings? } (earlyStopping=${fmt(es)})` });
    else {
      reportUnknownKeys(es, ['algorithm', 'settings'], 'earlyStopping.', issues);
      const esRaw = settingsRecord(es['settings'], 'earlyStopping.settings', issues);
      const esName = es['algorithm'];
      if (typeof esName !== 'string') issues.push({ path: 'earlyStopping.algorithm', message: `must name an early-stopping algorithm such as "medianstop" (algorithm=${fmt(esName)})` });
      else {
        const plan = planEarlyStopping(esName, esRaw, typeof metric === 'string' ? metric : '', goal);
        if (isIssues(plan)) issues.push(...plan);
        else earlyStopping = { ...plan, algorithm: esName, raw: esRaw };
      }
    }
  }

  return {
    parameters: parameters as SearchSpaceMap,
    space: space as SearchSpace,
    metric: metric as string,
    goal,
    additionalMetrics,
    strategies,
    strategyOf: (m) => ownValue(strategies, m) ?? defaultStrategy,
    goalValue: goalValue as number | undefined,
    algorithmName: algorithmName as string,
    algorithm: algorithm as AnyAlgorithm,
    settings,
    raw,
    earlyStopping,
    numTrials: numTrials as number,
    parallelTrials,
    maxFailedTrials,
  };
}

function resolveStore(o: Record<string, unknown>, issues: Issue[]): ResolvedStore {
  const store = o['store'];
  const studyName = o['studyName'];
  const checkName = (v: unknown, path: string): string => {
    if (typeof v !== 'string' || !NAME.test(v) || v.length > 63) {
      issues.push({ path, message: `must be lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters (${path}=${fmt(v)})` });
      return DEFAULT_STUDY_NAME;
    }
    return v;
  };
  if (store === undefined || store === 'memory') {
    return { kind: 'memory', studyName: studyName === undefined ? DEFAULT_STUDY_NAME : checkName(studyName, 'studyName') };
  }
  if (!isRecord(store)) {
    issues.push({ path: 'store', message: `must be 'memory' or { sqlite: FILE, studyName: NAME } (store=${fmt(store)})` });
    return { kind: 'memory', studyName: DEFAULT_STUDY_NAME };
  }
  reportUnknownKeys(store, ['sqlite', 'studyName', 'synchronous'], 'store.', issues);
  const file = store['sqlite'];
  if (typeof file !== 'string' || file === '') issues.push({ path: 'store.sqlite', message: `must be the SQLite file's path (sqlite=${fmt(file)})` });
  const name = checkName(store['studyName'], 'store.studyName');
  if (studyName !== undefined && studyName !== store['studyName']) {
    issues.push({ path: 'studyName', message: `conflicts with store.studyName; give the name once, in store.studyName (studyName=${fmt(studyName)})` });
  }
  const sync = store['synchronous'] ?? 'normal';
  if (sync !== 'normal' && sync !== 'full') issues.push({ path: 'store.synchronous', message: `must be normal or full (synchronous=${fmt(sync)})` });
  return { kind: 'sqlite', file: typeof file === 'string' ? file : '', studyName: name, synchronous: sync === 'full' ? 'full' : 'normal' };
}
