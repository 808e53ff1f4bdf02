/**
 * What the fake serves: one `ResourceInfo` per group/version/resource, the built-in set every test gets, CRD →
 * ResourceInfo conversion, and the discovery documents (`/api`, `/apis`, `/apis/{g}/{v}`) that clients such as
 * `KubernetesObjectApi` read to turn a kind into a resource path.
 */
import { arrayAt, isJsonObject, objectAt, stringAt, type JsonObject } from './json.js';

/** How a resource's names are validated (k8s IsDNS1123Subdomain / IsDNS1123Label / IsDNS1035Label). */
export type NameRule = 'subdomain' | 'label' | 'dns1035';

export interface ResourceInfo {
  /** '' for the core group. */
  readonly group: string;
  readonly version: string;
  /** Plural, lower case: `experiments`. */
  readonly resource: string;
  readonly singular: string;
  readonly kind: string;
  readonly listKind: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  readonly statusSubresource: boolean;
  /**
   * Custom resources (CRD-backed) behave as the apiextensions server does: updates need a resourceVersion,
   * strategic merge patch is refused with 415, list items carry apiVersion/kind.
   */
  readonly custom: boolean;
  readonly nameRule: NameRule;
  /** Field selector paths beyond metadata.name and metadata.namespace. */
  readonly selectableFields: readonly string[];
  /** The CRD's `openAPIV3Schema`, when it has one: used to prune unknown fields and validate. */
  readonly schema?: JsonObject;
  /** DELETE answers with the deleted object (pods, custom resources) rather than a Success Status. */
  readonly returnDeletedObject: boolean;
}

export function apiVersionOf(info: Pick<ResourceInfo, 'group' | 'version'>): string {
  return info.group === '' ? info.version : `${info.group}/${info.version}`;
}

/** Storage is per group and resource, shared by every version (the fake does no conversion). */
export function storageKeyOf(info: Pick<ResourceInfo, 'group' | 'resource'>): string {
  return `${info.group}/${info.resource}`;
}

interface BuiltinSpec {
  group: string;
  version: string;
  resource: string;
  kind: string;
  namespaced?: boolean;
  status?: boolean;
  custom?: boolean;
  shortNames?: string[];
  nameRule?: NameRule;
  selectableFields?: string[];
  returnDeletedObject?: boolean;
}

const BUILTINS: readonly BuiltinSpec[] = [
  { group: '', version: 'v1', resource: 'namespaces', kind: 'Namespace', namespaced: false, status: true, shortNames: ['ns'], nameRule: 'label', selectableFields: ['status.phase'] },
  { group: '', version: 'v1', resource: 'pods', kind: 'Pod', status: true, shortNames: ['po'], selectableFields: ['spec.nodeName', 'status.phase', 'spec.restartPolicy'], returnDeletedObject: true },
  { group: '', version: 'v1', resource: 'services', kind: 'Service', status: true, shortNames: ['svc'], nameRule: 'dns1035' },
  { group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', shortNames: ['cm'] },
  { group: '', version: 'v1', resource: 'secrets', kind: 'Secret', selectableFields: ['type'] },
  { group: '', version: 'v1', resource: 'serviceaccounts', kind: 'ServiceAccount', shortNames: ['sa'] },
  {
    group: '',
    version: 'v1',
    resource: 'events',
    kind: 'Event',
    shortNames: ['ev'],
    selectableFields: ['involvedObject.kind', 'involvedObject.name', 'involvedObject.namespace', 'involvedObject.uid', 'involvedObject.apiVersion', 'reason', 'type', 'source'],
  },
  { group: 'events.k8s.io', version: 'v1', resource: 'events', kind: 'Event', shortNames: ['ev'], selectableFields: ['regarding.kind', 'regarding.name', 'regarding.uid', 'reason', 'type'] },
  { group: 'batch', version: 'v1', resource: 'jobs', kind: 'Job', status: true, selectableFields: ['status.successful'] },
  { group: 'apps', version: 'v1', resource: 'deployments', kind: 'Deployment', status: true, shortNames: ['deploy'] },
  { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', kind: 'Lease' },
  { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'clusterroles', kind: 'ClusterRole', namespaced: false },
  { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'clusterrolebindings', kind: 'ClusterRoleBinding', namespaced: false },
  { group: 'apiextensions.k8s.io', version: 'v1', resource: 'customresourcedefinitions', kind: 'CustomResourceDefinition', namespaced: false, status: true, shortNames: ['crd', 'crds'] },
  // Custom resources a Katib installation has; registered without a schema (everything preserved) until a CRD for
  // them is created, which replaces the registration (see CustomResourceDefinition handling in cluster-state.ts).
  { group: 'kubeflow.org', version: 'v1beta1', resource: 'experiments', kind: 'Experiment', status: true, custom: true },
  { group: 'kubeflow.org', version: 'v1beta1', resource: 'trials', kind: 'Trial', status: true, custom: true },
  { group: 'kubeflow.org', version: 'v1beta1', resource: 'suggestions', kind: 'Suggestion', status: true, custom: true },
  { group: 'kubeflow.org', version: 'v1', resource: 'pytorchjobs', kind: 'PyTorchJob', status: true, custom: true },
  { group: 'trainer.kubeflow.org', version: 'v1alpha1', resource: 'trainjobs', kind: 'TrainJob', status: true, custom: true },
];

/** The resources every fake server starts with. */
export function builtinResources(): ResourceInfo[] {
  return BUILTINS.map((b) => ({
    group: b.group,
    version: b.version,
    resource: b.resource,
    singular: b.kind.toLowerCase(),
    kind: b.kind,
    listKind: `${b.kind}List`,
    namespaced: b.namespaced ?? true,
    shortNames: b.shortNames ?? [],
    statusSubresource: b.status ?? false,
    custom: b.custom ?? false,
    nameRule: b.nameRule ?? 'subdomain',
    selectableFields: b.selectableFields ?? [],
    returnDeletedObject: b.returnDeletedObject ?? b.custom ?? false,
  }));
}

/**
 * The resources a CustomResourceDefinition (apiextensions.k8s.io/v1) declares: one per served version.
 * Returns problems instead when the CRD is malformed (field paths as the real validation names them).
 */
export function resourcesOfCrd(crd: JsonObject): { resources: ResourceInfo[] } | { problems: { field: string; message: string }[] } {
  const problems: { field: string; message: string }[] = [];
  const spec = objectAt(crd, 'spec');
  const names = objectAt(spec, 'names');
  const group = stringAt(spec, 'group');
  const plural = stringAt(names, 'plural');
  const kind = stringAt(names, 'kind');
  const scope = stringAt(spec, 'scope');
  if (!group) problems.push({ field: 'spec.group', message: 'Required value' });
  if (!plural) problems.push({ field: 'spec.names.plural', message: 'Required value' });
  if (!kind) problems.push({ field: 'spec.names.kind', message: 'Required value' });
  if (scope !== 'Namespaced' && scope !== 'Cluster') {
    problems.push({ field: 'spec.scope', message: `Unsupported value: ${JSON.stringify(scope ?? '')}: supported values: "Cluster", "Namespaced"` });
  }
  const name = stringAt(objectAt(crd, 'metadata'), 'name');
  if (group && plural && name !== `${plural}.${group}`) {
    problems.push({ field: 'metadata.name', message: `Invalid value: ${JSON.stringify(name ?? '')}: must be spec.names.plural+"."+spec.group` });
  }
  const versions = (arrayAt(spec, 'versions') ?? []).filter(isJsonObject);
  if (versions.length === 0) problems.push({ field: 'spec.versions', message: 'Invalid value: null: must have exactly one version marked as storage version' });
  if (versions.filter((v) => v.storage === true).length !== 1 && versions.length > 0) {
    problems.push({ field: 'spec.versions', message: 'Invalid value: must have exactly one version marked as storage version' });
  }
  if (problems.length > 0 || !group || !plural || !kind) return { problems };
  const resources = versions
    .filter((v) => v.served !== false)
    .map((v): ResourceInfo => {
      const schema = objectAt(objectAt(v, 'schema'), 'openAPIV3Schema');
      return {
        group,
        version: stringAt(v, 'name') ?? '',
        resource: plural,
        singular: stringAt(names, 'singular') ?? kind.toLowerCase(),
        kind,
        listKind: stringAt(names, 'listKind') ?? `${kind}List`,
        namespaced: scope === 'Namespaced',
        shortNames: (arrayAt(names, 'shortNames') ?? []).filter((s): s is string => typeof s === 'string'),
        statusSubresource: objectAt(objectAt(v, 'subresources'), 'status') !== undefined,
        custom: true,
        nameRule: 'subdomain',
        selectableFields: (arrayAt(v, 'selectableFields') ?? []).flatMap((f) => {
          const path = isJsonObject(f) ? stringAt(f, 'jsonPath') : undefined;
          return path ? [path.replace(/^\./, '')] : [];
        }),
        ...(schema ? { schema } : {}),
        returnDeletedObject: true,
      };
    });
  return { resources };
}

/** `APIResourceList` for one group/version. */
export function apiResourceList(groupVersion: string, resources: readonly ResourceInfo[]): JsonObject {
  const list: JsonObject[] = [];
  for (const r of resources) {
    list.push({
      name: r.resource,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
      ...(r.shortNames.length > 0 ? { shortNames: [...r.shortNames] } : {}),
      ...(r.custom ? { categories: ['all'] } : {}),
    });
    if (r.statusSubresource) {
      list.push({ name: `${r.resource}/status`, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: ['get', 'patch', 'update'] });
    }
    if (r.group === '' && r.resource === 'pods') {
      list.push({ name: 'pods/log', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get'] });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion, resources: list };
}

/** `APIGroupList` (`/apis`): every non-core group with its versions, the first registered one preferred. */
export function apiGroupList(resources: readonly ResourceInfo[]): JsonObject {
  const groups = new Map<string, string[]>();
  for (const r of resources) {
    if (r.group === '') continue;
    const versions = groups.get(r.group) ?? [];
    if (!versions.includes(r.version)) versions.push(r.version);
    groups.set(r.group, versions);
  }
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [...groups.entries()].map(([name, versions]) => apiGroup(name, versions)) };
}

export function apiGroup(name: string, versions: readonly string[]): JsonObject {
  const entries = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
  return { kind: 'APIGroup', apiVersion: 'v1', name, versions: entries, ...(entries[0] ? { preferredVersion: entries[0] } : {}) };
}
