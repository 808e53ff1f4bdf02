/**
 * One informer (list, then watch from the list's resourceVersion) over a custom resource, that keeps itself alive:
 * client-node's informer stops on an error (a lost connection, a 5xx on the list) and expects its user to start it
 * again, so this wrapper restarts it with capped exponential backoff until `stop()`. A 410 Expired is handled by the
 * informer itself (it relists). Used by the Kubernetes store's `watch()` and by the cluster manager.
 */
import { CustomObjectsApi, makeInformer, type Informer, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';

/** A resource to watch: `group/version`, plural name, one namespace or all. */
export interface WatchedResource {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  /** One namespace; undefined watches all namespaces (needs cluster-wide list/watch). */
  readonly namespace?: string;
  readonly labelSelector?: string;
}

export type InformerEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface ResourceWatchOptions {
  /** First restart delay after an error, ms. Default 200; doubles up to `maxRetryMs`. */
  readonly retryMs?: number;
  /** Longest restart delay, ms. Default 10,000. */
  readonly maxRetryMs?: number;
  /** Told about every error before the restart (for logs); the watch restarts either way. */
  readonly onError?: (err: unknown, resource: WatchedResource) => void;
}

/** The API path an informer watches, e.g. `/apis/kubeflow.org/v1beta1/namespaces/ns/trials`. */
export function resourcePath(r: WatchedResource): string {
  const base = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  return `${base}${r.namespace ? `/namespaces/${encodeURIComponent(r.namespace)}` : ''}/${r.plural}`;
}

/** A self-restarting informer; see the module comment. Create, then `start()`; `stop()` ends it for good. */
export class ResourceWatch {
  private readonly informer: Informer<KubernetesObject>;
  private readonly retryMs: number;
  private readonly maxRetryMs: number;
  private stopped = false;
  private failedSinceStart = false;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private syncedFlag = false;
  private resolveSynced: (() => void) | undefined;
  /** Resolves once the first list has completed and the watch is open. */
  readonly synced: Promise<void>;

  constructor(
    kubeConfig: KubeConfig,
    readonly resource: WatchedResource,
    onEvent: (type: InformerEventType, obj: KubernetesObject) => void,
    private readonly options: ResourceWatchOptions = {},
  ) {
    this.retryMs = options.retryMs ?? 200;
    this.maxRetryMs = options.maxRetryMs ?? 10_000;
    this.synced = new Promise((resolve) => (this.resolveSynced = resolve));
    const api = kubeConfig.makeApiClient(CustomObjectsApi);
    const { group, version, plural, namespace, labelSelector } = resource;
    const list = async (): Promise<KubernetesListObject<KubernetesObject>> =>
      (namespace
        ? await api.listNamespacedCustomObject({ group, version, namespace, plural, labelSelector })
        : await api.listClusterCustomObject({ group, version, plural, labelSelector })) as KubernetesListObject<KubernetesObject>;
    this.informer = makeInformer(kubeConfig, resourcePath(resource), list, labelSelector);
    this.informer.on('add', (obj) => onEvent('ADDED', obj));
    this.informer.on('update', (obj) => onEvent('MODIFIED', obj));
    this.informer.on('delete', (obj) => onEvent('DELETED', obj));
    this.informer.on('error', (err: unknown) => {
      this.failedSinceStart = true;
      if (this.stopped) return;
      this.options.onError?.(err, this.resource);
      this.scheduleRestart();
    });
  }

  /** True once the first list completed. */
  get isSynced(): boolean {
    return this.syncedFlag;
  }

  /** Lists and opens the watch; resolves after the first attempt (an error schedules a retry instead of throwing). */
  async start(): Promise<void> {
    this.stopped = false;
    await this.run();
  }

  /** Stops watching for good; pending restarts are cancelled. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.informer.stop();
  }

  private async run(): Promise<void> {
    if (this.stopped) return;
    this.failedSinceStart = false;
    await this.informer.start();
    if (!this.failedSinceStart && !this.stopped) {
      this.attempt = 0;
      if (!this.syncedFlag) {
        this.syncedFlag = true;
        this.resolveSynced?.();
      }
    }
  }

  private scheduleRestart(): void {
    if (this.timer || this.stopped) return;
    const delay = Math.min(this.maxRetryMs, this.retryMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 20);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.run();
    }, delay);
    this.timer.unref();
  }
}
