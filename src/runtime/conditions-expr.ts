/**
 * Success and failure conditions of a trial's run object, as Katib evaluates them (trial/util/job_util.go): the
 * trial's `successCondition` / `failureCondition` is a GJSON path (https://github.com/tidwall/gjson) applied to the
 * object's JSON; the condition holds when the result is an object or a non-empty array, and the first element (or
 * the object) gives the reason and message. A scalar result (`status.succeeded` → 1) does not count, as in Katib.
 * Failure is checked first.
 *
 * The subset of GJSON implemented here covers Katib's defaults and the expressions its documentation and examples
 * use:
 * - keys separated by `.`, with `\` escaping a special character (`metadata.labels.app\.kubernetes\.io/name`);
 *   a numeric key indexes an array (`status.conditions.0.type`);
 * - `#`: the length of an array when it is the last step; `#.rest` maps `rest` over the elements (missing results
 *   are dropped), e.g. `status.conditions.#.type`;
 * - queries on arrays: `#(path op value)` is the first matching element, `#(path op value)#` every matching element.
 *   `op` is one of `==` `!=` `<` `<=` `>` `>=` `%` (wildcard match with `*` and `?`) `!%`; `value` is a JSON string,
 *   a number, `true`, `false` or `null`; the value must have the same JSON type to match (as in GJSON). Without an
 *   operator, `#(path)` matches elements where `path` exists. `path` may be empty (`#(=="x")`: the element itself)
 *   and may hold queries itself (`#(nets.#(=="fb"))`);
 * - after `#(...)#` or `#`, a `.`-separated rest is applied to each element, a `|`-separated rest to the whole result:
 *   `status.conditions.#(type=="Complete")#|#(status=="True")#` filters the filtered list again;
 * - `@this` (the current value) and multipaths `[p1,p2]` (a list of each path's result), e.g. Katib's Argo example
 *   `status.[@this].#(phase=="Succeeded")#`.
 * Not implemented (reported as issues): wildcards in keys (`*`, `?`), other modifiers (`@reverse`, ...), object
 * multipaths (`{a,b}`), literals (`!true`) and JSON-lines paths (`..`).
 */
import type { Issue } from '../../algorithms/core/issues.js';
import { ValidationError } from '../errors.js';
import { isRecord } from '../api/guards.js';

type Scalar = string | number | boolean | null;
type Operator = '==' | '!=' | '<' | '<=' | '>' | '>=' | '%' | '!%';

interface Query {
  /** Path inside each element; empty means the element itself. */
  readonly path: Path;
  readonly op?: Operator;
  readonly value?: Scalar;
}

type Step =
  | { readonly kind: 'key'; readonly name: string }
  | { readonly kind: 'count' }
  | { readonly kind: 'query'; readonly query: Query; readonly all: boolean }
  | { readonly kind: 'this' }
  | { readonly kind: 'multi'; readonly paths: readonly Path[] };

interface Segment {
  /** The separator before this step: `.` (also for the first step) or `|`. */
  readonly sep: '.' | '|';
  readonly step: Step;
}

/** A parsed GJSON path (the subset above). */
export type Path = readonly Segment[];

class ParseError extends Error {}

const OPERATORS: readonly Operator[] = ['==', '!=', '<=', '>=', '!%', '<', '>', '%'];

/** Splits `text` at top-level `sep` characters, skipping quoted strings, brackets, parentheses and escapes. */
function splitTopLevel(text: string, seps: string): { part: string; sep: string }[] {
  const out: { part: string; sep: string }[] = [];
  let depth = 0;
  let quote = false;
  let start = 0;
  let sepBefore = '.';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (quote) {
      if (c === '"') quote = false;
      continue;
    }
    if (c === '"') quote = true;
    else if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') {
      depth--;
      if (depth < 0) throw new ParseError(`unbalanced ${JSON.stringify(c)} at offset ${i}`);
    } else if (depth === 0 && seps.includes(c ?? '')) {
      out.push({ part: text.slice(start, i), sep: sepBefore });
      sepBefore = c ?? '.';
      start = i + 1;
    }
  }
  if (quote) throw new ParseError('unterminated string');
  if (depth !== 0) throw new ParseError('unbalanced brackets or parentheses');
  out.push({ part: text.slice(start), sep: sepBefore });
  return out;
}

function unescapeKey(raw: string): string {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === '\\' && i + 1 < raw.length) {
      out += raw[i + 1];
      i++;
    } else out += c;
  }
  return out;
}

function parseScalar(raw: string): Scalar {
  const text = raw.trim();
  if (text.startsWith('"')) {
    try {
      const v: unknown = JSON.parse(text);
      if (typeof v === 'string') return v;
    } catch {
      // fall through
    }
    throw new ParseError(`${text} is not a valid JSON string`);
  }
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (text === 'null') return null;
  if (text !== '' && Number.isFinite(Number(text))) return Number(text);
  throw new ParseError(`query value ${JSON.stringify(text)} must be a JSON string ("..."), a number, true, false or null`);
}

function parseQuery(body: string): Query {
  // The operator is the first one at the top level (not inside a string or a nested query).
  let depth = 0;
  let quote = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (quote) {
      if (c === '"') quote = false;
      continue;
    }
    if (c === '"') {
      quote = true;
      continue;
    }
    if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') depth--;
    if (depth !== 0) continue;
    const op = OPERATORS.find((o) => body.startsWith(o, i));
    if (op === undefined) continue;
    const left = body.slice(0, i).trim();
    return { path: left === '' ? [] : parsePath(left), op, value: parseScalar(body.slice(i + op.length)) };
  }
  const left = body.trim();
  if (left === '') throw new ParseError('empty query #()');
  return { path: parsePath(left) };
}

function parseStep(part: string): Step {
  if (part === '') throw new ParseError('empty path component');
  if (part === '#') return { kind: 'count' };
  if (part.startsWith('#(')) {
    const all = part.endsWith(')#');
    const end = all ? part.length - 2 : part.length - 1;
    if (part[end] !== ')') throw new ParseError(`query ${JSON.stringify(part)} must end with ")" or ")#"`);
    return { kind: 'query', query: parseQuery(part.slice(2, end)), all };
  }
  if (part === '@this') return { kind: 'this' };
  if (part.startsWith('@')) throw new ParseError(`modifier ${JSON.stringify(part)} is not supported (only @this)`);
  if (part.startsWith('[')) {
    if (!part.endsWith(']')) throw new ParseError(`multipath ${JSON.stringify(part)} must end with "]"`);
    const inner = part.slice(1, -1);
    return { kind: 'multi', paths: inner.trim() === '' ? [] : splitTopLevel(inner, ',').map((p) => parsePath(p.part.trim())) };
  }
  if (part.startsWith('{')) throw new ParseError(`object multipaths ${JSON.stringify(part)} are not supported`);
  if (part.startsWith('!')) throw new ParseError(`literals ${JSON.stringify(part)} are not supported`);
  for (let i = 0; i < part.length; i++) {
    const c = part[i];
    if (c === '\\') i++;
    else if (c === '*' || c === '?') throw new ParseError(`wildcards in keys are not supported (${JSON.stringify(part)}); escape the character with \\ if it is part of the key`);
  }
  return { kind: 'key', name: unescapeKey(part) };
}

/** Parses a GJSON path of the supported subset; throws ParseError. */
function parsePath(text: string): Path {
  if (text.startsWith('..')) throw new ParseError('JSON-lines paths (..) are not supported');
  return splitTopLevel(text, '.|').map(({ part, sep }) => ({ sep: sep === '|' ? '|' : '.', step: parseStep(part) }));
}

/**
 * Parses `expression` for `field` (e.g. `spec.trialTemplate.successCondition`).
 * @throws ValidationError naming the field, the expression and what is wrong.
 */
export function parseConditionExpression(expression: string, field: string): Path {
  const issues = conditionExpressionIssues(expression, field);
  if (issues.length > 0) throw new ValidationError(issues);
  return parsePath(expression.trim());
}

/** Every problem of a condition expression (at most one: parsing stops at the first), for validation. */
export function conditionExpressionIssues(expression: string, field: string): Issue[] {
  if (expression.trim() === '') return [{ path: field, message: 'must not be empty: a GJSON path such as status.conditions.#(type=="Complete")#|#(status=="True")#' }];
  try {
    parsePath(expression.trim());
    return [];
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
    return [{ path: field, message: `${JSON.stringify(expression)} is not a GJSON path katib-ts can evaluate: ${e.message}` }];
  }
}

function wildcardMatch(text: string, pattern: string): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 's').test(text);
}

function compare<T extends string | number>(a: T, op: Operator, b: T): boolean {
  switch (op) {
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '%':
      return typeof a === 'string' && typeof b === 'string' && wildcardMatch(a, b);
    case '!%':
      return typeof a === 'string' && typeof b === 'string' && !wildcardMatch(a, b);
  }
}

function matches(element: unknown, q: Query): boolean {
  const v = q.path.length === 0 ? element : evaluate(element, q.path, 0);
  if (v === undefined) return false;
  if (q.op === undefined) return true;
  const want = q.value ?? null;
  if (typeof want === 'string') return typeof v === 'string' && compare(v, q.op, want);
  if (typeof want === 'number') return typeof v === 'number' && q.op !== '%' && q.op !== '!%' && compare(v, q.op, want);
  if (q.op !== '==' && q.op !== '!=') return false;
  if (typeof want === 'boolean') return typeof v === 'boolean' && (q.op === '==' ? v === want : v !== want);
  return q.op === '==' ? v === null : v !== null && v !== undefined;
}

/** Applies `path` from segment `i` on; undefined when the path does not exist. */
function evaluate(value: unknown, path: Path, i: number): unknown {
  if (i >= path.length) return value;
  const { step } = path[i] as Segment;
  const next = path[i + 1];
  /** After a step with many results, a `.` rest maps over them; a `|` rest (or none) takes the list as a whole. */
  const spread = (items: unknown[]): unknown => {
    if (next !== undefined && next.sep === '.') return items.map((el) => evaluate(el, path, i + 1)).filter((v) => v !== undefined);
    return evaluate(items, path, i + 1);
  };
  switch (step.kind) {
    case 'key': {
      let v: unknown;
      if (Array.isArray(value)) v = /^\d+$/.test(step.name) ? value[Number(step.name)] : undefined;
      else if (isRecord(value)) v = Object.prototype.hasOwnProperty.call(value, step.name) ? value[step.name] : undefined;
      return v === undefined ? undefined : evaluate(v, path, i + 1);
    }
    case 'this':
      return evaluate(value, path, i + 1);
    case 'multi':
      return evaluate(
        step.paths.map((p) => evaluate(value, p, 0)).filter((v) => v !== undefined),
        path,
        i + 1,
      );
    case 'count':
      if (!Array.isArray(value)) return undefined;
      return next === undefined ? value.length : spread(value);
    case 'query': {
      if (!Array.isArray(value)) return undefined;
      if (step.all) return spread(value.filter((el) => matches(el, step.query)));
      const first = value.find((el) => matches(el, step.query));
      return first === undefined ? undefined : evaluate(first, path, i + 1);
    }
  }
}

/** The value at `path` in `obj` (a parsed JSON document), or undefined when it does not exist. */
export function getByPath(obj: unknown, path: Path): unknown {
  return evaluate(obj, path, 0);
}

/** A condition that holds, with the reason and message of its first element. */
export interface ConditionMatch {
  readonly reason?: string;
  readonly message?: string;
}

/**
 * Katib's test: the condition holds when the result is an object or a non-empty array. Returns the reason and
 * message of the object (or of the list's first element), or undefined when it does not hold.
 */
export function matchCondition(obj: unknown, path: Path): ConditionMatch | undefined {
  const result = getByPath(obj, path);
  const holds = isRecord(result) || (Array.isArray(result) && result.length > 0);
  if (!holds) return undefined;
  const first = Array.isArray(result) ? result[0] : result;
  if (!isRecord(first)) return {};
  return {
    ...(typeof first.reason === 'string' && first.reason !== '' ? { reason: first.reason } : {}),
    ...(typeof first.message === 'string' && first.message !== '' ? { message: first.message } : {}),
  };
}

/** What a run object's conditions say. */
export type RunConditionState = { readonly state: 'succeeded' | 'failed'; readonly reason?: string; readonly message?: string } | { readonly state: 'running' };

/**
 * Evaluates a run object against the trial's conditions, failure first (as Katib does).
 * @throws ValidationError when an expression is outside the supported subset.
 */
export function evaluateRunConditions(obj: unknown, conditions: { readonly success: string; readonly failure: string }): RunConditionState {
  const failure = matchCondition(obj, parseConditionExpression(conditions.failure, 'spec.failureCondition'));
  if (failure) return { state: 'failed', ...failure };
  const success = matchCondition(obj, parseConditionExpression(conditions.success, 'spec.successCondition'));
  if (success) return { state: 'succeeded', ...success };
  return { state: 'running' };
}
