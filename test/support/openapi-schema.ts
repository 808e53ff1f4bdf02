/**
 * The subset of OpenAPI v3 that Kubernetes CRDs use, three ways:
 * - `structuralSchemaIssues`: is a CRD schema *structural* (the rules kube-apiserver enforces for apiextensions/v1,
 *   https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema);
 * - `validateAgainstSchema`: does a value satisfy the schema (type, nullable, properties, required, items, enum,
 *   additionalProperties, minimum/maximum, length/size bounds, pattern, x-kubernetes-int-or-string,
 *   x-kubernetes-preserve-unknown-fields); messages are worded as the real server words them;
 * - `pruneUnknownFields`: drops what the schema does not declare, as the API server does on every write.
 * Used by the fake API server for CRDs that carry a schema and by the manifest tests.
 */
import { isJsonObject, type Json, type JsonObject } from './fake-apiserver/json.js';

export type SchemaIssueReason = 'Invalid' | 'Required' | 'NotSupported' | 'Unknown' | 'Forbidden';

/** One problem: `path` is the field (`spec.parameters[0].name`), `message` the full `path: Reason: detail` text. */
export interface SchemaIssue {
  readonly path: string;
  readonly reason: SchemaIssueReason;
  readonly message: string;
}

const TYPES = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean']);

/** Keys that apiextensions.k8s.io/v1 refuses in a schema (or only allows with a value the rule names). */
const FORBIDDEN_KEYS = ['$ref', 'definitions', 'dependencies', 'deprecated', 'discriminator', 'id', 'patternProperties', 'readOnly', 'writeOnly', 'xml', '$schema'];
const JUNCTORS = ['allOf', 'anyOf', 'oneOf', 'not'] as const;

/**
 * Every reason `schema` (an `openAPIV3Schema`) is not structural, with the path of the offending node
 * (`openAPIV3Schema.properties.spec.properties.parameters.items`). Empty when it is structural.
 */
export function structuralSchemaIssues(schema: Json, path = 'openAPIV3Schema'): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  const problem = (at: string, detail: string, reason: SchemaIssueReason = 'Invalid'): void => {
    issues.push({ path: at, reason, message: `${at}: ${reason === 'Required' ? 'Required value' : reason === 'Forbidden' ? 'Forbidden' : 'Invalid value'}: ${detail}` });
  };
  if (!isJsonObject(schema)) {
    problem(path, 'must be an object');
    return issues;
  }
  if (schema.type !== 'object') problem(`${path}.type`, 'the root must be of type "object"');
  const walk = (node: JsonObject, at: string, isRootMetadata: boolean): void => {
    for (const key of FORBIDDEN_KEYS) if (key in node) problem(`${at}.${key}`, `${key} is not supported`, 'Forbidden');
    if (node.uniqueItems === true) problem(`${at}.uniqueItems`, 'uniqueItems cannot be set to true since the runtime complexity becomes quadratic', 'Forbidden');
    if (node.additionalProperties === false) problem(`${at}.additionalProperties`, 'additionalProperties cannot be set to false', 'Forbidden');
    if ('properties' in node && 'additionalProperties' in node) {
      problem(`${at}.additionalProperties`, 'additionalProperties and properties are mutual exclusive', 'Forbidden');
    }
    if (node['x-kubernetes-preserve-unknown-fields'] === false) {
      problem(`${at}.x-kubernetes-preserve-unknown-fields`, 'must be true or undefined', 'Invalid');
    }
    const intOrString = node['x-kubernetes-int-or-string'] === true;
    const preserve = node['x-kubernetes-preserve-unknown-fields'] === true;
    const type = node.type;
    if (type === undefined || type === '') {
      if (!intOrString && !preserve) problem(`${at}.type`, 'must not be empty for specified object fields', 'Required');
    } else if (typeof type !== 'string' || !TYPES.has(type)) {
      problem(`${at}.type`, `${JSON.stringify(type)}: must be one of object, array, string, integer, number, boolean`);
    } else if (intOrString) {
      problem(`${at}.type`, 'must be empty when x-kubernetes-int-or-string is true', 'Forbidden');
    }
    if (isRootMetadata) {
      for (const key of Object.keys(node)) {
        if (key === 'type') continue;
        if (key === 'properties' && isJsonObject(node.properties) && Object.keys(node.properties).every((k) => k === 'name' || k === 'generateName')) continue;
        problem(`${at}.${key}`, 'must not be specified: only restrictions on metadata.name and metadata.generateName are allowed', 'Forbidden');
      }
    }
    for (const junctor of JUNCTORS) {
      const value = node[junctor];
      if (value === undefined) continue;
      const branches = Array.isArray(value) ? value : [value];
      branches.forEach((branch, i) => {
        const branchPath = Array.isArray(value) ? `${at}.${junctor}[${i}]` : `${at}.${junctor}`;
        if (isJsonObject(branch)) checkJunctorBranch(branch, node, branchPath, problem);
      });
    }
    const properties = node.properties;
    if (properties !== undefined) {
      if (!isJsonObject(properties)) problem(`${at}.properties`, 'must be an object');
      else {
        for (const [name, child] of Object.entries(properties)) {
          if (isJsonObject(child)) walk(child, `${at}.properties.${name}`, at === path && name === 'metadata');
          else problem(`${at}.properties.${name}`, 'must be a schema object');
        }
      }
    }
    if (isJsonObject(node.additionalProperties)) walk(node.additionalProperties, `${at}.additionalProperties`, false);
    if (node.items !== undefined) {
      if (isJsonObject(node.items)) walk(node.items, `${at}.items`, false);
      else problem(`${at}.items`, 'items must be a schema object and not an array', 'Forbidden');
    }
    if (type === 'array' && node.items === undefined) problem(`${at}.items`, 'must be specified for type "array"', 'Required');
  };
  walk(schema, path, false);
  return issues;
}

/** Inside allOf/anyOf/oneOf/not: no type, description, default, additionalProperties or nullable, and every field named must be specified outside too. */
function checkJunctorBranch(
  branch: JsonObject,
  outside: JsonObject | undefined,
  at: string,
  problem: (at: string, detail: string, reason?: SchemaIssueReason) => void,
): void {
  for (const key of ['type', 'description', 'default', 'additionalProperties', 'nullable']) {
    if (key in branch) problem(`${at}.${key}`, `must not be set inside a logical junctor`, 'Forbidden');
  }
  const props = isJsonObject(branch.properties) ? branch.properties : {};
  const outsideProps = isJsonObject(outside?.properties) ? outside.properties : {};
  for (const [name, child] of Object.entries(props)) {
    if (!(name in outsideProps)) problem(`${at}.properties.${name}`, 'must have a corresponding property outside of the logical junctor', 'Required');
    const outsideChild = outsideProps[name];
    if (isJsonObject(child)) checkJunctorBranch(child, isJsonObject(outsideChild) ? outsideChild : undefined, `${at}.properties.${name}`, problem);
  }
  if (isJsonObject(branch.items)) {
    if (!isJsonObject(outside?.items)) problem(`${at}.items`, 'must have a corresponding items outside of the logical junctor', 'Required');
    checkJunctorBranch(branch.items, isJsonObject(outside?.items) ? outside.items : undefined, `${at}.items`, problem);
  }
}

export interface ValidateOptions {
  /** What to do with a field the schema does not declare: report it (strict field validation) or ignore it. Default 'report'. */
  readonly unknownFields?: 'report' | 'ignore';
}

/**
 * Every way `value` breaks `schema`, with field paths (`spec.parameters[0].parameterType`). At the root, and in
 * `x-kubernetes-embedded-resource` nodes, apiVersion/kind/metadata are always allowed. Never throws.
 */
export function validateAgainstSchema(value: Json | undefined, schema: JsonObject, options: ValidateOptions = {}, path = ''): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  visit(value, schema, path, path === '', issues, options.unknownFields ?? 'report');
  return issues;
}

function visit(value: Json | undefined, schema: JsonObject, path: string, isResource: boolean, issues: SchemaIssue[], unknown: 'report' | 'ignore'): void {
  const field = path === '' ? '<root>' : path;
  const invalid = (detail: string, shown: Json | undefined = value): void => {
    issues.push({ path: field, reason: 'Invalid', message: `${field}: Invalid value: ${render(shown)}: ${detail}` });
  };
  if (value === undefined) return;
  if (value === null) {
    if (schema.nullable !== true && schema['x-kubernetes-preserve-unknown-fields'] !== true && schema.type !== undefined) {
      invalid(`${field} in body must be of type ${String(schema.type)}: "null"`, 'null');
    }
    return;
  }
  const actual = jsonType(value);
  if (schema['x-kubernetes-int-or-string'] === true) {
    if (actual !== 'integer' && actual !== 'string') invalid(`${field} in body must be of type integer or string: ${JSON.stringify(actual)}`, actual);
  } else if (typeof schema.type === 'string') {
    const ok = schema.type === actual || (schema.type === 'number' && actual === 'integer');
    if (!ok) {
      invalid(`${field} in body must be of type ${schema.type}: ${JSON.stringify(actual)}`, actual);
      return;
    }
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    issues.push({
      path: field,
      reason: 'NotSupported',
      message: `${field}: Unsupported value: ${render(value)}: supported values: ${schema.enum.map((e) => render(e)).join(', ')}`,
    });
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && (value < schema.minimum || (schema.exclusiveMinimum === true && value === schema.minimum))) {
      invalid(`${field} in body should be greater than ${schema.exclusiveMinimum === true ? '' : 'or equal to '}${schema.minimum}`);
    }
    if (typeof schema.maximum === 'number' && (value > schema.maximum || (schema.exclusiveMaximum === true && value === schema.maximum))) {
      invalid(`${field} in body should be less than ${schema.exclusiveMaximum === true ? '' : 'or equal to '}${schema.maximum}`);
    }
  }
  if (typeof value === 'string') {
    if (typeof schema.minLength === 'number' && value.length < schema.minLength) invalid(`${field} in body should be at least ${schema.minLength} chars long`);
    if (typeof schema.maxLength === 'number' && value.length > schema.maxLength) {
      issues.push({ path: field, reason: 'Invalid', message: `${field}: Too long: may not be more than ${schema.maxLength} bytes` });
    }
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value)) {
      invalid(`${field} in body should match '${schema.pattern}'`);
    }
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) invalid(`${field} in body should have at least ${schema.minItems} items`, value.length);
    if (typeof schema.maxItems === 'number' && value.length > schema.maxItems) {
      issues.push({ path: field, reason: 'Invalid', message: `${field}: Too many: ${value.length}: must have at most ${schema.maxItems} items` });
    }
    if (isJsonObject(schema.items)) {
      const items = schema.items;
      value.forEach((item, i) => visit(item, items, `${path}[${i}]`, items['x-kubernetes-embedded-resource'] === true, issues, unknown));
    }
  }
  if (isJsonObject(value)) {
    const properties = isJsonObject(schema.properties) ? schema.properties : undefined;
    const additional = schema.additionalProperties;
    const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
    if (Array.isArray(schema.required)) {
      for (const name of schema.required) {
        if (typeof name === 'string' && value[name] === undefined) {
          const at = join(path, name);
          issues.push({ path: at, reason: 'Required', message: `${at}: Required value` });
        }
      }
    }
    if (typeof schema.minProperties === 'number' && Object.keys(value).length < schema.minProperties) {
      invalid(`${field} in body should have at least ${schema.minProperties} properties`, Object.keys(value).length);
    }
    for (const [name, child] of Object.entries(value)) {
      const at = join(path, name);
      const childSchema = properties?.[name];
      if (isResource && name === 'metadata') {
        // ObjectMeta is validated by its own rules, not the schema; the schema may only restrict name and generateName.
        if (!isJsonObject(child)) issues.push({ path: at, reason: 'Invalid', message: `${at}: Invalid value: ${render(child)}: must be an object` });
        else if (isJsonObject(childSchema)) visitMetadataNames(child, childSchema, at, issues, unknown);
      } else if (isJsonObject(childSchema)) {
        visit(child, childSchema, at, childSchema['x-kubernetes-embedded-resource'] === true, issues, unknown);
      } else if (isJsonObject(additional)) {
        visit(child, additional, at, additional['x-kubernetes-embedded-resource'] === true, issues, unknown);
      } else if (!preserve && additional !== true && unknown === 'report' && !(isResource && RESOURCE_FIELDS.has(name))) {
        if (properties !== undefined || schema.type === 'object') {
          issues.push({ path: at, reason: 'Unknown', message: `unknown field ${JSON.stringify(at)}` });
        }
      }
    }
  }
}

const RESOURCE_FIELDS = new Set(['apiVersion', 'kind', 'metadata']);

function visitMetadataNames(meta: JsonObject, schema: JsonObject, path: string, issues: SchemaIssue[], unknown: 'report' | 'ignore'): void {
  const properties = isJsonObject(schema.properties) ? schema.properties : {};
  for (const name of ['name', 'generateName']) {
    const child = properties[name];
    if (isJsonObject(child)) visit(meta[name], child, join(path, name), false, issues, unknown);
  }
}

/**
 * A copy of `value` without the fields `schema` does not declare (the API server's pruning). Nodes with
 * x-kubernetes-preserve-unknown-fields keep unknown fields but their declared fields are still pruned; at the root
 * and in embedded resources apiVersion, kind and metadata are kept as they are (ObjectMeta has its own rules).
 */
export function pruneUnknownFields(value: Json, schema: JsonObject, isResource = true): Json {
  if (Array.isArray(value)) {
    const items = schema.items;
    return isJsonObject(items) ? value.map((v) => pruneUnknownFields(v, items, items['x-kubernetes-embedded-resource'] === true)) : value;
  }
  if (!isJsonObject(value)) return value;
  const properties = isJsonObject(schema.properties) ? schema.properties : undefined;
  const additional = schema.additionalProperties;
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  const out: JsonObject = {};
  for (const [name, child] of Object.entries(value)) {
    const childSchema = properties?.[name];
    if (isResource && name === 'metadata') out[name] = child;
    else if (isJsonObject(childSchema)) out[name] = pruneUnknownFields(child, childSchema, childSchema['x-kubernetes-embedded-resource'] === true);
    else if (isJsonObject(additional)) out[name] = pruneUnknownFields(child, additional, additional['x-kubernetes-embedded-resource'] === true);
    else if (preserve || additional === true || (isResource && RESOURCE_FIELDS.has(name))) out[name] = child;
  }
  return out;
}

function jsonType(value: Json): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function join(path: string, name: string): string {
  return path === '' ? name : `${path}.${name}`;
}

function render(value: Json | undefined): string {
  if (typeof value === 'string') return JSON.stringify(value);
  return JSON.stringify(value ?? null);
}
