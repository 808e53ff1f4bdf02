/**
 * The `search` helpers: one per Katib parameter type and distribution, each returning a typed description of a
 * parameter that `optimize()` samples and that {@link toParameterSpecs} turns into Katib's `spec.parameters`. The
 * types carry the value type through to the objective: `search.int` gives a number, `search.choice(['a', 'b'])`
 * gives `'a' | 'b'`.
 *
 * Every helper checks its arguments when it is called and throws a ValidationError listing every problem, each
 * naming the helper and echoing the values (`search.uniform: min must be less than or equal to max (min=5, max=1)`).
 * As in Katib, `min == max` is legal (a pinned parameter).
 */
import type { Issue } from '../../algorithms/core/issues.js';
import type { Distribution, WireParameter } from '../../algorithms/core/space.js';
import { ownValue, setOwn } from '../api/guards.js';
import type { ParameterSpec } from '../api/types.js';
import { ValidationError } from '../errors.js';

/** A `double` parameter: continuous, or on a grid anchored at `min` when `step` is set. */
export interface DoubleSearch {
  readonly type: 'double';
  readonly min: number;
  readonly max: number;
  readonly step: number | undefined;
  readonly distribution: Distribution;
}

/** An `int` parameter: integers from `min` to `max` (both included) on a grid of `step` (default 1). */
export interface IntSearch {
  readonly type: 'int';
  readonly min: number;
  readonly max: number;
  readonly step: number | undefined;
  readonly distribution: 'uniform' | 'logUniform';
}

/** A `discrete` parameter: one of an ordered list of numbers. */
export interface DiscreteSearch<V extends number = number> {
  readonly type: 'discrete';
  readonly values: readonly V[];
}

/** A `categorical` parameter: one of an unordered list of strings. */
export interface ChoiceSearch<V extends string = string> {
  readonly type: 'categorical';
  readonly values: readonly V[];
}

/** Any parameter a `search` helper returns. */
export type SearchParameter = DoubleSearch | IntSearch | DiscreteSearch | ChoiceSearch;

/** The `parameters` option of `optimize()`: parameter name to its search helper. */
export type SearchSpaceMap = Readonly<Record<string, SearchParameter>>;

/** The type of one parameter's value as the objective receives it. */
export type ParamValue<S extends SearchParameter> = S extends ChoiceSearch<infer V> ? V : S extends DiscreteSearch<infer V> ? V : number;

/** The objective's `params`: each parameter of the map with its value type. */
export type ParamsOf<M extends SearchSpaceMap> = { readonly [K in keyof M]: ParamValue<M[K]> };

/** Options of {@link uniform}. */
export interface UniformOptions {
  /** Restricts values to `min + k·step` (a grid; needed by the `grid` algorithm). Default: continuous. */
  readonly step?: number;
}

/** Options of {@link int}. */
export interface IntOptions {
  /** Grid step, a positive integer. Default 1. */
  readonly step?: number;
  /** Samples on a log scale (Katib's `logUniform`); needs `min >= 1`. Default false. */
  readonly log?: boolean;
}

const fmt = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : typeof v === 'number' || typeof v === 'boolean' || v === undefined || v === null ? String(v) : typeof v);

function fail(issues: readonly Issue[]): never {
  throw new ValidationError(issues);
}

function checkRange(helper: string, min: unknown, max: unknown, issues: Issue[]): boolean {
  const before = issues.length;
  if (typeof min !== 'number' || !Number.isFinite(min)) issues.push({ path: helper, message: `min must be a finite number (min=${fmt(min)})` });
  if (typeof max !== 'number' || !Number.isFinite(max)) issues.push({ path: helper, message: `max must be a finite number (max=${fmt(max)})` });
  if (issues.length > before) return false;
  if ((min as number) > (max as number)) issues.push({ path: helper, message: `min must be less than or equal to max (min=${fmt(min)}, max=${fmt(max)})` });
  return issues.length === before;
}

function checkStep(helper: string, step: unknown, min: number, max: number, integer: boolean, issues: Issue[]): void {
  if (step === undefined) return;
  if (typeof step !== 'number' || !Number.isFinite(step) || step <= 0 || (integer && !Number.isInteger(step))) {
    issues.push({ path: helper, message: `step must be a positive ${integer ? 'integer' : 'number'} (step=${fmt(step)})` });
    return;
  }
  if (max > min && step > max - min) issues.push({ path: helper, message: `step must not exceed max - min (step=${step}, min=${min}, max=${max})` });
}

function checkPositiveMin(helper: string, min: number, issues: Issue[], why: string): void {
  if (!(min > 0)) issues.push({ path: helper, message: `min must be greater than 0 ${why} (min=${min}); use a linear helper or raise min` });
}

function checkOptions(helper: string, options: unknown, known: readonly string[], issues: Issue[]): Record<string, unknown> {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    issues.push({ path: helper, message: `options must be an object (options=${fmt(options)})` });
    return {};
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) issues.push({ path: helper, message: `unknown option ${JSON.stringify(key)}; known options: ${known.join(', ')}` });
  }
  return options as Record<string, unknown>;
}

/**
 * A real number uniform in [min, max]; with `step`, on the grid `min + k·step`. Throws ValidationError for
 * non-finite bounds, `min > max`, or a step that is not positive or exceeds `max - min`.
 */
export function uniform(min: number, max: number, options?: UniformOptions): DoubleSearch {
  return double('search.uniform', min, max, 'uniform', options);
}

/** A real number whose logarithm is uniform in [log min, log max]. Throws ValidationError unless `0 < min <= max`. */
export function loguniform(min: number, max: number): DoubleSearch {
  return double('search.loguniform', min, max, 'logUniform', undefined);
}

/**
 * A real number from a normal distribution truncated to [min, max]; as in Katib, the bounds span ±3σ around
 * their midpoint. Throws ValidationError for non-finite bounds or `min > max`.
 */
export function normal(min: number, max: number): DoubleSearch {
  return double('search.normal', min, max, 'normal', undefined);
}

/**
 * A real number whose logarithm is normal, truncated to [min, max]; the log-bounds span ±3σ (Katib's convention).
 * Throws ValidationError unless `0 < min <= max`.
 */
export function lognormal(min: number, max: number): DoubleSearch {
  return double('search.lognormal', min, max, 'logNormal', undefined);
}

function double(helper: string, min: number, max: number, distribution: Distribution, options: UniformOptions | undefined): DoubleSearch {
  const issues: Issue[] = [];
  const opts = checkOptions(helper, options, distribution === 'uniform' ? ['step'] : [], issues);
  if (checkRange(helper, min, max, issues)) {
    checkStep(helper, opts['step'], min, max, false, issues);
    if (distribution === 'logUniform' || distribution === 'logNormal') checkPositiveMin(helper, min, issues, 'on a log scale');
  }
  if (issues.length > 0) fail(issues);
  return Object.freeze({ type: 'double', min, max, step: opts['step'] as number | undefined, distribution });
}

/**
 * An integer in [min, max] (both included), uniform over the grid `min + k·step` (step default 1), or on a log scale
 * with `log: true`. Throws ValidationError for non-integer bounds, `min > max`, a step that is not a positive
 * integer or exceeds `max - min`, or `log` with `min < 1`.
 */
export function int(min: number, max: number, options?: IntOptions): IntSearch {
  const helper = 'search.int';
  const issues: Issue[] = [];
  const opts = checkOptions(helper, options, ['step', 'log'], issues);
  const log = opts['log'];
  if (log !== undefined && typeof log !== 'boolean') issues.push({ path: helper, message: `log must be true or false (log=${fmt(log)})` });
  if (checkRange(helper, min, max, issues)) {
    if (!Number.isInteger(min)) issues.push({ path: helper, message: `min must be an integer (min=${min})` });
    if (!Number.isInteger(max)) issues.push({ path: helper, message: `max must be an integer (max=${max})` });
    checkStep(helper, opts['step'], min, max, true, issues);
    if (log === true && min < 1) issues.push({ path: helper, message: `min must be at least 1 with log: true (min=${min}); drop log or raise min` });
  }
  if (issues.length > 0) fail(issues);
  return Object.freeze({ type: 'int', min, max, step: opts['step'] as number | undefined, distribution: log === true ? 'logUniform' : 'uniform' });
}

/**
 * One of the listed numbers (Katib's `discrete`). The list keeps its order (grid enumerates it in order). Throws
 * ValidationError for an empty list, a value that is not a finite number, or a repeated value.
 */
export function discrete<const V extends number>(values: readonly V[]): DiscreteSearch<V> {
  const helper = 'search.discrete';
  const issues = checkList(helper, values, 'number');
  if (issues.length > 0) fail(issues);
  return Object.freeze({ type: 'discrete', values: Object.freeze([...values]) });
}

/**
 * One of the listed strings (Katib's `categorical`). Throws ValidationError for an empty list, a value that is not
 * a string, or a repeated value.
 */
export function choice<const V extends string>(values: readonly V[]): ChoiceSearch<V> {
  const helper = 'search.choice';
  const issues = checkList(helper, values, 'string');
  if (issues.length > 0) fail(issues);
  return Object.freeze({ type: 'categorical', values: Object.freeze([...values]) });
}

function checkList(helper: string, values: unknown, kind: 'number' | 'string'): Issue[] {
  const issues: Issue[] = [];
  if (!Array.isArray(values)) return [{ path: helper, message: `values must be an array of ${kind}s (values=${fmt(values)})` }];
  if (values.length === 0) return [{ path: helper, message: `values must list at least one ${kind}` }];
  const seen = new Map<unknown, number>();
  values.forEach((v: unknown, i) => {
    const ok = kind === 'number' ? typeof v === 'number' && Number.isFinite(v) : typeof v === 'string';
    if (!ok) {
      issues.push({ path: helper, message: `values[${i}] must be a ${kind === 'number' ? 'finite number' : 'string'} (values[${i}]=${fmt(v)})` });
      return;
    }
    const first = seen.get(v);
    if (first !== undefined) issues.push({ path: helper, message: `values[${i}] repeats values[${first}] (${fmt(v)}); list each value once` });
    else seen.set(v, i);
  });
  return issues;
}

/** The helpers, as `search.uniform(...)`, `search.int(...)` and so on. */
export const search = { uniform, loguniform, normal, lognormal, int, discrete, choice } as const;

/**
 * Checks a value that should be a search helper's result (from JavaScript, or built by hand), collecting every
 * problem under `path` (e.g. `parameters.lr`). Re-runs the helper's own checks, so a hand-built object is held to
 * the same rules. Never throws.
 */
export function checkSearchParameter(value: unknown, path: string): Issue[] {
  if (typeof value !== 'object' || value === null) {
    return [{ path, message: `must be a search helper's result such as search.uniform(0, 1) (${path}=${fmt(value)})` }];
  }
  const p = value as Record<string, unknown>;
  const rethrow = (run: () => unknown): Issue[] => {
    try {
      run();
      return [];
    } catch (e) {
      if (e instanceof ValidationError) return e.issues.map((i) => ({ path, message: `${i.path}: ${i.message}` }));
      throw e;
    }
  };
  switch (p['type']) {
    case 'double': {
      const step = p['step'] === undefined ? {} : { step: p['step'] as number };
      switch (p['distribution']) {
        case 'uniform':
          return rethrow(() => uniform(p['min'] as number, p['max'] as number, step));
        case 'logUniform':
        case 'normal':
        case 'logNormal': {
          const helper = { logUniform: loguniform, normal, logNormal: lognormal }[p['distribution']];
          const issues = rethrow(() => helper(p['min'] as number, p['max'] as number));
          // Katib allows a step with any distribution; the helpers only offer it with uniform.
          if (issues.length === 0 && p['step'] !== undefined) return rethrow(() => uniform(p['min'] as number, p['max'] as number, step));
          return issues;
        }
        default:
          return [{ path: `${path}.distribution`, message: `must be one of uniform, logUniform, normal, logNormal (distribution=${fmt(p['distribution'])})` }];
      }
    }
    case 'int': {
      if (p['distribution'] !== 'uniform' && p['distribution'] !== 'logUniform') {
        return [{ path: `${path}.distribution`, message: `must be uniform or logUniform for an int parameter (distribution=${fmt(p['distribution'])})` }];
      }
      const opts: { step?: number; log: boolean } = { log: p['distribution'] === 'logUniform' };
      if (p['step'] !== undefined) opts.step = p['step'] as number;
      return rethrow(() => int(p['min'] as number, p['max'] as number, opts));
    }
    case 'discrete':
      return checkList('search.discrete', p['values'], 'number').map((i) => ({ path, message: `${i.path}: ${i.message}` }));
    case 'categorical':
      return checkList('search.choice', p['values'], 'string').map((i) => ({ path, message: `${i.path}: ${i.message}` }));
    default:
      return [{ path, message: `must be a search helper's result such as search.uniform(0, 1); its type ${fmt(p['type'])} is not double, int, discrete or categorical` }];
  }
}

/** Katib's wire form of one number: ints without a fraction, others in the shortest round-trip form. */
function wire(v: number): string {
  return String(v);
}

/**
 * Converts the `parameters` map into Katib's `spec.parameters`, in the map's key order, for an Experiment or the
 * Suggestion service. Pure; does not validate (the helpers did).
 */
export function toParameterSpecs(parameters: SearchSpaceMap): ParameterSpec[] {
  return Object.entries(parameters).map(([name, p]): ParameterSpec => {
    switch (p.type) {
      case 'double':
      case 'int':
        return {
          name,
          parameterType: p.type,
          feasibleSpace: { min: wire(p.min), max: wire(p.max), ...(p.step === undefined ? {} : { step: wire(p.step) }), distribution: p.distribution },
        };
      case 'discrete':
        return { name, parameterType: 'discrete', feasibleSpace: { list: p.values.map(wire) } };
      case 'categorical':
        return { name, parameterType: 'categorical', feasibleSpace: { list: [...p.values] } };
    }
  });
}

/** The same parameters in the form the algorithms' `parseSearchSpace` reads. */
export function toWireParameters(parameters: SearchSpaceMap): WireParameter[] {
  return toParameterSpecs(parameters).map((s) => ({ name: s.name, parameterType: s.parameterType, feasibleSpace: { ...s.feasibleSpace } }));
}

/**
 * Builds the decoder from a suggestion's wire strings to the objective's typed `params`: numbers for double and
 * int, the listed number for discrete, the string for categorical. The decoder never throws: a value not in a
 * discrete list decodes as the number it spells.
 */
export function paramsDecoder<M extends SearchSpaceMap>(parameters: M): (assignments: Readonly<Record<string, string>>) => ParamsOf<M> {
  const decoders = Object.entries(parameters).map(([name, p]): [string, (text: string) => number | string] => {
    switch (p.type) {
      case 'categorical':
        return [name, (text) => text];
      case 'discrete': {
        const byText = new Map(p.values.map((v) => [wire(v), v]));
        return [name, (text) => byText.get(text) ?? Number(text)];
      }
      case 'double':
      case 'int':
        return [name, (text) => Number(text)];
    }
  });
  return (assignments) => {
    const out: Record<string, number | string> = {};
    for (const [name, decode] of decoders) setOwn(out, name, decode(ownValue(assignments, name) ?? ''));
    return out as ParamsOf<M>;
  };
}
