/**
 * The fake API server, driven only through the unmodified @kubernetes/client-node. The same suite runs against a
 * real cluster when KATIB_TEST_KUBECONFIG names a kubeconfig (it installs the CRDs from manifests/crds if missing and
 * works in a namespace of its own); the tests that need the fake's controls (compaction, fault injection, the
 * simulated node) run only against the fake.
 */
import { readFile } from 'node:fs/promises';
import {
  ApiextensionsV1Api,
  BatchV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  Watch,
  type KubeConfig,
  type KubernetesObject,
  type V1Job,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCrds } from '../manifests/manifests.js';
import { SimulatedNode } from '../support/simulated-node.js';
import { apiStatus, connectTestCluster, eventually, expectApiError, usingRealCluster, type TestCluster } from '../support/kube-test-cluster.js';

const GROUP = 'kubeflow.org';
const VERSION = 'v1beta1';
const real = usingRealCluster();
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const strategicPatch = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

type Obj = KubernetesObject & { spec?: Record<string, unknown>; status?: Record<string, unknown>; [key: string]: unknown };

let cluster: TestCluster;
let kc: KubeConfig;
let ns: string;
let custom: CustomObjectsApi;
let core: CoreV1Api;
let batch: BatchV1Api;

/** The cluster under test: the fake (with the CRDs from manifests/crds) or the real one, with CRDs ensured. */
async function connect(): Promise<TestCluster> {
  const connected = await connectTestCluster({ namespacePrefix: 'fake-apiserver', fake: { crds: loadCrds(), bookmarkIntervalMs: 50 } });
  if (!connected.fake) await ensureCrds(connected.kubeConfig);
  return connected;
}

/**
 * Creates the CRDs that are missing. Through CustomObjectsApi, not ApiextensionsV1Api: the typed client serializes
 * by its TypeScript field names and would silently drop `x-kubernetes-preserve-unknown-fields` from raw YAML.
 */
async function ensureCrds(config: KubeConfig): Promise<void> {
  const api = config.makeApiClient(CustomObjectsApi);
  for (const crd of loadCrds()) {
    try {
      await api.createClusterCustomObject({ group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions', body: crd });
    } catch (err) {
      if (apiStatus(err)?.code !== 409) throw err;
    }
  }
}

beforeAll(async () => {
  cluster = await connect();
  kc = cluster.kubeConfig;
  ns = cluster.namespace;
  custom = kc.makeApiClient(CustomObjectsApi);
  core = kc.makeApiClient(CoreV1Api);
  batch = kc.makeApiClient(BatchV1Api);
});

afterAll(async () => {
  await cluster?.close();
});

function experiment(name: string, extra: { labels?: Record<string, string>; spec?: Record<string, unknown> } = {}): Obj {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'Experiment',
    metadata: { name, ...(extra.labels ? { labels: extra.labels } : {}) },
    spec: {
      objective: { type: 'maximize', objectiveMetricName: 'accuracy' },
      algorithm: { algorithmName: 'random' },
      parallelTrialCount: 1,
      maxTrialCount: 3,
      parameters: [{ name: 'lr', parameterType: 'double', feasibleSpace: { min: '0.01', max: '0.1' } }],
      ...extra.spec,
    },
  };
}

function trial(name: string, owner?: Obj): Obj {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'Trial',
    metadata: {
      name,
      ...(owner
        ? {
            ownerReferences: [
              { apiVersion: `${GROUP}/${VERSION}`, kind: 'Experiment', name: owner.metadata?.name ?? '', uid: owner.metadata?.uid ?? '', controller: true, blockOwnerDeletion: true },
            ],
          }
        : {}),
    },
    spec: { parameterAssignments: [{ name: 'lr', value: '0.05' }] },
  };
}

const create = (plural: string, body: Obj): Promise<Obj> => custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural, body });
const get = (plural: string, name: string): Promise<Obj> => custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural, name });
const replace = (plural: string, body: Obj): Promise<Obj> =>
  custom.replaceNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural, name: body.metadata?.name ?? '', body });
const remove = (plural: string, name: string, propagationPolicy?: string): Promise<unknown> =>
  custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural, name, ...(propagationPolicy ? { propagationPolicy } : {}) });
const list = async (plural: string, labelSelector?: string): Promise<Obj[]> => {
  const result: { items: Obj[] } = await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural, ...(labelSelector ? { labelSelector } : {}) });
  return result.items;
};
const names = (items: readonly KubernetesObject[]): string[] => items.map((i) => i.metadata?.name ?? '').sort();
const exists = async (plural: string, name: string): Promise<boolean> => {
  try {
    await get(plural, name);
    return true;
  } catch (err) {
    if (apiStatus(err)?.code === 404) return false;
    throw err;
  }
};

describe('CRUD through CustomObjectsApi', () => {
  it('creates with server-set metadata, reads it back and lists it', async () => {
    const created = await create('experiments', experiment('crud-a'));
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata?.resourceVersion).toMatch(/^[0-9]+$/);
    expect(created.metadata?.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(created.metadata?.generation).toBe(1);
    expect(created.metadata?.namespace).toBe(ns);
    const read = await get('experiments', 'crud-a');
    expect(read).toEqual(created);
    expect(names(await list('experiments'))).toContain('crud-a');
  });

  it('bumps resourceVersion on every change and generation only when the spec changes', async () => {
    const created = await create('experiments', experiment('crud-gen'));
    const relabelled = await replace('experiments', { ...created, metadata: { ...created.metadata, labels: { team: 'a' } } });
    expect(Number(relabelled.metadata?.resourceVersion)).toBeGreaterThan(Number(created.metadata?.resourceVersion));
    expect(relabelled.metadata?.generation).toBe(1);
    const respecced = await replace('experiments', { ...relabelled, spec: { ...relabelled.spec, maxTrialCount: 5 } });
    expect(respecced.metadata?.generation).toBe(2);
    expect(respecced.spec?.maxTrialCount).toBe(5);
  });

  it('leaves the resourceVersion alone on an update that changes nothing', async () => {
    const created = await create('experiments', experiment('crud-noop'));
    const same = await replace('experiments', created);
    expect(same.metadata?.resourceVersion).toBe(created.metadata?.resourceVersion);
  });

  it('names objects from generateName', async () => {
    const body = experiment('');
    body.metadata = { generateName: 'gen-' };
    const created = await create('experiments', body);
    expect(created.metadata?.name).toMatch(/^gen-[a-z0-9]{5}$/);
    expect(created.metadata?.generateName).toBe('gen-');
  });

  it('deletes, after which reads are 404', async () => {
    await create('experiments', experiment('crud-del'));
    await remove('experiments', 'crud-del');
    expect(await exists('experiments', 'crud-del')).toBe(false);
  });

  it('works through KubernetesObjectApi, which resolves kinds by discovery', async () => {
    const objects = KubernetesObjectApi.makeApiClient(kc);
    const cm: KubernetesObject & { data: Record<string, string> } = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'objapi-cm', namespace: ns }, data: { a: '1' } };
    const created = await objects.create(cm);
    expect(created.metadata?.uid).toBeTruthy();
    const exp = await objects.create<Obj>({ ...experiment('objapi-exp'), metadata: { name: 'objapi-exp', namespace: ns } });
    expect(exp.kind).toBe('Experiment');
    const read = await objects.read({ apiVersion: `${GROUP}/${VERSION}`, kind: 'Experiment', metadata: { name: 'objapi-exp', namespace: ns } });
    expect(read.metadata?.uid).toBe(exp.metadata?.uid);
    const listed = await objects.list('v1', 'ConfigMap', ns);
    expect(names(listed.items)).toContain('objapi-cm');
    const replaced = await objects.replace({ ...created, data: { a: '2' } });
    expect(replaced.data).toEqual({ a: '2' });
    await objects.delete({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'objapi-cm', namespace: ns } });
    const status = await expectApiError(core.readNamespacedConfigMap({ name: 'objapi-cm', namespace: ns }));
    expect(status.code).toBe(404);
  });

  it('serves cluster-scoped resources and the core API (namespaces, leases)', async () => {
    const namespaces = await core.listNamespace();
    expect(names(namespaces.items)).toContain(ns);
    const leases = kc.makeApiClient(CoordinationV1Api);
    const lease = await leases.createNamespacedLease({
      namespace: ns,
      body: { metadata: { name: 'leader' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15 } },
    });
    const renewed = await leases.replaceNamespacedLease({ namespace: ns, name: 'leader', body: { ...lease, spec: { ...lease.spec, holderIdentity: 'b' } } });
    expect(renewed.spec?.holderIdentity).toBe('b');
    const stale = await expectApiError(leases.replaceNamespacedLease({ namespace: ns, name: 'leader', body: { ...lease, spec: { ...lease.spec, holderIdentity: 'c' } } }));
    expect(stale.code).toBe(409);
    expect(stale.reason).toBe('Conflict');
  });
});

describe('errors are Status objects', () => {
  it('404 NotFound names the resource and the object', async () => {
    const status = await expectApiError(get('experiments', 'missing'));
    expect(status).toMatchObject({
      code: 404,
      reason: 'NotFound',
      message: 'experiments.kubeflow.org "missing" not found',
      details: { name: 'missing', group: 'kubeflow.org', kind: 'experiments' },
    });
  });

  it('409 AlreadyExists on a second create', async () => {
    await create('experiments', experiment('dup'));
    const status = await expectApiError(create('experiments', experiment('dup')));
    expect(status).toMatchObject({ code: 409, reason: 'AlreadyExists', message: 'experiments.kubeflow.org "dup" already exists' });
  });

  it('409 Conflict on an update with a stale resourceVersion', async () => {
    const created = await create('experiments', experiment('stale'));
    await replace('experiments', { ...created, spec: { ...created.spec, maxTrialCount: 4 } });
    const status = await expectApiError(replace('experiments', { ...created, spec: { ...created.spec, maxTrialCount: 6 } }));
    expect(status).toMatchObject({
      code: 409,
      reason: 'Conflict',
      message: 'Operation cannot be fulfilled on experiments.kubeflow.org "stale": the object has been modified; please apply your changes to the latest version and try again',
    });
    expect((await get('experiments', 'stale')).spec?.maxTrialCount).toBe(4);
  });

  it.each([
    {
      name: 'no name and no generateName',
      body: (): Obj => ({ ...experiment('x'), metadata: {} }),
      field: 'metadata.name',
      message: 'Experiment.kubeflow.org "" is invalid: metadata.name: Required value: name or generateName is required',
    },
    {
      name: 'a name that is not DNS-1123',
      body: (): Obj => experiment('Bad_Name'),
      field: 'metadata.name',
      message: 'Experiment.kubeflow.org "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of',
    },
    {
      name: 'a kind that is not the resource kind',
      body: (): Obj => ({ ...experiment('wrong-kind'), kind: 'Trial' }),
      field: 'kind',
      message: 'Experiment.kubeflow.org "wrong-kind" is invalid: kind: Invalid value: "Trial": must be Experiment',
    },
    {
      name: 'a label value over 63 characters',
      body: (): Obj => experiment('long-label', { labels: { trial: 'x'.repeat(64) } }),
      field: 'metadata.labels',
      message: 'metadata.labels: Invalid value: "xxxxxxxx',
    },
    {
      name: 'a value outside the CRD schema enum',
      body: (): Obj => experiment('bad-enum', { spec: { resumePolicy: 'Sometimes' } }),
      field: 'spec.resumePolicy',
      message: 'spec.resumePolicy: Unsupported value: "Sometimes": supported values: "Never", "LongRunning", "FromVolume"',
    },
    {
      name: 'a value of the wrong type',
      body: (): Obj => experiment('bad-type', { spec: { maxTrialCount: 'three' } }),
      field: 'spec.maxTrialCount',
      message: 'spec.maxTrialCount: Invalid value: "string": spec.maxTrialCount in body must be of type integer: "string"',
    },
  ])('422 Invalid for $name', async ({ body, field, message }) => {
    const status = await expectApiError(create('experiments', body()));
    expect(status.code).toBe(422);
    expect(status.reason).toBe('Invalid');
    expect(status.message).toContain(message);
    expect(status.details?.causes).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
  });

  it('400 BadRequest when apiVersion does not match the URL', async () => {
    const status = await expectApiError(create('experiments', { ...experiment('wrong-version'), apiVersion: 'kubeflow.org/v1' }));
    expect(status.code).toBe(400);
    expect(status.reason).toBe('BadRequest');
  });
});

describe('status subresource', () => {
  it('drops status on create', async () => {
    const created = await create('experiments', { ...experiment('status-create'), status: { trials: 3 } });
    expect(created.status).toBeUndefined();
  });

  it('PUT .../status changes status only; PUT on the object ignores status', async () => {
    const created = await create('experiments', experiment('status-put'));
    const conditions = [{ type: 'Created', status: 'True', reason: 'ExperimentCreated', message: 'created' }];
    const withStatus: Obj = await custom.replaceNamespacedCustomObjectStatus({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: 'experiments',
      name: 'status-put',
      body: { ...created, spec: { ...created.spec, maxTrialCount: 99 }, status: { conditions } },
    });
    expect(withStatus.status?.conditions).toEqual(conditions);
    expect(withStatus.spec?.maxTrialCount).toBe(3);
    expect(withStatus.metadata?.generation).toBe(1);
    const main = await replace('experiments', { ...withStatus, spec: { ...withStatus.spec, maxTrialCount: 7 }, status: { trials: 42 } });
    expect(main.spec?.maxTrialCount).toBe(7);
    expect(main.status).toEqual({ conditions });
  });

  it('PATCH .../status with a merge patch; a stale resourceVersion in the patch conflicts', async () => {
    const created = await create('experiments', experiment('status-patch'));
    const patched: Obj = await custom.patchNamespacedCustomObjectStatus(
      { group: GROUP, version: VERSION, namespace: ns, plural: 'experiments', name: 'status-patch', body: { status: { trials: 2 }, spec: { maxTrialCount: 50 } } },
      mergePatch,
    );
    expect(patched.status).toEqual({ trials: 2 });
    expect(patched.spec?.maxTrialCount).toBe(3);
    const status = await expectApiError(
      custom.patchNamespacedCustomObjectStatus(
        { group: GROUP, version: VERSION, namespace: ns, plural: 'experiments', name: 'status-patch', body: { metadata: { resourceVersion: created.metadata?.resourceVersion }, status: { trials: 3 } } },
        mergePatch,
      ),
    );
    expect(status.code).toBe(409);
  });
});

describe('PATCH', () => {
  it('merge patch (RFC 7386): objects merge, null deletes, lists are replaced', async () => {
    await create('experiments', experiment('merge', { labels: { a: '1', b: '2' } }));
    const patched: Obj = await custom.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        namespace: ns,
        plural: 'experiments',
        name: 'merge',
        body: { metadata: { labels: { b: null, c: '3' } }, spec: { maxTrialCount: 9, parameters: [{ name: 'x', parameterType: 'int', feasibleSpace: { min: '1', max: '2' } }] } },
      },
      mergePatch,
    );
    expect(patched.metadata?.labels).toEqual({ a: '1', c: '3' });
    expect(patched.spec?.maxTrialCount).toBe(9);
    expect(patched.spec?.parameters).toEqual([{ name: 'x', parameterType: 'int', feasibleSpace: { min: '1', max: '2' } }]);
    expect(patched.spec?.objective).toEqual({ type: 'maximize', objectiveMetricName: 'accuracy' });
  });

  it('JSON patch (RFC 6902) is what CustomObjectsApi sends by default; a failed test op changes nothing', async () => {
    const created = await create('experiments', experiment('jsonpatch'));
    const patched: Obj = await custom.patchNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: 'experiments',
      name: 'jsonpatch',
      body: [
        { op: 'test', path: '/spec/maxTrialCount', value: 3 },
        { op: 'replace', path: '/spec/maxTrialCount', value: 4 },
        { op: 'add', path: '/metadata/labels', value: { 'katib.kubeflow.org/experiment': 'jsonpatch' } },
        { op: 'add', path: '/spec/parameters/-', value: { name: 'batch', parameterType: 'categorical', feasibleSpace: { list: ['16', '32'] } } },
      ],
    });
    expect(patched.spec?.maxTrialCount).toBe(4);
    expect(patched.metadata?.labels).toEqual({ 'katib.kubeflow.org/experiment': 'jsonpatch' });
    expect((patched.spec?.parameters as unknown[]).length).toBe(2);
    const failed = await expectApiError(
      custom.patchNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: ns,
        plural: 'experiments',
        name: 'jsonpatch',
        body: [
          { op: 'replace', path: '/spec/maxTrialCount', value: 10 },
          { op: 'test', path: '/metadata/uid', value: 'not-the-uid' },
        ],
      }),
    );
    expect(failed.code).toBe(422);
    const after = await get('experiments', 'jsonpatch');
    expect(after.spec?.maxTrialCount).toBe(4);
    expect(after.metadata?.uid).toBe(created.metadata?.uid);
  });

  it('a merge-patch body sent without the merge-patch content type is a 400 (the default is JSON patch)', async () => {
    await create('experiments', experiment('wrong-patch-type'));
    const status = await expectApiError(
      custom.patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: 'experiments', name: 'wrong-patch-type', body: { spec: { maxTrialCount: 5 } } }),
    );
    expect(status.code).toBe(400);
  });

  it('strategic merge patch is refused (415) on custom resources and merges on built-in ones', async () => {
    await create('experiments', experiment('smp'));
    const refused = await expectApiError(
      custom.patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: 'experiments', name: 'smp', body: { spec: { maxTrialCount: 5 } } }, strategicPatch),
    );
    expect(refused.code).toBe(415);
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'smp-cm' }, data: { a: '1' } } });
    const cm = await core.patchNamespacedConfigMap({ namespace: ns, name: 'smp-cm', body: { data: { b: '2' } } }, strategicPatch);
    expect(cm.data).toEqual({ a: '1', b: '2' });
  });
});

describe('LIST with selectors', () => {
  const labelled: [string, Record<string, string>][] = [
    ['sel-a', { tier: 'web', env: 'prod' }],
    ['sel-b', { tier: 'web', env: 'dev' }],
    ['sel-c', { tier: 'db' }],
    ['sel-d', {}],
  ];
  beforeAll(async () => {
    for (const [name, labels] of labelled) {
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name, labels: { ...labels, suite: 'selectors' } } } });
    }
  });

  it.each([
    { name: 'equality', selector: 'tier=web', expected: ['sel-a', 'sel-b'] },
    { name: 'double equals', selector: 'tier==db', expected: ['sel-c'] },
    { name: 'inequality (includes missing keys)', selector: 'tier!=web', expected: ['sel-c', 'sel-d'] },
    { name: 'set membership', selector: 'env in (prod, staging)', expected: ['sel-a'] },
    { name: 'set exclusion', selector: 'env notin (prod)', expected: ['sel-b', 'sel-c', 'sel-d'] },
    { name: 'key exists', selector: 'env', expected: ['sel-a', 'sel-b'] },
    { name: 'key absent', selector: '!tier', expected: ['sel-d'] },
    { name: 'conjunction', selector: 'tier=web,env!=prod', expected: ['sel-b'] },
  ])('labelSelector: $name ($selector)', async ({ selector, expected }) => {
    const result = await core.listNamespacedConfigMap({ namespace: ns, labelSelector: `suite=selectors,${selector}` });
    expect(names(result.items)).toEqual(expected);
  });

  it('fieldSelector on metadata.name', async () => {
    const result = await core.listNamespacedConfigMap({ namespace: ns, fieldSelector: 'metadata.name=sel-c' });
    expect(names(result.items)).toEqual(['sel-c']);
    const not = await core.listNamespacedConfigMap({ namespace: ns, labelSelector: 'suite=selectors', fieldSelector: 'metadata.name!=sel-c' });
    expect(names(not.items)).toEqual(['sel-a', 'sel-b', 'sel-d']);
  });

  it('a malformed selector is a 400', async () => {
    const status = await expectApiError(core.listNamespacedConfigMap({ namespace: ns, labelSelector: 'tier in (web' }));
    expect(status.code).toBe(400);
  });

  it('pages with limit and continue', async () => {
    const first = await core.listNamespacedConfigMap({ namespace: ns, labelSelector: 'suite=selectors', limit: 3 });
    expect(first.items).toHaveLength(3);
    expect(first.metadata?._continue).toBeTruthy();
    const second = await core.listNamespacedConfigMap({ namespace: ns, labelSelector: 'suite=selectors', limit: 3, _continue: first.metadata?._continue ?? '' });
    expect(names([...first.items, ...second.items])).toEqual(['sel-a', 'sel-b', 'sel-c', 'sel-d']);
    expect(second.metadata?._continue ?? '').toBe('');
  });

  it('lists carry a resourceVersion, and items of custom resources carry apiVersion and kind', async () => {
    await create('trials', trial('list-rv'));
    const result: { metadata: { resourceVersion: string }; items: Obj[] } = await custom.listNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: 'trials',
    });
    expect(result.metadata.resourceVersion).toMatch(/^[0-9]+$/);
    expect(result.items.find((t) => t.metadata?.name === 'list-rv')).toMatchObject({ apiVersion: `${GROUP}/${VERSION}`, kind: 'Trial' });
  });
});

interface SeenEvent {
  type: string;
  name: string;
}

/** Watches `path` with the client's Watch until `until` says stop; returns the events seen. */
async function watchEvents(path: string, query: Record<string, string>, until: (seen: SeenEvent[]) => boolean, timeoutMs = 10_000): Promise<SeenEvent[]> {
  const seen: SeenEvent[] = [];
  let controller: AbortController | undefined;
  const finished = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`watch ${path} timed out; saw ${JSON.stringify(seen)}`)), timeoutMs);
    void new Watch(kc)
      .watch(
        path,
        query,
        (type, obj: KubernetesObject) => {
          seen.push({ type, name: type === 'ERROR' ? String((obj as { code?: number }).code) : (obj.metadata?.name ?? '') });
          if (until(seen)) {
            clearTimeout(timer);
            resolve();
          }
        },
        (err: unknown) => {
          clearTimeout(timer);
          if (until(seen)) resolve();
          else reject(err instanceof Error ? err : new Error(`watch ended early: ${String(err)}; saw ${JSON.stringify(seen)}`));
        },
      )
      .then((c) => {
        controller = c;
      }, reject);
  });
  try {
    await finished;
  } finally {
    controller?.abort();
  }
  return seen;
}

describe('WATCH', () => {
  const trialsPath = (): string => `/apis/${GROUP}/${VERSION}/namespaces/${ns}/trials`;

  it('replays the changes after a list resourceVersion, in order', async () => {
    await create('trials', trial('w-a'));
    const listed: { metadata: { resourceVersion: string } } = await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: 'trials' });
    await create('trials', trial('w-b'));
    const a = await get('trials', 'w-a');
    await replace('trials', { ...a, metadata: { ...a.metadata, labels: { touched: 'yes' } } });
    await remove('trials', 'w-b');
    const events = await watchEvents(trialsPath(), { resourceVersion: listed.metadata.resourceVersion }, (seen) => seen.length >= 3);
    expect(events).toEqual([
      { type: 'ADDED', name: 'w-b' },
      { type: 'MODIFIED', name: 'w-a' },
      { type: 'DELETED', name: 'w-b' },
    ]);
  });

  it('without a resourceVersion starts with an ADDED event per existing object', async () => {
    await create('trials', trial('w-initial'));
    const events = await watchEvents(trialsPath(), { fieldSelector: 'metadata.name=w-initial' }, (seen) => seen.length >= 1);
    expect(events).toEqual([{ type: 'ADDED', name: 'w-initial' }]);
  });

  it('with a label selector, objects entering and leaving the selection are ADDED and DELETED', async () => {
    const created = await create('trials', trial('w-sel'));
    const listed: { metadata: { resourceVersion: string } } = await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: 'trials' });
    const labelled = await replace('trials', { ...created, metadata: { ...created.metadata, labels: { watched: 'yes' } } });
    const modified = await replace('trials', { ...labelled, metadata: { ...labelled.metadata, labels: { watched: 'yes', extra: '1' } } });
    await replace('trials', { ...modified, metadata: { ...modified.metadata, labels: { watched: 'no' } } });
    const events = await watchEvents(trialsPath(), { resourceVersion: listed.metadata.resourceVersion, labelSelector: 'watched=yes' }, (seen) => seen.length >= 3);
    expect(events).toEqual([
      { type: 'ADDED', name: 'w-sel' },
      { type: 'MODIFIED', name: 'w-sel' },
      { type: 'DELETED', name: 'w-sel' },
    ]);
  });

  it.skipIf(real)('a resourceVersion older than the retained history gets a 410 Expired ERROR event', async () => {
    const created = await create('trials', trial('w-expired'));
    await create('trials', trial('w-expired-later'));
    cluster.fake?.compact();
    const events = await watchEvents(trialsPath(), { resourceVersion: created.metadata?.resourceVersion ?? '' }, (seen) => seen.some((e) => e.type === 'ERROR'));
    expect(events).toEqual([{ type: 'ERROR', name: '410' }]);
  });

  it.skipIf(real)('sends BOOKMARK events when asked to', async () => {
    const events = await watchEvents(trialsPath(), { allowWatchBookmarks: 'true', fieldSelector: 'metadata.name=none' }, (seen) => seen.some((e) => e.type === 'BOOKMARK'));
    expect(events.map((e) => e.type)).toContain('BOOKMARK');
  });

  it('an informer sees adds, updates and deletes, and keeps going after its watch is dropped', async () => {
    const informer = makeInformer(kc, trialsPath(), () => custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: 'trials', labelSelector: 'inf=1' }), 'inf=1');
    const seen: string[] = [];
    informer.on('add', (o) => seen.push(`add ${o.metadata?.name}`));
    informer.on('update', (o) => seen.push(`update ${o.metadata?.name} ${o.metadata?.labels?.step ?? ''}`));
    informer.on('delete', (o) => seen.push(`delete ${o.metadata?.name}`));
    informer.on('error', (err) => seen.push(`error ${String(err)}`));
    await informer.start();
    try {
      const body = trial('inf-a');
      body.metadata = { ...body.metadata, labels: { inf: '1' } };
      const created = await create('trials', body);
      await eventually(() => expect(seen).toContain('add inf-a'));
      await replace('trials', { ...created, metadata: { ...created.metadata, labels: { inf: '1', step: '2' } } });
      await eventually(() => expect(seen).toContain('update inf-a 2'));
      cluster.fake?.disconnectWatches();
      const second = trial('inf-b');
      second.metadata = { ...second.metadata, labels: { inf: '1' } };
      await create('trials', second);
      await remove('trials', 'inf-a');
      await eventually(() => expect(seen).toEqual(expect.arrayContaining(['add inf-b', 'delete inf-a'])));
      expect(seen.filter((s) => s.startsWith('error'))).toEqual([]);
    } finally {
      await informer.stop();
    }
  });

  it.skipIf(real)('an informer relists after its resourceVersion expires', async () => {
    const informer = makeInformer(kc, trialsPath(), () => custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: 'trials', labelSelector: 'relist=1' }), 'relist=1');
    const added: string[] = [];
    informer.on('add', (o) => added.push(o.metadata?.name ?? ''));
    await informer.start();
    try {
      const body = trial('relist-a');
      body.metadata = { ...body.metadata, labels: { relist: '1' } };
      await create('trials', body);
      await eventually(() => expect(added).toContain('relist-a'));
      cluster.fake?.compact();
      cluster.fake?.disconnectWatches();
      const later = trial('relist-b');
      later.metadata = { ...later.metadata, labels: { relist: '1' } };
      await create('trials', later);
      await eventually(() => expect(added).toContain('relist-b'));
    } finally {
      await informer.stop();
    }
  });
});

describe('deletion', () => {
  it('background cascade: dependents go after their owner', async () => {
    const owner = await create('experiments', experiment('gc-bg'));
    await create('trials', trial('gc-bg-1', owner));
    await create('trials', trial('gc-bg-2', owner));
    await remove('experiments', 'gc-bg', 'Background');
    await eventually(async () => {
      expect(await exists('trials', 'gc-bg-1')).toBe(false);
      expect(await exists('trials', 'gc-bg-2')).toBe(false);
    });
  });

  it('foreground cascade: the owner stays, marked for deletion, until its dependents are gone', async () => {
    const owner = await create('experiments', experiment('gc-fg'));
    const dependent = trial('gc-fg-1', owner);
    dependent.metadata = { ...dependent.metadata, finalizers: ['katib.kubeflow.org/test-hold'] };
    await create('trials', dependent);
    await remove('experiments', 'gc-fg', 'Foreground');
    const pending = await get('experiments', 'gc-fg');
    expect(pending.metadata?.deletionTimestamp).toBeTruthy();
    expect(pending.metadata?.finalizers).toContain('foregroundDeletion');
    await eventually(async () => expect((await get('trials', 'gc-fg-1')).metadata?.deletionTimestamp).toBeTruthy());
    expect(await exists('experiments', 'gc-fg')).toBe(true);
    await custom.patchNamespacedCustomObject(
      { group: GROUP, version: VERSION, namespace: ns, plural: 'trials', name: 'gc-fg-1', body: { metadata: { finalizers: null } } },
      mergePatch,
    );
    await eventually(async () => {
      expect(await exists('trials', 'gc-fg-1')).toBe(false);
      expect(await exists('experiments', 'gc-fg')).toBe(false);
    });
  });

  it('orphan: dependents stay and lose their owner reference', async () => {
    const owner = await create('experiments', experiment('gc-orphan'));
    await create('trials', trial('gc-orphan-1', owner));
    await remove('experiments', 'gc-orphan', 'Orphan');
    await eventually(async () => {
      expect(await exists('experiments', 'gc-orphan')).toBe(false);
      expect((await get('trials', 'gc-orphan-1')).metadata?.ownerReferences).toBeUndefined();
    });
  });

  it('finalizers hold an object with a deletionTimestamp until they are removed', async () => {
    const body = experiment('fin');
    body.metadata = { ...body.metadata, finalizers: ['katib.kubeflow.org/cleanup'] };
    await create('experiments', body);
    const deleted = (await remove('experiments', 'fin')) as Obj;
    expect(deleted.metadata?.deletionTimestamp).toBeTruthy();
    const held = await get('experiments', 'fin');
    expect(held.metadata?.deletionTimestamp).toBeTruthy();
    expect(held.metadata?.finalizers).toEqual(['katib.kubeflow.org/cleanup']);
    const added = await expectApiError(replace('experiments', { ...held, metadata: { ...held.metadata, finalizers: ['katib.kubeflow.org/cleanup', 'katib.kubeflow.org/more'] } }));
    expect(added.code).toBe(422);
    await replace('experiments', { ...held, metadata: { ...held.metadata, finalizers: [] } });
    expect(await exists('experiments', 'fin')).toBe(false);
  });

  it('deletes a collection by label', async () => {
    for (const name of ['dc-a', 'dc-b', 'dc-keep']) {
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name, labels: { dc: name === 'dc-keep' ? 'keep' : 'drop' } } } });
    }
    await core.deleteCollectionNamespacedConfigMap({ namespace: ns, labelSelector: 'dc=drop' });
    const left = await core.listNamespacedConfigMap({ namespace: ns, labelSelector: 'dc' });
    expect(names(left.items)).toEqual(['dc-keep']);
  });

  it('a namespace being deleted takes its objects with it', async () => {
    const doomed = `${ns}-doomed`;
    await core.createNamespace({ body: { metadata: { name: doomed } } });
    await core.createNamespacedConfigMap({ namespace: doomed, body: { metadata: { name: 'inside' } } });
    await core.deleteNamespace({ name: doomed });
    await eventually(async () => expect((await expectApiError(core.readNamespace({ name: doomed }))).code).toBe(404), { timeoutMs: 60_000, intervalMs: 100 });
    const created = await expectApiError(core.createNamespacedConfigMap({ namespace: doomed, body: { metadata: { name: 'late' } } }));
    expect(created.code).toBe(404);
  });
});

describe('CustomResourceDefinitions', () => {
  const group = 'test.katib-ts.dev';
  const crd = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `widgets.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: { type: 'object', required: ['size'], properties: { size: { type: 'integer', minimum: 1 }, color: { type: 'string', enum: ['red', 'blue'] } } },
                status: { type: 'object', properties: { ready: { type: 'boolean' } } },
              },
            },
          },
        },
      ],
    },
  };

  it('creating a CRD serves its resource, prunes unknown fields and validates; deleting it stops serving', async () => {
    const ext = kc.makeApiClient(ApiextensionsV1Api);
    // Created as raw JSON: the typed ApiextensionsV1Api serializes by TypeScript names and would drop `enum` (`_enum`).
    await custom.createClusterCustomObject({ group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions', body: crd });
    try {
      await eventually(async () => {
        const read = await ext.readCustomResourceDefinition({ name: crd.metadata.name });
        expect(read.status?.conditions?.find((c) => c.type === 'Established')?.status).toBe('True');
      });
      const widget = await eventually(() =>
        custom.createNamespacedCustomObject({
          group,
          version: 'v1',
          namespace: ns,
          plural: 'widgets',
          body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w' }, spec: { size: 2, color: 'red', unknown: 'dropped' } },
        }),
      );
      expect((widget as Obj).spec).toEqual({ size: 2, color: 'red' });
      const invalid = await expectApiError(
        custom.createNamespacedCustomObject({
          group,
          version: 'v1',
          namespace: ns,
          plural: 'widgets',
          body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w2' }, spec: { size: 0, color: 'green' } },
        }),
      );
      expect(invalid.code).toBe(422);
      expect(invalid.message).toContain('spec.color: Unsupported value: "green": supported values: "red", "blue"');
      expect(invalid.message).toContain('spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1');
    } finally {
      await ext.deleteCustomResourceDefinition({ name: crd.metadata.name });
    }
    await eventually(async () => {
      const gone = await expectApiError(custom.listNamespacedCustomObject({ group, version: 'v1', namespace: ns, plural: 'widgets' }));
      expect(gone.code).toBe(404);
    }, { timeoutMs: 30_000, intervalMs: 100 });
  });

  it('the Katib CRD schema prunes fields the types do not declare and keeps trialSpec as written', async () => {
    const body = experiment('prune', {
      spec: {
        notAField: true,
        trialTemplate: { trialSpec: { apiVersion: 'batch/v1', kind: 'Job', spec: { anything: { goes: [1, 2] } } }, primaryContainerName: 'training' },
      },
    });
    const created = await create('experiments', body);
    expect(created.spec?.notAField).toBeUndefined();
    expect(created.spec?.trialTemplate).toEqual({ trialSpec: { apiVersion: 'batch/v1', kind: 'Job', spec: { anything: { goes: [1, 2] } } }, primaryContainerName: 'training' });
  });
});

describe.skipIf(real)('fake-only controls', () => {
  it('injected faults fail the matching request once', async () => {
    cluster.fake?.injectFault({ verb: 'create', resource: 'trials', code: 500, message: 'etcd is down' });
    const failed = await expectApiError(create('trials', trial('fault-a')));
    expect(failed).toMatchObject({ code: 500, reason: 'InternalError', message: 'etcd is down' });
    await create('trials', trial('fault-a'));
  });

  it('records each request with its RBAC verb', async () => {
    await create('trials', trial('rec-a'));
    await custom.patchNamespacedCustomObjectStatus({ group: GROUP, version: VERSION, namespace: ns, plural: 'trials', name: 'rec-a', body: { status: { conditions: [] } } }, mergePatch);
    const recorded = cluster.fake?.requests().filter((r) => r.name === 'rec-a' || (r.verb === 'create' && r.resource === 'trials')) ?? [];
    expect(recorded.map((r) => `${r.verb} ${r.resource}${r.subresource ? `/${r.subresource}` : ''} ${r.contentType ?? ''}`)).toContain(
      'patch trials/status application/merge-patch+json',
    );
  });

  it('refuses an object larger than etcd accepts with 413', async () => {
    const big = experiment('big', { labels: {} });
    big.metadata = { ...big.metadata, annotations: { note: 'x'.repeat(200_000) } };
    big.spec = { ...big.spec, parameters: Array.from({ length: 3000 }, (_, i) => ({ name: `p${i}`.padEnd(500, 'x'), parameterType: 'int', feasibleSpace: { min: '1', max: '2' } })) };
    const status = await expectApiError(create('experiments', big));
    expect(status.code).toBe(413);
  });
});

describe('jobs run to completion', () => {
  // On a real cluster its own Job controller and kubelet run the Job (image node:20-slim); on the fake, the simulated node.
  let node: SimulatedNode | undefined;
  beforeAll(async () => {
    if (cluster.fake) {
      node = new SimulatedNode({ kubeConfig: kc, server: cluster.fake, namespace: ns });
      await node.start();
    }
  });
  afterAll(async () => {
    await node?.stop();
  });

  function job(name: string, script: string): V1Job {
    return {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name },
      spec: {
        backoffLimit: 0,
        template: {
          metadata: { labels: { 'katib.kubeflow.org/trial': name } },
          spec: { restartPolicy: 'Never', containers: [{ name: 'training', image: 'node:20-slim', command: ['node', '-e', script] }] },
        },
      },
    };
  }

  const condition = (j: V1Job, type: string): string | undefined => j.status?.conditions?.find((c) => c.type === type)?.status;

  it('a Job whose command prints a metric completes, and its output is readable as the pod log', async () => {
    await batch.createNamespacedJob({ namespace: ns, body: job('metric-job', "console.log('accuracy=0.9')") });
    const done = await eventually(
      async () => {
        const j = await batch.readNamespacedJob({ namespace: ns, name: 'metric-job' });
        expect(condition(j, 'Complete')).toBe('True');
        return j;
      },
      { timeoutMs: 120_000, intervalMs: 50 },
    );
    expect(done.status?.succeeded).toBe(1);
    expect(done.status?.startTime).toBeTruthy();
    expect(done.status?.completionTime).toBeTruthy();
    const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: 'batch.kubernetes.io/job-name=metric-job' });
    expect(pods.items).toHaveLength(1);
    const log = await core.readNamespacedPodLog({ namespace: ns, name: pods.items[0]?.metadata?.name ?? '', container: 'training' });
    expect(log).toContain('accuracy=0.9');
    if (node) expect(await readFile(node.logPath({ kind: 'Job', namespace: ns, name: 'metric-job' }), 'utf8')).toBe('accuracy=0.9\n');
  });

  it('a Job whose command exits non-zero fails', async () => {
    await batch.createNamespacedJob({ namespace: ns, body: job('failing-job', 'process.exit(3)') });
    const failed = await eventually(
      async () => {
        const j = await batch.readNamespacedJob({ namespace: ns, name: 'failing-job' });
        expect(condition(j, 'Failed')).toBe('True');
        return j;
      },
      { timeoutMs: 120_000, intervalMs: 50 },
    );
    expect(failed.status?.failed).toBe(1);
    expect(condition(failed, 'Complete')).toBeUndefined();
  });
});

describe.skipIf(real)('the simulated node', () => {
  let node: SimulatedNode;
  beforeAll(async () => {
    node = new SimulatedNode({ kubeConfig: kc, server: cluster.fake, namespace: ns, killGraceMs: 500 });
    await node.start();
  });
  afterAll(async () => {
    await node.stop();
  });

  const pod = (containers: Record<string, unknown>[], backoffLimit = 0): V1Job['spec'] => ({
    backoffLimit,
    template: { spec: { restartPolicy: 'Never', containers: containers as never } },
  });

  it('kills the process when its Job is deleted', async () => {
    await batch.createNamespacedJob({
      namespace: ns,
      body: { metadata: { name: 'long-job' }, spec: pod([{ name: 'training', command: ['node', '-e', "console.log('started'); setInterval(() => {}, 1000)"] }]) },
    });
    const ref = { kind: 'Job', namespace: ns, name: 'long-job' } as const;
    await eventually(async () => expect(await readFile(node.logPath(ref), 'utf8')).toContain('started'), { timeoutMs: 30_000 });
    await batch.deleteNamespacedJob({ namespace: ns, name: 'long-job', propagationPolicy: 'Background' });
    const outcome = await node.finished(ref);
    expect(outcome.killed).toBe(true);
    expect(outcome.succeeded).toBe(false);
    expect(Object.values(outcome.exitCodes).flatMap((codes) => Object.values(codes))).toEqual([null]);
  });

  it('runs a sidecar beside the primary container; the sidecar reads the primary log once it has exited', async () => {
    const sidecar = [
      "const fs = require('fs'), path = require('path');",
      'const dir = process.env.KATIB_SIMULATED_POD_DIR;',
      "const timer = setInterval(() => { if (!fs.existsSync(path.join(dir, 'training.exit'))) return; clearInterval(timer);",
      "const m = fs.readFileSync(path.join(dir, 'training.log'), 'utf8').match(/accuracy=([0-9.]+)/); console.log('collected accuracy=' + (m ? m[1] : 'none')); }, 10);",
    ].join(' ');
    await batch.createNamespacedJob({
      namespace: ns,
      body: {
        metadata: { name: 'sidecar-job' },
        spec: pod([
          { name: 'training', command: ['node', '-e', "setTimeout(() => console.log('accuracy=0.93'), 50)"] },
          { name: 'metrics-logger-and-collector', command: ['node', '-e', sidecar] },
        ]),
      },
    });
    const ref = { kind: 'Job', namespace: ns, name: 'sidecar-job' } as const;
    const outcome = await node.finished(ref);
    expect(outcome.succeeded).toBe(true);
    expect(await readFile(node.logPath(ref, 'metrics-logger-and-collector'), 'utf8')).toBe('collected accuracy=0.93\n');
  });

  it("passes the container's env and expands $(VAR) in command and args", async () => {
    await batch.createNamespacedJob({
      namespace: ns,
      body: {
        metadata: { name: 'env-job' },
        spec: pod([{ name: 'training', command: ['node', '-e', 'console.log(process.argv[1], process.env.LR, process.env.POD_NAMESPACE)'], args: ['lr=$(LR)'], env: [{ name: 'LR', value: '0.1' }, { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } }] }]),
      },
    });
    const ref = { kind: 'Job', namespace: ns, name: 'env-job' } as const;
    expect((await node.finished(ref)).succeeded).toBe(true);
    expect(await readFile(node.logPath(ref), 'utf8')).toBe(`lr=0.1 0.1 ${ns}\n`);
  });

  it('retries a failing Job up to spec.backoffLimit', async () => {
    await batch.createNamespacedJob({ namespace: ns, body: { metadata: { name: 'retry-job' }, spec: pod([{ name: 'training', command: ['node', '-e', 'process.exit(1)'] }], 2) } });
    const outcome = await node.finished({ kind: 'Job', namespace: ns, name: 'retry-job' });
    expect(Object.keys(outcome.exitCodes)).toHaveLength(3);
    const job = await batch.readNamespacedJob({ namespace: ns, name: 'retry-job' });
    expect(job.status?.failed).toBe(3);
    expect(job.status?.conditions?.find((c) => c.type === 'Failed')).toMatchObject({ status: 'True', reason: 'BackoffLimitExceeded' });
  });

  it('runs a TrainJob on numNodes processes and marks it Complete', async () => {
    await custom.createNamespacedCustomObject({
      group: 'trainer.kubeflow.org',
      version: 'v1alpha1',
      namespace: ns,
      plural: 'trainjobs',
      body: {
        apiVersion: 'trainer.kubeflow.org/v1alpha1',
        kind: 'TrainJob',
        metadata: { name: 'train' },
        spec: {
          runtimeRef: { name: 'torch-distributed', kind: 'ClusterTrainingRuntime', apiGroup: 'trainer.kubeflow.org' },
          trainer: { image: 'node:20-slim', command: ['node', '-e', "console.log('rank=' + process.env.PET_NODE_RANK + ' of ' + process.env.PET_NNODES + ' loss=0.25')"], numNodes: 2 },
        },
      },
    });
    const ref = { kind: 'TrainJob', namespace: ns, name: 'train' } as const;
    expect((await node.finished(ref)).succeeded).toBe(true);
    expect(await readFile(node.logPath(ref), 'utf8')).toBe('rank=0 of 2 loss=0.25\n');
    const trainJob: Obj = await custom.getNamespacedCustomObject({ group: 'trainer.kubeflow.org', version: 'v1alpha1', namespace: ns, plural: 'trainjobs', name: 'train' });
    expect(trainJob.status?.conditions).toEqual([expect.objectContaining({ type: 'Complete', status: 'True' })]);
    const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: 'jobset.sigs.k8s.io/jobset-name=train' });
    expect(pods.items.map((p) => p.status?.phase)).toEqual(['Succeeded', 'Succeeded']);
  });

  it('runs a PyTorchJob master and workers and marks it Succeeded', async () => {
    const replica = (replicas: number): Record<string, unknown> => ({
      replicas,
      restartPolicy: 'Never',
      template: { spec: { containers: [{ name: 'pytorch', image: 'node:20-slim', command: ['node', '-e', 'console.log(process.env.RANK + "/" + process.env.WORLD_SIZE)'] }] } },
    });
    await custom.createNamespacedCustomObject({
      group: 'kubeflow.org',
      version: 'v1',
      namespace: ns,
      plural: 'pytorchjobs',
      body: { apiVersion: 'kubeflow.org/v1', kind: 'PyTorchJob', metadata: { name: 'torch' }, spec: { pytorchReplicaSpecs: { Master: replica(1), Worker: replica(2) } } },
    });
    const ref = { kind: 'PyTorchJob', namespace: ns, name: 'torch' } as const;
    expect((await node.finished(ref)).succeeded).toBe(true);
    expect(await readFile(node.logPath(ref), 'utf8')).toBe('0/3\n');
    const job: Obj = await custom.getNamespacedCustomObject({ group: 'kubeflow.org', version: 'v1', namespace: ns, plural: 'pytorchjobs', name: 'torch' });
    expect(job.status?.conditions).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: 'Succeeded', status: 'True' }), expect.objectContaining({ type: 'Running', status: 'False' })]),
    );
  });

  it('fails a container without a command, saying why', async () => {
    await batch.createNamespacedJob({ namespace: ns, body: { metadata: { name: 'no-command' }, spec: pod([{ name: 'training', image: 'python:3' }]) } });
    const ref = { kind: 'Job', namespace: ns, name: 'no-command' } as const;
    expect((await node.finished(ref)).succeeded).toBe(false);
    expect(await readFile(node.logPath(ref), 'utf8')).toContain('has no command');
  });
});
