/**
 * The fake API server's storage and semantics, without HTTP: objects per group/resource, one global
 * resourceVersion counter, a bounded event history for watches, and the apiserver behaviour controllers depend on:
 * create/update/patch/delete with optimistic concurrency, the status subresource, generation, generateName,
 * finalizers and deletionTimestamp, ownerReference garbage collection (background, foreground, orphan), namespace
 * termination, CRD registration with schema pruning and validation.
 *
 * Every operation is synchronous and either commits completely or throws an ApiError without changing anything.
 * Garbage collection runs after the request that triggered it (setImmediate), as the real collector runs apart
 * from the API server; `settled()` waits for it.
 */
import { parse as parseYaml } from 'yaml';
import { pruneUnknownFields, validateAgainstSchema, type SchemaIssue } from '../openapi-schema.js';
import { arrayAt, clone, isJson, isJsonObject, jsonEqual, objectAt, stringAt, stringMapAt, type Json, type JsonObject } from './json.js';
import { applyJsonPatch, applyMergePatch, parseJsonPatch, PatchError } from './patch.js';
import { apiVersionOf, builtinResources, resourcesOfCrd, storageKeyOf, type ResourceInfo } from './resources.js';
import { matchesFields, matchesLabels, type FieldRequirement, type LabelRequirement } from './selectors.js';
import {
  alreadyExists,
  ApiError,
  badRequest,
  conflict,
  expired,
  fieldInvalid,
  fieldNotSupported,
  fieldRequired,
  invalid,
  notFound,
  OBJECT_MODIFIED,
  StatusReason,
  tooLarge,
  unsupportedMediaType,
  type FieldCause,
} from './status.js';
import { validateMetaUpdate, validateObjectMeta } from './validation.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One committed change. `object` carries the new resourceVersion (for DELETED: the version of the deletion). */
export interface StoredEvent {
  readonly rv: number;
  readonly type: WatchEventType;
  readonly storageKey: string;
  readonly namespace: string | undefined;
  readonly object: JsonObject;
  /** The object before a MODIFIED change, so selector watches can turn it into ADDED or DELETED. */
  readonly prev?: JsonObject;
}

export type PropagationPolicy = 'Background' | 'Foreground' | 'Orphan';

export const PatchType = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;
export type PatchType = (typeof PatchType)[keyof typeof PatchType];

export interface ClusterStateOptions {
  /** The clock for creationTimestamp and deletionTimestamp. Default: the system clock. */
  readonly now?: () => Date;
  /** How many events the watch history keeps; a watch from an older resourceVersion gets 410 Expired. Default 10000. */
  readonly historyLimit?: number;
  /** Largest object accepted, in bytes of JSON (etcd's limit is 1.5 MiB). Default 1572864. */
  readonly maxObjectBytes?: number;
  /** Refuse namespaced objects in a namespace that does not exist (as the real server does). Default true. */
  readonly requireNamespaces?: boolean;
  /** Namespaces that exist at start. Default: default, kube-system, kube-public, kubeflow. */
  readonly namespaces?: readonly string[];
  /** Seed for generateName suffixes. Default 1. */
  readonly seed?: number;
}

export interface WriteOptions {
  readonly dryRun?: boolean;
  /** `fieldValidation=Strict`: unknown fields are an error instead of being pruned. */
  readonly strict?: boolean;
}

export interface ObjectLocation {
  readonly info: ResourceInfo;
  readonly namespace: string | undefined;
  readonly name: string;
}

const SERVER_META = ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds'] as const;
const CLIENT_META = ['name', 'generateName', 'namespace', 'labels', 'annotations', 'ownerReferences', 'finalizers'] as const;
const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
const FOREGROUND = 'foregroundDeletion';
const ORPHAN = 'orphan';

export class ClusterState {
  private readonly registry = new Map<string, ResourceInfo>();
  private readonly objects = new Map<string, Map<string, JsonObject>>();
  private readonly uids = new Map<string, { storageKey: string; key: string }>();
  private readonly history: StoredEvent[] = [];
  private readonly listeners = new Set<(event: StoredEvent) => void>();
  private rv = 0;
  private compactedThrough = 0;
  private uidCounter = 0;
  private rngState: number;
  private gcTimer: NodeJS.Immediate | undefined;
  private gcWaiters: (() => void)[] = [];
  private readonly now: () => Date;
  private readonly historyLimit: number;
  private readonly maxObjectBytes: number;
  private readonly requireNamespaces: boolean;

  constructor(options: ClusterStateOptions = {}) {
    this.now = options.now ?? (() => new Date());
    this.historyLimit = options.historyLimit ?? 10_000;
    this.maxObjectBytes = options.maxObjectBytes ?? 1_572_864;
    this.requireNamespaces = options.requireNamespaces ?? true;
    this.rngState = options.seed ?? 1;
    for (const info of builtinResources()) this.register(info);
    const nsInfo = this.lookup('', 'v1', 'namespaces');
    for (const ns of options.namespaces ?? ['default', 'kube-system', 'kube-public', 'kubeflow']) {
      if (nsInfo) this.create(nsInfo, undefined, { metadata: { name: ns } });
    }
  }

  // ---- registry ----------------------------------------------------------------------------------------------

  /** Adds (or replaces) a served group/version/resource. */
  register(info: ResourceInfo): void {
    this.registry.set(`${info.group}/${info.version}/${info.resource}`, info);
  }

  lookup(group: string, version: string, resource: string): ResourceInfo | undefined {
    return this.registry.get(`${group}/${version}/${resource}`);
  }

  /** The registration serving `apiVersion` + `kind`, if any. */
  lookupKind(apiVersion: string, kind: string): ResourceInfo | undefined {
    return [...this.registry.values()].find((r) => apiVersionOf(r) === apiVersion && r.kind === kind);
  }

  resources(): ResourceInfo[] {
    return [...this.registry.values()];
  }

  get resourceVersion(): number {
    return this.rv;
  }

  // ---- reads -------------------------------------------------------------------------------------------------

  /** The object as served at `loc.info`'s version; throws NotFound. */
  get(loc: ObjectLocation): JsonObject {
    return present(this.require(loc), loc.info);
  }

  /** Objects of a resource (one namespace, or all), sorted by namespace then name, as etcd returns them. */
  list(info: ResourceInfo, namespace: string | undefined, labels: readonly LabelRequirement[], fields: readonly FieldRequirement[]): JsonObject[] {
    const bucket = this.objects.get(storageKeyOf(info));
    if (!bucket) return [];
    return [...bucket.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, obj]) => obj)
      .filter((obj) => namespace === undefined || namespaceOf(obj) === namespace)
      .filter((obj) => matchesLabels(labels, stringMapAt(objectAt(obj, 'metadata'), 'labels')) && matchesFields(fields, obj))
      .map((obj) => present(obj, info));
  }

  /** Events after `rv`, oldest first; throws 410 Expired when `rv` is older than the retained history. */
  eventsSince(rv: number): StoredEvent[] {
    if (rv < this.compactedThrough) throw expired(rv, this.compactedThrough + 1);
    return this.history.filter((e) => e.rv > rv);
  }

  /** Calls `listener` for every committed change until the returned function is called. */
  subscribe(listener: (event: StoredEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Forgets the watch history: a watch from any resourceVersion before now gets 410 Expired. */
  compact(): void {
    this.compactedThrough = this.rv;
    this.history.length = 0;
  }

  /** Resolves when no garbage collection is pending. */
  settled(): Promise<void> {
    if (this.gcTimer === undefined) return Promise.resolve();
    return new Promise((resolve) => this.gcWaiters.push(resolve));
  }

  // ---- writes ------------------------------------------------------------------------------------------------

  /** POST: creates the object; returns it as stored. */
  create(info: ResourceInfo, namespace: string | undefined, body: unknown, options: WriteOptions = {}): JsonObject {
    if (!isJsonObject(body)) throw badRequest(`the body of the request must be a JSON object, got ${describe(body)}`);
    checkTypeMeta(info, body, stringAt(objectAt(body, 'metadata'), 'name') ?? '');
    const meta = pickMeta(objectAt(body, 'metadata') ?? {}, CLIENT_META);
    const bodyNs = stringAt(meta, 'namespace');
    if (info.namespaced) {
      if (namespace === undefined) throw badRequest(`${info.kind} is namespaced: POST to .../namespaces/{namespace}/${info.resource}`);
      if (bodyNs !== undefined && bodyNs !== '' && bodyNs !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      meta.namespace = namespace;
      this.checkNamespaceWritable(namespace);
    } else {
      delete meta.namespace;
    }
    const generateName = stringAt(meta, 'generateName');
    if (!stringAt(meta, 'name') && generateName) meta.name = this.generateName(info, namespace, generateName);
    let obj: JsonObject = { ...clone(body), metadata: meta };
    obj = this.applySchema(info, obj, options.strict ?? false, stringAt(meta, 'name') ?? '');
    const causes = [...validateObjectMeta(meta, info.nameRule), ...this.validateSpecial(info, obj)];
    const name = stringAt(meta, 'name') ?? '';
    if (causes.length > 0) throw invalid(info.group, info.kind, name, causes);
    const key = objectKey(namespace, name, info);
    if (this.objects.get(storageKeyOf(info))?.has(key)) throw alreadyExists(info.group, info.resource, name);
    obj.apiVersion = apiVersionOf(info);
    obj.kind = info.kind;
    meta.uid = this.nextUid();
    meta.creationTimestamp = this.timestamp();
    meta.generation = 1;
    if (info.statusSubresource) delete obj.status;
    Object.assign(obj, initialStatus(info, obj, this.timestamp()));
    this.checkSize(obj);
    if (options.dryRun) return present(obj, info);
    const stored = this.commit('ADDED', info, key, obj, undefined);
    return present(stored, info);
  }

  /** PUT on the object or on its status subresource. */
  update(loc: ObjectLocation, body: unknown, subresource: 'status' | undefined, options: WriteOptions = {}): JsonObject {
    if (!isJsonObject(body)) throw badRequest(`the body of the request must be a JSON object, got ${describe(body)}`);
    const { info } = loc;
    checkTypeMeta(info, body, loc.name);
    const meta = objectAt(body, 'metadata') ?? {};
    const bodyName = stringAt(meta, 'name') ?? '';
    if (bodyName !== loc.name) throw badRequest(`the name of the object (${bodyName}) does not match the name on the URL (${loc.name})`);
    const bodyNs = stringAt(meta, 'namespace');
    if (info.namespaced && bodyNs !== undefined && bodyNs !== '' && bodyNs !== loc.namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    const current = this.require(loc);
    const rv = stringAt(meta, 'resourceVersion');
    if (rv === undefined || rv === '') {
      if (info.custom) throw invalid(info.group, info.kind, loc.name, [fieldInvalid('metadata.resourceVersion', 0, 'must be specified for an update')]);
    } else if (rv !== resourceVersionOf(current)) {
      throw conflict(info.group, info.resource, loc.name, OBJECT_MODIFIED);
    }
    return this.replace(loc, current, body, subresource, options);
  }

  /** PATCH on the object or its status subresource; `apply` creates a missing object. */
  patch(
    loc: ObjectLocation,
    contentType: string,
    rawBody: string,
    subresource: 'status' | undefined,
    options: WriteOptions & { fieldManager?: string } = {},
  ): { object: JsonObject; created: boolean } {
    const { info } = loc;
    const type = normalizePatchType(contentType, info);
    if (type === PatchType.apply) {
      if (!options.fieldManager) {
        throw invalid('meta.k8s.io', 'PatchOptions', '', [fieldRequired('fieldManager', 'is required for apply patch')]);
      }
      const applied = parseBody(rawBody, 'yaml');
      if (!isJsonObject(applied)) throw badRequest(`an apply patch must be an object, got ${describe(applied)}`);
      const existing = this.find(loc);
      if (!existing) {
        if (subresource) throw notFound(info.group, info.resource, loc.name);
        const meta = { ...(objectAt(applied, 'metadata') ?? {}), name: loc.name };
        return { object: this.create(info, loc.namespace, { ...applied, metadata: meta }, options), created: true };
      }
      const merged = applyMergePatch(present(existing, info), withoutResourceVersion(applied));
      return { object: this.replace(loc, existing, asObject(merged), subresource, options), created: false };
    }
    const current = this.require(loc);
    const doc = present(current, info);
    let patched: Json;
    if (type === PatchType.json) {
      let operations;
      try {
        operations = parseJsonPatch(parseBody(rawBody, 'json'));
      } catch (err) {
        if (err instanceof PatchError) throw badRequest(err.message);
        throw err;
      }
      try {
        patched = applyJsonPatch(doc, operations);
      } catch (err) {
        if (err instanceof PatchError) throw new ApiError(422, StatusReason.Invalid, err.message, { target: { group: info.group, kind: info.kind, name: loc.name } });
        throw err;
      }
    } else {
      const patch = parseBody(rawBody, 'json');
      if (!isJsonObject(patch)) throw badRequest(`json: cannot unmarshal ${describe(patch)} into Go value of type map[string]interface {} (a merge patch is a JSON object)`);
      patched = applyMergePatch(doc, type === PatchType.strategic ? stripDirectives(patch) : patch);
    }
    const object = asObject(patched);
    const rv = stringAt(objectAt(object, 'metadata'), 'resourceVersion');
    if (rv !== undefined && rv !== '' && rv !== resourceVersionOf(current)) throw conflict(info.group, info.resource, loc.name, OBJECT_MODIFIED);
    checkTypeMeta(info, object, loc.name);
    const name = stringAt(objectAt(object, 'metadata'), 'name');
    if (name !== loc.name) throw badRequest(`the name of the object (${name ?? ''}) does not match the name on the URL (${loc.name})`);
    return { object: this.replace(loc, current, object, subresource, options), created: false };
  }

  /**
   * DELETE. Objects with finalizers (or a Foreground delete with dependents) get a deletionTimestamp and stay
   * until their finalizers are gone. Returns what the server answers and whether the object is gone now.
   */
  delete(
    loc: ObjectLocation,
    options: WriteOptions & { propagationPolicy?: PropagationPolicy; preconditions?: { uid?: string; resourceVersion?: string } } = {},
  ): { object: JsonObject; gone: boolean } {
    const { info } = loc;
    const current = this.require(loc);
    const meta = objectAt(current, 'metadata') ?? {};
    const pre = options.preconditions;
    if (pre?.uid !== undefined && pre.uid !== stringAt(meta, 'uid')) {
      throw conflict(info.group, info.resource, loc.name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${stringAt(meta, 'uid') ?? ''}`);
    }
    if (pre?.resourceVersion !== undefined && pre.resourceVersion !== stringAt(meta, 'resourceVersion')) {
      throw conflict(
        info.group,
        info.resource,
        loc.name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${stringAt(meta, 'resourceVersion') ?? ''}`,
      );
    }
    if (options.dryRun) return { object: present(current, info), gone: false };
    if (stringAt(meta, 'deletionTimestamp') !== undefined) return { object: present(current, info), gone: false };
    const policy = options.propagationPolicy ?? 'Background';
    const uid = stringAt(meta, 'uid') ?? '';
    if (policy === 'Orphan') this.orphanDependents(uid);
    const finalizers = (arrayAt(meta, 'finalizers') ?? []).filter((f): f is string => typeof f === 'string');
    if (policy === 'Foreground' && this.dependentsOf(uid).length > 0 && !finalizers.includes(FOREGROUND)) finalizers.push(FOREGROUND);
    const namespaceTermination = info.group === '' && info.resource === 'namespaces';
    if (finalizers.length > 0 || namespaceTermination) {
      const next = clone(current);
      const nextMeta = objectAt(next, 'metadata') ?? {};
      nextMeta.finalizers = finalizers;
      if (finalizers.length === 0) delete nextMeta.finalizers;
      nextMeta.deletionTimestamp = this.timestamp();
      nextMeta.deletionGracePeriodSeconds = 0;
      nextMeta.generation = (typeof nextMeta.generation === 'number' ? nextMeta.generation : 0) + 1;
      if (namespaceTermination) next.status = { ...(objectAt(next, 'status') ?? {}), phase: 'Terminating' };
      const stored = this.commit('MODIFIED', info, objectKey(loc.namespace, loc.name, info), next, current);
      return { object: present(stored, info), gone: false };
    }
    const removed = this.remove(info, loc.namespace, loc.name, current);
    return { object: present(removed, info), gone: true };
  }

  // ---- internals ---------------------------------------------------------------------------------------------

  private find(loc: ObjectLocation): JsonObject | undefined {
    return this.objects.get(storageKeyOf(loc.info))?.get(objectKey(loc.namespace, loc.name, loc.info));
  }

  private require(loc: ObjectLocation): JsonObject {
    const found = this.find(loc);
    if (!found) throw notFound(loc.info.group, loc.info.resource, loc.name);
    return found;
  }

  /** The shared tail of update and patch: builds the next object from `body`, validates, commits (or not, for a no-op). */
  private replace(loc: ObjectLocation, current: JsonObject, body: JsonObject, subresource: 'status' | undefined, options: WriteOptions): JsonObject {
    const { info } = loc;
    if (subresource === 'status' && !info.statusSubresource) throw notFound(info.group, info.resource, loc.name);
    const currentMeta = objectAt(current, 'metadata') ?? {};
    let next: JsonObject;
    if (subresource === 'status') {
      // The status subresource copies the stored object and takes only `status` from the request.
      next = clone(current);
      if (body.status === undefined) delete next.status;
      else next.status = clone(body.status);
    } else {
      const bodyMeta = objectAt(body, 'metadata') ?? {};
      const causes = validateMetaUpdate(bodyMeta, currentMeta);
      if (causes.length > 0) throw invalid(info.group, info.kind, loc.name, causes);
      const meta: JsonObject = { ...pickMeta(bodyMeta, CLIENT_META), ...pickMeta(currentMeta, SERVER_META), name: loc.name };
      if (loc.namespace !== undefined) meta.namespace = loc.namespace;
      delete meta.generateName;
      const generateName = stringAt(currentMeta, 'generateName');
      if (generateName !== undefined) meta.generateName = generateName;
      next = { ...clone(body), metadata: meta, apiVersion: apiVersionOf(info), kind: info.kind };
      if (info.statusSubresource) {
        if (current.status === undefined) delete next.status;
        else next.status = clone(current.status);
      }
    }
    next = this.applySchema(info, next, options.strict ?? false, loc.name);
    const nextMeta = objectAt(next, 'metadata') ?? {};
    const causes = [...validateObjectMeta(nextMeta, info.nameRule), ...this.validateSpecial(info, next)];
    if (causes.length > 0) throw invalid(info.group, info.kind, loc.name, causes);
    nextMeta.resourceVersion = resourceVersionOf(current);
    if (jsonEqual(comparable(next), comparable(current))) return present(current, info);
    const generation = typeof currentMeta.generation === 'number' ? currentMeta.generation : 1;
    nextMeta.generation = specChanged(info, current, next) ? generation + 1 : generation;
    this.checkSize(next);
    if (options.dryRun) return present(next, info);
    const key = objectKey(loc.namespace, loc.name, info);
    const stored = this.commit('MODIFIED', info, key, next, current);
    if (stringAt(nextMeta, 'deletionTimestamp') !== undefined && (arrayAt(nextMeta, 'finalizers') ?? []).length === 0 && !isNamespace(info)) {
      // The last finalizer is gone from an object being deleted: it goes now (watchers see MODIFIED, then DELETED).
      this.remove(info, loc.namespace, loc.name, stored);
    }
    return present(stored, info);
  }

  private remove(info: ResourceInfo, namespace: string | undefined, name: string, current: JsonObject): JsonObject {
    const removed = this.commit('DELETED', info, objectKey(namespace, name, info), undefined, current);
    if (isCrd(info)) {
      this.unregisterCrd(current);
      this.deleteCrdObjects(current);
    }
    return removed;
  }

  /** Writes a change, bumps the global resourceVersion, records and announces the event. Returns the stored object. */
  private commit(type: WatchEventType, info: ResourceInfo, key: string, next: JsonObject | undefined, prev: JsonObject | undefined): JsonObject {
    this.rv++;
    const storageKey = storageKeyOf(info);
    let bucket = this.objects.get(storageKey);
    if (!bucket) {
      bucket = new Map();
      this.objects.set(storageKey, bucket);
    }
    const object = clone(next ?? prev ?? {});
    const meta = objectAt(object, 'metadata') ?? {};
    meta.resourceVersion = String(this.rv);
    const uid = stringAt(meta, 'uid') ?? '';
    if (type === 'DELETED') {
      bucket.delete(key);
      this.uids.delete(uid);
    } else {
      bucket.set(key, object);
      this.uids.set(uid, { storageKey, key });
    }
    const event: StoredEvent = { rv: this.rv, type, storageKey, namespace: namespaceOf(object), object, ...(type === 'MODIFIED' && prev ? { prev } : {}) };
    this.history.push(event);
    while (this.history.length > this.historyLimit) {
      const dropped = this.history.shift();
      if (dropped) this.compactedThrough = dropped.rv;
    }
    if (isCrd(info) && type !== 'DELETED') this.registerCrd(object);
    for (const listener of [...this.listeners]) listener(event);
    if (type === 'DELETED' || ownerUids(object).length > 0 || stringAt(meta, 'deletionTimestamp') !== undefined) this.scheduleGc();
    return object;
  }

  private applySchema(info: ResourceInfo, obj: JsonObject, strict: boolean, name: string): JsonObject {
    if (!info.schema) return obj;
    const { metadata, ...rest } = obj;
    const toIssue = (i: SchemaIssue): FieldCause => ({
      reason: i.reason === 'Required' ? 'FieldValueRequired' : i.reason === 'NotSupported' ? 'FieldValueNotSupported' : 'FieldValueInvalid',
      field: i.path,
      message: i.message,
    });
    if (strict) {
      const unknown = validateAgainstSchema(rest, info.schema, { unknownFields: 'report' }).filter((i) => i.reason === 'Unknown');
      if (unknown.length > 0) throw badRequest(`strict decoding error: ${unknown.map((i) => i.message).join(', ')}`);
    }
    const pruned = asObject(pruneUnknownFields(rest, info.schema));
    const issues = validateAgainstSchema(pruned, info.schema, { unknownFields: 'ignore' });
    if (issues.length > 0) throw invalid(info.group, info.kind, name, issues.map(toIssue));
    return { ...pruned, ...(metadata !== undefined ? { metadata } : {}) };
  }

  private validateSpecial(info: ResourceInfo, obj: JsonObject): FieldCause[] {
    if (!isCrd(info)) return [];
    const result = resourcesOfCrd(obj);
    if ('resources' in result) {
      const clash = result.resources.find((r) => {
        const existing = this.lookup(r.group, r.version, r.resource);
        return existing !== undefined && !existing.custom;
      });
      return clash ? [fieldInvalid('spec.group', clash.group, `the resource ${clash.resource}.${clash.group} is built in`)] : [];
    }
    return result.problems.map((p) => ({ reason: 'FieldValueInvalid', field: p.field, message: `${p.field}: ${p.message}` }));
  }

  private registerCrd(crd: JsonObject): void {
    const result = resourcesOfCrd(crd);
    if (!('resources' in result)) return;
    this.unregisterCrd(crd);
    for (const info of result.resources) this.register(info);
  }

  /** Stops serving what a CRD registered (its objects stay in storage until `deleteCrdObjects`). */
  private unregisterCrd(crd: JsonObject): void {
    const spec = objectAt(crd, 'spec');
    const group = stringAt(spec, 'group');
    const plural = stringAt(objectAt(spec, 'names'), 'plural');
    for (const [id, info] of [...this.registry.entries()]) {
      if (info.group === group && info.resource === plural) this.registry.delete(id);
    }
  }

  /** A deleted CRD takes its objects with it, as the apiextensions cleanup finalizer does. */
  private deleteCrdObjects(crd: JsonObject): void {
    const result = resourcesOfCrd(crd);
    const info = 'resources' in result ? result.resources[0] : undefined;
    const bucket = info ? this.objects.get(storageKeyOf(info)) : undefined;
    if (!info || !bucket) return;
    for (const [key, obj] of [...bucket.entries()]) this.commit('DELETED', info, key, undefined, obj);
  }

  private checkNamespaceWritable(namespace: string): void {
    if (!this.requireNamespaces) return;
    const ns = this.objects.get('/namespaces')?.get(namespace);
    if (!ns) throw notFound('', 'namespaces', namespace);
    if (stringAt(objectAt(ns, 'metadata'), 'deletionTimestamp') !== undefined) {
      throw new ApiError(403, StatusReason.Forbidden, `unable to create new content in namespace ${namespace} because it is being terminated`, {
        target: { group: '', kind: 'namespaces', name: namespace },
      });
    }
  }

  private checkSize(obj: JsonObject): void {
    if (JSON.stringify(obj).length > this.maxObjectBytes) throw tooLarge(this.maxObjectBytes);
  }

  private generateName(info: ResourceInfo, namespace: string | undefined, base: string): string {
    const prefix = base.slice(0, 58);
    for (;;) {
      let suffix = '';
      for (let i = 0; i < 5; i++) suffix += NAME_ALPHABET[Math.floor(this.random() * NAME_ALPHABET.length)] ?? 'x';
      const name = prefix + suffix;
      if (!this.objects.get(storageKeyOf(info))?.has(objectKey(namespace, name, info))) return name;
    }
  }

  /** mulberry32: deterministic, so generated names repeat from run to run. */
  private random(): number {
    this.rngState = (this.rngState + 0x6d2b79f5) | 0;
    let t = this.rngState;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  private nextUid(): string {
    this.uidCounter++;
    return `00000000-0000-4000-8000-${this.uidCounter.toString(16).padStart(12, '0')}`;
  }

  private timestamp(): string {
    return this.now().toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  // ---- garbage collection --------------------------------------------------------------------------------------

  private dependentsOf(uid: string): { storageKey: string; key: string; obj: JsonObject }[] {
    const out: { storageKey: string; key: string; obj: JsonObject }[] = [];
    for (const [storageKey, bucket] of this.objects) {
      for (const [key, obj] of bucket) {
        if (ownerUids(obj).includes(uid)) out.push({ storageKey, key, obj });
      }
    }
    return out;
  }

  private infoFor(storageKey: string): ResourceInfo | undefined {
    return [...this.registry.values()].find((r) => storageKeyOf(r) === storageKey);
  }

  private orphanDependents(uid: string): void {
    for (const dep of this.dependentsOf(uid)) {
      const info = this.infoFor(dep.storageKey);
      if (!info) continue;
      const next = clone(dep.obj);
      const meta = objectAt(next, 'metadata') ?? {};
      const refs = (arrayAt(meta, 'ownerReferences') ?? []).filter((r) => !(isJsonObject(r) && r.uid === uid));
      if (refs.length > 0) meta.ownerReferences = refs;
      else delete meta.ownerReferences;
      this.commit('MODIFIED', info, dep.key, next, dep.obj);
    }
  }

  private scheduleGc(): void {
    if (this.gcTimer !== undefined) return;
    this.gcTimer = setImmediate(() => {
      this.gcTimer = undefined;
      const changed = this.collectGarbage();
      if (changed) {
        this.scheduleGc();
        return;
      }
      const waiters = this.gcWaiters;
      this.gcWaiters = [];
      for (const resolve of waiters) resolve();
    });
  }

  /**
   * One pass of the garbage collector and the namespace controller. Returns whether it changed anything (then
   * another pass follows). Dependents whose owners are all gone are deleted (Background); owners being deleted in
   * the foreground delete their dependents and lose the foregroundDeletion finalizer once none are left; a
   * terminating namespace deletes its content and goes once it is empty.
   */
  private collectGarbage(): boolean {
    let changed = false;
    for (const [storageKey, bucket] of [...this.objects]) {
      const info = this.infoFor(storageKey);
      if (!info) continue;
      for (const [, obj] of [...bucket]) {
        const meta = objectAt(obj, 'metadata') ?? {};
        const name = stringAt(meta, 'name') ?? '';
        const namespace = stringAt(meta, 'namespace');
        const refs = ownerUids(obj);
        if (refs.length > 0 && stringAt(meta, 'deletionTimestamp') === undefined) {
          const alive = refs.filter((uid) => this.ownerAlive(uid));
          if (alive.length === 0) {
            // Every owner is gone or going away in the foreground: the dependent goes too (in the foreground when
            // its owner waits for it, so its own dependents go first).
            this.tryDelete({ info, namespace, name }, refs.some((uid) => this.uids.has(uid)) ? 'Foreground' : 'Background');
            changed = true;
            continue;
          }
          const dangling = refs.filter((uid) => !this.uids.has(uid));
          if (dangling.length > 0) {
            const next = clone(obj);
            const nextMeta = objectAt(next, 'metadata') ?? {};
            nextMeta.ownerReferences = (arrayAt(nextMeta, 'ownerReferences') ?? []).filter((r) => !(isJsonObject(r) && dangling.includes(stringAt(r, 'uid') ?? '')));
            this.commit('MODIFIED', info, objectKey(namespace, name, info), next, obj);
            changed = true;
            continue;
          }
        }
        if (stringAt(meta, 'deletionTimestamp') === undefined) continue;
        const uid = stringAt(meta, 'uid') ?? '';
        const finalizers = (arrayAt(meta, 'finalizers') ?? []).filter((f): f is string => typeof f === 'string');
        if (finalizers.includes(FOREGROUND) && this.dependentsOf(uid).length === 0) {
          this.dropFinalizer(info, obj, FOREGROUND);
          changed = true;
        } else if (finalizers.includes(ORPHAN)) {
          this.orphanDependents(uid);
          this.dropFinalizer(info, this.find({ info, namespace, name }) ?? obj, ORPHAN);
          changed = true;
        } else if (isNamespace(info)) {
          changed = this.terminateNamespace(info, obj, name) || changed;
        }
      }
    }
    return changed;
  }

  /** An owner counts as alive while it exists and is not being deleted in the foreground. */
  private ownerAlive(uid: string): boolean {
    const at = this.uids.get(uid);
    if (!at) return false;
    const owner = this.objects.get(at.storageKey)?.get(at.key);
    const meta = objectAt(owner, 'metadata');
    return !(stringAt(meta, 'deletionTimestamp') !== undefined && (arrayAt(meta, 'finalizers') ?? []).includes(FOREGROUND));
  }

  private tryDelete(loc: ObjectLocation, policy: PropagationPolicy): void {
    try {
      this.delete(loc, { propagationPolicy: policy });
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 404)) throw err;
    }
  }

  private dropFinalizer(info: ResourceInfo, obj: JsonObject, finalizer: string): void {
    const next = clone(obj);
    const meta = objectAt(next, 'metadata') ?? {};
    const rest = (arrayAt(meta, 'finalizers') ?? []).filter((f) => f !== finalizer);
    if (rest.length > 0) meta.finalizers = rest;
    else delete meta.finalizers;
    const name = stringAt(meta, 'name') ?? '';
    const namespace = stringAt(meta, 'namespace');
    const stored = this.commit('MODIFIED', info, objectKey(namespace, name, info), next, obj);
    if (rest.length === 0) this.remove(info, namespace, name, stored);
  }

  private terminateNamespace(nsInfo: ResourceInfo, ns: JsonObject, name: string): boolean {
    let remaining = 0;
    let changed = false;
    for (const [storageKey, bucket] of [...this.objects]) {
      const info = this.infoFor(storageKey);
      if (!info?.namespaced) continue;
      for (const obj of [...bucket.values()]) {
        if (namespaceOf(obj) !== name) continue;
        remaining++;
        if (stringAt(objectAt(obj, 'metadata'), 'deletionTimestamp') === undefined) {
          this.tryDelete({ info, namespace: name, name: stringAt(objectAt(obj, 'metadata'), 'name') ?? '' }, 'Background');
          changed = true;
        }
      }
    }
    if (remaining === 0 && (arrayAt(objectAt(ns, 'metadata'), 'finalizers') ?? []).length === 0) {
      this.remove(nsInfo, undefined, name, ns);
      return true;
    }
    return changed;
  }
}

// ---- helpers -----------------------------------------------------------------------------------------------------

/** The object as a client sees it at `info`'s version: a copy with apiVersion and kind set. */
function present(obj: JsonObject, info: ResourceInfo): JsonObject {
  const out = clone(obj);
  out.apiVersion = apiVersionOf(info);
  out.kind = info.kind;
  return out;
}

function objectKey(namespace: string | undefined, name: string, info: ResourceInfo): string {
  return info.namespaced ? `${namespace ?? ''}/${name}` : name;
}

function namespaceOf(obj: JsonObject): string | undefined {
  return stringAt(objectAt(obj, 'metadata'), 'namespace');
}

function resourceVersionOf(obj: JsonObject): string {
  return stringAt(objectAt(obj, 'metadata'), 'resourceVersion') ?? '';
}

function ownerUids(obj: JsonObject): string[] {
  return (arrayAt(objectAt(obj, 'metadata'), 'ownerReferences') ?? []).flatMap((r) => {
    const uid = isJsonObject(r) ? stringAt(r, 'uid') : undefined;
    return uid ? [uid] : [];
  });
}

function pickMeta(meta: JsonObject, keys: readonly string[]): JsonObject {
  const out: JsonObject = {};
  for (const key of keys) {
    const value = meta[key];
    if (value !== undefined && value !== null) out[key] = clone(value);
  }
  return out;
}

function isCrd(info: ResourceInfo): boolean {
  return info.group === 'apiextensions.k8s.io' && info.resource === 'customresourcedefinitions';
}

function isNamespace(info: ResourceInfo): boolean {
  return info.group === '' && info.resource === 'namespaces';
}

/** The status a server-side controller would give a new object at once: pods Pending, namespaces Active, CRDs Established. */
function initialStatus(info: ResourceInfo, obj: JsonObject, at: string): JsonObject {
  if (info.group === '' && info.resource === 'pods') return { status: { phase: 'Pending' } };
  if (isNamespace(info)) return { spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } };
  if (isCrd(info)) {
    const spec = objectAt(obj, 'spec');
    const names = objectAt(spec, 'names') ?? {};
    const kind = stringAt(names, 'kind') ?? '';
    const storage = (arrayAt(spec, 'versions') ?? []).find((v) => isJsonObject(v) && v.storage === true);
    return {
      status: {
        conditions: [
          { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found', lastTransitionTime: at },
          { type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted', lastTransitionTime: at },
        ],
        acceptedNames: { ...clone(names), singular: stringAt(names, 'singular') ?? kind.toLowerCase(), listKind: stringAt(names, 'listKind') ?? `${kind}List` },
        storedVersions: isJsonObject(storage) && typeof storage.name === 'string' ? [storage.name] : [],
      },
    };
  }
  return {};
}

/**
 * apiVersion in the body must be the URL's (400, as the generic handler checks it); kind must match (422, as the
 * custom resource validator words it). Both may be omitted.
 */
function checkTypeMeta(info: ResourceInfo, body: JsonObject, name: string): void {
  const apiVersion = body.apiVersion;
  if (apiVersion !== undefined && apiVersion !== apiVersionOf(info)) {
    throw badRequest(`the API version in the data (${String(apiVersion)}) does not match the expected API version (${apiVersionOf(info)})`);
  }
  const kind = body.kind;
  if (kind !== undefined && kind !== info.kind) throw invalid(info.group, info.kind, name, [fieldInvalid('kind', kind, `must be ${info.kind}`)]);
}

/** What must change for a write to count (resourceVersion and managed bookkeeping excluded). */
function comparable(obj: JsonObject): JsonObject {
  const out = clone(obj);
  const meta = objectAt(out, 'metadata');
  if (meta) delete meta.resourceVersion;
  return out;
}

/** generation moves when anything but metadata changes (and but status, where status is a subresource or built in). */
function specChanged(info: ResourceInfo, old: JsonObject, next: JsonObject): boolean {
  const strip = (o: JsonObject): JsonObject => {
    const { metadata: _metadata, status, ...rest } = o;
    return info.statusSubresource || !info.custom ? rest : { ...rest, ...(status !== undefined ? { status } : {}) };
  };
  const oldDeleting = stringAt(objectAt(old, 'metadata'), 'deletionTimestamp') !== undefined;
  const nextDeleting = stringAt(objectAt(next, 'metadata'), 'deletionTimestamp') !== undefined;
  return !jsonEqual(strip(old), strip(next)) || oldDeleting !== nextDeleting;
}

function normalizePatchType(contentType: string, info: ResourceInfo): PatchType {
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  const accepted: PatchType[] = info.custom ? [PatchType.json, PatchType.merge, PatchType.apply] : [PatchType.json, PatchType.merge, PatchType.strategic, PatchType.apply];
  const found = accepted.find((t) => t === type);
  if (!found) throw unsupportedMediaType(type, accepted);
  return found;
}

/** Strategic-merge directives ($patch, $setElementOrder/..., $retainKeys) have no merge-patch meaning: dropped. */
function stripDirectives(patch: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$')) continue;
    out[key] = isJsonObject(value) ? stripDirectives(value) : value;
  }
  return out;
}

function withoutResourceVersion(obj: JsonObject): JsonObject {
  const out = clone(obj);
  const meta = objectAt(out, 'metadata');
  if (meta) delete meta.resourceVersion;
  return out;
}

function parseBody(raw: string, format: 'json' | 'yaml'): Json {
  let value: unknown;
  try {
    value = format === 'json' ? JSON.parse(raw) : parseYaml(raw);
  } catch (err) {
    throw badRequest(`the request body is not valid ${format.toUpperCase()}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!isJson(value)) throw badRequest('the request body holds values JSON cannot represent');
  return value;
}

function asObject(value: Json): JsonObject {
  if (!isJsonObject(value)) throw badRequest(`the patched object is ${describe(value)}, not an object`);
  return value;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** Validates a DeleteOptions.propagationPolicy value. */
export function parsePropagationPolicy(value: unknown): PropagationPolicy | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (value === 'Background' || value === 'Foreground' || value === 'Orphan') return value;
  throw invalid('meta.k8s.io', 'DeleteOptions', '', [fieldNotSupported('propagationPolicy', value, ['Foreground', 'Background', 'Orphan'])]);
}
