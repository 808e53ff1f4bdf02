/**
 * Label and field selectors with the grammar of k8s.io/apimachinery/pkg/labels and .../fields:
 * labels `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`, `a>3`, `a<3`, comma-separated (AND);
 * fields `path=value`, `path==value`, `path!=value` with `\` escaping `,` `=` and `\`.
 */
import { isJsonObject, type Json, type JsonObject } from './json.js';

export type LabelRequirement =
  | { readonly key: string; readonly op: 'in' | 'notin'; readonly values: readonly string[] }
  | { readonly key: string; readonly op: 'exists' | '!' }
  | { readonly key: string; readonly op: 'gt' | 'lt'; readonly value: number };

/** A selector failed to parse; the message quotes the selector and says what was expected. */
export class SelectorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SelectorError';
  }
}

/** Parses a label selector; the empty string selects everything. Throws SelectorError. */
export function parseLabelSelector(selector: string): LabelRequirement[] {
  const out: LabelRequirement[] = [];
  let pos = 0;
  const s = selector;
  const fail = (what: string): never => {
    throw new SelectorError(`unable to parse requirement: ${what} (at position ${pos} of ${JSON.stringify(selector)})`);
  };
  const skipSpace = (): void => {
    while (pos < s.length && /\s/.test(s[pos] ?? '')) pos++;
  };
  const word = (): string => {
    const start = pos;
    while (pos < s.length && /[A-Za-z0-9_.\-/]/.test(s[pos] ?? '')) pos++;
    return s.slice(start, pos);
  };
  const keyword = (kw: string): boolean => {
    if (s.startsWith(kw, pos) && !/[A-Za-z0-9_.\-/]/.test(s[pos + kw.length] ?? '')) {
      pos += kw.length;
      return true;
    }
    return false;
  };
  skipSpace();
  if (pos === s.length) return out;
  for (;;) {
    skipSpace();
    if (s[pos] === '!') {
      pos++;
      skipSpace();
      const key = word();
      if (!key) fail('expected a label key after "!"');
      checkLabelKey(key, fail);
      out.push({ key, op: '!' });
    } else {
      const key = word();
      if (!key) fail('expected a label key');
      checkLabelKey(key, fail);
      skipSpace();
      if (pos === s.length || s[pos] === ',') {
        out.push({ key, op: 'exists' });
      } else if (s.startsWith('==', pos) || s.startsWith('!=', pos) || s[pos] === '=') {
        const op = s.startsWith('!=', pos) ? 'notin' : 'in';
        pos += s[pos] === '=' && s[pos + 1] !== '=' ? 1 : 2;
        skipSpace();
        const value = word();
        checkLabelValue(value, fail);
        out.push({ key, op, values: [value] });
      } else if (s[pos] === '>' || s[pos] === '<') {
        const op = s[pos] === '>' ? 'gt' : 'lt';
        pos++;
        skipSpace();
        const value = word();
        if (!/^-?[0-9]+$/.test(value)) fail(`for "${op === 'gt' ? '>' : '<'}", the value must be an integer, got ${JSON.stringify(value)}`);
        out.push({ key, op, value: Number(value) });
      } else if (keyword('in') || keyword('notin')) {
        const op = s.slice(pos - 5, pos) === 'notin' ? 'notin' : 'in';
        skipSpace();
        if (s[pos] !== '(') fail(`expected "(" after "${op}"`);
        pos++;
        const values: string[] = [];
        for (;;) {
          skipSpace();
          const value = word();
          checkLabelValue(value, fail);
          values.push(value);
          skipSpace();
          if (s[pos] === ',') {
            pos++;
            continue;
          }
          if (s[pos] === ')') {
            pos++;
            break;
          }
          fail('expected "," or ")" in a value set');
        }
        out.push({ key, op, values });
      } else {
        fail(`expected "=", "==", "!=", "in", "notin", ">", "<", "," or the end after key ${JSON.stringify(key)}`);
      }
    }
    skipSpace();
    if (pos === s.length) return out;
    if (s[pos] !== ',') fail('expected ","');
    pos++;
  }
}

/** True when `labels` satisfies every requirement. */
export function matchesLabels(requirements: readonly LabelRequirement[], labels: Readonly<Record<string, string>>): boolean {
  return requirements.every((r) => {
    const has = Object.hasOwn(labels, r.key);
    const value = labels[r.key];
    switch (r.op) {
      case 'exists':
        return has;
      case '!':
        return !has;
      case 'in':
        return has && r.values.includes(value ?? '');
      case 'notin':
        return !has || !r.values.includes(value ?? '');
      case 'gt':
      case 'lt': {
        if (!has || !/^-?[0-9]+$/.test(value ?? '')) return false;
        const n = Number(value);
        return r.op === 'gt' ? n > r.value : n < r.value;
      }
    }
  });
}

export interface FieldRequirement {
  readonly field: string;
  readonly op: '=' | '!=';
  readonly value: string;
}

/** Parses a field selector; the empty string selects everything. Throws SelectorError. */
export function parseFieldSelector(selector: string): FieldRequirement[] {
  if (selector.trim() === '') return [];
  return splitUnescaped(selector, ',').map((term) => {
    const neq = indexUnescaped(term, '!=');
    const eq2 = indexUnescaped(term, '==');
    const eq = indexUnescaped(term, '=');
    let field: string;
    let op: '=' | '!=';
    let value: string;
    if (neq >= 0 && (eq < 0 || neq < eq)) {
      [field, op, value] = [term.slice(0, neq), '!=', term.slice(neq + 2)];
    } else if (eq2 >= 0 && eq2 === eq) {
      [field, op, value] = [term.slice(0, eq2), '=', term.slice(eq2 + 2)];
    } else if (eq >= 0) {
      [field, op, value] = [term.slice(0, eq), '=', term.slice(eq + 1)];
    } else {
      throw new SelectorError(`invalid selector: ${JSON.stringify(term)}; a field selector term is field=value, field==value or field!=value`);
    }
    return { field: field.trim(), op, value: unescape(value.trim()) };
  });
}

/** True when the object's fields satisfy every requirement; `fieldValue` reads a dotted path. */
export function matchesFields(requirements: readonly FieldRequirement[], obj: JsonObject): boolean {
  return requirements.every((r) => {
    const actual = fieldValue(obj, r.field) ?? '';
    return r.op === '=' ? actual === r.value : actual !== r.value;
  });
}

/** The string form of a dotted path (`metadata.name`, `involvedObject.uid`); undefined when absent. */
export function fieldValue(obj: JsonObject, path: string): string | undefined {
  let node: Json | undefined = obj;
  for (const part of path.split('.')) node = isJsonObject(node) ? node[part] : undefined;
  if (node === undefined || node === null) return undefined;
  return typeof node === 'string' ? node : JSON.stringify(node);
}

const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why `key` is not a valid label/annotation key (`prefix/name`), or undefined when it is. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    return 'prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \'-\' or \'.\', and must start and end with an alphanumeric character';
  }
  if (name.length === 0) return 'name part must be non-empty';
  if (name.length > 63) return 'name part must be no more than 63 characters';
  if (!LABEL_NAME.test(name)) {
    return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
  }
  return undefined;
}

/** Why `value` is not a valid label value, or undefined when it is. */
export function labelValueProblem(value: string): string | undefined {
  if (value.length > 63) return 'must be no more than 63 characters';
  if (value !== '' && !LABEL_NAME.test(value)) {
    return "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
  }
  return undefined;
}

function checkLabelKey(key: string, fail: (what: string) => never): void {
  const problem = labelKeyProblem(key);
  if (problem) fail(`key ${JSON.stringify(key)}: ${problem}`);
}

function checkLabelValue(value: string, fail: (what: string) => never): void {
  const problem = labelValueProblem(value);
  if (problem) fail(`value ${JSON.stringify(value)}: ${problem}`);
}

function indexUnescaped(s: string, needle: string): number {
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\') {
      i++;
      continue;
    }
    if (s.startsWith(needle, i)) return i;
  }
  return -1;
}

function splitUnescaped(s: string, sep: string): string[] {
  const parts: string[] = [];
  let rest = s;
  for (let i = indexUnescaped(rest, sep); i >= 0; i = indexUnescaped(rest, sep)) {
    parts.push(rest.slice(0, i));
    rest = rest.slice(i + sep.length);
  }
  parts.push(rest);
  return parts;
}

function unescape(s: string): string {
  return s.replace(/\\(.)/g, '$1');
}
