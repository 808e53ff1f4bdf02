/**
 * A "node" for tests: it plays the Job controller, the Trainer/training-operator controllers and the kubelet
 * against any API server (the fake, or a real one through a KubeConfig). It watches batch/v1 Jobs,
 * trainer.kubeflow.org/v1alpha1 TrainJobs and kubeflow.org/v1 PyTorchJobs, runs each pod's containers as local
 * processes (command + args, no shell, the container's env; images are ignored), and writes what happened back
 * through the status subresource, the way the real controllers report it:
 *
 * - Job: startTime, active; then Complete (+ SuccessCriteriaMet), succeeded, completionTime, or Failed
 *   (+ FailureTarget, reason BackoffLimitExceeded) and failed. spec.backoffLimit retries are honoured; when it is
 *   unset there are no retries (the real default, 6 with exponential back-off, only slows tests down).
 * - TrainJob: spec.trainer {command, args, env, numNodes} runs numNodes processes (PET_NODE_RANK, PET_NNODES, ...);
 *   then condition Complete or Failed. runtimeRef and podTemplateOverrides are not interpreted.
 * - PyTorchJob: Master and Worker replicas from spec.pytorchReplicaSpecs (MASTER_ADDR, RANK, WORLD_SIZE, ...); then
 *   conditions Created, Running, Succeeded or Failed.
 *
 * Each pod is also created as a Pod object (owned by its workload, labelled as the real controllers label them,
 * phase Pending → Running → Succeeded/Failed), so code that finds trial pods by label works. Every container's
 * stdout and stderr go to `<logDir>/<namespace>/<pod>/<container>.log`; when the node is given the fake server it
 * serves those files as pods/{name}/log. When a container exits, `<container>.exit` (its exit code) appears next to
 * the log. Sidecars: every container of a pod runs at once and the pod ends when all have exited; a sidecar (a
 * metrics collector) finds the pod's directory in KATIB_SIMULATED_POD_DIR, tails `<primary>.log` and stops once
 * `<primary>.exit` exists. initContainers run first, one after another.
 *
 * Files: an emptyDir volume is a folder under the pod's directory; every container that mounts it sees it at its
 * mountPath, because the node rewrites that path (where it starts an argument, an `=` value or a word) in the
 * container's command, args and env values. Each container's terminationMessagePath (default /dev/termination-log)
 * is mapped the same way to `<container>.termination-log`, and its text becomes the terminated state's `message`
 * (the kubelet's termination message). `containerPaths` lists more paths to give each container a private copy of
 * (what a container's own filesystem would be), e.g. a TrainJob trainer's /var/log/katib.
 *
 * Deleting a workload (or setting its deletionTimestamp) kills its processes (SIGTERM, then SIGKILL after
 * killGraceMs). A workload with spec.suspend (Job) or spec.suspend (TrainJob) waits until it is resumed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CoreV1Api,
  CustomObjectsApi,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  type Informer,
  type KubeConfig,
  type KubernetesObject,
  type V1Pod,
} from '@kubernetes/client-node';
import { apiStatus } from './kube-test-cluster.js';
import type { FakeApiServer } from './fake-apiserver.js';
import { arrayAt, isJsonObject, objectAt, stringAt, stringMapAt, type Json, type JsonObject } from './fake-apiserver/json.js';

export type WorkloadKind = 'Job' | 'TrainJob' | 'PyTorchJob';

/** Names one workload object. */
export interface WorkloadRef {
  readonly kind: WorkloadKind;
  readonly namespace: string;
  readonly name: string;
}

export interface SimulatedNodeOptions {
  readonly kubeConfig: KubeConfig;
  /** The fake server in this process, if any: the node then serves pods/{name}/log from its log files. */
  readonly server?: Pick<FakeApiServer, 'setPodLogSource'>;
  /** Watch one namespace only. Default: all namespaces. */
  readonly namespace?: string;
  /** Where logs go. Default: a new directory under the system temp dir. */
  readonly logDir?: string;
  /** Working directory of every process. Default: process.cwd(). */
  readonly cwd?: string;
  /** Environment every process starts from, before the container's env. Default: PATH and HOME of this process. */
  readonly baseEnv?: Readonly<Record<string, string>>;
  /** Which workloads to run. Default: all. */
  readonly kinds?: readonly WorkloadKind[];
  /** Create Pod objects for runs. Default true. */
  readonly createPods?: boolean;
  /** Time between SIGTERM and SIGKILL when a workload is deleted. Default 2000 ms. */
  readonly killGraceMs?: number;
  /** The container whose log `logPath` returns for a Job. Default: the first container. */
  readonly primaryContainerName?: string;
  /** Absolute paths each container gets a private folder for (see the module comment). Default none. */
  readonly containerPaths?: readonly string[];
}

/** How a run ended. */
export interface RunOutcome {
  readonly succeeded: boolean;
  /** Exit code per pod (every attempt) and container, e.g. `{ "metric-job-bcdfg": { training: 0 } }`; null when killed by a signal. */
  readonly exitCodes: Readonly<Record<string, Readonly<Record<string, number | null>>>>;
  /** True when the run was stopped because its workload was deleted. */
  readonly killed: boolean;
  /** Set when the node itself failed (e.g. the API server went away mid-run). */
  readonly error?: string;
}

interface PlannedContainer {
  readonly name: string;
  readonly command: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly problem?: string;
}

interface PlannedPod {
  readonly generateName: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly podSpec: JsonObject;
  readonly env: Readonly<Record<string, string>>;
  readonly primary: string | undefined;
}

interface Plan {
  readonly pods: readonly PlannedPod[];
  readonly retries: number;
}

/** What the node knows about one kind of workload: where it lives, how it runs, how it reports. */
interface WorkloadDriver {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  plan(obj: JsonObject, options: SimulatedNodeOptions): Plan;
  suspended(obj: JsonObject): boolean;
  finished(obj: JsonObject): boolean;
  startedStatus(obj: JsonObject, now: string, pods: number): JsonObject;
  finishedStatus(obj: JsonObject, now: string, outcome: RunOutcome, attempts: number): JsonObject;
}

const WORKLOADS: Record<WorkloadKind, WorkloadDriver> = {
  Job: {
    group: 'batch',
    version: 'v1',
    plural: 'jobs',
    plan(obj, options) {
      const meta = objectAt(obj, 'metadata');
      const name = stringAt(meta, 'name') ?? '';
      const uid = stringAt(meta, 'uid') ?? '';
      const template = objectAt(objectAt(obj, 'spec'), 'template');
      const podSpec = objectAt(template, 'spec') ?? {};
      const containers = (arrayAt(podSpec, 'containers') ?? []).filter(isJsonObject);
      const primary = containers.find((c) => c.name === options.primaryContainerName) ?? containers[0];
      const backoffLimit = objectAt(obj, 'spec')?.backoffLimit;
      return {
        pods: [
          {
            generateName: `${name}-`,
            labels: {
              ...stringMapAt(objectAt(template, 'metadata'), 'labels'),
              'batch.kubernetes.io/job-name': name,
              'job-name': name,
              'batch.kubernetes.io/controller-uid': uid,
              'controller-uid': uid,
            },
            podSpec,
            env: {},
            primary: stringAt(primary, 'name'),
          },
        ],
        retries: typeof backoffLimit === 'number' ? backoffLimit : 0,
      };
    },
    suspended: (obj) => objectAt(obj, 'spec')?.suspend === true,
    finished: (obj) => hasTrueCondition(obj, ['Complete', 'Failed']),
    startedStatus: (obj, now, pods) => ({ startTime: stringAt(objectAt(obj, 'status'), 'startTime') ?? now, active: pods }),
    finishedStatus(obj, now, outcome, attempts) {
      const reason = outcome.succeeded ? 'CompletionsReached' : 'BackoffLimitExceeded';
      const message = outcome.succeeded ? 'Reached expected number of succeeded pods' : 'Job has reached the specified backoff limit';
      const types = outcome.succeeded ? ['SuccessCriteriaMet', 'Complete'] : ['FailureTarget', 'Failed'];
      return {
        active: null,
        ready: 0,
        ...(outcome.succeeded ? { succeeded: 1, completionTime: now } : { failed: attempts }),
        conditions: withConditions(obj, types.map((type) => ({ type, status: 'True', reason, message, lastProbeTime: now, lastTransitionTime: now }))),
      };
    },
  },
  TrainJob: {
    group: 'trainer.kubeflow.org',
    version: 'v1alpha1',
    plural: 'trainjobs',
    plan(obj) {
      const name = stringAt(objectAt(obj, 'metadata'), 'name') ?? '';
      const trainer = objectAt(objectAt(obj, 'spec'), 'trainer') ?? {};
      const numNodes = typeof trainer.numNodes === 'number' && trainer.numNodes > 0 ? trainer.numNodes : 1;
      const container: JsonObject = { name: 'node' };
      for (const key of ['image', 'command', 'args', 'env', 'resources'] as const) if (trainer[key] !== undefined) container[key] = trainer[key];
      return {
        pods: Array.from({ length: numNodes }, (_, rank) => ({
          generateName: `${name}-node-0-${rank}-`,
          labels: {
            'jobset.sigs.k8s.io/jobset-name': name,
            'jobset.sigs.k8s.io/replicatedjob-name': 'node',
            'batch.kubernetes.io/job-completion-index': String(rank),
            'trainer.kubeflow.org/trainjob-ancestor-step': 'trainer',
          },
          podSpec: { containers: [container], restartPolicy: 'Never' },
          env: {
            PET_NNODES: String(numNodes),
            PET_NPROC_PER_NODE: '1',
            PET_NODE_RANK: String(rank),
            PET_MASTER_ADDR: '127.0.0.1',
            PET_MASTER_PORT: '29400',
          },
          primary: 'node',
        })),
        retries: 0,
      };
    },
    suspended: (obj) => objectAt(obj, 'spec')?.suspend === true,
    finished: (obj) => hasTrueCondition(obj, ['Complete', 'Failed']),
    startedStatus: (obj) => ({ conditions: withConditions(obj, []) }),
    finishedStatus(obj, now, outcome) {
      const condition = outcome.succeeded
        ? { type: 'Complete', status: 'True', reason: 'JobsCompleted', message: 'TrainJob is completed', lastTransitionTime: now }
        : { type: 'Failed', status: 'True', reason: 'JobsFailed', message: 'TrainJob has failed: a node exited with a non-zero code', lastTransitionTime: now };
      return { conditions: withConditions(obj, [condition]) };
    },
  },
  PyTorchJob: {
    group: 'kubeflow.org',
    version: 'v1',
    plural: 'pytorchjobs',
    plan(obj) {
      const name = stringAt(objectAt(obj, 'metadata'), 'name') ?? '';
      const specs = objectAt(objectAt(obj, 'spec'), 'pytorchReplicaSpecs') ?? {};
      const replicas: { type: string; spec: JsonObject }[] = [];
      for (const type of ['Master', 'Worker']) {
        const spec = objectAt(specs, type);
        if (!spec) continue;
        const count = typeof spec.replicas === 'number' ? spec.replicas : 1;
        for (let i = 0; i < count; i++) replicas.push({ type, spec });
      }
      const worldSize = replicas.length;
      const index: Record<string, number> = {};
      return {
        pods: replicas.map(({ type, spec }, rank) => {
          const i = index[type] ?? 0;
          index[type] = i + 1;
          const template = objectAt(spec, 'template');
          const role = type.toLowerCase();
          return {
            generateName: `${name}-${role}-${i}-`,
            labels: {
              ...stringMapAt(objectAt(template, 'metadata'), 'labels'),
              'training.kubeflow.org/job-name': name,
              'training.kubeflow.org/operator-name': 'pytorchjob-controller',
              'training.kubeflow.org/replica-type': role,
              'training.kubeflow.org/replica-index': String(i),
              ...(type === 'Master' ? { 'training.kubeflow.org/job-role': 'master' } : {}),
            },
            podSpec: objectAt(template, 'spec') ?? {},
            env: { MASTER_ADDR: '127.0.0.1', MASTER_PORT: '23456', WORLD_SIZE: String(worldSize), RANK: String(rank), PYTHONUNBUFFERED: '1' },
            primary: 'pytorch',
          };
        }),
        retries: 0,
      };
    },
    suspended: (obj) => objectAt(objectAt(obj, 'spec'), 'runPolicy')?.suspend === true,
    finished: (obj) => hasTrueCondition(obj, ['Succeeded', 'Failed']),
    startedStatus: (obj, now, pods) => ({
      startTime: now,
      replicaStatuses: { Master: { active: Math.min(pods, 1) }, ...(pods > 1 ? { Worker: { active: pods - 1 } } : {}) },
      conditions: withConditions(obj, [
        { type: 'Created', status: 'True', reason: 'PyTorchJobCreated', message: 'PyTorchJob is created.', lastUpdateTime: now, lastTransitionTime: now },
        { type: 'Running', status: 'True', reason: 'PyTorchJobRunning', message: 'PyTorchJob is running.', lastUpdateTime: now, lastTransitionTime: now },
      ]),
    }),
    finishedStatus(obj, now, outcome) {
      const type = outcome.succeeded ? 'Succeeded' : 'Failed';
      return {
        completionTime: now,
        conditions: withConditions(obj, [
          { type: 'Running', status: 'False', reason: `PyTorchJob${type}`, message: `PyTorchJob is ${type.toLowerCase()}.`, lastUpdateTime: now, lastTransitionTime: now },
          { type, status: 'True', reason: `PyTorchJob${type}`, message: `PyTorchJob is ${type.toLowerCase()}.`, lastUpdateTime: now, lastTransitionTime: now },
        ]),
      };
    },
  },
};

interface Run {
  readonly ref: WorkloadRef;
  readonly uid: string;
  readonly processes: Set<ChildProcess>;
  /** Pod name → directory of its logs, newest attempt last. */
  readonly pods: { name: string; dir: string; primary: string | undefined }[];
  killed: boolean;
  done: Promise<RunOutcome>;
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** Runs workloads as local processes; see the module comment. `start()` begins watching, `stop()` kills everything. */
export class SimulatedNode {
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;
  private readonly logDir: string;
  private readonly informers: Informer<KubernetesObject>[] = [];
  private readonly runs = new Map<string, Run>();
  private readonly waiting = new Map<string, ((outcome: RunOutcome) => void)[]>();
  private stopped = false;

  constructor(private readonly options: SimulatedNodeOptions) {
    this.custom = options.kubeConfig.makeApiClient(CustomObjectsApi);
    this.core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.logDir = options.logDir ?? mkdtempSync(join(tmpdir(), 'katib-simulated-node-'));
  }

  /** Starts watching; resolves once every watched kind has been listed (workloads already there start running). */
  async start(): Promise<void> {
    this.options.server?.setPodLogSource((namespace, pod, container) => this.podLog(namespace, pod, container));
    for (const kind of this.options.kinds ?? (Object.keys(WORKLOADS) as WorkloadKind[])) {
      const driver = WORKLOADS[kind];
      const ns = this.options.namespace;
      const path = `/apis/${driver.group}/${driver.version}${ns ? `/namespaces/${ns}` : ''}/${driver.plural}`;
      const listFn = (): Promise<{ items: KubernetesObject[]; metadata?: { resourceVersion?: string } }> =>
        ns
          ? this.custom.listNamespacedCustomObject({ group: driver.group, version: driver.version, namespace: ns, plural: driver.plural })
          : this.custom.listClusterCustomObject({ group: driver.group, version: driver.version, plural: driver.plural });
      const informer = makeInformer(this.options.kubeConfig, path, listFn);
      const onChange = (obj: KubernetesObject): void => this.reconcile(kind, obj as unknown as JsonObject);
      informer.on('add', onChange);
      informer.on('update', onChange);
      informer.on('delete', (obj) => this.kill(obj.metadata?.uid ?? ''));
      informer.on('error', (err: unknown) => {
        // A kind the server does not serve (404) is simply not run; other errors: relist after a pause.
        if (this.stopped || apiStatus(err)?.code === 404) return;
        setTimeout(() => void informer.start().catch(() => undefined), 200).unref();
      });
      this.informers.push(informer);
      await informer.start();
    }
  }

  /** Stops watching and kills every running process; resolves when they are gone. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const informer of this.informers) await informer.stop();
    for (const run of this.runs.values()) this.kill(run.uid);
    await Promise.all([...this.runs.values()].map((r) => r.done));
    this.options.server?.setPodLogSource(undefined);
  }

  /** The log file of `container` (default: the primary container) in the workload's latest primary pod. Throws when it never ran. */
  logPath(ref: WorkloadRef, container?: string): string {
    const run = [...this.runs.values()].reverse().find((r) => r.ref.kind === ref.kind && r.ref.namespace === ref.namespace && r.ref.name === ref.name);
    const pod = run?.pods.find((p) => p.primary !== undefined) ?? run?.pods[0];
    const name = container ?? pod?.primary;
    if (!pod || !name) throw new Error(`${ref.kind} ${ref.namespace}/${ref.name} has not run on this node (is the node started, and is the kind in options.kinds?)`);
    return join(pod.dir, `${name}.log`);
  }

  /** Resolves with the outcome once the workload's run has ended and its status is written. */
  finished(ref: WorkloadRef): Promise<RunOutcome> {
    const run = [...this.runs.values()].find((r) => r.ref.kind === ref.kind && r.ref.namespace === ref.namespace && r.ref.name === ref.name);
    if (run) return run.done;
    const key = refKey(ref);
    return new Promise((resolve) => this.waiting.set(key, [...(this.waiting.get(key) ?? []), resolve]));
  }

  private reconcile(kind: WorkloadKind, obj: JsonObject): void {
    if (this.stopped) return;
    const driver = WORKLOADS[kind];
    const meta = objectAt(obj, 'metadata');
    const uid = stringAt(meta, 'uid') ?? '';
    if (stringAt(meta, 'deletionTimestamp') !== undefined) {
      this.kill(uid);
      return;
    }
    if (this.runs.has(uid) || driver.finished(obj) || driver.suspended(obj)) return;
    const ref: WorkloadRef = { kind, namespace: stringAt(meta, 'namespace') ?? '', name: stringAt(meta, 'name') ?? '' };
    const run: Run = { ref, uid, processes: new Set(), pods: [], killed: false, done: Promise.resolve({ succeeded: false, exitCodes: {}, killed: false }) };
    this.runs.set(uid, run);
    run.done = this.execute(driver, obj, run).catch((err: unknown) => ({
      succeeded: false,
      exitCodes: {},
      killed: run.killed,
      error: err instanceof Error ? err.message : String(err),
    }));
    void run.done.then((outcome) => {
      const key = refKey(ref);
      for (const resolve of this.waiting.get(key) ?? []) resolve(outcome);
      this.waiting.delete(key);
    });
  }

  private async execute(driver: WorkloadDriver, obj: JsonObject, run: Run): Promise<RunOutcome> {
    const plan = driver.plan(obj, this.options);
    await this.patchStatus(driver, run.ref, (current) => driver.startedStatus(current, now(), plan.pods.length));
    let attempts = 0;
    let outcome: RunOutcome;
    const exitCodes: Record<string, Record<string, number | null>> = {};
    for (;;) {
      attempts++;
      const results = await Promise.all(plan.pods.map((pod) => this.runPod(driver, obj, run, pod)));
      for (const r of results) exitCodes[r.name] = r.exitCodes;
      const killed = run.killed;
      outcome = { succeeded: !killed && results.every((r) => r.succeeded), exitCodes, killed };
      if (outcome.succeeded || killed || attempts > plan.retries) break;
    }
    if (!outcome.killed) await this.patchStatus(driver, run.ref, (current) => driver.finishedStatus(current, now(), outcome, attempts));
    return outcome;
  }

  /** Creates the Pod object, runs init containers then containers, and reports the pod's phase. */
  private async runPod(driver: WorkloadDriver, owner: JsonObject, run: Run, planned: PlannedPod): Promise<{ name: string; succeeded: boolean; exitCodes: Record<string, number | null> }> {
    const { namespace } = run.ref;
    const name = await this.createPod(driver, owner, run, planned);
    const dir = join(this.logDir, namespace, name);
    mkdirSync(dir, { recursive: true });
    run.pods.push({ name, dir, primary: planned.primary });
    const exitCodes: Record<string, number | null> = {};
    const podEnv = { ...planned.env, KATIB_SIMULATED_POD_DIR: dir };
    const context = { podName: name, namespace, dir, volumes: emptyDirs(planned.podSpec, dir), containerPaths: this.options.containerPaths ?? [] };
    const finish = (succeeded: boolean): Promise<{ name: string; succeeded: boolean; exitCodes: Record<string, number | null> }> =>
      this.finishPod(namespace, name, succeeded, exitCodes, dir);
    for (const init of (arrayAt(planned.podSpec, 'initContainers') ?? []).filter(isJsonObject)) {
      const container = planContainer(init, podEnv, context);
      exitCodes[container.name] = await this.runContainer(run, dir, container);
      if (exitCodes[container.name] !== 0) return finish(false);
    }
    await this.patchPod(namespace, name, { phase: 'Running', startTime: now() });
    const containers = (arrayAt(planned.podSpec, 'containers') ?? []).filter(isJsonObject).map((c) => planContainer(c, podEnv, context));
    const codes = await Promise.all(containers.map((c) => this.runContainer(run, dir, c)));
    containers.forEach((c, i) => {
      exitCodes[c.name] = codes[i] ?? null;
    });
    return finish(containers.length > 0 && codes.every((c) => c === 0));
  }

  private async finishPod(
    namespace: string,
    name: string,
    succeeded: boolean,
    exitCodes: Record<string, number | null>,
    dir: string,
  ): Promise<{ name: string; succeeded: boolean; exitCodes: Record<string, number | null> }> {
    const message = (container: string): { message?: string } => {
      try {
        const text = readFileSync(join(dir, `${container}.termination-log`), 'utf8');
        return text === '' ? {} : { message: text };
      } catch {
        return {};
      }
    };
    await this.patchPod(namespace, name, {
      phase: succeeded ? 'Succeeded' : 'Failed',
      containerStatuses: Object.entries(exitCodes).map(([container, code]) => ({
        name: container,
        ready: false,
        restartCount: 0,
        image: '',
        imageID: '',
        state: { terminated: { exitCode: code ?? 137, reason: code === 0 ? 'Completed' : 'Error', finishedAt: now(), ...message(container) } },
      })),
    });
    return { name, succeeded, exitCodes };
  }

  /** Spawns one container's command; resolves with its exit code (null when killed by a signal). */
  private runContainer(run: Run, dir: string, container: PlannedContainer): Promise<number | null> {
    const logFile = join(dir, `${container.name}.log`);
    const exitFile = join(dir, `${container.name}.exit`);
    const [file, ...args] = container.command;
    if (container.problem !== undefined || file === undefined || run.killed) {
      writeFileSync(logFile, `simulated node: ${container.problem ?? 'the workload was deleted before the container started'}\n`);
      writeFileSync(exitFile, '127\n');
      return Promise.resolve(127);
    }
    const fd = openSync(logFile, 'w');
    return new Promise((resolve) => {
      const child = spawn(file, args, {
        cwd: this.options.cwd ?? process.cwd(),
        env: { ...(this.options.baseEnv ?? defaultBaseEnv()), ...container.env },
        stdio: ['ignore', fd, fd],
        detached: true,
      });
      closeSync(fd);
      run.processes.add(child);
      const finish = (code: number | null): void => {
        run.processes.delete(child);
        writeFileSync(exitFile, `${code ?? 'signal'}\n`);
        resolve(code);
      };
      child.once('error', (err) => {
        writeFileSync(logFile, `simulated node: cannot start ${JSON.stringify(file)}: ${err.message}\n`, { flag: 'a' });
        finish(127);
      });
      child.once('exit', (code) => finish(code));
    });
  }

  /** Kills the run of the workload with `uid`, if any: SIGTERM to each process group, SIGKILL after the grace period. */
  private kill(uid: string): void {
    const run = this.runs.get(uid);
    if (!run || run.killed) return;
    run.killed = true;
    for (const child of run.processes) {
      signalGroup(child, 'SIGTERM');
      setTimeout(() => signalGroup(child, 'SIGKILL'), this.options.killGraceMs ?? 2000).unref();
    }
  }

  private async createPod(driver: WorkloadDriver, owner: JsonObject, run: Run, planned: PlannedPod): Promise<string> {
    if (this.options.createPods === false) return `${planned.generateName}${run.pods.length}`;
    const meta = objectAt(owner, 'metadata');
    const body: unknown = {
      metadata: {
          generateName: planned.generateName,
          labels: { ...planned.labels },
          ownerReferences: [
            {
              apiVersion: `${driver.group}/${driver.version}`,
              kind: run.ref.kind,
              name: run.ref.name,
              uid: stringAt(meta, 'uid') ?? '',
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
      spec: { ...planned.podSpec, nodeName: 'simulated-node' },
    };
    const pod = await this.core.createNamespacedPod({ namespace: run.ref.namespace, body: body as V1Pod });
    return pod.metadata?.name ?? planned.generateName;
  }

  private async patchPod(namespace: string, name: string, status: JsonObject): Promise<void> {
    if (this.options.createPods === false) return;
    await ignoreNotFound(this.core.patchNamespacedPodStatus({ namespace, name, body: { status } }, mergePatch));
  }

  /** Reads the workload, computes its new status from it and merge-patches the status subresource. */
  private async patchStatus(driver: WorkloadDriver, ref: WorkloadRef, compute: (current: JsonObject) => JsonObject): Promise<void> {
    const key = { group: driver.group, version: driver.version, namespace: ref.namespace, plural: driver.plural, name: ref.name };
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const current: unknown = await this.custom.getNamespacedCustomObject(key);
        if (!isJsonObject(current)) return;
        const rv = stringAt(objectAt(current, 'metadata'), 'resourceVersion');
        await this.custom.patchNamespacedCustomObjectStatus({ ...key, body: { metadata: { resourceVersion: rv ?? null }, status: compute(current) } }, mergePatch);
        return;
      } catch (err) {
        const code = apiStatus(err)?.code;
        if (code === 404) return;
        if (code !== 409) throw err;
      }
    }
  }

  private podLog(namespace: string, pod: string, container: string | undefined): string | undefined {
    for (const run of this.runs.values()) {
      const found = run.ref.namespace === namespace ? run.pods.find((p) => p.name === pod) : undefined;
      const name = container ?? found?.primary;
      if (!found || !name) continue;
      try {
        return readFileSync(join(found.dir, `${name}.log`), 'utf8');
      } catch {
        return undefined;
      }
    }
    return undefined;
  }
}

/** emptyDir volume name → its folder under the pod's directory (created). */
function emptyDirs(podSpec: JsonObject, dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of (arrayAt(podSpec, 'volumes') ?? []).filter(isJsonObject)) {
    const name = stringAt(v, 'name');
    if (!name || !isJsonObject(v.emptyDir)) continue;
    const folder = join(dir, 'volumes', name);
    mkdirSync(folder, { recursive: true });
    out.set(name, folder);
  }
  return out;
}

/** Path rewrites of one container: its emptyDir mounts, its termination message file and its private paths. */
function containerMounts(container: JsonObject, name: string, context: { dir: string; volumes: ReadonlyMap<string, string>; containerPaths: readonly string[] }): [string, string][] {
  const mounts: [string, string][] = [];
  for (const m of (arrayAt(container, 'volumeMounts') ?? []).filter(isJsonObject)) {
    const folder = context.volumes.get(stringAt(m, 'name') ?? '');
    const at = stringAt(m, 'mountPath');
    if (folder && at) mounts.push([at.replace(/\/+$/, ''), folder]);
  }
  mounts.push([stringAt(container, 'terminationMessagePath') ?? '/dev/termination-log', join(context.dir, `${name}.termination-log`)]);
  for (const p of context.containerPaths) {
    const folder = join(context.dir, 'private', name, p.replace(/^\/+/, '').replace(/\//g, '_'));
    mkdirSync(folder, { recursive: true });
    mounts.push([p.replace(/\/+$/, ''), folder]);
  }
  return mounts.sort((a, b) => b[0].length - a[0].length);
}

/** Rewrites each mounted path where it starts the text, an `=` value or a word. */
function remap(text: string, mounts: readonly [string, string][]): string {
  let out = text;
  for (const [from, to] of mounts) {
    const escaped = from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    out = out.replace(new RegExp(`(^|[=:\\s"'])${escaped}(?=$|[/\\s"'])`, 'g'), (_m, lead: string) => `${lead}${to}`);
  }
  return out;
}

/**
 * Resolves the container's command line and env as the kubelet would: command + args, $(VAR) expansion; then maps
 * its volume mounts and termination message path into the pod's directory (see the module comment).
 */
function planContainer(
  container: JsonObject,
  podEnv: Readonly<Record<string, string>>,
  context: { podName: string; namespace: string; dir: string; volumes: ReadonlyMap<string, string>; containerPaths: readonly string[] },
): PlannedContainer {
  const name = stringAt(container, 'name') ?? 'main';
  const mounts = containerMounts(container, name, context);
  const env: Record<string, string> = { ...podEnv };
  for (const entry of (arrayAt(container, 'env') ?? []).filter(isJsonObject)) {
    const key = stringAt(entry, 'name');
    if (!key) continue;
    const value = stringAt(entry, 'value');
    const fieldPath = stringAt(objectAt(objectAt(entry, 'valueFrom'), 'fieldRef'), 'fieldPath');
    if (value !== undefined) env[key] = expand(value, env);
    else if (fieldPath === 'metadata.name') env[key] = context.podName;
    else if (fieldPath === 'metadata.namespace') env[key] = context.namespace;
    else if (entry.valueFrom === undefined) env[key] = '';
  }
  const strings = (value: Json | undefined): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);
  const command = strings(container.command);
  const args = strings(container.args);
  if (command.length === 0) {
    return { name, command: [], env, problem: `container ${JSON.stringify(name)} has no command: the simulated node cannot run an image's entrypoint; give the container a command` };
  }
  for (const key of Object.keys(env)) env[key] = remap(env[key] ?? '', mounts);
  return { name, command: [...command, ...args].map((part) => remap(expand(part, env), mounts)), env };
}

/** Kubernetes' $(VAR) expansion: defined variables are replaced, $$ escapes, undefined references stay as written. */
function expand(text: string, env: Readonly<Record<string, string>>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$';
    return name !== undefined && env[name] !== undefined ? env[name] : match;
  });
}

/** The condition list after setting `updates` (by type), keeping the others. */
function withConditions(obj: JsonObject, updates: readonly JsonObject[]): Json[] {
  const current = (arrayAt(objectAt(obj, 'status'), 'conditions') ?? []).filter(isJsonObject);
  const types = new Set(updates.map((u) => stringAt(u, 'type')));
  return [...current.filter((c) => !types.has(stringAt(c, 'type'))), ...updates];
}

function hasTrueCondition(obj: JsonObject, types: readonly string[]): boolean {
  return (arrayAt(objectAt(obj, 'status'), 'conditions') ?? []).some((c) => isJsonObject(c) && types.includes(stringAt(c, 'type') ?? '') && c.status === 'True');
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

async function ignoreNotFound(promise: Promise<unknown>): Promise<void> {
  try {
    await promise;
  } catch (err) {
    if (apiStatus(err)?.code !== 404) throw err;
  }
}

function defaultBaseEnv(): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin' };
  if (process.env.HOME) env.HOME = process.env.HOME;
  return env;
}

function refKey(ref: WorkloadRef): string {
  return `${ref.kind}/${ref.namespace}/${ref.name}`;
}

function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}
