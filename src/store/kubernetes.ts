/**
 * The Kubernetes Store: Experiments, Trials and Suggestions as kubeflow.org/v1beta1 custom resources, through the
 * unmodified @kubernetes/client-node (CustomObjectsApi). The same reconcile core runs on it as on the embedded
 * SQLite store; test/store/conformance.ts checks both.
 *
 * How the Store contract maps onto the API server:
 * - `create*` POSTs the object without `status` (the status subresource ignores it there), then, when the caller
 *   gave a status, merge-patches it through `/status`. A 409 AlreadyExists is an AlreadyExistsError.
 * - `update*Status` PUTs the object to `/status` with the caller's resourceVersion: the server changes `status`
 *   only and answers 409 Conflict (ConflictError, retryable) when the resourceVersion is stale. Without a
 *   resourceVersion the write is an unconditional merge patch, as the SQLite store's unconditional update.
 * - `updateSuggestion` writes `spec` (PUT, conflict-checked) and then `status` (PUT with the new resourceVersion).
 *   The two are separate requests because Kubernetes keeps them separate; a writer that slips in between makes the
 *   second fail with a ConflictError, and the reconciler recomputes both from a fresh read (both are idempotent).
 * - `get*` answers undefined on 404; other failures throw (see kubernetes-errors.ts).
 * - `listTrials` selects by the label `katib.kubeflow.org/experiment=<name>` and sorts by creation: by
 *   `metadata.creationTimestamp` (one-second resolution), then by the number after the name's last `-` (the
 *   reconciler names trials `<experiment>-<n>`), then by name. That is creation order for every trial the
 *   reconciler makes, even several in one second.
 * - `deleteExperiment` deletes the Experiment with propagationPolicy Background (or Foreground, by option): the
 *   garbage collector removes what carries an ownerReference to it, i.e. every Trial and the Suggestion the
 *   controller made (it sets them whenever the experiment has a uid, which it always has here), and through the
 *   Trials' own ownerReferences their Jobs/TrainJobs and pods. Objects of the experiment without an
 *   ownerReference (created by hand or by an older controller) are deleted explicitly, so the contract holds.
 * - An experiment deleted and created again under the same name may meet the Trials and Suggestion of the old one
 *   while the garbage collector is still deleting them. The store remembers the uid of each experiment it has read,
 *   and then `listTrials` leaves out trials controlled by another Experiment uid, and `getSuggestion` throws a
 *   retryable UnavailableError for a Suggestion controlled by another uid (the reconciler retries once the collector
 *   has deleted it), so the new experiment never inherits the old one's trials or algorithm state.
 * - `watch()` runs one informer per resource (list, then watch from its resourceVersion, restarted on errors) and
 *   translates add/update/delete into StoreEvents; a Trial's or Suggestion's experiment is its
 *   `katib.kubeflow.org/experiment` label, else its controlling ownerReference, else (Suggestion) its own name.
 *
 * Bounded size: a Suggestion holds only the assignments not yet turned into trials. The reconciler asks the
 * service for at most `parallelTrialCount - active - pending` new ones and, after creating trials, stores
 * `suggestions: pending.slice(created)` (experiment-controller.ts, addTrials), so `status.suggestions` never holds
 * more than parallelTrialCount entries whatever maxTrialCount is; test/controller/cluster.test.ts checks it. The
 * algorithm's own state lives in `status.algorithmSettings` and is bounded by the algorithm.
 */
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { Experiment, ObjectMeta, SuggestionResource, Trial } from '../api/types.js';
import { API_VERSION, Labels } from '../api/types.js';
import { KatibError, NotFoundError, UnavailableError } from '../errors.js';
import { translateKubeError } from './kubernetes-errors.js';
import { ResourceWatch, type InformerEventType, type ResourceWatchOptions, type WatchedResource } from './kubernetes-watch.js';
import type { ObjectKey, Store, StoreEvent } from './store.js';

export const KATIB_GROUP = 'kubeflow.org';
export const KATIB_VERSION = 'v1beta1';

type Kind = StoreEvent['kind'];
type AnyObject = Experiment | Trial | SuggestionResource;

const PLURAL: Record<Kind, string> = { Experiment: 'experiments', Trial: 'trials', Suggestion: 'suggestions' };

/** Fields the API server owns: never sent on create. */
const SERVER_FIELDS = ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'managedFields', 'selfLink'] as const;

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export interface KubernetesStoreOptions {
  readonly kubeConfig: KubeConfig;
  /**
   * Restricts `listExperiments()` without a namespace and `watch()` to one namespace. Default: all namespaces
   * (needs cluster-wide list and watch on the Katib resources).
   */
  readonly namespace?: string;
  /** How `deleteExperiment` cascades. Default Background: the experiment goes at once, its dependents after. */
  readonly propagationPolicy?: 'Background' | 'Foreground';
  /** Page size of list requests. Default 500. */
  readonly pageSize?: number;
  /** Informer restart behaviour and error reporting. */
  readonly watch?: ResourceWatchOptions;
}

function keyString(key: ObjectKey): string {
  return `${key.namespace}/${key.name}`;
}

function keyOf(obj: { metadata: { namespace?: string; name: string } }): ObjectKey {
  return { namespace: obj.metadata.namespace ?? 'default', name: obj.metadata.name };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Narrows an API answer to a Katib object of `kind`; a body without metadata.name is the server misbehaving. */
function asKatib<T extends AnyObject>(kind: Kind, body: unknown): T {
  if (!isObject(body) || !isObject(body.metadata) || typeof body.metadata.name !== 'string') {
    throw new KatibError(`the API server answered a ${kind} request with something that is not a ${kind}: ${JSON.stringify(body).slice(0, 200)}`);
  }
  return { ...body, apiVersion: API_VERSION, kind } as unknown as T;
}

/** The experiment an object belongs to: label, then controlling owner, then (Suggestion, Experiment) its own name. */
export function experimentNameOf(kind: Kind, metadata: Pick<ObjectMeta, 'name' | 'labels' | 'ownerReferences'>): string {
  if (kind === 'Experiment') return metadata.name;
  const label = metadata.labels?.[Labels.experimentName];
  if (label) return label;
  const owner = (metadata.ownerReferences ?? []).find((r) => r.kind === 'Experiment' && (r.controller ?? true));
  if (owner) return owner.name;
  return kind === 'Suggestion' ? metadata.name : '';
}

/**
 * Creation order for trials: creationTimestamp, then the number after the last `-`, then the name. Exported for
 * tests; the timestamp has one-second resolution, hence the tiebreaks.
 */
export function compareByCreation(a: { metadata: ObjectMeta }, b: { metadata: ObjectMeta }): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return Date.parse(ta) - Date.parse(tb) || (ta < tb ? -1 : 1);
  const na = suffixNumber(a.metadata.name);
  const nb = suffixNumber(b.metadata.name);
  if (na !== nb) return na - nb;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

function suffixNumber(name: string): number {
  const m = /-(\d+)$/.exec(name);
  return m?.[1] !== undefined ? Number(m[1]) : Number.MAX_SAFE_INTEGER;
}

/** The body to POST: the object with apiVersion/kind set, no status and no server-owned metadata. */
function createBody(kind: Kind, obj: AnyObject, namespace: string): Record<string, unknown> {
  const meta: Record<string, unknown> = { ...obj.metadata, namespace };
  for (const f of SERVER_FIELDS) delete meta[f];
  const { status: _status, ...rest } = structuredClone(obj) as AnyObject & { status?: unknown };
  return { ...rest, apiVersion: API_VERSION, kind, metadata: meta };
}

function hasContent(v: unknown): boolean {
  return isObject(v) && Object.keys(v).length > 0;
}

/** Store on a Kubernetes API server; see the module comment for how each operation maps. */
export class KubernetesStore implements Store {
  private readonly api: CustomObjectsApi;
  private readonly listeners = new Set<(event: StoreEvent) => void>();
  private watches: ResourceWatch[] = [];
  private closed = false;
  /** `namespace/name` → uid of the experiment last read under that name. */
  private readonly uids = new Map<string, string>();

  constructor(private readonly options: KubernetesStoreOptions) {
    this.api = options.kubeConfig.makeApiClient(CustomObjectsApi);
  }

  private target(kind: Kind, key: ObjectKey) {
    return { group: KATIB_GROUP, version: KATIB_VERSION, plural: PLURAL[kind], namespace: key.namespace, name: key.name };
  }

  private async call<T>(verb: string, kind: Kind, key: ObjectKey, signal: AbortSignal | undefined, fn: () => Promise<T>, resourceVersion?: string): Promise<T> {
    signal?.throwIfAborted();
    try {
      return await fn();
    } catch (err) {
      throw translateKubeError(err, { verb, kind, key: keyString(key), resourceVersion });
    }
  }

  private async create<T extends AnyObject>(kind: Kind, obj: T, signal: AbortSignal | undefined): Promise<T> {
    const key = keyOf(obj);
    const body = createBody(kind, obj, key.namespace);
    const created = asKatib<T>(kind, await this.call('create', kind, key, signal, () => this.api.createNamespacedCustomObject({ ...this.target(kind, key), body })));
    if (!hasContent(obj.status)) return created;
    const patched: unknown = await this.call('set status of', kind, key, signal, () =>
      this.api.patchNamespacedCustomObjectStatus({ ...this.target(kind, key), body: { status: obj.status } }, mergePatch),
    );
    return asKatib<T>(kind, patched);
  }

  private async get<T extends AnyObject>(kind: Kind, key: ObjectKey, signal: AbortSignal | undefined): Promise<T | undefined> {
    try {
      return asKatib<T>(kind, await this.call('get', kind, key, signal, () => this.api.getNamespacedCustomObject(this.target(kind, key))));
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  /** Every object of `kind` in `namespace` (all namespaces when undefined) matching `labelSelector`, page by page. */
  private async list<T extends AnyObject>(kind: Kind, namespace: string | undefined, labelSelector: string | undefined, signal: AbortSignal | undefined): Promise<T[]> {
    const out: T[] = [];
    let cont: string | undefined;
    const limit = this.options.pageSize ?? 500;
    const where = { namespace: namespace ?? '*', name: '*' };
    do {
      const page: unknown = await this.call('list', kind, where, signal, () =>
        namespace === undefined
          ? this.api.listClusterCustomObject({ group: KATIB_GROUP, version: KATIB_VERSION, plural: PLURAL[kind], labelSelector, limit, _continue: cont })
          : this.api.listNamespacedCustomObject({ group: KATIB_GROUP, version: KATIB_VERSION, namespace, plural: PLURAL[kind], labelSelector, limit, _continue: cont }),
      );
      const items = isObject(page) && Array.isArray(page.items) ? page.items : [];
      for (const item of items) out.push(asKatib<T>(kind, item));
      const meta = isObject(page) && isObject(page.metadata) ? page.metadata : {};
      cont = typeof meta.continue === 'string' && meta.continue !== '' ? meta.continue : undefined;
    } while (cont !== undefined);
    return out;
  }

  private async updateStatus<T extends AnyObject>(kind: Kind, obj: T, signal: AbortSignal | undefined): Promise<T> {
    const key = keyOf(obj);
    const rv = obj.metadata.resourceVersion;
    if (rv === undefined) {
      const patched: unknown = await this.call('update status of', kind, key, signal, () =>
        this.api.patchNamespacedCustomObjectStatus({ ...this.target(kind, key), body: { status: obj.status ?? {} } }, mergePatch),
      );
      return asKatib<T>(kind, patched);
    }
    const body = { ...structuredClone(obj), apiVersion: API_VERSION, kind, status: obj.status ?? {} };
    const replaced: unknown = await this.call('update status of', kind, key, signal, () => this.api.replaceNamespacedCustomObjectStatus({ ...this.target(kind, key), body }), rv);
    return asKatib<T>(kind, replaced);
  }

  private async delete(kind: Kind, key: ObjectKey, signal: AbortSignal | undefined): Promise<boolean> {
    try {
      await this.call('delete', kind, key, signal, () =>
        this.api.deleteNamespacedCustomObject({ ...this.target(kind, key), propagationPolicy: this.options.propagationPolicy ?? 'Background' }),
      );
      return true;
    } catch (err) {
      if (err instanceof NotFoundError) return false;
      throw err;
    }
  }

  /** Remembers the uid of the experiment now under its name (see the module comment); returns `exp`. */
  private remember<T extends Experiment | undefined>(exp: T): T {
    if (exp?.metadata.uid) this.uids.set(keyString(keyOf(exp)), exp.metadata.uid);
    return exp;
  }

  /** The uid of another experiment that controls `obj`, when the current one under its name is known to differ. */
  private foreignOwner(obj: AnyObject, experiment: ObjectKey): string | undefined {
    const current = this.uids.get(keyString(experiment));
    if (current === undefined) return undefined;
    const owner = (obj.metadata.ownerReferences ?? []).find((r) => r.kind === 'Experiment' && r.controller === true);
    return owner && owner.uid !== current ? owner.uid : undefined;
  }

  async createExperiment(exp: Experiment, signal?: AbortSignal): Promise<Experiment> {
    return this.remember(await this.create('Experiment', exp, signal));
  }

  async getExperiment(key: ObjectKey, signal?: AbortSignal): Promise<Experiment | undefined> {
    const exp = await this.get<Experiment>('Experiment', key, signal);
    if (!exp) this.uids.delete(keyString(key));
    return this.remember(exp);
  }

  async listExperiments(namespace?: string, signal?: AbortSignal): Promise<Experiment[]> {
    return (await this.list<Experiment>('Experiment', namespace ?? this.options.namespace, undefined, signal)).map((e) => this.remember(e));
  }

  async updateExperimentStatus(exp: Experiment, signal?: AbortSignal): Promise<Experiment> {
    return this.remember(await this.updateStatus('Experiment', exp, signal));
  }

  /**
   * Replaces the experiment's spec and metadata (the main resource; `status` is left alone), conflict-checked on
   * `metadata.resourceVersion`. Not part of the Store interface: the cluster manager uses it to store Katib's
   * defaults, as Katib's mutating webhook would.
   */
  async updateExperiment(exp: Experiment, signal?: AbortSignal): Promise<Experiment> {
    const key = keyOf(exp);
    const body = { ...structuredClone(exp), apiVersion: API_VERSION, kind: 'Experiment' };
    const replaced: unknown = await this.call(
      'update',
      'Experiment',
      key,
      signal,
      () => this.api.replaceNamespacedCustomObject({ ...this.target('Experiment', key), body }),
      exp.metadata.resourceVersion,
    );
    return this.remember(asKatib<Experiment>('Experiment', replaced));
  }

  async deleteExperiment(key: ObjectKey, signal?: AbortSignal): Promise<boolean> {
    const exp = await this.getExperiment(key, signal);
    if (!exp) return false;
    const deleted = await this.delete('Experiment', key, signal);
    // The garbage collector takes what is owned; what is not owned by this experiment is ours to delete.
    const uid = exp.metadata.uid;
    const unowned = (o: AnyObject): boolean => !(o.metadata.ownerReferences ?? []).some((r) => r.uid === uid);
    for (const t of await this.list<Trial>('Trial', key.namespace, `${Labels.experimentName}=${key.name}`, signal)) {
      if (unowned(t)) await this.delete('Trial', keyOf(t), signal);
    }
    const sug = await this.get<SuggestionResource>('Suggestion', key, signal);
    if (sug && unowned(sug) && experimentNameOf('Suggestion', sug.metadata) === key.name) await this.delete('Suggestion', key, signal);
    this.uids.delete(keyString(key));
    return deleted;
  }

  async createTrial(trial: Trial, signal?: AbortSignal): Promise<Trial> {
    return this.create('Trial', trial, signal);
  }

  async getTrial(key: ObjectKey, signal?: AbortSignal): Promise<Trial | undefined> {
    return this.get<Trial>('Trial', key, signal);
  }

  async listTrials(experiment: ObjectKey, signal?: AbortSignal): Promise<Trial[]> {
    const trials = await this.list<Trial>('Trial', experiment.namespace, `${Labels.experimentName}=${experiment.name}`, signal);
    return trials.filter((t) => this.foreignOwner(t, experiment) === undefined).sort(compareByCreation);
  }

  async updateTrialStatus(trial: Trial, signal?: AbortSignal): Promise<Trial> {
    return this.updateStatus('Trial', trial, signal);
  }

  async createSuggestion(s: SuggestionResource, signal?: AbortSignal): Promise<SuggestionResource> {
    return this.create('Suggestion', s, signal);
  }

  /** The suggestion; throws UnavailableError while one of an earlier experiment of that name is still there. */
  async getSuggestion(key: ObjectKey, signal?: AbortSignal): Promise<SuggestionResource | undefined> {
    const sug = await this.get<SuggestionResource>('Suggestion', key, signal);
    const experiment = { namespace: key.namespace, name: sug ? experimentNameOf('Suggestion', sug.metadata) : key.name };
    const foreign = sug ? this.foreignOwner(sug, experiment) : undefined;
    if (foreign !== undefined) {
      throw new UnavailableError(
        `Suggestion ${JSON.stringify(keyString(key))} belongs to an earlier experiment of that name (uid ${foreign}); waiting for the garbage collector to delete it`,
      );
    }
    return sug;
  }

  async updateSuggestion(s: SuggestionResource, signal?: AbortSignal): Promise<SuggestionResource> {
    const key = keyOf(s);
    const rv = s.metadata.resourceVersion;
    const body = { ...structuredClone(s), apiVersion: API_VERSION, kind: 'Suggestion' };
    let specWritten: SuggestionResource;
    if (rv === undefined) {
      const patched: unknown = await this.call('update', 'Suggestion', key, signal, () =>
        this.api.patchNamespacedCustomObject({ ...this.target('Suggestion', key), body: { spec: s.spec } }, mergePatch),
      );
      specWritten = asKatib('Suggestion', patched);
    } else {
      const replaced: unknown = await this.call('update', 'Suggestion', key, signal, () => this.api.replaceNamespacedCustomObject({ ...this.target('Suggestion', key), body }), rv);
      specWritten = asKatib('Suggestion', replaced);
    }
    return this.updateStatus('Suggestion', { ...specWritten, status: s.status ?? {} }, signal);
  }

  /**
   * Calls `listener` on every change of an Experiment, Trial or Suggestion (in the store's namespace, or all). The
   * first listener starts the informers; objects that exist already arrive as ADDED. Returns the unsubscribe
   * function; the informers stop with `close()`.
   */
  watch(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    if (this.watches.length === 0 && !this.closed) this.startWatches();
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Resolves once every informer started by `watch()` has listed its resource (for readiness probes and tests). */
  async watchSynced(): Promise<void> {
    await Promise.all(this.watches.map((w) => w.synced));
  }

  /** True once every informer started by `watch()` has listed its resource; false before `watch()`. */
  isWatchSynced(): boolean {
    return this.watches.length > 0 && this.watches.every((w) => w.isSynced);
  }

  private startWatches(): void {
    const kinds: Kind[] = ['Experiment', 'Trial', 'Suggestion'];
    this.watches = kinds.map((kind) => {
      const resource: WatchedResource = { group: KATIB_GROUP, version: KATIB_VERSION, plural: PLURAL[kind], namespace: this.options.namespace };
      return new ResourceWatch(this.options.kubeConfig, resource, (type, obj) => this.emit(kind, type, obj), this.options.watch);
    });
    for (const w of this.watches) void w.start();
  }

  private emit(kind: Kind, type: InformerEventType, obj: KubernetesObject): void {
    const meta = obj.metadata;
    if (!meta?.name) return;
    const key = { namespace: meta.namespace ?? 'default', name: meta.name };
    if (kind === 'Experiment' && type !== 'DELETED' && meta.uid) this.uids.set(keyString(key), meta.uid);
    const metadata = { name: meta.name, labels: meta.labels, ownerReferences: meta.ownerReferences } as Pick<ObjectMeta, 'name' | 'labels' | 'ownerReferences'>;
    const event: StoreEvent = { kind, type, key, experiment: { namespace: key.namespace, name: experimentNameOf(kind, metadata) } };
    for (const l of [...this.listeners]) l(event);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    const watches = this.watches;
    this.watches = [];
    await Promise.all(watches.map((w) => w.stop()));
  }
}
