/**
 * The SDK's cluster client: creates the Experiment `optimize({ trainJob })` describes and reads experiments back
 * (`waitForExperiment`, `getBestResults`, `listTrials`, `deleteExperiment`). It talks to the API server through the
 * same KubernetesStore the controller uses, so names, label selectors, creation order and error translation are
 * the controller's: a 404 is a NotFoundError, an unreachable server an UnavailableError, and so on.
 *
 * @kubernetes/client-node is loaded on the first cluster call, not when the SDK is imported: the in-process
 * `optimize()` never pays for it.
 *
 * Waiting polls the Experiment (one GET per `pollIntervalMs`) rather than watching it: it needs only `get` on
 * experiments, survives API server restarts without relisting, and a study's trials last far longer than the
 * interval. Once the first read has succeeded, a read that fails with a retryable error (a network blip, a 503) is
 * tried again at the next interval instead of ending the wait.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Issue } from '../../../algorithms/core/issues.js';
import { DEFAULT_NAMESPACE } from '../../api/defaults.js';
import type { Experiment } from '../../api/types.js';
import { experimentCompleted } from '../../controller/conditions.js';
import { AlreadyExistsError, KatibError, NotFoundError, ValidationError } from '../../errors.js';
import type { KubernetesStore } from '../../store/kubernetes.js';
import { ExperimentExistsError, ExperimentFailedError, WaitAbortedError, WaitTimeoutError } from '../errors.js';
import { fmt, isRecord, reportUnknownKeys } from '../options.js';
import { buildExperiment, DEFAULT_POLL_INTERVAL_MS, GENERATED_NAME_PREFIX, resolveClusterOptions } from './experiment.js';
import { toBestResult, toStudyResult, toTrialResult } from './results.js';
import type { BestTrialResult, ClusterOptions, ClusterStudyResult, ClusterTrialResult, ExperimentCompletion, ExperimentRef, WaitOptions } from './types.js';

/** An open connection to one namespace of a cluster. */
interface Connection {
  readonly store: KubernetesStore;
  readonly namespace: string;
  close(): Promise<void>;
}

/** Where kubectl would find a cluster, or undefined when it would find none. */
function defaultKubeConfigSource(): string | undefined {
  const env = process.env.KUBECONFIG ?? '';
  if (env !== '') return `KUBECONFIG=${env}`;
  const home = join(homedir(), '.kube', 'config');
  if (existsSync(home)) return home;
  if ((process.env.KUBERNETES_SERVICE_HOST ?? '') !== '' && existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token')) return 'the pod service account';
  return undefined;
}

/** Loads the KubeConfig the option names (see ClusterOptions.kubeConfig); throws ValidationError when there is none. */
async function loadKubeConfig(option: unknown): Promise<KubeConfig> {
  if (isRecord(option) && typeof option.makeApiClient === 'function') return option as unknown as KubeConfig;
  const { KubeConfig: Config } = await import('@kubernetes/client-node');
  const kc = new Config();
  let source: string;
  if (typeof option === 'string') {
    source = option;
    try {
      kc.loadFromFile(option);
    } catch (err) {
      throw new ValidationError([{ path: 'kubeConfig', message: `cannot be read (path=${JSON.stringify(option)}): ${err instanceof Error ? err.message : String(err)}` }], 'katib-ts cluster client');
    }
  } else {
    const found = defaultKubeConfigSource();
    if (found === undefined) {
      throw new ValidationError(
        [{ path: 'kubeConfig', message: 'no Kubernetes cluster is configured: KUBECONFIG is unset, ~/.kube/config does not exist and this is not a pod; set KUBECONFIG or pass kubeConfig' }],
        'katib-ts cluster client',
      );
    }
    source = found;
    kc.loadFromDefault();
  }
  if (kc.getCurrentCluster() === null) {
    throw new ValidationError([{ path: 'kubeConfig', message: `${source} has no current context with a cluster; set current-context (kubectl config use-context NAME)` }], 'katib-ts cluster client');
  }
  return kc;
}

async function connect(options: { kubeConfig?: unknown; namespace?: string | undefined }): Promise<Connection> {
  const kubeConfig = await loadKubeConfig(options.kubeConfig);
  const context = kubeConfig.getContextObject(kubeConfig.getCurrentContext());
  const namespace = options.namespace ?? (context?.namespace || DEFAULT_NAMESPACE);
  const { KubernetesStore: Store } = await import('../../store/kubernetes.js');
  const store = new Store({ kubeConfig, namespace });
  return { store, namespace, close: () => store.close() };
}

/** Checks a client function's name and options; every problem at once. */
function checkClientArgs(fn: string, name: unknown, options: unknown, keys: readonly string[]): Record<string, unknown> {
  const issues: Issue[] = [];
  if (typeof name !== 'string' || name === '') issues.push({ path: 'name', message: `must be the Experiment's name (name=${fmt(name)})` });
  const o = options ?? {};
  if (!isRecord(o)) {
    issues.push({ path: 'options', message: `must be an object (options=${fmt(options)})` });
    throw new ValidationError(issues, fn);
  }
  reportUnknownKeys(o, keys, '', issues);
  if (o.namespace !== undefined && (typeof o.namespace !== 'string' || o.namespace === '')) issues.push({ path: 'namespace', message: `must be a namespace's name (namespace=${fmt(o.namespace)})` });
  const kc = o.kubeConfig;
  if (kc !== undefined && !(typeof kc === 'string' && kc !== '') && !(isRecord(kc) && typeof kc.makeApiClient === 'function')) {
    issues.push({ path: 'kubeConfig', message: `must be a KubeConfig of @kubernetes/client-node or a kubeconfig file's path (kubeConfig=${fmt(kc)})` });
  }
  for (const key of ['timeoutMs', 'pollIntervalMs']) {
    const v = o[key];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 1)) issues.push({ path: key, message: `must be an integer number of milliseconds >= 1 (${key}=${fmt(v)})` });
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) issues.push({ path: 'signal', message: `must be an AbortSignal (signal=${fmt(o.signal)})` });
  if (issues.length > 0) throw new ValidationError(issues, fn);
  return o;
}

const CONNECTION_KEYS = ['kubeConfig', 'namespace'] as const;
const WAIT_KEYS = [...CONNECTION_KEYS, 'timeoutMs', 'signal', 'pollIntervalMs'] as const;

/** Runs `fn` on a connection made from `options`, closing it afterwards. */
async function withConnection<T>(options: Record<string, unknown>, fn: (c: Connection) => Promise<T>): Promise<T> {
  const conn = await connect({ kubeConfig: options.kubeConfig, namespace: options.namespace as string | undefined });
  try {
    return await fn(conn);
  } finally {
    await conn.close();
  }
}

async function getOrThrow(conn: Connection, name: string): Promise<Experiment> {
  const exp = await conn.store.getExperiment({ namespace: conn.namespace, name });
  if (!exp) throw new NotFoundError('Experiment', `${conn.namespace}/${name}`);
  return exp;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

function trueConditions(exp: Experiment): string[] {
  return (exp.status?.conditions ?? []).filter((c) => c.status === 'True').map((c) => c.type);
}

/** Polls the experiment until it has a Succeeded or Failed condition; see {@link waitForExperiment}. */
async function waitOn(conn: Connection, name: string, o: { timeoutMs?: number | undefined; signal?: AbortSignal | undefined; pollIntervalMs?: number | undefined }): Promise<Experiment> {
  const deadline = o.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + o.timeoutMs;
  const interval = o.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  let last: Experiment | undefined;
  for (;;) {
    if (o.signal?.aborted) throw new WaitAbortedError(name, conn.namespace, { cause: o.signal.reason });
    try {
      last = await getOrThrow(conn, name);
    } catch (err) {
      if (last === undefined || !(err instanceof KatibError) || !err.retryable) throw err;
    }
    const done = last && experimentCompleted(last);
    if (last && done === 'Succeeded') return last;
    if (last && done === 'Failed') {
      const cond = last.status?.conditions?.find((c) => c.type === 'Failed');
      throw new ExperimentFailedError(name, conn.namespace, cond?.reason ?? 'ExperimentFailed', cond?.message ?? '');
    }
    const left = deadline - Date.now();
    if (left <= 0) throw new WaitTimeoutError(name, conn.namespace, o.timeoutMs ?? 0, last ? trueConditions(last) : []);
    await pause(Math.min(interval, left), o.signal);
  }
}

/**
 * Waits until the Experiment `name` has finished: resolves when its Succeeded condition is true. Reads the
 * experiment every `pollIntervalMs` (default 2 s); the experiment itself is not changed.
 *
 * @throws ExperimentFailedError when it ended Failed, carrying the condition's reason and message.
 * @throws WaitTimeoutError after `timeoutMs`, WaitAbortedError when `signal` aborts (the experiment keeps running).
 * @throws NotFoundError when there is no such experiment (or it is deleted while waiting), ValidationError for bad
 *   options or when no cluster is configured, UnavailableError when the API server cannot be reached.
 */
export async function waitForExperiment(name: string, options: WaitOptions = {}): Promise<ExperimentCompletion> {
  const o = checkClientArgs('waitForExperiment', name, options, WAIT_KEYS);
  return withConnection(o, async (conn) => {
    const exp = await waitOn(conn, name, o as WaitOptions);
    const cond = exp.status?.conditions?.find((c) => c.type === 'Succeeded');
    return { name, namespace: conn.namespace, reason: cond?.reason ?? '', message: cond?.message ?? '', experiment: exp };
  });
}

/**
 * The best trial so far, as the Experiment's `status.currentOptimalTrial` names it: its name, parameters and
 * metrics. Resolves undefined while no trial has reported the objective metric. Read-only.
 *
 * @throws NotFoundError when there is no such experiment; ValidationError for bad options or when no cluster is
 *   configured; UnavailableError when the API server cannot be reached.
 */
export async function getBestResults(name: string, options: ClusterOptions = {}): Promise<BestTrialResult | undefined> {
  const o = checkClientArgs('getBestResults', name, options, CONNECTION_KEYS);
  return withConnection(o, async (conn) => {
    const exp = await getOrThrow(conn, name);
    return toBestResult(exp, exp.status?.currentOptimalTrial);
  });
}

/**
 * The Experiment's trials (the Trial resources labelled `katib.kubeflow.org/experiment=<name>`) in creation order,
 * each with its parameters, state and metrics. Read-only; running experiments give their trials so far.
 *
 * @throws NotFoundError when there is no such experiment; ValidationError for bad options or when no cluster is
 *   configured; UnavailableError when the API server cannot be reached.
 */
export async function listTrials(name: string, options: ClusterOptions = {}): Promise<ClusterTrialResult[]> {
  const o = checkClientArgs('listTrials', name, options, CONNECTION_KEYS);
  return withConnection(o, async (conn) => {
    const exp = await getOrThrow(conn, name);
    const trials = await conn.store.listTrials({ namespace: conn.namespace, name });
    return trials.map((t, i) => toTrialResult(exp, t, i));
  });
}

/**
 * Deletes the Experiment; the cluster's garbage collector then deletes its trials, their TrainJobs and pods, and
 * its Suggestion (running trials are stopped that way). Resolves once the API server has accepted the deletion.
 *
 * @throws NotFoundError when there is no such experiment (catch it to make deletion idempotent); ValidationError for
 *   bad options or when no cluster is configured; UnavailableError when the API server cannot be reached.
 */
export async function deleteExperiment(name: string, options: ClusterOptions = {}): Promise<void> {
  const o = checkClientArgs('deleteExperiment', name, options, CONNECTION_KEYS);
  await withConnection(o, async (conn) => {
    const deleted = await conn.store.deleteExperiment({ namespace: conn.namespace, name });
    if (!deleted) throw new NotFoundError('Experiment', `${conn.namespace}/${name}`);
  });
}

/**
 * optimize()'s cluster path (see `optimize`): validates the options and the Experiment they describe before
 * contacting the cluster, creates the Experiment, and unless `wait: false` waits for it and reads its trials.
 */
export async function optimizeOnCluster(options: unknown): Promise<ClusterStudyResult | ExperimentRef> {
  const o = resolveClusterOptions(options);
  const name = o.experimentName ?? `${GENERATED_NAME_PREFIX}${randomBytes(3).toString('hex')}`;
  // Checked once before connecting, so bad options fail the same with or without a cluster.
  buildExperiment(o, name, o.namespace ?? DEFAULT_NAMESPACE);
  return withConnection({ kubeConfig: o.kubeConfig, namespace: o.namespace }, async (conn) => {
    const exp = buildExperiment(o, name, conn.namespace);
    // Cancelled before anything exists on the cluster: create nothing.
    o.signal?.throwIfAborted();
    try {
      await conn.store.createExperiment(exp);
    } catch (err) {
      if (err instanceof AlreadyExistsError) throw new ExperimentExistsError(name, conn.namespace);
      throw err;
    }
    if (!o.wait) return { name, namespace: conn.namespace };
    const key = { namespace: conn.namespace, name };
    try {
      const done = await waitOn(conn, name, o);
      return toStudyResult(done, await conn.store.listTrials(key));
    } catch (err) {
      if (!(err instanceof ExperimentFailedError)) throw err;
      const failed = await conn.store.getExperiment(key);
      const result = failed ? toStudyResult(failed, await conn.store.listTrials(key)) : undefined;
      throw new ExperimentFailedError(err.experimentName, err.namespace, err.reason, err.conditionMessage, result);
    }
  });
}
