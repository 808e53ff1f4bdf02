/**
 * Trials as Kubernetes objects: the same TrialRuntime the embedded controller drives, for `katib controller`.
 *
 * - start: creates the trial's run object (`trial.spec.runSpec`, already rendered: a batch/v1 Job, a Kubeflow
 *   Trainer TrainJob, a PyTorchJob or any custom resource) under the trial's name, with Katib's labels
 *   (`katib.kubeflow.org/experiment`, `katib.kubeflow.org/trial`), an ownerReference to the Trial (controller: true,
 *   so deleting the Trial deletes the run) and the metrics collector injected (kubernetes-inject.ts). Resource
 *   requests (`nvidia.com/gpu`, ...) pass through unchanged. An object that exists already counts as created.
 * - observe: reads the object and evaluates the trial's failure then success condition (Katib's GJSON expressions,
 *   conditions-expr.ts; per-kind defaults when the trial has none). The collector is a regular container of the
 *   trial's pod (or the trainer container's own process for a TrainJob), so the pod, and with it the Job / TrainJob
 *   / PyTorchJob, completes only after the collector has exited, and it exits 0 only once every metric is stored:
 *   `succeeded` therefore always comes after the final metrics. The collector also writes how it ended to its
 *   termination message; when the run completed and a trial pod's container says `early-stopped`, observe reports
 *   `early-stopped` with the rule that held (the trial pods are found by the trial label, or the JobSet name for a
 *   TrainJob). Pods deleted before the run is observed (a Job TTL) lose that message: the trial then reads as
 *   succeeded. For a trial with early-stopping rules the primary pods are also read while the run is active: when
 *   the collector stopped the training but other pods (workers, further nodes) still run, observe deletes the run
 *   and reports `early-stopped` (a distributed run would otherwise train on, or fail once its first rank is gone);
 *   a failed run whose collector stopped it early is `early-stopped` too.
 * - stop: deletes the object (propagation Foreground by default) and remembers the reason in memory, so the next
 *   observe reports `killed` or `early-stopped` while the object goes away and after it is gone.
 * - onChange: informers on the run kinds (Job, TrainJob, PyTorchJob and every kind this runtime created), limited
 *   to objects with the trial label; each change calls the listener with the experiment from the experiment label.
 *
 * Needs RBAC for create/get/list/watch/delete on the run kinds and get/list on pods (manifests/rbac).
 */
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  makeInformer,
  type Informer,
  type KubeConfig,
  type KubernetesObject,
  type V1APIResource,
  type V1Pod,
} from '@kubernetes/client-node';
import { DefaultConditions, JOB_KIND, KUBEFLOW_JOB_KINDS, TRAIN_JOB_KIND } from '../api/defaults.js';
import { getPath, isRecord } from '../api/guards.js';
import type { Experiment, Trial, UnstructuredObject } from '../api/types.js';
import { API_VERSION, Labels } from '../api/types.js';
import { parseOutcome, type CollectorOutcome } from '../collector/termination.js';
import { KatibError, UnavailableError, ValidationError } from '../errors.js';
import { evaluateRunConditions } from './conditions-expr.js';
import { collectorSpecOf, injectMetricsCollector, type CollectorSettings } from './kubernetes-inject.js';
import type { RunObservation, TrialRuntime } from './runtime.js';

export type { CollectorSettings } from './kubernetes-inject.js';

/** A kind of run object, e.g. `{ apiVersion: 'batch/v1', kind: 'Job' }`. */
export interface RunKind {
  readonly apiVersion: string;
  readonly kind: string;
}

/** The kinds watched for changes whether or not a trial created one yet. */
export const DEFAULT_WATCH_KINDS: readonly RunKind[] = [
  { apiVersion: 'batch/v1', kind: JOB_KIND },
  { apiVersion: 'trainer.kubeflow.org/v1alpha1', kind: TRAIN_JOB_KIND },
  { apiVersion: 'kubeflow.org/v1', kind: 'PyTorchJob' },
];

export interface KubernetesRuntimeOptions {
  /** The DB-manager as the trial pods reach it (host:port), e.g. `katib-db-manager.kubeflow.svc:6789`. */
  readonly dbManagerAddress: string;
  /** The metrics collector sidecar: image (the katib-ts image) and how to run it. */
  readonly collector: CollectorSettings;
  /**
   * The EarlyStopping service the collector calls SetTrialStatus on after stopping a trial: one address for every
   * algorithm, or addresses by early-stopping algorithm name (`*` for the others). Unset: the call is skipped.
   */
  readonly earlyStoppingAddress?: string | Readonly<Record<string, string>>;
  /** Watch this namespace only, and use it for trials without one. Default: all namespaces ("default"). */
  readonly namespace?: string;
  /** Kinds to watch from the start, besides those this runtime creates. Default DEFAULT_WATCH_KINDS. */
  readonly watchKinds?: readonly RunKind[];
  /** How stop() deletes: Foreground (default; the object stays until its pods are gone) or Background. */
  readonly propagationPolicy?: 'Foreground' | 'Background';
  /** Delay before restarting a failed watch, ms. Default 1000. */
  readonly watchRetryMs?: number;
  readonly logger?: { warn(message: string): void };
}

interface StopRecord {
  readonly reason: 'killed' | 'early-stopped';
  readonly message?: string;
  readonly at: string;
}

/** The HTTP code of a failed API call; 0 when there was no answer. */
function codeOf(err: unknown): number {
  return err instanceof ApiException ? err.code : 0;
}

function serverMessage(err: unknown): string {
  if (err instanceof ApiException) {
    const body: unknown = typeof err.body === 'string' ? safeJson(err.body) : err.body;
    if (isRecord(body) && typeof body.message === 'string') return body.message;
    return `HTTP ${err.code}`;
  }
  return err instanceof Error ? err.message : String(err);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { message: text };
  }
}

function groupVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  return i < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

function stamp(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

/** KubernetesObjectApi with its discovery (plural name, scope) made public. */
class ObjectApi extends KubernetesObjectApi {
  discover(apiVersion: string, kind: string): Promise<V1APIResource | undefined> {
    return this.resource(apiVersion, kind);
  }
}

/** Success and failure expressions for a trial: its own, else Katib's defaults for the kind. */
export function runConditions(trial: Trial, kind: string | undefined): { success: string; failure: string } | undefined {
  const success = trial.spec.successCondition;
  const failure = trial.spec.failureCondition;
  if (success && failure) return { success, failure };
  let defaults: { success: string; failure: string } | undefined;
  if (kind === JOB_KIND) defaults = { success: DefaultConditions.jobSuccess, failure: DefaultConditions.jobFailure };
  else if (kind === TRAIN_JOB_KIND) defaults = { success: DefaultConditions.trainJobSuccess, failure: DefaultConditions.trainJobFailure };
  else if ((KUBEFLOW_JOB_KINDS as readonly string[]).includes(kind ?? '')) defaults = { success: DefaultConditions.kubeflowJobSuccess, failure: DefaultConditions.kubeflowJobFailure };
  if (defaults === undefined) return undefined;
  return { success: success || defaults.success, failure: failure || defaults.failure };
}

export class KubernetesRuntime implements TrialRuntime {
  private readonly objects: ObjectApi;
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;
  private readonly listeners = new Set<(experiment: { namespace: string; name: string }) => void>();
  private readonly informers = new Map<string, Informer<KubernetesObject>>();
  private readonly kinds = new Map<string, RunKind>();
  private readonly stopped = new Map<string, StopRecord>();
  private closed = false;

  /**
   * Talks to the API server of `kubeConfig` (client-node 1.3). Connects lazily: nothing is called until start,
   * observe, stop or onChange. Throws ValidationError when `dbManagerAddress` or `collector.image` is empty.
   */
  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly options: KubernetesRuntimeOptions,
  ) {
    const issues = [
      ...(options.dbManagerAddress ? [] : [{ path: 'dbManagerAddress', message: 'must be the host:port the trial pods reach the DB-manager at, e.g. katib-db-manager.kubeflow.svc:6789' }]),
      ...(options.collector.image ? [] : [{ path: 'collector.image', message: 'must name the metrics collector image (the katib-ts image)' }]),
    ];
    if (issues.length > 0) throw new ValidationError(issues, 'KubernetesRuntime options');
    this.objects = kubeConfig.makeApiClient(ObjectApi);
    this.custom = kubeConfig.makeApiClient(CustomObjectsApi);
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    for (const k of options.watchKinds ?? DEFAULT_WATCH_KINDS) this.kinds.set(`${k.apiVersion}/${k.kind}`, k);
  }

  private namespaceOf(trial: Trial): string {
    return trial.metadata.namespace ?? this.options.namespace ?? 'default';
  }

  private key(trial: Trial): string {
    return `${this.namespaceOf(trial)}/${trial.metadata.name}`;
  }

  private earlyStoppingAddress(exp: Experiment): string | undefined {
    const a = this.options.earlyStoppingAddress;
    if (a === undefined || typeof a === 'string') return a || undefined;
    return a[exp.spec.earlyStopping?.algorithmName ?? ''] ?? a['*'];
  }

  /** The run's apiVersion and kind; ValidationError when the trial has no run spec. */
  private runKind(trial: Trial): RunKind {
    const run = trial.spec.runSpec;
    if (!run || typeof run.apiVersion !== 'string' || typeof run.kind !== 'string' || run.apiVersion === '' || run.kind === '') {
      throw new ValidationError([{ path: 'spec.runSpec', message: 'must be the rendered run object with apiVersion and kind (a Job, TrainJob, PyTorchJob, ...)' }], `trial ${JSON.stringify(trial.metadata.name)}`);
    }
    return { apiVersion: run.apiVersion, kind: run.kind };
  }

  /**
   * The object start() creates for the trial: the rendered run spec with the trial's name and namespace, Katib's
   * labels, the ownerReference to the Trial and the metrics collector. Pure apart from reading options.
   * @throws ValidationError (no run spec, no Trial uid, an unsupported collector, a command that cannot be wrapped)
   */
  desiredRun(exp: Experiment, trial: Trial): UnstructuredObject {
    this.runKind(trial);
    const uid = trial.metadata.uid;
    if (!uid) {
      throw new ValidationError([{ path: 'metadata.uid', message: 'is empty: the run object is owned by the Trial, so the Trial must be read back from the API server (the Kubernetes store returns it with its uid)' }], `trial ${JSON.stringify(trial.metadata.name)}`);
    }
    const run = structuredClone(trial.spec.runSpec) as UnstructuredObject;
    const meta = isRecord(run.metadata) ? run.metadata : {};
    const labels = isRecord(meta.labels) ? (meta.labels as Record<string, string>) : {};
    const owners = Array.isArray(meta.ownerReferences) ? meta.ownerReferences.filter((o) => !(isRecord(o) && o.controller === true)) : [];
    run.metadata = {
      ...meta,
      name: trial.metadata.name,
      namespace: this.namespaceOf(trial),
      labels: { ...labels, [Labels.experimentName]: exp.metadata.name, [Labels.trialName]: trial.metadata.name },
      ownerReferences: [...owners, { apiVersion: API_VERSION, kind: 'Trial', name: trial.metadata.name, uid, controller: true, blockOwnerDeletion: true }],
    };
    injectMetricsCollector(run, exp, trial, {
      dbManagerAddress: this.options.dbManagerAddress,
      ...(this.earlyStoppingAddress(exp) !== undefined ? { earlyStoppingAddress: this.earlyStoppingAddress(exp) } : {}),
      collector: this.options.collector,
    });
    return run;
  }

  /**
   * Creates the trial's run object; an existing one (same name) counts as created. Throws ValidationError for a
   * run the API server rejects (400/422) or katib-ts cannot prepare, KatibError for a kind the server does not
   * serve or a missing permission, UnavailableError for a server that does not answer (retry).
   */
  async start(exp: Experiment, trial: Trial): Promise<void> {
    const run = this.desiredRun(exp, trial);
    const kind = this.runKind(trial);
    this.watchKind(kind);
    const namespace = this.namespaceOf(trial);
    const what = `create ${kind.kind} ${namespace}/${trial.metadata.name}`;
    const resource = await this.resourceFor(kind, what);
    if (resource === undefined) {
      throw new KatibError(`${what}: the API server does not serve ${kind.apiVersion} ${kind.kind}; install its operator (e.g. Kubeflow Trainer for TrainJob) or change the trial template`);
    }
    try {
      // Custom objects go as raw JSON: the typed client would drop fields its models do not know.
      if (resource.group === '') await this.objects.create(run as KubernetesObject);
      else await this.custom.createNamespacedCustomObject({ group: resource.group, version: resource.version, namespace, plural: resource.plural, body: run });
    } catch (e) {
      if (codeOf(e) === 409) return;
      throw this.translate(e, what, kind);
    }
  }

  /**
   * The served resource of a run kind, or undefined when the API server does not serve it.
   * @throws ValidationError for a cluster-scoped kind; what translate throws when discovery fails otherwise.
   */
  private async resourceFor(kind: RunKind, what: string): Promise<{ group: string; version: string; plural: string } | undefined> {
    const { group, version } = groupVersion(kind.apiVersion);
    let resource: V1APIResource | undefined;
    try {
      resource = await this.objects.discover(kind.apiVersion, kind.kind);
    } catch (e) {
      if (codeOf(e) === 404) return undefined;
      throw this.translate(e, what, kind);
    }
    if (resource === undefined) return undefined;
    if (!resource.namespaced) throw new ValidationError([{ path: 'spec.runSpec.kind', message: `${kind.kind} is cluster-scoped; a trial runs as a namespaced object (Job, TrainJob, ...)` }], what);
    return { group, version, plural: resource.name };
  }

  private translate(e: unknown, what: string, kind: RunKind): Error {
    const code = codeOf(e);
    const message = serverMessage(e);
    if (code === 400 || code === 422) return new ValidationError([{ path: 'spec.runSpec', message: `the API server rejected it: ${message}` }], what);
    if (code === 401 || code === 403) return new KatibError(`${what}: ${message}; grant the controller's service account create, get, list, watch and delete on ${kind.kind} (manifests/rbac/cluster-role.yaml)`, { cause: e });
    if (code === 404) {
      return new KatibError(`${what}: the API server does not serve ${kind.apiVersion} ${kind.kind}; install its operator (e.g. Kubeflow Trainer for TrainJob) or change the trial template`, { cause: e });
    }
    return new UnavailableError(`${what}: ${message}`, { cause: e });
  }

  /** The run object as JSON, or undefined when it does not exist (or its kind is not served). */
  private async read(kind: RunKind, namespace: string, name: string): Promise<Record<string, unknown> | undefined> {
    const what = `get ${kind.kind} ${namespace}/${name}`;
    const resource = await this.resourceFor(kind, what);
    if (resource === undefined) return undefined;
    try {
      if (resource.group === '') {
        const obj = await this.objects.read({ apiVersion: kind.apiVersion, kind: kind.kind, metadata: { name, namespace } });
        return JSON.parse(JSON.stringify(obj)) as Record<string, unknown>;
      }
      const obj: unknown = await this.custom.getNamespacedCustomObject({ group: resource.group, version: resource.version, namespace, plural: resource.plural, name });
      return isRecord(obj) ? obj : undefined;
    } catch (e) {
      if (codeOf(e) === 404) return undefined;
      throw this.translate(e, what, kind);
    }
  }

  /** The trial's pods (the primary ones when the trial names primary pod labels). */
  private async trialPods(trial: Trial, kind: RunKind): Promise<V1Pod[]> {
    const selector = kind.kind === TRAIN_JOB_KIND ? `jobset.sigs.k8s.io/jobset-name=${trial.metadata.name}` : `${Labels.trialName}=${trial.metadata.name}`;
    const list = await this.core.listNamespacedPod({ namespace: this.namespaceOf(trial), labelSelector: selector });
    const primary = trial.spec.primaryPodLabels ?? {};
    return list.items.filter((p) => Object.entries(primary).every(([k, v]) => p.metadata?.labels?.[k] === v));
  }

  /** How the collector of a completed run ended, from its termination message; undefined when unknown. */
  private async collectorOutcome(trial: Trial, kind: RunKind): Promise<CollectorOutcome | undefined> {
    let pods: V1Pod[];
    try {
      pods = await this.trialPods(trial, kind);
    } catch (e) {
      this.options.logger?.warn(`trial ${this.key(trial)}: cannot list its pods to read the collector's outcome (${serverMessage(e)}); taking the run's own condition`);
      return undefined;
    }
    let found: CollectorOutcome | undefined;
    for (const pod of pods) {
      for (const s of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
        const outcome = parseOutcome(s.state?.terminated?.message);
        if (outcome?.phase === 'early-stopped') return outcome;
        found ??= outcome;
      }
    }
    return found;
  }

  /** `; container node exited with code 137 (OOMKilled)` for the failed containers of the trial's pods. */
  private async failedContainers(trial: Trial, kind: RunKind): Promise<string> {
    try {
      const pods = await this.trialPods(trial, kind);
      const failed = pods.flatMap((p) =>
        (p.status?.containerStatuses ?? [])
          .filter((s) => (s.state?.terminated?.exitCode ?? 0) !== 0)
          .map((s) => `container ${s.name} of pod ${p.metadata?.name ?? '?'} exited with code ${s.state?.terminated?.exitCode}${s.state?.terminated?.reason ? ` (${s.state.terminated.reason})` : ''}`),
      );
      return failed.length > 0 ? `; ${failed.slice(0, 3).join('; ')}` : '';
    } catch {
      return '';
    }
  }

  /** The run's phase now; see the module comment. Throws UnavailableError when the API server does not answer. */
  async observe(exp: Experiment, trial: Trial): Promise<RunObservation> {
    const kind = this.runKind(trial);
    const namespace = this.namespaceOf(trial);
    const obj = await this.read(kind, namespace, trial.metadata.name);
    const stop = this.stopped.get(this.key(trial));
    if (obj === undefined) return stop ? { phase: stop.reason, ...(stop.message !== undefined ? { message: stop.message } : {}), completionTime: stop.at } : { phase: 'absent' };
    this.watchKind(kind);
    const meta = isRecord(obj.metadata) ? obj.metadata : {};
    const owners = Array.isArray(meta.ownerReferences) ? meta.ownerReferences.filter(isRecord) : [];
    const owner = owners.find((o) => o.controller === true);
    if (trial.metadata.uid && owner !== undefined && owner.kind === 'Trial' && owner.uid !== trial.metadata.uid) {
      // Left by an earlier Trial of the same name: the garbage collector deletes it, then start() creates ours.
      return { phase: 'pending', message: `${kind.kind} ${namespace}/${trial.metadata.name} belongs to an earlier trial of that name (uid ${String(owner.uid)}); waiting for it to be deleted` };
    }
    const startTime = (getPath(obj, ['status', 'startTime']) as string | undefined) ?? (typeof meta.creationTimestamp === 'string' ? meta.creationTimestamp : undefined);
    const times = { ...(startTime !== undefined ? { startTime } : {}) };
    if (typeof meta.deletionTimestamp === 'string') {
      return stop ? { phase: stop.reason, ...(stop.message !== undefined ? { message: stop.message } : {}), ...times, completionTime: stop.at } : { phase: 'running', ...times };
    }
    const conditions = runConditions(trial, kind.kind);
    if (conditions === undefined) {
      return {
        phase: 'failed',
        message: `no successCondition and failureCondition for kind ${kind.kind}: Katib has defaults only for Job, TrainJob and Kubeflow training jobs; set spec.trialTemplate.successCondition and failureCondition (GJSON paths on the object)`,
        ...times,
      };
    }
    let state;
    try {
      state = evaluateRunConditions(obj, conditions);
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      return { phase: 'failed', message: e.message, ...times };
    }
    const collects = ['StdOut', 'File'].includes(collectorSpecOf(exp, trial).collector?.kind ?? 'StdOut');
    const mayStopEarly = collects && (trial.spec.earlyStoppingRules ?? []).length > 0;
    if (state.state === 'running') {
      if (!mayStopEarly) return { phase: 'running', ...times };
      // The primary pod's collector stopped the training while other pods (workers, other nodes) still run: stop
      // the rest now, as the embedded runtime does, rather than let them train on or fail the run.
      const outcome = await this.collectorOutcome(trial, kind);
      if (outcome?.phase !== 'early-stopped') return { phase: 'running', ...times };
      await this.stop(exp, trial, 'early-stopped', outcome.message);
      return { phase: 'early-stopped', ...(outcome.message !== undefined ? { message: outcome.message } : {}), ...times, completionTime: stamp() };
    }
    const completionTime = (getPath(obj, ['status', 'completionTime']) as string | undefined) ?? stamp();
    if (stop !== undefined) return { phase: stop.reason, ...(stop.message !== undefined ? { message: stop.message } : {}), ...times, completionTime };
    // A run whose collector stopped it early is early-stopped, even if its other pods then failed (a distributed
    // training whose first rank went away).
    const outcome = collects && (state.state === 'succeeded' || mayStopEarly) ? await this.collectorOutcome(trial, kind) : undefined;
    if (outcome?.phase === 'early-stopped') return { phase: 'early-stopped', ...(outcome.message !== undefined ? { message: outcome.message } : {}), ...times, completionTime };
    if (state.state === 'failed') {
      const detail = [state.message, state.reason !== undefined ? `reason ${state.reason}` : undefined].filter(Boolean).join(', ');
      const containers = await this.failedContainers(trial, kind);
      return { phase: 'failed', message: `${kind.kind} ${namespace}/${trial.metadata.name} failed${detail ? `: ${detail}` : ''}${containers}`, ...times, completionTime };
    }
    return { phase: 'succeeded', ...times, completionTime };
  }

  /**
   * Deletes the run object (its pods go with it) and remembers why, for observe. Idempotent: a missing object is
   * fine. Throws UnavailableError when the API server does not answer.
   */
  async stop(_exp: Experiment, trial: Trial, reason: 'killed' | 'early-stopped', message?: string): Promise<void> {
    const key = this.key(trial);
    if (!this.stopped.has(key)) this.stopped.set(key, { reason, ...(message !== undefined ? { message } : {}), at: stamp() });
    await this.delete(trial, this.options.propagationPolicy ?? 'Foreground');
  }

  /** Deletes the run object in the background and forgets the trial. */
  async remove(_exp: Experiment, trial: Trial): Promise<void> {
    await this.delete(trial, 'Background');
    this.stopped.delete(this.key(trial));
  }

  private async delete(trial: Trial, propagationPolicy: 'Foreground' | 'Background'): Promise<void> {
    const kind = this.runKind(trial);
    const namespace = this.namespaceOf(trial);
    const name = trial.metadata.name;
    const what = `delete ${kind.kind} ${namespace}/${name}`;
    const resource = await this.resourceFor(kind, what);
    if (resource === undefined) return;
    try {
      if (resource.group === '') await this.objects.delete({ apiVersion: kind.apiVersion, kind: kind.kind, metadata: { name, namespace } }, undefined, undefined, undefined, undefined, propagationPolicy);
      else await this.custom.deleteNamespacedCustomObject({ group: resource.group, version: resource.version, namespace, plural: resource.plural, name, propagationPolicy });
    } catch (e) {
      if (codeOf(e) === 404) return;
      throw this.translate(e, what, kind);
    }
  }

  /** Calls `listener` with the experiment of a run object whenever one changes. Starts the watches on first use. */
  onChange(listener: (experiment: { namespace: string; name: string }) => void): () => void {
    this.listeners.add(listener);
    for (const kind of this.kinds.values()) this.startInformer(kind);
    return () => this.listeners.delete(listener);
  }

  private watchKind(kind: RunKind): void {
    const id = `${kind.apiVersion}/${kind.kind}`;
    if (!this.kinds.has(id)) this.kinds.set(id, kind);
    if (this.listeners.size > 0) this.startInformer(kind);
  }

  private startInformer(kind: RunKind): void {
    const id = `${kind.apiVersion}/${kind.kind}`;
    if (this.closed || this.informers.has(id)) return;
    const { group, version } = groupVersion(kind.apiVersion);
    if (group === '') return; // core-group runs (a bare Pod) are observed by polling only
    const placeholder = {} as Informer<KubernetesObject>;
    this.informers.set(id, placeholder);
    void (async () => {
      let resource: V1APIResource | undefined;
      try {
        resource = await this.objects.discover(kind.apiVersion, kind.kind);
      } catch (e) {
        // Not served (its CRD is not installed): forget it, a later start() of that kind tries again.
        if (codeOf(e) !== 404) this.options.logger?.warn(`cannot watch ${id}: ${serverMessage(e)}`);
      }
      if (resource === undefined || this.closed) {
        this.informers.delete(id);
        return;
      }
      const ns = this.options.namespace;
      const plural = resource.name;
      const path = `/apis/${group}/${version}${ns ? `/namespaces/${ns}` : ''}/${plural}`;
      const labelSelector = Labels.trialName;
      const list = (): Promise<{ items: KubernetesObject[]; metadata?: { resourceVersion?: string } }> =>
        ns
          ? this.custom.listNamespacedCustomObject({ group, version, namespace: ns, plural, labelSelector })
          : this.custom.listClusterCustomObject({ group, version, plural, labelSelector });
      const informer = makeInformer(this.kubeConfig, path, list, labelSelector);
      const notify = (obj: KubernetesObject): void => {
        const experiment = obj.metadata?.labels?.[Labels.experimentName];
        const namespace = obj.metadata?.namespace;
        if (!experiment || !namespace) return;
        for (const l of [...this.listeners]) l({ namespace, name: experiment });
      };
      informer.on('add', notify);
      informer.on('update', notify);
      informer.on('delete', notify);
      const restart = (): void => {
        setTimeout(() => {
          if (!this.closed && this.informers.get(id) === informer) void informer.start().catch(restart);
        }, this.options.watchRetryMs ?? 1000).unref();
      };
      informer.on('error', (err: unknown) => {
        if (this.closed) return;
        // Not served any more (its CRD was removed): forget it; a later start() of that kind watches again.
        if (codeOf(err) === 404) this.informers.delete(id);
        else restart();
      });
      this.informers.set(id, informer);
      // A failed list is reported through 'error'; a watch that cannot connect rejects start() instead.
      await informer.start().catch(restart);
    })();
  }

  /** Stops the watches. Run objects are left as they are. */
  async close(): Promise<void> {
    this.closed = true;
    const informers = [...this.informers.values()];
    this.informers.clear();
    this.listeners.clear();
    await Promise.all(informers.map((i) => (typeof i.stop === 'function' ? i.stop().catch(() => undefined) : undefined)));
  }
}
