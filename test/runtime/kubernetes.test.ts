/**
 * KubernetesRuntime against the wire-protocol fake API server: the run object it creates (labels, owner, resources,
 * idempotent start), the phases observe reads from the object's conditions (defaults and custom expressions, on
 * Jobs, TrainJobs, PyTorchJobs and any custom resource), early stops read from the collector's termination message,
 * stop and remove, the change watch, and that every call it makes is allowed by the controller's ClusterRole.
 * Sidecar injection shapes are checked exactly in kubernetes-inject.test.ts.
 */
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyDefaults } from '../../src/api/defaults.js';
import { renderTrialSpec } from '../../src/api/template.js';
import type { Experiment, Trial, UnstructuredObject } from '../../src/api/types.js';
import { formatOutcome } from '../../src/collector/termination.js';
import { KatibError, ValidationError } from '../../src/errors.js';
import { SIDECAR_NAME } from '../../src/runtime/kubernetes-inject.js';
import { KubernetesRuntime, type KubernetesRuntimeOptions } from '../../src/runtime/kubernetes.js';
import { loadCrds, rbacAllows, rbacRules } from '../manifests/manifests.js';
import { startFakeApiServer, type FakeApiServer, type RecordedRequest } from '../support/fake-apiserver.js';
import { eventually } from '../support/kube-test-cluster.js';

const NS = 'katib-rt';
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** A CRD for Argo Workflows: a run kind Katib has no defaults for (custom conditions). */
const WORKFLOW_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'workflows.argoproj.io' },
  spec: {
    group: 'argoproj.io',
    names: { plural: 'workflows', singular: 'workflow', kind: 'Workflow', listKind: 'WorkflowList' },
    scope: 'Namespaced',
    versions: [{ name: 'v1alpha1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } }, subresources: { status: {} } }],
  },
};

let fake: FakeApiServer;
let kc: KubeConfig;
let custom: CustomObjectsApi;
let core: CoreV1Api;
let runtime: KubernetesRuntime;

const options: KubernetesRuntimeOptions = {
  dbManagerAddress: 'katib-db-manager.kubeflow.svc:6789',
  collector: { image: 'katib-ts:test' },
  earlyStoppingAddress: { medianstop: 'katib-earlystopping.kubeflow.svc:6788' },
  namespace: NS,
  watchRetryMs: 100,
};

beforeAll(async () => {
  fake = await startFakeApiServer({ crds: [...loadCrds(), WORKFLOW_CRD], bookmarkIntervalMs: 50 });
  kc = fake.kubeConfig(NS);
  custom = kc.makeApiClient(CustomObjectsApi);
  core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: NS } } });
  runtime = new KubernetesRuntime(kc, options);
});

afterAll(async () => {
  await runtime?.close();
  await fake?.close();
});

function experiment(name: string, trialSpec: UnstructuredObject, extra: Partial<Experiment['spec']> = {}): Experiment {
  return applyDefaults({
    apiVersion: 'kubeflow.org/v1beta1',
    kind: 'Experiment',
    metadata: { name, namespace: NS, uid: `uid-${name}` },
    spec: {
      objective: { type: 'maximize', objectiveMetricName: 'accuracy', additionalMetricNames: ['loss'] },
      algorithm: { algorithmName: 'random' },
      parameters: [{ name: 'lr', parameterType: 'double', feasibleSpace: { min: '0.01', max: '0.1' } }],
      trialTemplate: { trialParameters: [{ name: 'learningRate', reference: 'lr' }], trialSpec },
      ...extra,
    },
  });
}

const jobSpec = (): UnstructuredObject => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  spec: {
    template: {
      spec: {
        restartPolicy: 'Never',
        containers: [
          {
            name: 'training',
            image: 'python:3.12',
            command: ['python', 'train.py'],
            args: ['--lr', '${trialParameters.learningRate}', '--note', 'two words "quoted"'],
            resources: { limits: { 'nvidia.com/gpu': '2', memory: '1Gi' }, requests: { cpu: '500m' } },
          },
        ],
      },
    },
  },
});

/** Builds the Trial as the controller does, creates it on the server (for its uid) and returns the stored one. */
async function createTrial(exp: Experiment, name: string, lr = '0.05'): Promise<Trial> {
  const t = exp.spec.trialTemplate ?? {};
  const labels = { 'katib.kubeflow.org/experiment': exp.metadata.name };
  const trial: Trial = {
    apiVersion: 'kubeflow.org/v1beta1',
    kind: 'Trial',
    metadata: { name, namespace: NS, labels },
    spec: {
      objective: exp.spec.objective,
      parameterAssignments: [{ name: 'lr', value: lr }],
      runSpec: renderTrialSpec(exp, { name, namespace: NS, assignments: [{ name: 'lr', value: lr }], labels }),
      metricsCollector: exp.spec.metricsCollectorSpec,
      primaryPodLabels: t.primaryPodLabels,
      primaryContainerName: t.primaryContainerName,
      successCondition: t.successCondition,
      failureCondition: t.failureCondition,
      labels,
    },
  };
  return (await custom.createNamespacedCustomObject({ group: 'kubeflow.org', version: 'v1beta1', namespace: NS, plural: 'trials', body: trial })) as Trial;
}

type Run = Record<string, unknown> & { metadata: { name: string; uid: string; resourceVersion: string; labels?: Record<string, string>; ownerReferences?: unknown[]; deletionTimestamp?: string } };

async function readRun(group: string, version: string, plural: string, name: string): Promise<Run> {
  return (await custom.getNamespacedCustomObject({ group, version, namespace: NS, plural, name })) as Run;
}

async function setStatus(group: string, version: string, plural: string, name: string, status: Record<string, unknown>): Promise<void> {
  await custom.patchNamespacedCustomObjectStatus({ group, version, namespace: NS, plural, name, body: { status } }, mergePatch);
}

/** Creates a pod of the trial whose containers terminated with these messages. */
async function trialPod(name: string, labels: Record<string, string>, messages: Record<string, string>): Promise<void> {
  const pod: V1Pod = { metadata: { name, labels }, spec: { containers: Object.keys(messages).map((c) => ({ name: c, image: 'x' })) } };
  await core.createNamespacedPod({ namespace: NS, body: pod });
  await core.patchNamespacedPodStatus(
    {
      namespace: NS,
      name,
      body: {
        status: {
          phase: 'Succeeded',
          containerStatuses: Object.entries(messages).map(([c, message]) => ({ name: c, ready: false, restartCount: 0, image: 'x', imageID: '', state: { terminated: { exitCode: 0, message } } })),
        },
      },
    },
    mergePatch,
  );
}

/** The requests the runtime made while `fn` ran. */
async function calls<T>(fn: () => Promise<T>): Promise<{ value: T; requests: RecordedRequest[] }> {
  const before = fake.requests().length;
  const value = await fn();
  return { value, requests: fake.requests().slice(before) };
}

describe('start', () => {
  it('creates the Job under the trial name with labels, owner and resources unchanged; again is a no-op', async () => {
    const exp = experiment('start-job', jobSpec());
    const trial = await createTrial(exp, 'start-job-1');
    await runtime.start(exp, trial);
    const job = await readRun('batch', 'v1', 'jobs', 'start-job-1');
    expect(job.metadata.labels).toMatchObject({ 'katib.kubeflow.org/experiment': 'start-job', 'katib.kubeflow.org/trial': 'start-job-1' });
    expect(job.metadata.ownerReferences).toEqual([{ apiVersion: 'kubeflow.org/v1beta1', kind: 'Trial', name: 'start-job-1', uid: trial.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    const containers = (job as unknown as { spec: { template: { spec: { containers: Record<string, unknown>[] } } } }).spec.template.spec.containers;
    expect(containers[0]?.resources).toEqual({ limits: { 'nvidia.com/gpu': '2', memory: '1Gi' }, requests: { cpu: '500m' } });
    expect(containers.map((c) => c.name)).toEqual(['training', SIDECAR_NAME]);
    expect(job).toMatchObject(JSON.parse(JSON.stringify(runtime.desiredRun(exp, trial))) as Record<string, unknown>);

    await runtime.start(exp, trial);
    const again = await readRun('batch', 'v1', 'jobs', 'start-job-1');
    expect(again.metadata.resourceVersion).toBe(job.metadata.resourceVersion);
    expect(again.metadata.uid).toBe(job.metadata.uid);
  });

  it('deleting the Trial deletes its run (owner reference)', async () => {
    const exp = experiment('owned', jobSpec());
    const trial = await createTrial(exp, 'owned-1');
    await runtime.start(exp, trial);
    await custom.deleteNamespacedCustomObject({ group: 'kubeflow.org', version: 'v1beta1', namespace: NS, plural: 'trials', name: 'owned-1' });
    await fake.settled();
    expect(await runtime.observe(exp, trial)).toEqual({ phase: 'absent' });
  });

  it('creates a TrainJob, a PyTorchJob and a custom resource', async () => {
    const train = experiment('start-train', {
      apiVersion: 'trainer.kubeflow.org/v1alpha1',
      kind: 'TrainJob',
      spec: { runtimeRef: { name: 'torch-distributed' }, trainer: { numNodes: 2, command: ['torchrun', 'train.py'], args: ['--lr=${trialParameters.learningRate}'], resourcesPerNode: { limits: { 'nvidia.com/gpu': '4' } } } },
    });
    const t1 = await createTrial(train, 'start-train-1');
    await runtime.start(train, t1);
    const tj = (await readRun('trainer.kubeflow.org', 'v1alpha1', 'trainjobs', 'start-train-1')) as Run & { spec: { trainer: Record<string, unknown> } };
    expect(tj.spec.trainer.resourcesPerNode).toEqual({ limits: { 'nvidia.com/gpu': '4' } });
    expect(tj.spec.trainer.numNodes).toBe(2);
    expect(tj.spec).not.toHaveProperty('podTemplateOverrides');

    const pt = experiment('start-pt', {
      apiVersion: 'kubeflow.org/v1',
      kind: 'PyTorchJob',
      spec: {
        pytorchReplicaSpecs: {
          Master: { replicas: 1, template: { spec: { containers: [{ name: 'pytorch', image: 'x', command: ['python', 'm.py', '${trialParameters.learningRate}'] }] } } },
          Worker: { replicas: 2, template: { spec: { containers: [{ name: 'pytorch', image: 'x', command: ['python', 'm.py'] }] } } },
        },
      },
    });
    const t2 = await createTrial(pt, 'start-pt-1');
    await runtime.start(pt, t2);
    expect((await readRun('kubeflow.org', 'v1', 'pytorchjobs', 'start-pt-1')).metadata.ownerReferences).toHaveLength(1);

    const wf = experiment('start-wf', { apiVersion: 'argoproj.io/v1alpha1', kind: 'Workflow', spec: { entrypoint: 'main', arguments: { parameters: [{ name: 'lr', value: '${trialParameters.learningRate}' }] } } }, { metricsCollectorSpec: { collector: { kind: 'None' } } });
    wf.spec.trialTemplate = { ...wf.spec.trialTemplate, successCondition: 'status.[@this].#(phase=="Succeeded")#', failureCondition: 'status.[@this].#(phase=="Failed")#' };
    const t3 = await createTrial(wf, 'start-wf-1', '0.07');
    await runtime.start(wf, t3);
    const obj = (await readRun('argoproj.io', 'v1alpha1', 'workflows', 'start-wf-1')) as Run & { spec: unknown };
    expect(obj.spec).toEqual({ entrypoint: 'main', arguments: { parameters: [{ name: 'lr', value: '0.07' }] } });
  });

  it.each([
    { name: 'a trial without uid', n: 1, mutate: (t: Trial) => ({ ...t, metadata: { ...t.metadata, uid: undefined } }), error: ValidationError, message: /metadata\.uid: is empty: the run object is owned by the Trial/ },
    { name: 'a trial without run spec', n: 2, mutate: (t: Trial) => ({ ...t, spec: { ...t.spec, runSpec: undefined } }), error: ValidationError, message: /spec\.runSpec: must be the rendered run object with apiVersion and kind/ },
    {
      name: 'a kind the server does not serve',
      n: 3,
      mutate: (t: Trial) => ({ ...t, spec: { ...t.spec, runSpec: { ...(t.spec.runSpec as UnstructuredObject), apiVersion: 'example.com/v1', kind: 'Nope' } } }),
      error: KatibError,
      message: /^create Nope katib-rt\/bad-3: the API server does not serve example\.com\/v1 Nope; install its operator/,
    },
  ])('rejects $name', async ({ n, mutate, error, message }) => {
    const exp = experiment('bad', jobSpec());
    const trial = await createTrial(exp, `bad-${n}`);
    const err = await runtime.start(exp, mutate(trial)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(error);
    expect((err as Error).message).toMatch(message);
  });

  it('reports an object the API server rejects as a ValidationError', async () => {
    const exp = experiment('invalid', jobSpec());
    const trial = await createTrial(exp, 'invalid-1');
    fake.injectFault({ verb: 'create', resource: 'jobs', code: 422, message: 'Job.batch "invalid-1" is invalid: spec.template.spec.containers[0].image: Required value' });
    const err = await runtime.start(exp, trial).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as Error).message).toBe('create Job katib-rt/invalid-1: invalid\nspec.runSpec: the API server rejected it: Job.batch "invalid-1" is invalid: spec.template.spec.containers[0].image: Required value');
  });
});

describe('observe', () => {
  it('reads absent, running, then succeeded from the Job conditions', async () => {
    const exp = experiment('obs-job', jobSpec());
    const trial = await createTrial(exp, 'obs-job-1');
    expect(await runtime.observe(exp, trial)).toEqual({ phase: 'absent' });
    await runtime.start(exp, trial);
    const running = await runtime.observe(exp, trial);
    expect(running.phase).toBe('running');
    expect(running.startTime).toMatch(/^\d{4}-/);
    await setStatus('batch', 'v1', 'jobs', 'obs-job-1', { startTime: '2024-05-01T08:00:00Z', active: 1 });
    expect(await runtime.observe(exp, trial)).toEqual({ phase: 'running', startTime: '2024-05-01T08:00:00Z' });
    await setStatus('batch', 'v1', 'jobs', 'obs-job-1', {
      completionTime: '2024-05-01T08:10:00Z',
      succeeded: 1,
      conditions: [
        { type: 'SuccessCriteriaMet', status: 'True', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods' },
        { type: 'Complete', status: 'True', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods' },
      ],
    });
    await trialPod('obs-job-1-abcde', { 'katib.kubeflow.org/trial': 'obs-job-1' }, { training: '', [SIDECAR_NAME]: formatOutcome({ phase: 'completed', metrics: 8 }) });
    expect(await runtime.observe(exp, trial)).toEqual({ phase: 'succeeded', startTime: '2024-05-01T08:00:00Z', completionTime: '2024-05-01T08:10:00Z' });
  });

  it('reads failed with the condition message, reason and the failed container', async () => {
    const exp = experiment('obs-fail', jobSpec());
    const trial = await createTrial(exp, 'obs-fail-1');
    await runtime.start(exp, trial);
    await setStatus('batch', 'v1', 'jobs', 'obs-fail-1', { failed: 1, conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' }] });
    await core.createNamespacedPod({ namespace: NS, body: { metadata: { name: 'obs-fail-1-xyz', labels: { 'katib.kubeflow.org/trial': 'obs-fail-1' } }, spec: { containers: [{ name: 'training', image: 'x' }] } } });
    await core.patchNamespacedPodStatus(
      { namespace: NS, name: 'obs-fail-1-xyz', body: { status: { phase: 'Failed', containerStatuses: [{ name: 'training', ready: false, restartCount: 0, image: 'x', imageID: '', state: { terminated: { exitCode: 137, reason: 'OOMKilled' } } }] } } },
      mergePatch,
    );
    const obs = await runtime.observe(exp, trial);
    expect(obs.phase).toBe('failed');
    expect(obs.message).toBe('Job katib-rt/obs-fail-1 failed: Job has reached the specified backoff limit, reason BackoffLimitExceeded; container training of pod obs-fail-1-xyz exited with code 137 (OOMKilled)');
  });

  it('reads early-stopped from the collector termination message of a completed run', async () => {
    const exp = experiment('obs-es', jobSpec());
    const trial = await createTrial(exp, 'obs-es-1');
    await runtime.start(exp, trial);
    await setStatus('batch', 'v1', 'jobs', 'obs-es-1', { completionTime: '2024-05-01T08:10:00Z', conditions: [{ type: 'Complete', status: 'True' }] });
    const message = 'stopped early at step 3: best accuracy so far (0.3) is less than 0.55';
    await trialPod('obs-es-1-pod', { 'katib.kubeflow.org/trial': 'obs-es-1' }, { training: 'katib: the metrics collector stopped the training early', [SIDECAR_NAME]: formatOutcome({ phase: 'early-stopped', message, metrics: 6 }) });
    expect(await runtime.observe(exp, trial)).toMatchObject({ phase: 'early-stopped', message, completionTime: '2024-05-01T08:10:00Z' });
  });

  it('reads TrainJob conditions and finds its primary pod by JobSet labels', async () => {
    const exp = experiment('obs-tj', { apiVersion: 'trainer.kubeflow.org/v1alpha1', kind: 'TrainJob', spec: { runtimeRef: { name: 'torch-distributed' }, trainer: { numNodes: 2, command: ['torchrun', 'train.py', '${trialParameters.learningRate}'] } } });
    const trial = await createTrial(exp, 'obs-tj-1');
    await runtime.start(exp, trial);
    expect((await runtime.observe(exp, trial)).phase).toBe('running');
    await setStatus('trainer.kubeflow.org', 'v1alpha1', 'trainjobs', 'obs-tj-1', { conditions: [{ type: 'Complete', status: 'True', reason: 'JobsCompleted', message: 'TrainJob is completed' }] });
    const jobset = { 'jobset.sigs.k8s.io/jobset-name': 'obs-tj-1', 'jobset.sigs.k8s.io/replicatedjob-name': 'node' };
    // Only the first node's pod counts (primaryPodLabels): the second one's message is ignored.
    await trialPod('obs-tj-1-node-0-1', { ...jobset, 'batch.kubernetes.io/job-completion-index': '1' }, { node: formatOutcome({ phase: 'early-stopped', message: 'not me', metrics: 1 }) });
    expect((await runtime.observe(exp, trial)).phase).toBe('succeeded');
    await trialPod('obs-tj-1-node-0-0', { ...jobset, 'batch.kubernetes.io/job-completion-index': '0' }, { node: formatOutcome({ phase: 'early-stopped', message: 'stopped early at step 2: loss=0.9 is greater than 0.5', metrics: 4 }) });
    expect(await runtime.observe(exp, trial)).toMatchObject({ phase: 'early-stopped', message: 'stopped early at step 2: loss=0.9 is greater than 0.5' });
  });

  it.each([
    { name: 'Succeeded', conditions: [{ type: 'Created', status: 'True' }, { type: 'Running', status: 'False' }, { type: 'Succeeded', status: 'True', reason: 'PyTorchJobSucceeded', message: 'PyTorchJob is succeeded.' }], phase: 'succeeded' },
    { name: 'Running', conditions: [{ type: 'Created', status: 'True' }, { type: 'Running', status: 'True' }], phase: 'running' },
    { name: 'Failed', conditions: [{ type: 'Running', status: 'False' }, { type: 'Failed', status: 'True', reason: 'PyTorchJobFailed', message: 'PyTorchJob is failed.' }], phase: 'failed' },
  ])('reads PyTorchJob $name', async ({ name, conditions, phase }) => {
    const exp = experiment(`obs-pt-${name.toLowerCase()}`, {
      apiVersion: 'kubeflow.org/v1',
      kind: 'PyTorchJob',
      spec: { pytorchReplicaSpecs: { Master: { replicas: 1, template: { spec: { containers: [{ name: 'pytorch', image: 'x', command: ['python', 'm.py', '${trialParameters.learningRate}'] }] } } } } },
    });
    const trial = await createTrial(exp, `${exp.metadata.name}-1`);
    await runtime.start(exp, trial);
    await setStatus('kubeflow.org', 'v1', 'pytorchjobs', trial.metadata.name, { conditions });
    expect((await runtime.observe(exp, trial)).phase).toBe(phase);
  });

  it('evaluates custom success and failure expressions on a custom resource', async () => {
    const exp = experiment('obs-wf', { apiVersion: 'argoproj.io/v1alpha1', kind: 'Workflow', spec: { entrypoint: 'main', lr: '${trialParameters.learningRate}' } }, { metricsCollectorSpec: { collector: { kind: 'None' } } });
    exp.spec.trialTemplate = { ...exp.spec.trialTemplate, successCondition: 'status.[@this].#(phase=="Succeeded")#', failureCondition: 'status.[@this].#(phase=="Failed")#' };
    const ok = await createTrial(exp, 'obs-wf-1');
    const bad = await createTrial(exp, 'obs-wf-2');
    await runtime.start(exp, ok);
    await runtime.start(exp, bad);
    await setStatus('argoproj.io', 'v1alpha1', 'workflows', 'obs-wf-1', { phase: 'Running' });
    expect((await runtime.observe(exp, ok)).phase).toBe('running');
    await setStatus('argoproj.io', 'v1alpha1', 'workflows', 'obs-wf-1', { phase: 'Succeeded' });
    expect((await runtime.observe(exp, ok)).phase).toBe('succeeded');
    await setStatus('argoproj.io', 'v1alpha1', 'workflows', 'obs-wf-2', { phase: 'Failed', message: 'child "main" failed' });
    expect(await runtime.observe(exp, bad)).toMatchObject({ phase: 'failed', message: 'Workflow katib-rt/obs-wf-2 failed: child "main" failed' });
  });

  it('fails a custom resource without conditions, and an expression outside the subset, with a message', async () => {
    const exp = experiment('obs-nocond', { apiVersion: 'argoproj.io/v1alpha1', kind: 'Workflow', spec: { lr: '${trialParameters.learningRate}' } }, { metricsCollectorSpec: { collector: { kind: 'None' } } });
    const trial = await createTrial(exp, 'obs-nocond-1');
    await runtime.start(exp, trial);
    expect((await runtime.observe(exp, trial)).message).toBe(
      'no successCondition and failureCondition for kind Workflow: Katib has defaults only for Job, TrainJob and Kubeflow training jobs; set spec.trialTemplate.successCondition and failureCondition (GJSON paths on the object)',
    );
    const odd = { ...trial, spec: { ...trial.spec, successCondition: 'status.*', failureCondition: 'status.failed' } };
    expect(await runtime.observe(exp, odd)).toMatchObject({ phase: 'failed', message: 'invalid\nspec.successCondition: "status.*" is not a GJSON path katib-ts can evaluate: wildcards in keys are not supported ("*"); escape the character with \\ if it is part of the key' });
  });

  it('waits while an object of an earlier trial of the same name is still there', async () => {
    const exp = experiment('stale', jobSpec());
    const trial = await createTrial(exp, 'stale-1');
    // An owner that exists, so the garbage collector keeps the object for now.
    const earlier = await createTrial(exp, 'stale-earlier');
    await runtime.start(exp, { ...trial, metadata: { ...trial.metadata, uid: earlier.metadata.uid } });
    const obs = await runtime.observe(exp, trial);
    expect(obs).toEqual({ phase: 'pending', message: `Job katib-rt/stale-1 belongs to an earlier trial of that name (uid ${earlier.metadata.uid}); waiting for it to be deleted` });
  });
});

describe('stop and remove', () => {
  it('stop deletes the run; observe reports the reason while it goes and once it is gone', async () => {
    const exp = experiment('stop', jobSpec());
    const trial = await createTrial(exp, 'stop-1');
    await runtime.start(exp, trial);
    await runtime.stop(exp, trial, 'killed', 'the experiment completed (ExperimentGoalReached)');
    await fake.settled();
    await expect(readRun('batch', 'v1', 'jobs', 'stop-1')).rejects.toMatchObject({ code: 404 });
    expect(await runtime.observe(exp, trial)).toMatchObject({ phase: 'killed', message: 'the experiment completed (ExperimentGoalReached)' });
    await runtime.stop(exp, trial, 'killed', 'again');
    expect((await runtime.observe(exp, trial)).message).toBe('the experiment completed (ExperimentGoalReached)');
  });

  it('stop for early-stopped reports early-stopped', async () => {
    const exp = experiment('stop-es', jobSpec());
    const trial = await createTrial(exp, 'stop-es-1');
    await runtime.start(exp, trial);
    await runtime.stop(exp, trial, 'early-stopped', 'median stopping');
    expect(await runtime.observe(exp, trial)).toMatchObject({ phase: 'early-stopped', message: 'median stopping' });
  });

  it('remove deletes the run and forgets the stop', async () => {
    const exp = experiment('remove', jobSpec());
    const trial = await createTrial(exp, 'remove-1');
    await runtime.start(exp, trial);
    await runtime.stop(exp, trial, 'killed');
    await runtime.remove(exp, trial);
    await fake.settled();
    expect(await runtime.observe(exp, trial)).toEqual({ phase: 'absent' });
  });
});

describe('onChange', () => {
  it('calls the listener with the experiment of a run that changed', async () => {
    const own = new KubernetesRuntime(kc, options);
    try {
      const seen: string[] = [];
      own.onChange((e) => seen.push(`${e.namespace}/${e.name}`));
      const exp = experiment('watched', jobSpec());
      const trial = await createTrial(exp, 'watched-1');
      await own.start(exp, trial);
      await eventually(() => expect(seen).toContain(`${NS}/watched`));
      seen.length = 0;
      await setStatus('batch', 'v1', 'jobs', 'watched-1', { conditions: [{ type: 'Complete', status: 'True' }] });
      await eventually(() => expect(seen).toEqual([`${NS}/watched`]));
      // A kind first met in start() is watched from then on.
      const wf = experiment('watched-wf', { apiVersion: 'argoproj.io/v1alpha1', kind: 'Workflow', spec: { lr: '${trialParameters.learningRate}' } }, { metricsCollectorSpec: { collector: { kind: 'None' } } });
      const t2 = await createTrial(wf, 'watched-wf-1');
      await own.start(wf, t2);
      await eventually(() => expect(seen).toContain(`${NS}/watched-wf`));
      seen.length = 0;
      await setStatus('argoproj.io', 'v1alpha1', 'workflows', 'watched-wf-1', { phase: 'Succeeded' });
      await eventually(() => expect(seen).toEqual([`${NS}/watched-wf`]));
      // A watch the server drops is resumed.
      fake.disconnectWatches();
      seen.length = 0;
      await setStatus('batch', 'v1', 'jobs', 'watched-1', { conditions: [{ type: 'Complete', status: 'True', reason: 'again' }] });
      await eventually(() => expect(seen).toContain(`${NS}/watched`));
    } finally {
      await own.close();
    }
  });
});

describe('RBAC', () => {
  it('every call on workloads and pods is allowed by the controller ClusterRole', async () => {
    const rules = rbacRules();
    const exp = experiment('rbac', jobSpec());
    const trial = await createTrial(exp, 'rbac-1');
    const own = new KubernetesRuntime(kc, options);
    const recorded: RecordedRequest[] = [];
    let watchesFrom = fake.requests().length;
    try {
      const before = fake.requests().length;
      own.onChange(() => undefined);
      await eventually(() => expect(fake.requests().slice(before).filter((r) => r.verb === 'list').map((r) => r.resource).sort()).toEqual(['jobs', 'pytorchjobs', 'trainjobs']));
      recorded.push(...fake.requests().slice(before));
      watchesFrom = fake.requests().length;
      recorded.push(...(await calls(() => own.start(exp, trial))).requests);
      recorded.push(...(await calls(() => own.observe(exp, trial))).requests);
      await setStatus('batch', 'v1', 'jobs', 'rbac-1', { conditions: [{ type: 'Complete', status: 'True' }] });
      recorded.push(...(await calls(() => own.observe(exp, trial))).requests);
      await setStatus('batch', 'v1', 'jobs', 'rbac-1', { conditions: [{ type: 'Failed', status: 'True' }] });
      recorded.push(...(await calls(() => own.observe(exp, trial))).requests);
      recorded.push(...(await calls(() => own.stop(exp, trial, 'killed'))).requests);
      recorded.push(...(await calls(() => own.remove(exp, trial))).requests);
      // A watch is recorded when the server ends its stream; the test itself opens none.
      fake.disconnectWatches();
      await eventually(() => expect(fake.requests().slice(watchesFrom).filter((r) => r.verb === 'watch').length).toBeGreaterThanOrEqual(3));
      recorded.push(...fake.requests().slice(watchesFrom).filter((r) => r.verb === 'watch'));
    } finally {
      await own.close();
    }
    const workloads = new Set(['jobs', 'trainjobs', 'pytorchjobs', 'pods']);
    const used = new Set(recorded.filter((r) => workloads.has(r.resource)).map((r) => `${r.verb} ${r.group}/${r.resource}${r.subresource ? `/${r.subresource}` : ''}`));
    expect([...used].sort()).toEqual(expect.arrayContaining(['create batch/jobs', 'delete batch/jobs', 'get batch/jobs', 'list /pods', 'list batch/jobs', 'list kubeflow.org/pytorchjobs', 'list trainer.kubeflow.org/trainjobs', 'watch batch/jobs', 'watch kubeflow.org/pytorchjobs', 'watch trainer.kubeflow.org/trainjobs']));
    for (const r of recorded.filter((x) => workloads.has(x.resource))) {
      expect(rbacAllows(rules, r.group, r.subresource ? `${r.resource}/${r.subresource}` : r.resource, r.verb), `${r.verb} ${r.group}/${r.resource}`).toBe(true);
    }
  });
});
