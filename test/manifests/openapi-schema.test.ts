/**
 * The OpenAPI v3 subset used to check CRDs: the structural-schema rules, validation and pruning, each against
 * hand-made schemas, and a never-throws property for the validator.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Json, JsonObject } from '../support/fake-apiserver/json.js';
import { pruneUnknownFields, structuralSchemaIssues, validateAgainstSchema } from '../support/openapi-schema.js';

const root = (properties: JsonObject): JsonObject => ({ type: 'object', properties });

describe('structuralSchemaIssues', () => {
  it('accepts a structural schema with int-or-string, preserve-unknown, maps and lists', () => {
    expect(
      structuralSchemaIssues(
        root({
          metadata: { type: 'object', properties: { name: { type: 'string', maxLength: 40 } } },
          spec: {
            type: 'object',
            required: ['port'],
            properties: {
              port: { 'x-kubernetes-int-or-string': true },
              raw: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
              anything: { 'x-kubernetes-preserve-unknown-fields': true },
              labels: { type: 'object', additionalProperties: { type: 'string' } },
              list: { type: 'array', items: { type: 'integer' } },
              either: { type: 'string', anyOf: [{ pattern: '^a' }, { pattern: '^b' }] },
            },
          },
        }),
      ),
    ).toEqual([]);
  });

  it.each<{ name: string; schema: Json; path: string; message: string }>([
    { name: 'a non-object root', schema: { type: 'string' }, path: 'openAPIV3Schema.type', message: 'the root must be of type "object"' },
    { name: 'a field without a type', schema: root({ spec: { properties: {} } }), path: 'openAPIV3Schema.properties.spec.type', message: 'must not be empty for specified object fields' },
    { name: 'an array without items', schema: root({ list: { type: 'array' } }), path: 'openAPIV3Schema.properties.list.items', message: 'must be specified for type "array"' },
    { name: 'items without a type', schema: root({ list: { type: 'array', items: {} } }), path: 'openAPIV3Schema.properties.list.items.type', message: 'must not be empty' },
    { name: 'an unknown type', schema: root({ n: { type: 'float' } }), path: 'openAPIV3Schema.properties.n.type', message: 'must be one of object, array, string, integer, number, boolean' },
    { name: '$ref', schema: root({ n: { type: 'object', $ref: '#/definitions/x' } }), path: 'openAPIV3Schema.properties.n.$ref', message: '$ref is not supported' },
    { name: 'additionalProperties: false', schema: root({ n: { type: 'object', additionalProperties: false } }), path: 'openAPIV3Schema.properties.n.additionalProperties', message: 'cannot be set to false' },
    {
      name: 'properties beside additionalProperties',
      schema: root({ n: { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: { type: 'string' } } }),
      path: 'openAPIV3Schema.properties.n.additionalProperties',
      message: 'mutual exclusive',
    },
    { name: 'uniqueItems', schema: root({ l: { type: 'array', items: { type: 'string' }, uniqueItems: true } }), path: 'openAPIV3Schema.properties.l.uniqueItems', message: 'quadratic' },
    {
      name: 'a type inside anyOf',
      schema: root({ n: { type: 'string', anyOf: [{ type: 'string' }] } }),
      path: 'openAPIV3Schema.properties.n.anyOf[0].type',
      message: 'must not be set inside a logical junctor',
    },
    {
      name: 'a junctor naming a field the schema does not specify',
      schema: root({ n: { type: 'object', properties: { a: { type: 'string' } }, oneOf: [{ properties: { b: {} } }] } }),
      path: 'openAPIV3Schema.properties.n.oneOf[0].properties.b',
      message: 'must have a corresponding property outside of the logical junctor',
    },
    {
      name: 'metadata restricted beyond name and generateName',
      schema: root({ metadata: { type: 'object', properties: { labels: { type: 'object' } } } }),
      path: 'openAPIV3Schema.properties.metadata.properties',
      message: 'only restrictions on metadata.name and metadata.generateName are allowed',
    },
    { name: 'int-or-string with a type', schema: root({ p: { type: 'string', 'x-kubernetes-int-or-string': true } }), path: 'openAPIV3Schema.properties.p.type', message: 'must be empty' },
    { name: 'preserve-unknown-fields: false', schema: root({ p: { type: 'object', 'x-kubernetes-preserve-unknown-fields': false } }), path: 'openAPIV3Schema.properties.p.x-kubernetes-preserve-unknown-fields', message: 'must be true or undefined' },
  ])('refuses $name', ({ schema, path, message }) => {
    const issues = structuralSchemaIssues(schema);
    expect(issues.map((i) => i.path)).toContain(path);
    expect(issues.find((i) => i.path === path)?.message).toContain(message);
  });
});

describe('validateAgainstSchema', () => {
  const schema = root({
    metadata: { type: 'object', properties: { name: { type: 'string', maxLength: 5 } } },
    spec: {
      type: 'object',
      required: ['count'],
      properties: {
        count: { type: 'integer', minimum: 1, maximum: 10 },
        ratio: { type: 'number', exclusiveMinimum: true, minimum: 0 },
        mode: { type: 'string', enum: ['a', 'b'] },
        name: { type: 'string', pattern: '^[a-z]+$', minLength: 2 },
        tags: { type: 'array', items: { type: 'string' }, maxItems: 2 },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        port: { 'x-kubernetes-int-or-string': true },
        raw: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        optional: { type: 'string', nullable: true },
      },
    },
  });
  const valid: JsonObject = {
    apiVersion: 'x/v1',
    kind: 'X',
    metadata: { name: 'ok', labels: { any: 'thing' } },
    spec: { count: 3, ratio: 0.5, mode: 'a', name: 'abc', tags: ['x'], labels: { a: 'b' }, port: 'http', raw: { deep: [1, { x: null }] }, optional: null },
  };

  it('accepts a valid object, ignoring ObjectMeta fields the schema does not name', () => {
    expect(validateAgainstSchema(valid, schema)).toEqual([]);
  });

  it.each<{ name: string; spec: JsonObject; message: string }>([
    { name: 'a missing required field', spec: {}, message: 'spec.count: Required value' },
    { name: 'a string for an integer', spec: { count: '3' }, message: 'spec.count: Invalid value: "string": spec.count in body must be of type integer: "string"' },
    { name: 'a fraction for an integer', spec: { count: 1.5 }, message: 'spec.count in body must be of type integer: "number"' },
    { name: 'a value below the minimum', spec: { count: 0 }, message: 'spec.count: Invalid value: 0: spec.count in body should be greater than or equal to 1' },
    { name: 'a value above the maximum', spec: { count: 11 }, message: 'spec.count in body should be less than or equal to 10' },
    { name: 'a value at an exclusive minimum', spec: { count: 1, ratio: 0 }, message: 'spec.ratio in body should be greater than 0' },
    { name: 'a value outside the enum', spec: { count: 1, mode: 'c' }, message: 'spec.mode: Unsupported value: "c": supported values: "a", "b"' },
    { name: 'a string not matching the pattern', spec: { count: 1, name: 'ABC' }, message: "spec.name in body should match '^[a-z]+$'" },
    { name: 'a string too short', spec: { count: 1, name: 'a' }, message: 'spec.name in body should be at least 2 chars long' },
    { name: 'too many items', spec: { count: 1, tags: ['a', 'b', 'c'] }, message: 'spec.tags: Too many: 3: must have at most 2 items' },
    { name: 'a wrong item type', spec: { count: 1, tags: [1] }, message: 'spec.tags[0]: Invalid value: "integer"' },
    { name: 'a wrong map value type', spec: { count: 1, labels: { a: 1 } }, message: 'spec.labels.a in body must be of type string' },
    { name: 'a boolean for int-or-string', spec: { count: 1, port: true }, message: 'spec.port in body must be of type integer or string' },
    { name: 'an undeclared field', spec: { count: 1, extra: 1 }, message: 'unknown field "spec.extra"' },
    { name: 'null where not nullable', spec: { count: null }, message: 'spec.count in body must be of type integer: "null"' },
  ])('reports $name', ({ spec, message }) => {
    const messages = validateAgainstSchema({ ...valid, spec }, schema).map((i) => i.message);
    expect(messages.some((m) => m.includes(message)), JSON.stringify(messages)).toBe(true);
  });

  it('checks the name restrictions the schema puts on metadata', () => {
    expect(validateAgainstSchema({ ...valid, metadata: { name: 'too-long' } }, schema).map((i) => i.path)).toEqual(['metadata.name']);
  });

  it('does not report undeclared fields when asked to ignore them', () => {
    expect(validateAgainstSchema({ ...valid, spec: { count: 1, extra: 1 } }, schema, { unknownFields: 'ignore' })).toEqual([]);
  });

  it('never throws, whatever the value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(Array.isArray(validateAgainstSchema(value as Json, schema))).toBe(true);
      }),
    );
  });
});

describe('pruneUnknownFields', () => {
  it('drops undeclared fields, keeps preserved subtrees and the resource fields', () => {
    const schema = root({
      spec: {
        type: 'object',
        properties: {
          a: { type: 'string' },
          raw: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { inner: { type: 'object', properties: { kept: { type: 'string' } } } } },
          list: { type: 'array', items: { type: 'object', properties: { x: { type: 'integer' } } } },
        },
      },
    });
    const pruned = pruneUnknownFields(
      {
        apiVersion: 'x/v1',
        kind: 'X',
        metadata: { name: 'n', labels: { a: 'b' } },
        spec: { a: 'a', b: 'dropped', raw: { free: 1, inner: { kept: 'k', gone: 1 } }, list: [{ x: 1, y: 2 }] },
        status: { dropped: true },
      },
      schema,
    );
    expect(pruned).toEqual({
      apiVersion: 'x/v1',
      kind: 'X',
      metadata: { name: 'n', labels: { a: 'b' } },
      spec: { a: 'a', raw: { free: 1, inner: { kept: 'k' } }, list: [{ x: 1 }] },
    });
  });
});
