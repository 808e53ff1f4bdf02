/**
 * The search space in typed form, parsed from Katib's wire representation (every bound a string), and the helpers
 * every algorithm uses to move between a parameter's value, its string on the wire and a point in the unit interval.
 */
import type { Issue } from './issues.js';

export const PARAMETER_TYPES = ['double', 'int', 'discrete', 'categorical'] as const;
export type ParameterType = (typeof PARAMETER_TYPES)[number];

export const DISTRIBUTIONS = ['uniform', 'logUniform', 'normal', 'logNormal'] as const;
export type Distribution = (typeof DISTRIBUTIONS)[number];

/** A numeric range parameter (`double` or `int`). `step` is undefined for a continuous double. */
export interface RangeParameter {
  readonly type: 'double' | 'int';
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly step: number | undefined;
  readonly distribution: Distribution;
}

/** A `discrete` parameter: an ordered list of numbers, kept with the strings the user wrote. */
export interface DiscreteParameter {
  readonly type: 'discrete';
  readonly name: string;
  readonly values: readonly number[];
  readonly raw: readonly string[];
}

/** A `categorical` parameter: an unordered list of strings. */
export interface CategoricalParameter {
  readonly type: 'categorical';
  readonly name: string;
  readonly values: readonly string[];
}

export type Parameter = RangeParameter | DiscreteParameter | CategoricalParameter;
export type SearchSpace = readonly Parameter[];

/** Katib's wire form of one parameter, with `distribution` already mapped to our names ('' when unset). */
export interface WireParameter {
  readonly name: string;
  readonly parameterType: string;
  readonly feasibleSpace: {
    readonly min?: string;
    readonly max?: string;
    readonly step?: string;
    readonly list?: readonly string[];
    readonly distribution?: string;
  };
}

/** One parameter's value in a trial, exactly as it travels (a string). */
export interface Assignment {
  readonly name: string;
  readonly value: string;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function parseNumber(text: string | undefined, path: string, what: string, issues: Issue[]): number | undefined {
  if (text === undefined || text === '') {
    issues.push({ path, message: `${what} is required` });
    return undefined;
  }
  if (!NUMBER.test(text.trim())) {
    issues.push({ path, message: `must be a number (${what}=${JSON.stringify(text)})` });
    return undefined;
  }
  return Number(text);
}

/**
 * Parses Katib's wire parameters into a typed search space. Collects every problem with its field path under
 * `pathPrefix` (default `spec.parameters`). Never throws.
 */
export function parseSearchSpace(params: readonly WireParameter[], pathPrefix = 'spec.parameters'): SearchSpace | Issue[] {
  const issues: Issue[] = [];
  const space: Parameter[] = [];
  const seen = new Set<string>();
  if (params.length === 0) issues.push({ path: pathPrefix, message: 'at least one parameter is required' });
  params.forEach((p, i) => {
    const at = `${pathPrefix}[${i}]`;
    if (!p.name) issues.push({ path: `${at}.name`, message: 'must not be empty' });
    else if (seen.has(p.name)) issues.push({ path: `${at}.name`, message: `duplicate parameter name ${JSON.stringify(p.name)}; names must be unique` });
    seen.add(p.name);
    const fs = p.feasibleSpace;
    const distribution = fs.distribution === undefined || fs.distribution === '' ? 'uniform' : fs.distribution;
    switch (p.parameterType) {
      case 'double':
      case 'int': {
        const before = issues.length;
        const min = parseNumber(fs.min, `${at}.feasibleSpace.min`, 'min', issues);
        const max = parseNumber(fs.max, `${at}.feasibleSpace.max`, 'max', issues);
        const step = fs.step === undefined || fs.step === '' ? undefined : parseNumber(fs.step, `${at}.feasibleSpace.step`, 'step', issues);
        if (!(DISTRIBUTIONS as readonly string[]).includes(distribution)) {
          issues.push({ path: `${at}.feasibleSpace.distribution`, message: `must be one of ${DISTRIBUTIONS.join(', ')} (distribution=${JSON.stringify(distribution)})` });
        }
        if (issues.length > before || min === undefined || max === undefined) return;
        if (p.parameterType === 'int') {
          if (!Number.isInteger(min)) issues.push({ path: `${at}.feasibleSpace.min`, message: `must be an integer for an int parameter (min=${fs.min})` });
          if (!Number.isInteger(max)) issues.push({ path: `${at}.feasibleSpace.max`, message: `must be an integer for an int parameter (max=${fs.max})` });
          // Integers are never closer than 1 apart, so a step in (0, 1) means every integer, as Katib's own
          // services take it (its webhook lets such a step through); a fractional step above 1 has no such reading.
          if (step !== undefined && step > 1 && !Number.isInteger(step)) issues.push({ path: `${at}.feasibleSpace.step`, message: `must be a whole number for an int parameter (step=${fs.step}); use ${Math.floor(step)} or ${Math.ceil(step)}` });
        }
        if (max < min) issues.push({ path: `${at}.feasibleSpace.max`, message: `must be greater than min (min=${fs.min}, max=${fs.max})` });
        if (step !== undefined && step <= 0) issues.push({ path: `${at}.feasibleSpace.step`, message: `must be greater than 0 (step=${fs.step})` });
        if (step !== undefined && step > max - min && max > min) issues.push({ path: `${at}.feasibleSpace.step`, message: `must not exceed max - min (step=${fs.step}, min=${fs.min}, max=${fs.max})` });
        if ((distribution === 'logUniform' || distribution === 'logNormal') && min <= 0) {
          issues.push({ path: `${at}.feasibleSpace.min`, message: `must be greater than 0 for distribution ${distribution} (min=${fs.min}); use uniform or raise min` });
        }
        if (issues.length > before) return;
        space.push({
          type: p.parameterType,
          name: p.name,
          min,
          max,
          step: p.parameterType === 'int' ? Math.max(1, step ?? 1) : step,
          distribution: distribution as Distribution,
        });
        return;
      }
      case 'discrete': {
        const list = fs.list ?? [];
        if (list.length === 0) {
          issues.push({ path: `${at}.feasibleSpace.list`, message: 'must list at least one value for a discrete parameter' });
          return;
        }
        const before = issues.length;
        const values = list.map((v, j) => parseNumber(v, `${at}.feasibleSpace.list[${j}]`, 'value', issues) ?? Number.NaN);
        if (issues.length > before) return;
        space.push({ type: 'discrete', name: p.name, values, raw: [...list] });
        return;
      }
      case 'categorical': {
        const list = fs.list ?? [];
        if (list.length === 0) {
          issues.push({ path: `${at}.feasibleSpace.list`, message: 'must list at least one value for a categorical parameter' });
          return;
        }
        space.push({ type: 'categorical', name: p.name, values: [...list] });
        return;
      }
      default:
        issues.push({
          path: `${at}.parameterType`,
          message: `must be one of ${PARAMETER_TYPES.join(', ')} (parameterType=${JSON.stringify(p.parameterType)})`,
        });
    }
  });
  return issues.length > 0 ? issues : space;
}

/** True when the parameter is sampled on a log scale. */
export function isLog(p: RangeParameter): boolean {
  return p.distribution === 'logUniform' || p.distribution === 'logNormal';
}

/** Number of distinct values a parameter can take, or Infinity for a continuous double. */
export function cardinality(p: Parameter): number {
  switch (p.type) {
    case 'discrete':
    case 'categorical':
      return p.values.length;
    case 'int':
    case 'double':
      if (p.step === undefined) return Number.POSITIVE_INFINITY;
      return Math.floor((p.max - p.min) / p.step + 1e-9) + 1;
  }
}

/** Rounds to the step grid anchored at `min` and clamps into [min, max]. */
export function snapRange(p: RangeParameter, x: number): number {
  let v = Math.min(p.max, Math.max(p.min, x));
  if (p.step !== undefined) {
    const k = Math.round((v - p.min) / p.step);
    const last = Math.floor((p.max - p.min) / p.step + 1e-9);
    v = p.min + Math.min(last, Math.max(0, k)) * p.step;
    v = roundFloat(v, p.step);
  }
  if (p.type === 'int') v = Math.round(v);
  return v;
}

/** Removes floating-point noise such as 0.30000000000000004 from a value on a decimal step grid. */
function roundFloat(v: number, step: number): number {
  const decimals = Math.max(0, Math.min(15, -Math.floor(Math.log10(Math.abs(step))) + 6));
  return Number(v.toFixed(decimals));
}

/** The wire string of a range value. Ints print without a fraction; doubles use the shortest round-trip form. */
export function formatValue(p: Parameter, v: number | string): string {
  if (typeof v === 'string') return v;
  if (p.type === 'int') return String(Math.round(v));
  return String(v);
}

/**
 * Maps a parameter's value into [0, 1] (log scale for log distributions; discrete and categorical by index), the
 * common coordinate system of the model-based algorithms. Returns NaN for a value that is not in the space.
 */
export function toUnit(p: Parameter, value: string): number {
  switch (p.type) {
    case 'categorical': {
      const i = p.values.indexOf(value);
      return i < 0 ? Number.NaN : p.values.length === 1 ? 0.5 : i / (p.values.length - 1);
    }
    case 'discrete': {
      let i = p.raw.indexOf(value);
      if (i < 0) i = p.values.indexOf(Number(value));
      return i < 0 ? Number.NaN : p.values.length === 1 ? 0.5 : i / (p.values.length - 1);
    }
    case 'int':
    case 'double': {
      const x = Number(value);
      if (!Number.isFinite(x)) return Number.NaN;
      if (p.max === p.min) return 0.5;
      if (isLog(p)) return (Math.log(x) - Math.log(p.min)) / (Math.log(p.max) - Math.log(p.min));
      return (x - p.min) / (p.max - p.min);
    }
  }
}

/** The inverse of {@link toUnit}: snaps to the step grid or the nearest list entry and returns the wire string. */
export function fromUnit(p: Parameter, u: number): string {
  const t = Math.min(1, Math.max(0, u));
  switch (p.type) {
    case 'categorical':
      return p.values[Math.round(t * (p.values.length - 1))] as string;
    case 'discrete':
      return p.raw[Math.round(t * (p.values.length - 1))] as string;
    case 'int':
    case 'double': {
      const x = isLog(p) ? Math.exp(Math.log(p.min) + t * (Math.log(p.max) - Math.log(p.min))) : p.min + t * (p.max - p.min);
      return formatValue(p, snapRange(p, x));
    }
  }
}

/** True when `value` is a legal wire value of `p`: inside the bounds, on the step grid, or in the list. */
export function isFeasible(p: Parameter, value: string): boolean {
  switch (p.type) {
    case 'categorical':
      return p.values.includes(value);
    case 'discrete':
      return p.raw.includes(value) || p.values.includes(Number(value));
    case 'int':
    case 'double': {
      if (!NUMBER.test(value)) return false;
      const x = Number(value);
      if (x < p.min - 1e-12 * Math.max(1, Math.abs(p.min)) || x > p.max + 1e-12 * Math.max(1, Math.abs(p.max))) return false;
      if (p.type === 'int' && !Number.isInteger(x)) return false;
      if (p.step !== undefined) {
        const k = (x - p.min) / p.step;
        if (Math.abs(k - Math.round(k)) > 1e-6) return false;
      }
      return true;
    }
  }
}

/** Draws one value from the parameter's prior (its distribution, truncated to the bounds), as a wire string. */
export function samplePrior(p: Parameter, rng: { next(): number; normal(): number }): string {
  switch (p.type) {
    case 'categorical':
      return p.values[Math.floor(rng.next() * p.values.length)] as string;
    case 'discrete':
      return p.raw[Math.floor(rng.next() * p.raw.length)] as string;
    case 'int':
    case 'double': {
      let x: number;
      if (p.distribution === 'normal' || p.distribution === 'logNormal') {
        // Katib's convention: the bounds span six standard deviations around their midpoint.
        const lo = p.distribution === 'logNormal' ? Math.log(p.min) : p.min;
        const hi = p.distribution === 'logNormal' ? Math.log(p.max) : p.max;
        const mu = (lo + hi) / 2;
        const sigma = (hi - lo) / 6 || 1;
        let z = mu + sigma * rng.normal();
        for (let tries = 0; (z < lo || z > hi) && tries < 16; tries++) z = mu + sigma * rng.normal();
        z = Math.min(hi, Math.max(lo, z));
        x = p.distribution === 'logNormal' ? Math.exp(z) : z;
      } else if (p.type === 'int' && !isLog(p)) {
        // Uniform over the grid points, so the end points are as likely as the inner ones.
        const n = cardinality(p);
        return formatValue(p, p.min + Math.floor(rng.next() * n) * (p.step ?? 1));
      } else {
        x = fromUnitRaw(p, rng.next());
      }
      return formatValue(p, snapRange(p, x));
    }
  }
}

function fromUnitRaw(p: RangeParameter, t: number): number {
  return isLog(p) ? Math.exp(Math.log(p.min) + t * (Math.log(p.max) - Math.log(p.min))) : p.min + t * (p.max - p.min);
}

/** A stable key for a full assignment, used to detect duplicates. */
export function assignmentKey(assignments: readonly Assignment[]): string {
  return assignments.map((a) => `${a.name}=${a.value}`).join('\u0000');
}
