/**
 * The patch formats kube-apiserver accepts:
 * - JSON merge patch, RFC 7386 (`application/merge-patch+json`);
 * - JSON patch, RFC 6902 (`application/json-patch+json`), with `test`;
 * - `createMergePatch`, the inverse of merge patch, for tests and callers that want "send only what changed".
 * Strategic merge patch is not a format of its own here: the fake applies it as a merge patch (see fake-apiserver.ts).
 */
import { clone, isJsonObject, jsonEqual, type Json, type JsonObject } from './json.js';

/** A JSON patch could not be applied; the message names the operation and the path. */
export class PatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PatchError';
  }
}

/** RFC 7386: objects merge key by key, `null` deletes a key, anything else replaces. Returns a new value. */
export function applyMergePatch(target: Json | undefined, patch: Json): Json {
  if (!isJsonObject(patch)) return clone(patch);
  const out: JsonObject = isJsonObject(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else setKey(out, key, applyMergePatch(Object.hasOwn(out, key) ? out[key] : undefined, value));
  }
  return out;
}

/**
 * The smallest merge patch that turns `from` into `to` (so `applyMergePatch(from, createMergePatch(from, to))`
 * equals `to`, when `to` holds no nulls inside objects: merge patch cannot set a key to null).
 */
export function createMergePatch(from: Json | undefined, to: Json): Json {
  if (!isJsonObject(from) || !isJsonObject(to)) return clone(to);
  const patch: JsonObject = {};
  for (const key of Object.keys(from)) if (!Object.hasOwn(to, key)) setKey(patch, key, null);
  for (const [key, value] of Object.entries(to)) {
    const before = Object.hasOwn(from, key) ? from[key] : undefined;
    if (before === undefined) setKey(patch, key, clone(value));
    else if (!jsonEqual(before, value)) setKey(patch, key, isJsonObject(value) && isJsonObject(before) ? createMergePatch(before, value) : clone(value));
  }
  return patch;
}

/** One RFC 6902 operation, as read from the wire. */
export type JsonPatchOperation =
  | { op: 'add' | 'replace' | 'test'; path: string; value: Json }
  | { op: 'remove'; path: string }
  | { op: 'move' | 'copy'; from: string; path: string };

/** Narrows a request body to a list of operations; throws PatchError naming the first bad entry. */
export function parseJsonPatch(body: unknown): JsonPatchOperation[] {
  if (!Array.isArray(body)) {
    throw new PatchError('json: cannot unmarshal object into Go value of type jsonpatch.Patch (a JSON patch is an array of operations)');
  }
  return body.map((raw: unknown, i): JsonPatchOperation => {
    if (!isJsonObject(raw)) throw new PatchError(`operation ${i} is not an object`);
    const { op, path, from, value } = raw;
    if (typeof path !== 'string') throw new PatchError(`operation ${i}: "path" must be a string`);
    switch (op) {
      case 'add':
      case 'replace':
      case 'test':
        if (value === undefined) throw new PatchError(`operation ${i} (${op} ${path}): missing "value"`);
        return { op, path, value };
      case 'remove':
        return { op, path };
      case 'move':
      case 'copy':
        if (typeof from !== 'string') throw new PatchError(`operation ${i} (${op} ${path}): "from" must be a string`);
        return { op, from, path };
      default:
        throw new PatchError(`operation ${i}: unknown op ${JSON.stringify(op)}; expected add, remove, replace, move, copy or test`);
    }
  });
}

/** Applies RFC 6902 operations in order to a copy of `doc`; throws PatchError (nothing applied) on the first failure. */
export function applyJsonPatch(doc: Json, operations: readonly JsonPatchOperation[]): Json {
  const box: { root: Json } = { root: clone(doc) };
  for (const op of operations) {
    switch (op.op) {
      case 'add':
        add(box, op.path, clone(op.value));
        break;
      case 'remove':
        remove(box, op.path);
        break;
      case 'replace':
        if (op.path === '') {
          box.root = clone(op.value);
          break;
        }
        remove(box, op.path);
        add(box, op.path, clone(op.value));
        break;
      case 'move': {
        if (op.path.startsWith(`${op.from}/`)) throw new PatchError(`move from ${op.from} into its own child ${op.path}`);
        const value = get(box.root, op.from, 'move');
        remove(box, op.from);
        add(box, op.path, value);
        break;
      }
      case 'copy':
        add(box, op.path, clone(get(box.root, op.from, 'copy')));
        break;
      case 'test': {
        const actual = get(box.root, op.path, 'test');
        if (!jsonEqual(actual, op.value)) {
          throw new PatchError(`testing value ${op.path} failed: expected ${JSON.stringify(op.value)}, found ${JSON.stringify(actual)}`);
        }
        break;
      }
    }
  }
  return box.root;
}

/** RFC 6901 pointer → reference tokens. */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError(`JSON pointer ${JSON.stringify(pointer)} must start with "/"`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function get(root: Json, pointer: string, op: string): Json {
  let node: Json = root;
  for (const token of parsePointer(pointer)) {
    const next = child(node, token);
    if (next === undefined) throw new PatchError(`${op}: path ${pointer} does not exist`);
    node = next;
  }
  return node;
}

function child(node: Json, token: string): Json | undefined {
  if (Array.isArray(node)) {
    const index = arrayIndex(token, node.length - 1);
    return index === undefined ? undefined : node[index];
  }
  return isJsonObject(node) && Object.hasOwn(node, token) ? node[token] : undefined;
}

function arrayIndex(token: string, max: number): number | undefined {
  if (!/^(0|[1-9][0-9]*)$/.test(token)) return undefined;
  const index = Number(token);
  return index <= max ? index : undefined;
}

function parentOf(box: { root: Json }, pointer: string, op: string): { parent: Json; last: string } {
  const tokens = parsePointer(pointer);
  const last = tokens.pop();
  if (last === undefined) throw new PatchError(`${op}: the root has no parent`);
  let node: Json = box.root;
  for (const token of tokens) {
    const next = child(node, token);
    if (next === undefined) throw new PatchError(`${op}: parent of ${pointer} does not exist`);
    node = next;
  }
  return { parent: node, last };
}

function add(box: { root: Json }, pointer: string, value: Json): void {
  if (pointer === '') {
    box.root = value;
    return;
  }
  const { parent, last } = parentOf(box, pointer, 'add');
  if (Array.isArray(parent)) {
    const index = last === '-' ? parent.length : arrayIndex(last, parent.length);
    if (index === undefined) throw new PatchError(`add: index ${last} is out of bounds at ${pointer} (length ${parent.length})`);
    parent.splice(index, 0, value);
  } else if (isJsonObject(parent)) {
    setKey(parent, last, value);
  } else {
    throw new PatchError(`add: parent of ${pointer} is not an object or array`);
  }
}

function remove(box: { root: Json }, pointer: string): void {
  if (pointer === '') throw new PatchError('remove: cannot remove the root');
  const { parent, last } = parentOf(box, pointer, 'remove');
  if (Array.isArray(parent)) {
    const index = arrayIndex(last, parent.length - 1);
    if (index === undefined) throw new PatchError(`remove: path ${pointer} does not exist`);
    parent.splice(index, 1);
  } else if (isJsonObject(parent) && Object.hasOwn(parent, last)) {
    delete parent[last];
  } else {
    throw new PatchError(`remove: path ${pointer} does not exist`);
  }
}

/** Sets an own property, even one named `__proto__` (JSON may carry any key). */
function setKey(obj: JsonObject, key: string, value: Json): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}
