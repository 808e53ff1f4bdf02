/**
 * Type guards and small helpers for reading `unknown` values (parsed YAML, JSON from the wire, arbitrary Kubernetes
 * objects) without trusting their shape.
 */

/** A plain JSON object (a YAML mapping): not null, not an array. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * `record[key]` when it is the record's own property, else undefined. For keys the user names (metrics, parameters,
 * settings): `constructor` or `toString` is then never read from Object.prototype.
 */
export function ownValue<V>(record: Readonly<Record<string, V>>, key: string): V | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/**
 * Sets `record[key]` as an own, enumerable property, `__proto__` included: assigning that key would set the
 * prototype instead (or do nothing for a non-object), so the key would be lost.
 */
export function setOwn<V>(record: Record<string, V>, key: string, value: V): void {
  if (key === '__proto__') Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  else record[key] = value;
}

/** Freezes an object and every object it holds (a value shared between calls, which no one may change), and returns it. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** A list whose every element is a string. */
export function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

/** A mapping whose every value is a string (labels, annotations). */
export function isStringMap(value: unknown): value is Record<string, string> {
  return isRecord(value) && Object.values(value).every((v) => typeof v === 'string');
}

/** Reads `obj.a.b.c` through records; undefined as soon as a step is not a record. */
export function getPath(value: unknown, keys: readonly string[]): unknown {
  let cur: unknown = value;
  for (const key of keys) {
    if (!isRecord(cur)) return undefined;
    cur = cur[key];
  }
  return cur;
}

/**
 * Describes a value for an error message: strings quoted, numbers and booleans as written, containers by kind.
 * Long strings are cut so one message stays one line.
 */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') {
    const text = JSON.stringify(value);
    return text.length > 80 ? `${text.slice(0, 77)}..."` : text;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `${typeof value} ${String(value)}`;
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

/** Structural equality of JSON values; a missing key equals an undefined one. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((v, i) => jsonEqual(v, b[i]));
  }
  if (isRecord(a) && isRecord(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) if (!jsonEqual(a[k], b[k])) return false;
    return true;
  }
  return false;
}

/** Appends a mapping key to a field path the way Kubernetes does: `metadata.labels[app]`. */
export function keyPath(path: string, key: string): string {
  return `${path}[${key}]`;
}
