/**
 * The fake API server's building blocks on their own: patch formats against the RFC examples, selector grammar,
 * name rules, and storage semantics that need the fake's controls (history bound, dangling owners).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ClusterState } from '../support/fake-apiserver/cluster-state.js';
import type { Json, JsonObject } from '../support/fake-apiserver/json.js';
import { applyJsonPatch, applyMergePatch, createMergePatch, parseJsonPatch, PatchError } from '../support/fake-apiserver/patch.js';
import { matchesLabels, parseFieldSelector, parseLabelSelector, SelectorError } from '../support/fake-apiserver/selectors.js';
import { ApiError } from '../support/fake-apiserver/status.js';
import { nameProblem } from '../support/fake-apiserver/validation.js';

describe('JSON patch, RFC 6902 appendix A', () => {
  it.each<{ name: string; doc: Json; patch: unknown; expected: Json }>([
    { name: 'A.1 adding an object member', doc: { foo: 'bar' }, patch: [{ op: 'add', path: '/baz', value: 'qux' }], expected: { foo: 'bar', baz: 'qux' } },
    { name: 'A.2 adding an array element', doc: { foo: ['bar', 'baz'] }, patch: [{ op: 'add', path: '/foo/1', value: 'qux' }], expected: { foo: ['bar', 'qux', 'baz'] } },
    { name: 'A.3 removing an object member', doc: { baz: 'qux', foo: 'bar' }, patch: [{ op: 'remove', path: '/baz' }], expected: { foo: 'bar' } },
    { name: 'A.4 removing an array element', doc: { foo: ['bar', 'qux', 'baz'] }, patch: [{ op: 'remove', path: '/foo/1' }], expected: { foo: ['bar', 'baz'] } },
    { name: 'A.5 replacing a value', doc: { baz: 'qux', foo: 'bar' }, patch: [{ op: 'replace', path: '/baz', value: 'boo' }], expected: { baz: 'boo', foo: 'bar' } },
    {
      name: 'A.6 moving a value',
      doc: { foo: { bar: 'baz', waldo: 'fred' }, qux: { corge: 'grault' } },
      patch: [{ op: 'move', from: '/foo/waldo', path: '/qux/thud' }],
      expected: { foo: { bar: 'baz' }, qux: { corge: 'grault', thud: 'fred' } },
    },
    { name: 'A.7 moving an array element', doc: { foo: ['all', 'grass', 'cows', 'eat'] }, patch: [{ op: 'move', from: '/foo/1', path: '/foo/3' }], expected: { foo: ['all', 'cows', 'eat', 'grass'] } },
    {
      name: 'A.8 testing a value: success',
      doc: { baz: 'qux', foo: ['a', 2, 'c'] },
      patch: [
        { op: 'test', path: '/baz', value: 'qux' },
        { op: 'test', path: '/foo/1', value: 2 },
      ],
      expected: { baz: 'qux', foo: ['a', 2, 'c'] },
    },
    { name: 'A.10 adding a nested member object', doc: { foo: 'bar' }, patch: [{ op: 'add', path: '/child', value: { grandchild: {} } }], expected: { foo: 'bar', child: { grandchild: {} } } },
    { name: 'A.11 ignoring unrecognized elements', doc: { foo: 'bar' }, patch: [{ op: 'add', path: '/baz', value: 'qux', xyz: 123 }], expected: { foo: 'bar', baz: 'qux' } },
    { name: 'A.14 ~ escape ordering', doc: { '/': 9, '~1': 10 }, patch: [{ op: 'test', path: '/~01', value: 10 }], expected: { '/': 9, '~1': 10 } },
    { name: 'A.16 adding an array value', doc: { foo: ['bar'] }, patch: [{ op: 'add', path: '/foo/-', value: ['abc', 'def'] }], expected: { foo: ['bar', ['abc', 'def']] } },
    { name: 'replacing the whole document', doc: { a: 1 }, patch: [{ op: 'replace', path: '', value: { b: 2 } }], expected: { b: 2 } },
    { name: 'copying a value', doc: { a: { b: 1 } }, patch: [{ op: 'copy', from: '/a', path: '/c' }], expected: { a: { b: 1 }, c: { b: 1 } } },
  ])('$name', ({ doc, patch, expected }) => {
    expect(applyJsonPatch(doc, parseJsonPatch(patch))).toEqual(expected);
  });

  it.each<{ name: string; doc: Json; patch: unknown; message: string }>([
    { name: 'A.9 testing a value: error', doc: { baz: 'qux' }, patch: [{ op: 'test', path: '/baz', value: 'bar' }], message: 'testing value /baz failed: expected "bar", found "qux"' },
    { name: 'A.12 adding to a nonexistent target', doc: { foo: 'bar' }, patch: [{ op: 'add', path: '/baz/bat', value: 'qux' }], message: 'add: parent of /baz/bat does not exist' },
    { name: 'A.15 comparing strings and numbers', doc: { '/': 9, '~1': 10 }, patch: [{ op: 'test', path: '/~01', value: '10' }], message: 'testing value /~01 failed: expected "10", found 10' },
    { name: 'removing a missing member', doc: { a: 1 }, patch: [{ op: 'remove', path: '/b' }], message: 'remove: path /b does not exist' },
    { name: 'an index past the end', doc: { a: [1] }, patch: [{ op: 'add', path: '/a/5', value: 2 }], message: 'add: index 5 is out of bounds at /a/5 (length 1)' },
    { name: 'moving into its own child', doc: { a: { b: 1 } }, patch: [{ op: 'move', from: '/a', path: '/a/b/c' }], message: 'move from /a into its own child /a/b/c' },
  ])('fails on $name', ({ doc, patch, message }) => {
    expect(() => applyJsonPatch(doc, parseJsonPatch(patch))).toThrow(new PatchError(message));
  });

  it.each([
    { name: 'an object instead of a list', patch: { spec: {} }, message: 'json: cannot unmarshal object into Go value of type jsonpatch.Patch (a JSON patch is an array of operations)' },
    { name: 'an unknown op', patch: [{ op: 'merge', path: '/a' }], message: 'operation 0: unknown op "merge"; expected add, remove, replace, move, copy or test' },
    { name: 'a missing value', patch: [{ op: 'add', path: '/a' }], message: 'operation 0 (add /a): missing "value"' },
  ])('refuses $name', ({ patch, message }) => {
    expect(() => parseJsonPatch(patch)).toThrow(new PatchError(message));
  });

  it('leaves the input document untouched, even when a later operation fails', () => {
    const doc: JsonObject = { a: { b: [1, 2] } };
    expect(() =>
      applyJsonPatch(doc, [
        { op: 'add', path: '/a/b/-', value: 3 },
        { op: 'test', path: '/a/c', value: 1 },
      ]),
    ).toThrow(PatchError);
    expect(doc).toEqual({ a: { b: [1, 2] } });
  });
});

describe('JSON merge patch, RFC 7386 appendix A', () => {
  it.each<[Json, Json, Json]>([
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [['a', 'b'], ['c', 'd'], ['c', 'd']],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ])('%j patched with %j is %j', (target, patch, expected) => {
    expect(applyMergePatch(target, patch)).toEqual(expected);
  });

  const nullFree = fc.letrec<{ value: Json; object: JsonObject }>((tie) => ({
    value: fc.oneof({ depthSize: 'small' }, fc.string(), fc.integer(), fc.boolean(), fc.array(fc.integer(), { maxLength: 3 }), tie('object')),
    object: fc.dictionary(fc.string({ maxLength: 4 }), tie('value'), { maxKeys: 4 }),
  })).object;

  it('createMergePatch is its inverse: applying the patch from a to b gives b', () => {
    fc.assert(
      fc.property(nullFree, nullFree, (a, b) => {
        expect(applyMergePatch(a, createMergePatch(a, b))).toEqual(b);
      }),
    );
  });

  it('a key named __proto__ is an ordinary member', () => {
    const patched = applyMergePatch({}, JSON.parse('{"__proto__": {"polluted": true}}') as Json);
    expect(Object.getPrototypeOf(patched)).toBe(Object.prototype);
    expect(Object.keys(patched as object)).toEqual(['__proto__']);
  });
});

describe('label selectors', () => {
  const labels = { app: 'katib', tier: 'web', count: '5' };
  it.each([
    { selector: '', matches: true },
    { selector: 'app=katib', matches: true },
    { selector: 'app = katib , tier == web', matches: true },
    { selector: 'app!=katib', matches: false },
    { selector: 'missing!=x', matches: true },
    { selector: 'tier in (db, web)', matches: true },
    { selector: 'tier notin (web)', matches: false },
    { selector: 'missing notin (web)', matches: true },
    { selector: 'app', matches: true },
    { selector: '!app', matches: false },
    { selector: '! missing', matches: true },
    { selector: 'count>4', matches: true },
    { selector: 'count<5', matches: false },
    { selector: 'katib.kubeflow.org/experiment', matches: false },
    { selector: 'empty=', matches: false },
  ])('$selector → $matches', ({ selector, matches }) => {
    expect(matchesLabels(parseLabelSelector(selector), labels)).toBe(matches);
  });

  it.each([
    { selector: 'a in (b', message: 'expected "," or ")" in a value set' },
    { selector: 'a in b', message: 'expected "(" after "in"' },
    { selector: 'a=b c', message: 'expected ","' },
    { selector: 'a>b', message: 'the value must be an integer' },
    { selector: 'Bad Key=1', message: 'after key "Bad"' },
    { selector: 'a=' + 'x'.repeat(64), message: 'must be no more than 63 characters' },
    { selector: ',', message: 'expected a label key' },
  ])('refuses $selector', ({ selector, message }) => {
    expect(() => parseLabelSelector(selector)).toThrow(SelectorError);
    expect(() => parseLabelSelector(selector)).toThrow(message);
  });

  it('never throws anything but SelectorError', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', 'b', '=', '!', ',', ' ', '(', ')', 'in', 'notin', '<', '>', '1', '/', '.') }), (selector) => {
        try {
          parseLabelSelector(selector);
        } catch (err) {
          expect(err).toBeInstanceOf(SelectorError);
        }
      }),
    );
  });

  it('field selectors honour backslash escapes', () => {
    expect(parseFieldSelector('metadata.name=a\\,b,metadata.namespace!=x')).toEqual([
      { field: 'metadata.name', op: '=', value: 'a,b' },
      { field: 'metadata.namespace', op: '!=', value: 'x' },
    ]);
  });
});

describe('names', () => {
  it.each([
    { name: 'exp-1', rule: 'subdomain', ok: true },
    { name: 'exp.v1', rule: 'subdomain', ok: true },
    { name: 'Exp', rule: 'subdomain', ok: false },
    { name: '-exp', rule: 'subdomain', ok: false },
    { name: 'a'.repeat(253), rule: 'subdomain', ok: true },
    { name: 'a'.repeat(254), rule: 'subdomain', ok: false },
    { name: 'exp.v1', rule: 'label', ok: false },
    { name: '1svc', rule: 'dns1035', ok: false },
    { name: 'svc-1', rule: 'dns1035', ok: true },
  ] as const)('$name is valid as a $rule: $ok', ({ name, rule, ok }) => {
    expect(nameProblem(name, rule) === undefined).toBe(ok);
  });
});

describe('cluster state', () => {
  const setup = (options: ConstructorParameters<typeof ClusterState>[0] = {}): { state: ClusterState; info: (resource: string) => NonNullable<ReturnType<ClusterState['lookup']>> } => {
    const state = new ClusterState(options);
    return {
      state,
      info: (resource) => {
        const found = state.lookup('', 'v1', resource) ?? state.lookup('kubeflow.org', 'v1beta1', resource);
        if (!found) throw new Error(`no resource ${resource}`);
        return found;
      },
    };
  };

  it('keeps a bounded history: a watch from before it expires with 410', () => {
    const { state, info } = setup({ historyLimit: 3 });
    const start = state.resourceVersion;
    for (let i = 0; i < 5; i++) state.create(info('configmaps'), 'default', { metadata: { name: `cm-${i}` } });
    expect(() => state.eventsSince(start)).toThrow(expect.objectContaining({ code: 410, reason: 'Expired' }) as Error);
    expect(state.eventsSince(state.resourceVersion - 3).map((e) => e.type)).toEqual(['ADDED', 'ADDED', 'ADDED']);
  });

  it('collects a dependent whose owner never existed, and drops a dangling reference beside a live one', async () => {
    const { state, info } = setup();
    const owner = state.create(info('configmaps'), 'default', { metadata: { name: 'owner' } });
    const ownerUid = String((owner.metadata as JsonObject).uid);
    const ref = (uid: string): JsonObject => ({ apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid });
    state.create(info('configmaps'), 'default', { metadata: { name: 'orphaned', ownerReferences: [ref('no-such-uid')] } });
    state.create(info('configmaps'), 'default', { metadata: { name: 'mixed', ownerReferences: [ref(ownerUid), ref('no-such-uid')] } });
    await state.settled();
    const names = state.list(info('configmaps'), 'default', [], []).map((o) => (o.metadata as JsonObject).name);
    expect(names).toEqual(['mixed', 'owner']);
    const mixed = state.get({ info: info('configmaps'), namespace: 'default', name: 'mixed' });
    expect((mixed.metadata as JsonObject).ownerReferences).toEqual([ref(ownerUid)]);
  });

  it('generates the same names from the same seed', () => {
    const names = (): unknown[] => {
      const { state, info } = setup({ seed: 7 });
      return [1, 2, 3].map(() => (state.create(info('configmaps'), 'default', { metadata: { generateName: 'x-' } }).metadata as JsonObject).name);
    };
    expect(names()).toEqual(names());
  });

  it('refuses objects in a namespace that does not exist', () => {
    const { state, info } = setup();
    expect(() => state.create(info('configmaps'), 'nowhere', { metadata: { name: 'a' } })).toThrow(
      expect.objectContaining({ code: 404, message: 'namespaces "nowhere" not found' }) as ApiError,
    );
  });

  it('updates to a CRD without a resourceVersion are refused; built-in ones are unconditional', () => {
    const { state, info } = setup();
    state.create(info('experiments'), 'default', { metadata: { name: 'e' }, spec: {} });
    expect(() => state.update({ info: info('experiments'), namespace: 'default', name: 'e' }, { metadata: { name: 'e' }, spec: { a: 1 } }, undefined)).toThrow(
      expect.objectContaining({ code: 422 }) as ApiError,
    );
    state.create(info('configmaps'), 'default', { metadata: { name: 'c' } });
    const updated = state.update({ info: info('configmaps'), namespace: 'default', name: 'c' }, { metadata: { name: 'c' }, data: { a: '1' } }, undefined);
    expect(updated.data).toEqual({ a: '1' });
  });

  it('dry-run writes change nothing', () => {
    const { state, info } = setup();
    const before = state.resourceVersion;
    const created = state.create(info('configmaps'), 'default', { metadata: { name: 'dry' } }, { dryRun: true });
    expect((created.metadata as JsonObject).name).toBe('dry');
    expect(state.resourceVersion).toBe(before);
    expect(() => state.get({ info: info('configmaps'), namespace: 'default', name: 'dry' })).toThrow(ApiError);
  });
});
