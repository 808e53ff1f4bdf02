/**
 * Cluster mode: the same ExperimentController as embedded mode, driven the way controller-runtime drives a
 * reconciler. Watches on Experiments, Trials and Suggestions (the Kubernetes store's informers) and on trial runs
 * (the runtime's onChange) enqueue the owning experiment's key into a de-duplicating work queue; workers take keys
 * and reconcile them, never two passes of one key at once.
 *
 * - Level-based: a pass never looks at which event woke it. A missing experiment is done; one being deleted is left
 *   to the garbage collector.
 * - Admission (there is no webhook): an experiment without conditions is new. It is validated (validateExperiment,
 *   with the algorithms this controller can reach); an invalid one is marked Failed with every issue in the
 *   message. A valid one gets Katib's defaults written into its spec (applyDefaults), as Katib's mutating webhook
 *   would, so `kubectl get -o yaml` shows what runs. Later edits are not re-validated.
 * - Errors: a TerminalError fails the experiment (controller.failExperiment); any other error requeues the key with
 *   per-key exponential backoff (`baseDelayMs` doubling up to `maxDelayMs`), reset by the next success. Conflicts
 *   are expected with concurrent writers and are requeued without a warning.
 * - An experiment that is not done is requeued after `resyncMs` even without events (metrics arrive in the
 *   observation store, which has no watch).
 */
import type { Registry } from 'prom-client';
import { Counter, Gauge, Histogram } from 'prom-client';
import { applyDefaults } from '../api/defaults.js';
import { jsonEqual } from '../api/guards.js';
import type { Experiment } from '../api/types.js';
import { validateExperiment, type ValidateOptions } from '../api/validate.js';
import { ConflictError, TerminalError, ValidationError } from '../errors.js';
import type { TrialRuntime } from '../runtime/runtime.js';
import type { KubernetesStore } from '../store/kubernetes.js';
import type { ObjectKey, StoreEvent } from '../store/store.js';
import { ExperimentController, type ControllerDeps, type Logger } from './experiment-controller.js';

/** Backoff of one key after `failures` consecutive failures: base·2^(failures-1), capped. */
export function backoffDelay(failures: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(failures - 1, 30)));
}

/**
 * controller-runtime's work queue: a key is queued at most once however often it is added; a key added while it is
 * being processed is queued again when `done` is called, so processing of one key never overlaps; `addAfter`
 * delays, `addRateLimited` delays by the key's failure count, `forget` resets that count.
 */
export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private waiters: (() => void)[] = [];
  private shuttingDown = false;

  constructor(private readonly backoff: { baseMs: number; maxMs: number } = { baseMs: 100, maxMs: 60_000 }) {}

  /** Queues `key` unless it is queued already (or being processed: then it is queued again on `done`). */
  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.queue.push(key);
    this.wake();
  }

  /** Queues `key` after `ms`; an earlier pending `addAfter` of the same key wins. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) return this.add(key);
    const at = Date.now() + ms;
    const pending = this.timers.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** Queues `key` after its backoff and counts the failure; returns the delay used. */
  addRateLimited(key: string): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    const delay = backoffDelay(n, this.backoff.baseMs, this.backoff.maxMs);
    this.addAfter(key, delay);
    return delay;
  }

  /** How many times in a row `key` has failed. */
  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Resets the failure count of `key`. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** The next key to process; waits for one. Resolves undefined once the queue is shut down. */
  async get(): Promise<string | undefined> {
    for (;;) {
      if (this.shuttingDown) return undefined;
      const key = this.queue.shift();
      if (key !== undefined) {
        this.dirty.delete(key);
        this.processing.add(key);
        return key;
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Marks `key` processed; requeues it if it was added meanwhile. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key) && !this.shuttingDown) {
      this.queue.push(key);
      this.wake();
    }
  }

  /** Keys waiting (not counting delayed ones). */
  get length(): number {
    return this.queue.length;
  }

  /** Stops handing out keys; pending delays are dropped. Keys being processed finish normally. */
  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private wake(): void {
    const w = this.waiters.shift();
    w?.();
  }
}

export interface ClusterManagerOptions {
  /** The Kubernetes store; its watch drives the queue. */
  readonly store: KubernetesStore;
  /** Everything else the ExperimentController needs (its `store` is the one above). */
  readonly deps: Omit<ControllerDeps, 'store'>;
  /** Algorithms the suggestion services serve, for admission. */
  readonly validation: Pick<ValidateOptions, 'knownAlgorithms' | 'knownEarlyStopping'>;
  /** Concurrent reconciles (of different experiments). Default 4. */
  readonly workers?: number;
  /** Requeue period of experiments that are not done. Default 10,000 ms. */
  readonly resyncMs?: number;
  /** First retry delay after an error. Default 100 ms; doubles per consecutive failure. */
  readonly baseDelayMs?: number;
  /** Longest retry delay. Default 60,000 ms. */
  readonly maxDelayMs?: number;
  /** Prometheus registry for the manager's metrics; none are recorded without one. */
  readonly registry?: Registry;
  readonly logger?: Logger;
}

type PassOutcome = 'done' | 'requeue' | 'error' | 'conflict' | 'failed' | 'invalid';

interface ManagerMetrics {
  readonly reconciles: Counter<'result'>;
  readonly duration: Histogram;
  readonly depth: Gauge;
}

function keyString(key: ObjectKey): string {
  return `${key.namespace}/${key.name}`;
}

function parseKey(s: string): ObjectKey {
  const i = s.indexOf('/');
  return { namespace: s.slice(0, i), name: s.slice(i + 1) };
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Runs the reconcile loop of cluster mode; see the module comment. `start()`, then `stop()` on shutdown. */
export class ClusterManager {
  readonly controller: ExperimentController;
  readonly queue: WorkQueue;
  private readonly store: KubernetesStore;
  private readonly runtime: Pick<TrialRuntime, 'onChange'>;
  private readonly workers: number;
  private readonly resyncMs: number;
  private readonly logger: Logger | undefined;
  private readonly metrics: ManagerMetrics | undefined;
  /** key → `uid/generation` whose defaults were written, so a CRD that prunes a default cannot cause a write loop. */
  private readonly defaulted = new Map<string, string>();
  private unsubscribe: (() => void)[] = [];
  private running: Promise<void>[] = [];
  private started = false;

  constructor(private readonly options: ClusterManagerOptions) {
    this.store = options.store;
    this.runtime = options.deps.runtime;
    this.controller = new ExperimentController({ ...options.deps, store: options.store });
    this.queue = new WorkQueue({ baseMs: options.baseDelayMs ?? 100, maxMs: options.maxDelayMs ?? 60_000 });
    this.workers = options.workers ?? 4;
    this.resyncMs = options.resyncMs ?? 10_000;
    this.logger = options.logger ?? options.deps.logger;
    const registry = options.registry;
    const queue = this.queue;
    this.metrics = registry
      ? {
          reconciles: new Counter({ name: 'katib_controller_reconcile_total', help: 'Experiment reconcile passes by outcome', labelNames: ['result'], registers: [registry] }),
          duration: new Histogram({ name: 'katib_controller_reconcile_time_seconds', help: 'Duration of one experiment reconcile pass', registers: [registry] }),
          depth: new Gauge({
            name: 'katib_controller_workqueue_depth',
            help: 'Experiment keys waiting to be reconciled',
            registers: [registry],
            collect() {
              this.set(queue.length);
            },
          }),
        }
      : undefined;
  }

  /** Starts the watches and the workers. Existing experiments arrive through the initial list of the watch. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.unsubscribe.push(this.store.watch((e) => this.onStoreEvent(e)));
    this.unsubscribe.push(this.runtime.onChange((exp) => this.queue.add(keyString(exp))));
    for (let i = 0; i < this.workers; i++) this.running.push(this.work());
  }

  /** True once the watches have listed everything (for /readyz). */
  isSynced(): boolean {
    return this.store.isWatchSynced();
  }

  /** Resolves once the watches have listed everything. */
  async synced(): Promise<void> {
    await this.store.watchSynced();
  }

  /** Stops taking work, waits for the passes in flight, and unsubscribes. Closes nothing it was given. */
  async stop(): Promise<void> {
    this.queue.shutDown();
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [];
    await Promise.all(this.running);
    this.running = [];
  }

  private onStoreEvent(e: StoreEvent): void {
    if (e.experiment.name === '') return;
    this.queue.add(keyString(e.experiment));
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      const end = this.metrics?.duration.startTimer();
      let outcome: PassOutcome;
      try {
        outcome = await this.process(key);
      } finally {
        end?.();
        this.queue.done(key);
      }
      this.metrics?.reconciles.inc({ result: outcome });
    }
  }

  /** One pass for `key` with the queue bookkeeping; never throws. */
  private async process(key: string): Promise<PassOutcome> {
    const objectKey = parseKey(key);
    try {
      const outcome = await this.reconcile(objectKey);
      this.queue.forget(key);
      if (outcome === 'requeue') this.queue.addAfter(key, this.resyncMs);
      return outcome;
    } catch (e) {
      if (e instanceof TerminalError) {
        try {
          await this.controller.failExperiment(objectKey, message(e));
          this.queue.forget(key);
          this.logger?.warn(`experiment ${key} failed: ${message(e)}`);
          return 'failed';
        } catch (e2) {
          const delay = this.queue.addRateLimited(key);
          this.logger?.warn(`experiment ${key}: could not record the failure (${message(e2)}); retrying in ${delay} ms`);
          return 'error';
        }
      }
      const delay = this.queue.addRateLimited(key);
      if (e instanceof ConflictError) return 'conflict';
      this.logger?.warn(`reconcile ${key} failed (attempt ${this.queue.numRequeues(key)}, retrying in ${delay} ms): ${message(e)}`);
      return 'error';
    }
  }

  /** Admission, then the shared reconcile. Throws what the store, runtime and services throw. */
  private async reconcile(key: ObjectKey): Promise<PassOutcome> {
    const exp = await this.store.getExperiment(key);
    if (!exp || exp.metadata.deletionTimestamp) {
      this.defaulted.delete(keyString(key));
      return 'done';
    }
    if ((exp.status?.conditions ?? []).length === 0) {
      const admitted = await this.admit(exp);
      if (admitted === 'invalid') return 'invalid';
    }
    const { done } = await this.controller.reconcile(key);
    return done ? 'done' : 'requeue';
  }

  /** Validates a new experiment and stores its defaults; marks it Failed when invalid. */
  private async admit(exp: Experiment): Promise<'invalid' | 'ok'> {
    const key = { namespace: exp.metadata.namespace ?? 'default', name: exp.metadata.name };
    const issues = validateExperiment(exp, { ...this.options.validation });
    if (issues.length > 0) {
      const error = new ValidationError(issues, `experiment ${key.namespace}/${key.name}`);
      await this.controller.failExperiment(key, error.message);
      this.logger?.warn(`${error.message}`);
      return 'invalid';
    }
    const spec = applyDefaults(exp).spec;
    const version = (e: Experiment): string => `${e.metadata.uid ?? ''}/${e.metadata.generation ?? 0}`;
    if (!jsonEqual(spec, exp.spec) && this.defaulted.get(keyString(key)) !== version(exp)) {
      const stored = await this.store.updateExperiment({ ...exp, spec });
      this.defaulted.set(keyString(key), version(stored));
      if (!jsonEqual(applyDefaults(stored).spec, stored.spec)) {
        this.logger?.warn(`experiment ${key.namespace}/${key.name}: the API server dropped defaulted fields (is the Experiment CRD older than this controller?); running with the stored spec`);
      }
    }
    return 'ok';
  }
}
