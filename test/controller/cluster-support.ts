/**
 * Shared pieces of the cluster-mode tests: a connection to the fake API server (with the Katib CRDs and a simulated
 * node running Jobs and TrainJobs) or to the cluster named by KATIB_TEST_KUBECONFIG, experiment fixtures whose trials
 * run a small Node program, and helpers that read the world back.
 *
 * `PodLogRuntime` is a deliberately small TrialRuntime for the in-process manager tests: it creates the trial's run
 * object from trial.spec.runSpec (owned by the Trial), reads success and failure from its conditions, and collects
 * metrics by reading the primary pod's log through the API (pods/log) once the run has ended. The production
 * runtime (src/runtime/kubernetes.ts, a metrics-collector sidecar) is exercised by the `katib controller` binary
 * tests; this one keeps the manager's own tests independent of it.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { Experiment, Trial, UnstructuredObject } from '../../src/api/types.js';
import { Labels } from '../../src/api/types.js';
import { createLineParser } from '../../src/collector/parse.js';
import type { RunObservation, TrialRuntime } from '../../src/runtime/runtime.js';
import { kubeCode } from '../../src/store/kubernetes-errors.js';
import { ResourceWatch } from '../../src/store/kubernetes-watch.js';
import type { ObservationStore } from '../../src/store/store.js';
import { Registry } from 'prom-client';
import { ALGORITHMS } from '../../algorithms/index.js';
import { EARLY_STOPPING_ALGORITHMS } from '../../algorithms/earlystopping/index.js';
import { renderTrialSpec } from '../../src/api/template.js';
import { ClusterManager } from '../../src/controller/cluster.js';
import { KubernetesStore } from '../../src/store/kubernetes.js';
import { MemoryObservationStore } from '../../src/store/memory-observations.js';
import type { SuggestionClient } from '../../src/suggestion/client.js';
import { loadCrds } from '../manifests/manifests.js';
import { KATIB_BIN, REPO, startKatib } from '../support/cli.js';
import { apiStatus, connectTestCluster, usingRealCluster, type TestCluster } from '../support/kube-test-cluster.js';
import { SimulatedNode } from '../support/simulated-node.js';

/** A trial program: `loss=` and `accuracy=` lines for 3 epochs (--sleep ms apart, default 20) from --x and --y; exits with --fail when given. */
export const TRIAL_SCRIPT = [
  "const a = Object.fromEntries(process.argv.filter((s) => /^--\\w+=/.test(s)).map((s) => s.slice(2).split('=')));",
  'const x = Number(a.x ?? 0), y = Number(a.y ?? 0);',
  'let i = 0;',
  'const t = setInterval(() => {',
  '  i++;',
  '  const loss = (x - 0.3) ** 2 + (y - 2) ** 2 + 1 / i;',
  "  console.log('epoch=' + i + ' loss=' + loss.toFixed(6) + ' accuracy=' + (1 / (1 + loss)).toFixed(6));",
  '  if (i >= 3) { clearInterval(t); if (a.fail) process.exit(Number(a.fail)); }',
  '}, Number(a.sleep ?? 20));',
].join('\n');

const IMAGE = 'node:20-slim';

export interface ClusterHarness {
  readonly cluster: TestCluster;
  readonly kubeConfig: KubeConfig;
  readonly namespace: string;
  /** The simulated node on the fake; undefined on a real cluster (its own nodes run the pods). */
  readonly node: SimulatedNode | undefined;
  close(): Promise<void>;
}

/** The fake (with CRDs and a simulated node) or the real cluster (CRDs ensured), in a fresh namespace. */
export async function connectCluster(prefix = 'katib-cluster'): Promise<ClusterHarness> {
  const cluster = await connectTestCluster({ namespacePrefix: prefix, fake: { crds: loadCrds(), bookmarkIntervalMs: 50 } });
  if (!cluster.fake) await ensureCrds(cluster.kubeConfig);
  let node: SimulatedNode | undefined;
  if (cluster.fake) {
    // /var/log/katib: a TrainJob trainer's own filesystem, where the wrapped collector keeps its metrics file.
    node = new SimulatedNode({ kubeConfig: cluster.kubeConfig, server: cluster.fake, namespace: cluster.namespace, kinds: ['Job', 'TrainJob'], killGraceMs: 200, containerPaths: ['/var/log/katib'] });
    await node.start();
  }
  return {
    cluster,
    kubeConfig: cluster.kubeConfig,
    namespace: cluster.namespace,
    node,
    close: async () => {
      await node?.stop();
      await cluster.close();
    },
  };
}

/** Creates the Katib CRDs that are missing (through CustomObjectsApi, which keeps x-kubernetes-* fields). */
export async function ensureCrds(config: KubeConfig): Promise<void> {
  const api = config.makeApiClient(CustomObjectsApi);
  for (const crd of loadCrds()) {
    try {
      await api.createClusterCustomObject({ group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions', body: crd });
    } catch (err) {
      if (apiStatus(err)?.code !== 409) throw err;
    }
  }
}

export interface FixtureOptions {
  readonly maxTrialCount?: number;
  readonly parallelTrialCount?: number;
  readonly maxFailedTrialCount?: number;
  readonly algorithmSettings?: { name: string; value: string }[];
  /** Extra program arguments, e.g. `--fail=3`. */
  readonly extraArgs?: string[];
}

function baseSpec(o: FixtureOptions): Record<string, unknown> {
  return {
    objective: { type: 'minimize', objectiveMetricName: 'loss', additionalMetricNames: ['accuracy'] },
    algorithm: { algorithmName: 'random', algorithmSettings: o.algorithmSettings ?? [{ name: 'random_state', value: '7' }] },
    parallelTrialCount: o.parallelTrialCount ?? 2,
    maxTrialCount: o.maxTrialCount ?? 4,
    maxFailedTrialCount: o.maxFailedTrialCount ?? Math.min(3, o.maxTrialCount ?? 4),
    parameters: [
      { name: 'x', parameterType: 'double', feasibleSpace: { min: '0', max: '1' } },
      { name: 'y', parameterType: 'int', feasibleSpace: { min: '0', max: '4' } },
    ],
  };
}

const ARGS = ['--x=${trialParameters.x}', '--y=${trialParameters.y}'];
const TRIAL_PARAMETERS = [
  { name: 'x', reference: 'x' },
  { name: 'y', reference: 'y' },
];

/** An Experiment whose trials are batch/v1 Jobs running TRIAL_SCRIPT. Defaults are left for the controller to fill. */
export function jobExperiment(name: string, namespace: string, o: FixtureOptions = {}): Experiment {
  return {
    apiVersion: 'kubeflow.org/v1beta1',
    kind: 'Experiment',
    metadata: { name, namespace },
    spec: {
      ...baseSpec(o),
      trialTemplate: {
        primaryContainerName: 'training',
        trialParameters: TRIAL_PARAMETERS,
        trialSpec: {
          apiVersion: 'batch/v1',
          kind: 'Job',
          spec: {
            template: {
              spec: {
                containers: [{ name: 'training', image: IMAGE, command: ['node', '-e', TRIAL_SCRIPT, '--', ...ARGS, ...(o.extraArgs ?? [])] }],
                restartPolicy: 'Never',
              },
            },
          },
        },
      },
    },
  } as Experiment;
}

/** An Experiment whose trials are Kubeflow Trainer v2 TrainJobs (one node) running TRIAL_SCRIPT. */
export function trainJobExperiment(name: string, namespace: string, o: FixtureOptions = {}): Experiment {
  return {
    apiVersion: 'kubeflow.org/v1beta1',
    kind: 'Experiment',
    metadata: { name, namespace },
    spec: {
      ...baseSpec(o),
      trialTemplate: {
        primaryContainerName: 'node',
        trialParameters: TRIAL_PARAMETERS,
        trialSpec: {
          apiVersion: 'trainer.kubeflow.org/v1alpha1',
          kind: 'TrainJob',
          spec: {
            runtimeRef: { name: 'torch-distributed' },
            trainer: { numNodes: 1, image: IMAGE, command: ['node', '-e', TRIAL_SCRIPT, '--'], args: [...ARGS, ...(o.extraArgs ?? [])] },
          },
        },
      },
    },
  } as Experiment;
}

interface RunRef {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly kind: string;
}

function runRef(run: UnstructuredObject): RunRef {
  const apiVersion = String(run.apiVersion ?? '');
  const kind = String(run.kind ?? '');
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  return { group: group ?? '', version: version ?? '', kind, plural: `${kind.toLowerCase()}s` };
}

type Conditions = { type?: string; status?: string; message?: string }[];

/** See the module comment. Handles Jobs and TrainJobs. */
export class PodLogRuntime implements TrialRuntime {
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;
  private readonly stopped = new Map<string, { reason: 'killed' | 'early-stopped'; message?: string }>();
  private readonly listeners = new Set<(e: { namespace: string; name: string }) => void>();
  private readonly watches: ResourceWatch[];

  constructor(
    kubeConfig: KubeConfig,
    private readonly namespace: string,
    private readonly observations: ObservationStore,
  ) {
    this.custom = kubeConfig.makeApiClient(CustomObjectsApi);
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    const notify = (_: unknown, obj: KubernetesObject): void => {
      const exp = obj.metadata?.labels?.[Labels.experimentName];
      if (exp) for (const l of this.listeners) l({ namespace: obj.metadata?.namespace ?? namespace, name: exp });
    };
    this.watches = [
      new ResourceWatch(kubeConfig, { group: 'batch', version: 'v1', plural: 'jobs', namespace }, notify, { onError: () => undefined }),
      new ResourceWatch(kubeConfig, { group: 'trainer.kubeflow.org', version: 'v1alpha1', plural: 'trainjobs', namespace }, notify, { onError: () => undefined }),
    ];
    for (const w of this.watches) void w.start();
  }

  async start(_exp: Experiment, trial: Trial): Promise<void> {
    const run = trial.spec.runSpec;
    if (!run) throw new Error(`trial ${trial.metadata.name} has no runSpec`);
    const ref = runRef(run);
    const meta = (run.metadata ?? {}) as Record<string, unknown>;
    const body = {
      ...run,
      metadata: {
        ...meta,
        name: trial.metadata.name,
        namespace: this.namespace,
        ownerReferences: [{ apiVersion: 'kubeflow.org/v1beta1', kind: 'Trial', name: trial.metadata.name, uid: trial.metadata.uid ?? '', controller: true, blockOwnerDeletion: true }],
      },
    };
    try {
      await this.custom.createNamespacedCustomObject({ group: ref.group, version: ref.version, namespace: this.namespace, plural: ref.plural, body });
    } catch (err) {
      if (kubeCode(err) !== 409) throw err;
    }
  }

  async observe(_exp: Experiment, trial: Trial): Promise<RunObservation> {
    const run = trial.spec.runSpec;
    if (!run) return { phase: 'absent' };
    const ref = runRef(run);
    let obj: { status?: { conditions?: Conditions } };
    try {
      obj = (await this.custom.getNamespacedCustomObject({ group: ref.group, version: ref.version, namespace: this.namespace, plural: ref.plural, name: trial.metadata.name })) as typeof obj;
    } catch (err) {
      if (kubeCode(err) !== 404) throw err;
      const stop = this.stopped.get(trial.metadata.name);
      return stop ? { phase: stop.reason, message: stop.message } : { phase: 'absent' };
    }
    const stop = this.stopped.get(trial.metadata.name);
    if (stop) return { phase: stop.reason, message: stop.message };
    const conds = obj.status?.conditions ?? [];
    const isTrue = (type: string) => conds.some((c) => c.type === type && c.status === 'True');
    if (isTrue('Failed')) return { phase: 'failed', message: conds.find((c) => c.type === 'Failed')?.message };
    if (isTrue('Complete') || isTrue('Succeeded')) {
      await this.collect(trial, ref);
      return { phase: 'succeeded' };
    }
    return { phase: 'running' };
  }

  async stop(_exp: Experiment, trial: Trial, reason: 'killed' | 'early-stopped', message?: string): Promise<void> {
    this.stopped.set(trial.metadata.name, { reason, message });
    const run = trial.spec.runSpec;
    if (!run) return;
    const ref = runRef(run);
    try {
      await this.custom.deleteNamespacedCustomObject({ group: ref.group, version: ref.version, namespace: this.namespace, plural: ref.plural, name: trial.metadata.name, propagationPolicy: 'Background' });
    } catch (err) {
      if (kubeCode(err) !== 404) throw err;
    }
  }

  onChange(listener: (experiment: { namespace: string; name: string }) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await Promise.all(this.watches.map((w) => w.stop()));
  }

  /** Reads the primary pod's log and stores its metrics once (batch id = trial name). */
  private async collect(trial: Trial, ref: RunRef): Promise<void> {
    const name = trial.metadata.name;
    const selector = ref.kind === 'Job' ? `batch.kubernetes.io/job-name=${name}` : `jobset.sigs.k8s.io/jobset-name=${name},batch.kubernetes.io/job-completion-index=0`;
    const pods = await this.core.listNamespacedPod({ namespace: this.namespace, labelSelector: selector });
    const pod = pods.items.find((p) => p.status?.phase === 'Succeeded') ?? pods.items[0];
    if (!pod?.metadata?.name) return;
    const container = trial.spec.primaryContainerName ?? (ref.kind === 'Job' ? 'training' : 'node');
    const log = await this.core.readNamespacedPodLog({ namespace: this.namespace, name: pod.metadata.name, container });
    const metrics = [trial.spec.objective?.objectiveMetricName ?? 'loss', ...(trial.spec.objective?.additionalMetricNames ?? [])];
    const parse = createLineParser({ metrics, format: 'TEXT', now: () => new Date() });
    const entries = String(log).split('\n').flatMap((line) => parse(line));
    await this.observations.report(name, entries, `pod-log-${name}`);
  }
}

export interface ControllerProcess {
  readonly child: ChildProcess;
  readonly done: Promise<{ code: number | null; stdout: string; stderr: string }>;
  output(): string;
  /** Resolves with the health port once the controller logged it. */
  healthPort(): Promise<number>;
}

/**
 * Writes a kubeconfig for `h` (or `o.kubeConfig`) and starts `katib controller` on it with the flags tests use plus `extra`: observation
 * logs in-process (--db) unless `o.dbManagerAddress` names a shared DB-manager. On a real cluster the sidecar image is
 * KATIB_TEST_COLLECTOR_IMAGE and the pods report to KATIB_TEST_CONTROLLER_HOST.
 */
export function startController(h: ClusterHarness, dir: string, o: { extra?: string[]; dbManagerAddress?: string; kubeConfig?: KubeConfig } = {}): ControllerProcess {
  const { extra = [], dbManagerAddress } = o;
  const real = usingRealCluster();
  const kubeconfig = path.join(dir, 'kubeconfig.json');
  fs.writeFileSync(kubeconfig, (o.kubeConfig ?? h.kubeConfig).exportConfig());
  const katib = JSON.stringify([process.execPath, KATIB_BIN]);
  const host = process.env.KATIB_TEST_CONTROLLER_HOST ?? '';
  const args = [
    'controller',
    '--kubeconfig',
    kubeconfig,
    '--namespace',
    h.namespace,
    ...(dbManagerAddress ? ['--db-manager-address', dbManagerAddress] : ['--db', `sqlite:${path.join(dir, 'observations.db')}`, '--db-manager-port', '0']),
    '--health-port',
    '0',
    '--health-host',
    '127.0.0.1',
    '--resync-period',
    '1',
    ...(real
      ? ['--collector-image', process.env.KATIB_TEST_COLLECTOR_IMAGE as string]
      : ['--collector-command', katib, '--trainer-collector-command', katib]),
    ...extra,
  ];
  // POD_IP is what the controller advertises its in-process DBManager as: this machine, as the pods reach it.
  const env = { KATIB_DB_MANAGER_ADDRESS: '', KATIB_SUGGESTION_ADDRESS: '', KATIB_EARLY_STOPPING_ADDRESS: '', POD_NAME: '', POD_IP: real ? host : '' };
  const started = startKatib(args, REPO, env);
  return {
    ...started,
    healthPort: () =>
      waitUntil(
        async () => /health on http:\/\/[^:]+:(\d+)/.exec(started.output())?.[1],
        (port) => port !== undefined,
        'the controller to log its health port',
        20_000,
      ).then(Number),
  };
}

/** Polls `read` until `check` accepts its value; returns that value. */
export interface RunningManager {
  readonly manager: ClusterManager;
  readonly store: KubernetesStore;
  readonly registry: Registry;
  stop(): Promise<void>;
}

/**
 * An in-process cluster manager with its own store, PodLogRuntime and observation store (shared when given), as one
 * controller process would have, asking `client` for suggestions. Started; `stop()` closes all of it.
 */
export function startManager(h: ClusterHarness, client: SuggestionClient, observations: ObservationStore = new MemoryObservationStore()): RunningManager {
  const store = new KubernetesStore({ kubeConfig: h.kubeConfig, namespace: h.namespace, watch: { retryMs: 50 } });
  const runtime = new PodLogRuntime(h.kubeConfig, h.namespace, observations);
  const registry = new Registry();
  const manager = new ClusterManager({
    store,
    deps: { observations, runtime, suggestionClient: () => client, renderRun: (exp, t) => renderTrialSpec(exp, t) },
    validation: { knownAlgorithms: Object.keys(ALGORITHMS), knownEarlyStopping: Object.keys(EARLY_STOPPING_ALGORITHMS) },
    resyncMs: 200,
    baseDelayMs: 20,
    maxDelayMs: 500,
    registry,
    logger: process.env.KATIB_TEST_LOG ? { info: (m) => console.log(m), warn: (m) => console.log(`WARN ${m}`) } : undefined,
  });
  manager.start();
  return {
    manager,
    store,
    registry,
    stop: async () => {
      await manager.stop();
      await runtime.close();
      await store.close();
    },
  };
}

export async function waitUntil<T>(read: () => Promise<T>, check: (v: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await read();
    if (check(last)) return last;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${JSON.stringify(last)?.slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until the object `read` returns has condition `type` True; returns it. */
export async function waitForCondition<T extends { status?: { conditions?: { type: string; status: string }[] } }>(
  read: () => Promise<T | undefined>,
  type: string,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const found = await waitUntil(
    read,
    (o) => {
      const conds = trueConditions(o);
      const other = ['Succeeded', 'Failed'].find((t) => t !== type && conds.includes(t));
      if (type !== other && other !== undefined && ['Succeeded', 'Failed'].includes(type)) {
        throw new Error(`${what} is ${other}, not ${type}: ${JSON.stringify(o?.status?.conditions)}`);
      }
      return conds.includes(type);
    },
    `${what} to be ${type}`,
    timeoutMs,
  );
  if (!found) throw new Error(`${what} is gone`);
  return found;
}

/** The condition types that are True, in order. */
export function trueConditions(obj: { status?: { conditions?: { type: string; status: string }[] } } | undefined): string[] {
  return (obj?.status?.conditions ?? []).filter((c) => c.status === 'True').map((c) => c.type);
}
