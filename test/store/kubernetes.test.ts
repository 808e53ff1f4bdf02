/**
 * The Kubernetes store against an API server: the in-process fake by default, or the cluster named by
 * KATIB_TEST_KUBECONFIG (CRDs from manifests/crds are installed when missing). The shared conformance suite runs
 * unchanged: it uses the namespace "default", so each test gets a fresh namespace of its own and a thin wrapper maps
 * "default" onto it (on a real cluster nothing touches the real default namespace).
 */
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Experiment, SuggestionResource, Trial } from '../../src/api/types.js';
import { ConflictError, NotFoundError, UnavailableError } from '../../src/errors.js';
import { compareByCreation, experimentNameOf, KubernetesStore } from '../../src/store/kubernetes.js';
import type { ObjectKey, Store, StoreEvent } from '../../src/store/store.js';
import { loadCrds } from '../manifests/manifests.js';
import { apiStatus, connectTestCluster, eventually, usingRealCluster, type TestCluster } from '../support/kube-test-cluster.js';
import { experimentFixture, storeConformance, trialFixture } from './conformance.js';

const real = usingRealCluster();

/** Connects to the fake (with the Katib CRDs) or the real cluster, CRDs ensured. */
async function connect(): Promise<TestCluster> {
  const cluster = await connectTestCluster({ namespacePrefix: 'katib-store', fake: { crds: loadCrds(), bookmarkIntervalMs: 50 } });
  if (!cluster.fake) await ensureCrds(cluster.kubeConfig);
  return cluster;
}

let crdsEnsured = false;
async function ensureCrds(config: KubeConfig): Promise<void> {
  if (crdsEnsured) return;
  const api = config.makeApiClient(CustomObjectsApi);
  for (const crd of loadCrds()) {
    try {
      await api.createClusterCustomObject({ group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions', body: crd });
    } catch (err) {
      if (apiStatus(err)?.code !== 409) throw err;
    }
  }
  crdsEnsured = true;
}

/** Presents namespace `ns` of `inner` as "default": keys and objects in, objects and events out. */
class NamespaceMappedStore implements Store {
  constructor(
    private readonly inner: KubernetesStore,
    private readonly ns: string,
    private readonly onClose: () => Promise<void>,
  ) {}
  private key = (k: ObjectKey): ObjectKey => ({ ...k, namespace: k.namespace === 'default' ? this.ns : k.namespace });
  private in = <T extends { metadata: { namespace?: string } }>(o: T): T => ({ ...o, metadata: { ...o.metadata, namespace: this.key({ namespace: o.metadata.namespace ?? 'default', name: '' }).namespace } });
  private out = <T extends { metadata: { namespace?: string } }>(o: T): T => ({ ...o, metadata: { ...o.metadata, namespace: o.metadata.namespace === this.ns ? 'default' : o.metadata.namespace } });
  private back = (k: ObjectKey): ObjectKey => ({ ...k, namespace: k.namespace === this.ns ? 'default' : k.namespace });

  createExperiment = async (e: Experiment) => this.out(await this.inner.createExperiment(this.in(e)));
  getExperiment = async (k: ObjectKey) => {
    const e = await this.inner.getExperiment(this.key(k));
    return e && this.out(e);
  };
  listExperiments = async (namespace?: string) => (await this.inner.listExperiments(namespace === undefined ? this.ns : this.key({ namespace, name: '' }).namespace)).map(this.out);
  updateExperimentStatus = async (e: Experiment) => this.out(await this.inner.updateExperimentStatus(this.in(e)));
  deleteExperiment = (k: ObjectKey) => this.inner.deleteExperiment(this.key(k));
  createTrial = async (t: Trial) => this.out(await this.inner.createTrial(this.in(t)));
  getTrial = async (k: ObjectKey) => {
    const t = await this.inner.getTrial(this.key(k));
    return t && this.out(t);
  };
  listTrials = async (k: ObjectKey) => (await this.inner.listTrials(this.key(k))).map(this.out);
  updateTrialStatus = async (t: Trial) => this.out(await this.inner.updateTrialStatus(this.in(t)));
  createSuggestion = async (s: SuggestionResource) => this.out(await this.inner.createSuggestion(this.in(s)));
  getSuggestion = async (k: ObjectKey) => {
    const s = await this.inner.getSuggestion(this.key(k));
    return s && this.out(s);
  };
  updateSuggestion = async (s: SuggestionResource) => this.out(await this.inner.updateSuggestion(this.in(s)));
  watch = (listener: (e: StoreEvent) => void) => this.inner.watch((e) => listener({ ...e, key: this.back(e.key), experiment: this.back(e.experiment) }));
  close = async () => {
    await this.inner.close();
    await this.onClose();
  };
}

storeConformance(real ? 'Kubernetes (KATIB_TEST_KUBECONFIG)' : 'Kubernetes (fake API server)', async () => {
  const cluster = await connect();
  const store = new KubernetesStore({ kubeConfig: cluster.kubeConfig, namespace: cluster.namespace, watch: { retryMs: 20 } });
  return new NamespaceMappedStore(store, cluster.namespace, () => cluster.close());
});

describe('Kubernetes store specifics', () => {
  let cluster: TestCluster;
  let store: KubernetesStore;
  let ns: string;
  beforeAll(async () => {
    cluster = await connect();
    ns = cluster.namespace;
    store = new KubernetesStore({ kubeConfig: cluster.kubeConfig, namespace: ns, pageSize: 2, watch: { retryMs: 20 } });
  });
  afterAll(async () => {
    await store?.close();
    await cluster?.close();
  });

  const exp = (name: string): Experiment => experimentFixture(name, ns);

  it('lists trials in creation order across pages, numbering within one second by the name suffix', async () => {
    const e = await store.createExperiment(exp('order'));
    for (const n of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]) await store.createTrial(trialFixture(e, `order-${n}`));
    const names = (await store.listTrials({ namespace: ns, name: 'order' })).map((t) => t.metadata.name);
    expect(names).toEqual(['order-1', 'order-2', 'order-3', 'order-4', 'order-5', 'order-6', 'order-7', 'order-8', 'order-9', 'order-10', 'order-11']);
  });

  it.each([
    { name: 'earlier timestamp first', a: ['2024-01-01T00:00:02Z', 'x-1'], b: ['2024-01-01T00:00:01Z', 'x-2'], want: 1 },
    { name: 'same second: numeric suffix', a: ['2024-01-01T00:00:01Z', 'x-10'], b: ['2024-01-01T00:00:01Z', 'x-9'], want: 1 },
    { name: 'same second, no suffix: after numbered, then by name', a: ['2024-01-01T00:00:01Z', 'x-abc'], b: ['2024-01-01T00:00:01Z', 'x-3'], want: 1 },
    { name: 'identical', a: ['2024-01-01T00:00:01Z', 'x-1'], b: ['2024-01-01T00:00:01Z', 'x-1'], want: 0 },
  ])('compareByCreation: $name', ({ a, b, want }) => {
    const o = ([creationTimestamp, name]: string[]) => ({ metadata: { name: name ?? '', creationTimestamp } });
    expect(Math.sign(compareByCreation(o(a), o(b)))).toBe(want);
  });

  it.each([
    { name: 'trial by label', kind: 'Trial' as const, meta: { name: 't-1', labels: { 'katib.kubeflow.org/experiment': 'e' } }, want: 'e' },
    { name: 'trial by controller owner', kind: 'Trial' as const, meta: { name: 't-1', ownerReferences: [{ apiVersion: 'kubeflow.org/v1beta1', kind: 'Experiment', name: 'o', uid: 'u', controller: true }] }, want: 'o' },
    { name: 'trial with neither', kind: 'Trial' as const, meta: { name: 't-1' }, want: '' },
    { name: 'suggestion by its own name', kind: 'Suggestion' as const, meta: { name: 's' }, want: 's' },
    { name: 'experiment is itself', kind: 'Experiment' as const, meta: { name: 'x', labels: { 'katib.kubeflow.org/experiment': 'other' } }, want: 'x' },
  ])('experimentNameOf: $name', ({ kind, meta, want }) => {
    expect(experimentNameOf(kind, meta)).toBe(want);
  });

  it('keeps status on create (written through the status subresource) and ignores status changes on spec updates', async () => {
    const withStatus = { ...exp('status-on-create'), status: { trials: 7, startTime: '2024-01-01T00:00:00Z' } };
    const created = await store.createExperiment(withStatus);
    expect(created.status?.trials).toBe(7);
    const updated = await store.updateExperiment({ ...created, spec: { ...created.spec, maxTrialCount: 9 }, status: { trials: 1 } });
    expect(updated.spec.maxTrialCount).toBe(9);
    expect(updated.status?.trials).toBe(7);
    await expect(store.updateExperiment({ ...created, spec: { ...created.spec, maxTrialCount: 10 } })).rejects.toBeInstanceOf(ConflictError);
  });

  it('updates status without a resourceVersion unconditionally, and a missing object is NotFound', async () => {
    const created = await store.createExperiment(exp('unconditional'));
    const { resourceVersion: _rv, ...meta } = created.metadata;
    const updated = await store.updateExperimentStatus({ ...created, metadata: meta, status: { trials: 4 } });
    expect(updated.status?.trials).toBe(4);
    await expect(store.updateTrialStatus({ ...trialFixture(created, 'nope-1'), status: {} })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('deletes unowned trials and suggestion of a deleted experiment; owned ones go by garbage collection', async () => {
    const e = await store.createExperiment(exp('cascade'));
    const owned = await store.createTrial(trialFixture(e, 'cascade-1'));
    const loose = trialFixture(e, 'cascade-2');
    loose.metadata.ownerReferences = undefined;
    await store.createTrial(loose);
    await store.createSuggestion({ apiVersion: 'kubeflow.org/v1beta1', kind: 'Suggestion', metadata: { name: 'cascade', namespace: ns }, spec: { requests: 0 } });
    expect(owned.metadata.ownerReferences?.[0]?.uid).toBe(e.metadata.uid);
    expect(await store.deleteExperiment({ namespace: ns, name: 'cascade' })).toBe(true);
    await eventually(async () => expect(await store.listTrials({ namespace: ns, name: 'cascade' })).toEqual([]));
    expect(await store.getSuggestion({ namespace: ns, name: 'cascade' })).toBeUndefined();
  });

  it('keeps an experiment created again under the same name apart from the old one\'s trials and suggestion', async () => {
    const api = cluster.kubeConfig.makeApiClient(CustomObjectsApi);
    const old = await store.createExperiment(exp('again'));
    // A finalizer holds the old objects while "the garbage collector" deletes them, as a slow collector would.
    const keep = (o: Trial | SuggestionResource) => ({ ...o, metadata: { ...o.metadata, finalizers: ['katib.kubeflow.org/test-hold'] } });
    await store.createTrial(keep(trialFixture(old, 'again-1')) as Trial);
    const oldOwner = [{ apiVersion: 'kubeflow.org/v1beta1', kind: 'Experiment', name: 'again', uid: old.metadata.uid ?? '', controller: true }];
    await store.createSuggestion(keep({ apiVersion: 'kubeflow.org/v1beta1', kind: 'Suggestion', metadata: { name: 'again', namespace: ns, ownerReferences: oldOwner }, spec: { requests: 1 }, status: { suggestionCount: 1 } }) as SuggestionResource);
    expect(await store.deleteExperiment({ namespace: ns, name: 'again' })).toBe(true);
    const fresh = await store.createExperiment(exp('again'));
    expect(fresh.metadata.uid).not.toBe(old.metadata.uid);
    await eventually(async () => {
      const t = (await api.getNamespacedCustomObject({ group: 'kubeflow.org', version: 'v1beta1', namespace: ns, plural: 'trials', name: 'again-1' })) as Trial;
      expect(t.metadata.deletionTimestamp).toBeTruthy();
    });
    expect(await store.listTrials({ namespace: ns, name: 'again' })).toEqual([]);
    const blocked = await store.getSuggestion({ namespace: ns, name: 'again' }).catch((e: unknown) => e);
    expect(blocked).toBeInstanceOf(UnavailableError);
    expect((blocked as Error).message).toContain(`belongs to an earlier experiment of that name (uid ${old.metadata.uid})`);
    // Once the old objects are gone, the new experiment starts from nothing.
    for (const [plural, name] of [['trials', 'again-1'], ['suggestions', 'again']] as const) {
      await api.patchNamespacedCustomObject(
        { group: 'kubeflow.org', version: 'v1beta1', namespace: ns, plural, name, body: [{ op: 'remove', path: '/metadata/finalizers' }] },
      );
    }
    await eventually(async () => expect(await store.getSuggestion({ namespace: ns, name: 'again' })).toBeUndefined());
  });

  it.skipIf(real)('translates API failures: 409 on a status write is a retryable conflict, 503 is Unavailable', async () => {
    if (!cluster.fake) throw new Error('needs the fake API server');
    const e = await store.createExperiment(exp('faults'));
    cluster.fake.injectFault({ verb: 'update', resource: 'experiments', subresource: 'status', code: 409 });
    const conflict = await store.updateExperimentStatus({ ...e, status: { trials: 1 } }).catch((x: unknown) => x);
    expect(conflict).toBeInstanceOf(ConflictError);
    expect((conflict as ConflictError).retryable).toBe(true);
    cluster.fake.injectFault({ verb: 'get', resource: 'experiments', code: 503 });
    const down = await store.getExperiment({ namespace: ns, name: 'faults' }).catch((x: unknown) => x);
    expect(down).toBeInstanceOf(UnavailableError);
    expect((down as Error).message).toContain('get Experiment');
  });

  it.skipIf(real)('keeps watching across dropped watch connections and history compaction', async () => {
    if (!cluster.fake) throw new Error('needs the fake API server');
    const events: StoreEvent[] = [];
    const stop = store.watch((e) => events.push(e));
    await store.watchSynced();
    const e = await store.createExperiment(exp('rewatch'));
    await eventually(() => expect(events.some((x) => x.kind === 'Experiment' && x.key.name === 'rewatch')).toBe(true));
    cluster.fake.disconnectWatches();
    cluster.fake.compact();
    await store.createTrial(trialFixture(e, 'rewatch-1'));
    await eventually(() => expect(events.some((x) => x.kind === 'Trial' && x.type === 'ADDED' && x.key.name === 'rewatch-1' && x.experiment.name === 'rewatch')).toBe(true));
    await store.deleteExperiment({ namespace: ns, name: 'rewatch' });
    await eventually(() => expect(events.some((x) => x.kind === 'Trial' && x.type === 'DELETED' && x.key.name === 'rewatch-1')).toBe(true));
    expect(store.isWatchSynced()).toBe(true);
    stop();
  });
});
