/**
 * ObjectMeta validation as k8s.io/apimachinery/pkg/api/validation does it: names, labels, annotations, owner
 * references, finalizers; and the metadata fields a client may not change on update.
 */
import { arrayAt, isJsonObject, objectAt, stringAt, type JsonObject } from './json.js';
import type { NameRule } from './resources.js';
import { labelKeyProblem, labelValueProblem } from './selectors.js';
import { fieldForbidden, fieldInvalid, fieldRequired, type FieldCause } from './status.js';

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const STANDARD_FINALIZERS = new Set(['kubernetes', 'orphan', 'foregroundDeletion']);
/** Total size of all annotations (k8s TotalAnnotationSizeLimitB). */
const ANNOTATIONS_LIMIT = 256 * 1024;

/** Why `name` breaks `rule`, in the real server's words, or undefined. */
export function nameProblem(name: string, rule: NameRule): string | undefined {
  switch (rule) {
    case 'subdomain':
      if (name.length > 253) return 'must be no more than 253 characters';
      return DNS1123_SUBDOMAIN.test(name)
        ? undefined
        : "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
    case 'label':
      if (name.length > 63) return 'must be no more than 63 characters';
      return DNS1123_LABEL.test(name)
        ? undefined
        : "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
    case 'dns1035':
      if (name.length > 63) return 'must be no more than 63 characters';
      return DNS1035_LABEL.test(name)
        ? undefined
        : "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
  }
}

/** Every problem with `metadata` of an object being created or updated. */
export function validateObjectMeta(meta: JsonObject, rule: NameRule): FieldCause[] {
  const causes: FieldCause[] = [];
  const name = stringAt(meta, 'name');
  if (name === undefined || name === '') {
    causes.push(fieldRequired('metadata.name', 'name or generateName is required'));
  } else {
    const problem = nameProblem(name, rule);
    if (problem) causes.push(fieldInvalid('metadata.name', name, problem));
  }
  for (const [key, value] of Object.entries(objectAt(meta, 'labels') ?? {})) {
    const keyProblem = labelKeyProblem(key);
    if (keyProblem) causes.push(fieldInvalid('metadata.labels', key, keyProblem));
    if (typeof value !== 'string') causes.push(fieldInvalid(`metadata.labels[${key}]`, value, 'label values must be strings'));
    else {
      const valueProblem = labelValueProblem(value);
      if (valueProblem) causes.push(fieldInvalid('metadata.labels', value, valueProblem));
    }
  }
  let annotationBytes = 0;
  for (const [key, value] of Object.entries(objectAt(meta, 'annotations') ?? {})) {
    const keyProblem = labelKeyProblem(key);
    if (keyProblem) causes.push(fieldInvalid('metadata.annotations', key, keyProblem));
    if (typeof value !== 'string') causes.push(fieldInvalid(`metadata.annotations[${key}]`, value, 'annotation values must be strings'));
    else annotationBytes += key.length + value.length;
  }
  if (annotationBytes > ANNOTATIONS_LIMIT) {
    causes.push({ reason: 'FieldValueTooLong', field: 'metadata.annotations', message: `metadata.annotations: Too long: must have at most ${ANNOTATIONS_LIMIT} bytes` });
  }
  const owners = arrayAt(meta, 'ownerReferences') ?? [];
  let controllers = 0;
  owners.forEach((ref, i) => {
    const at = `metadata.ownerReferences[${i}]`;
    if (!isJsonObject(ref)) {
      causes.push(fieldInvalid(at, ref, 'must be an object'));
      return;
    }
    for (const field of ['apiVersion', 'kind', 'name'] as const) {
      if (!stringAt(ref, field)) causes.push(fieldInvalid(`${at}.${field}`, ref[field] ?? '', `${field} must not be empty`));
    }
    if (!stringAt(ref, 'uid')) causes.push(fieldInvalid(`${at}.uid`, ref.uid ?? '', 'uid must not be empty'));
    if (ref.controller === true) controllers++;
  });
  if (controllers > 1) causes.push(fieldInvalid('metadata.ownerReferences', owners, 'Only one reference can have Controller set to true'));
  for (const [i, finalizer] of (arrayAt(meta, 'finalizers') ?? []).entries()) {
    const at = `metadata.finalizers[${i}]`;
    if (typeof finalizer !== 'string') causes.push(fieldInvalid(at, finalizer, 'must be a string'));
    else if (!STANDARD_FINALIZERS.has(finalizer) && !isQualifiedName(finalizer)) {
      causes.push(fieldInvalid(at, finalizer, 'name is neither a standard finalizer name nor is it fully qualified'));
    }
  }
  return causes;
}

/** Problems with changing `old` metadata into `next` through an update (immutable fields, finalizers while deleting). */
export function validateMetaUpdate(next: JsonObject, old: JsonObject): FieldCause[] {
  const causes: FieldCause[] = [];
  const nextUid = stringAt(next, 'uid');
  if (nextUid !== undefined && nextUid !== '' && nextUid !== stringAt(old, 'uid')) {
    causes.push(fieldInvalid('metadata.uid', nextUid, 'field is immutable'));
  }
  if (stringAt(old, 'deletionTimestamp') !== undefined) {
    const before = new Set((arrayAt(old, 'finalizers') ?? []).filter((f) => typeof f === 'string'));
    const added = (arrayAt(next, 'finalizers') ?? []).filter((f) => typeof f === 'string' && !before.has(f));
    if (added.length > 0) causes.push(fieldForbidden('metadata.finalizers', `no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`));
  }
  return causes;
}

function isQualifiedName(value: string): boolean {
  const slash = value.indexOf('/');
  if (slash < 0) return value.length <= 63 && QUALIFIED_NAME.test(value);
  const prefix = value.slice(0, slash);
  const name = value.slice(slash + 1);
  return prefix.length <= 253 && DNS1123_SUBDOMAIN.test(prefix) && name.length <= 63 && QUALIFIED_NAME.test(name);
}
