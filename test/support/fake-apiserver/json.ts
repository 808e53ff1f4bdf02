/**
 * JSON values as the API server stores them, with the few operations the fake needs: narrowing `unknown` from the
 * wire, deep copies (nothing stored is ever shared with a caller) and structural equality (no-op updates).
 */

export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

/** True for a plain JSON object (not an array, not null). */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True when `value` is made only of JSON values (what JSON.parse returns; no undefined, functions or NaN). */
export function isJson(value: unknown): value is Json {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(isJson);
  if (typeof value === 'object') return Object.values(value).every(isJson);
  return false;
}

/** A deep copy; JSON values only, so structuredClone is exact. */
export function clone<T extends Json>(value: T): T {
  return structuredClone(value);
}

/** Structural equality of two JSON values; key order does not matter. */
export function jsonEqual(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a === null || b === null) return false;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((item, i) => jsonEqual(item, b[i]));
  }
  if (isJsonObject(a)) {
    if (!isJsonObject(b)) return false;
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

/** `obj[key]` when it is an object, else undefined. */
export function objectAt(obj: JsonObject | undefined, key: string): JsonObject | undefined {
  const value = obj?.[key];
  return isJsonObject(value) ? value : undefined;
}

/** `obj[key]` when it is a string, else undefined. */
export function stringAt(obj: JsonObject | undefined, key: string): string | undefined {
  const value = obj?.[key];
  return typeof value === 'string' ? value : undefined;
}

/** `obj[key]` when it is an array, else undefined. */
export function arrayAt(obj: JsonObject | undefined, key: string): Json[] | undefined {
  const value = obj?.[key];
  return Array.isArray(value) ? value : undefined;
}

/** `obj[key]` as a string→string map; other values are dropped. */
export function stringMapAt(obj: JsonObject | undefined, key: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(objectAt(obj, key) ?? {})) if (typeof v === 'string') out[k] = v;
  return out;
}
