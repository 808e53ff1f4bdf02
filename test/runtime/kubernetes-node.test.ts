/**
 * KubernetesRuntime end to end on the simulated node: the trial's Job runs as local processes, the wrapped training
 * and the `katib collect` sidecar (the built bin/katib.js; `npm run build` first) side by side sharing the metrics
 * emptyDir, reporting to a real DB-manager on SQLite; a TrainJob runs the collector as its trainer command (wrap
 * mode) on two nodes. The runtime must read succeeded only with every metric stored, early-stopped with the rule,
 * and failed with the container's exit code.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyDefaults } from '../../src/api/defaults.js';
import { renderTrialSpec } from '../../src/api/template.js';
import type { Experiment, MetricsCollectorSpec, Trial, UnstructuredObject } from '../../src/api/types.js';
import { DbManagerClient } from '../../src/dbmanager/client.js';
import { startDbManager, type DbManagerHandle } from '../../src/dbmanager/service.js';
import { startEarlyStoppingServer } from '../../src/earlystopping/service.js';
import { KubernetesRuntime } from '../../src/runtime/kubernetes.js';
import type { RunObservation } from '../../src/runtime/runtime.js';
import type { RunningServer } from '../../src/suggestion/adapter.js';
import type { MetricLogEntry } from '../../src/store/store.js';
import { loadCrds } from '../manifests/manifests.js';
import { KATIB_BIN, REPO } from '../support/cli.js';
import { startFakeApiServer, type FakeApiServer } from '../support/fake-apiserver.js';
import { SimulatedNode } from '../support/simulated-node.js';

const NS = 'katib-node';
const quiet = { info: () => undefined, warn: () => undefined };

/** Prints its argv, then `epoch=i loss=... accuracy=...` lines (EPOCHS, SLEEP_MS, EXIT from the environment). */
const TRAINING = `
const env = process.env;
console.log('argv=' + JSON.stringify(process.argv.slice(1)) + ' rank=' + (env.PET_NODE_RANK || '-'));
const epochs = Number(env.EPOCHS || 4), sleep = Number(env.SLEEP_MS || 20);
let i = 0;
const tick = () => {
  i++;
  console.log('epoch=' + i + ' loss=' + (1 / i).toFixed(4) + ' accuracy=' + (0.1 * i).toFixed(4));
  if (i < epochs) setTimeout(tick, sleep); else process.exit(Number(env.EXIT || 0));
};
tick();
`;

let tmp: string;
let fake: FakeApiServer;
let kc: KubeConfig;
let custom: CustomObjectsApi;
let node: SimulatedNode;
let manager: DbManagerHandle;
let client: DbManagerClient;
let earlyStopping: RunningServer;
let runtime: KubernetesRuntime;

beforeAll(async () => {
  if (!fs.existsSync(path.join(REPO, 'dist', 'src', 'cli', 'collect.js'))) throw new Error('dist/ is missing katib collect: run `npm run build` first');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'katib-node-'));
  manager = await startDbManager({ host: '127.0.0.1', port: 0, db: `sqlite:${path.join(tmp, 'obs.db')}`, logger: quiet });
  client = new DbManagerClient(`127.0.0.1:${manager.port}`, { timeoutMs: 5_000 });
  earlyStopping = await startEarlyStoppingServer({ host: '127.0.0.1', port: 0 });
  fake = await startFakeApiServer({ crds: loadCrds() });
  kc = fake.kubeConfig(NS);
  custom = kc.makeApiClient(CustomObjectsApi);
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: NS } } });
  node = new SimulatedNode({ kubeConfig: kc, server: fake, namespace: NS, logDir: path.join(tmp, 'node'), cwd: tmp, killGraceMs: 1000 });
  await node.start();
  const collector = [process.execPath, KATIB_BIN];
  runtime = new KubernetesRuntime(kc, {
    dbManagerAddress: `127.0.0.1:${manager.port}`,
    collector: { image: 'katib-ts:test', command: collector, trainerCommand: collector, pollIntervalMs: 100, gracePeriodSeconds: 1 },
    earlyStoppingAddress: earlyStopping.address,
    namespace: NS,
  });
});

afterAll(async () => {
  await runtime?.close();
  await node?.stop();
  await fake?.close();
  await earlyStopping?.close();
  await client?.close();
  await manager?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

function experiment(name: string, trialSpec: UnstructuredObject, mc?: MetricsCollectorSpec): Experiment {
  return applyDefaults({
    apiVersion: 'kubeflow.org/v1beta1',
    kind: 'Experiment',
    metadata: { name, namespace: NS },
    spec: {
      objective: { type: 'maximize', objectiveMetricName: 'accuracy', additionalMetricNames: ['loss'] },
      algorithm: { algorithmName: 'random' },
      earlyStopping: { algorithmName: 'medianstop' },
      parameters: [{ name: 'lr', parameterType: 'double', feasibleSpace: { min: '0.01', max: '0.1' } }],
      trialTemplate: { trialParameters: [{ name: 'learningRate', reference: 'lr' }], trialSpec },
      ...(mc ? { metricsCollectorSpec: mc } : {}),
    },
  });
}

async function createTrial(exp: Experiment, name: string, rules?: Trial['spec']['earlyStoppingRules']): Promise<Trial> {
  const t = exp.spec.trialTemplate ?? {};
  const labels = { 'katib.kubeflow.org/experiment': exp.metadata.name };
  const trial: Trial = {
    apiVersion: 'kubeflow.org/v1beta1',
    kind: 'Trial',
    metadata: { name, namespace: NS, labels },
    spec: {
      objective: exp.spec.objective,
      parameterAssignments: [{ name: 'lr', value: '0.05' }],
      ...(rules ? { earlyStoppingRules: rules } : {}),
      runSpec: renderTrialSpec(exp, { name, namespace: NS, assignments: [{ name: 'lr', value: '0.05' }], labels }),
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

/** Observes until the run has ended. */
async function finished(exp: Experiment, trial: Trial, timeoutMs = 25_000): Promise<RunObservation> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const obs = await runtime.observe(exp, trial);
    if (obs.phase !== 'running' && obs.phase !== 'absent' && obs.phase !== 'pending') return obs;
    if (Date.now() > until) throw new Error(`trial ${trial.metadata.name} still ${obs.phase} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const sorted = (entries: readonly MetricLogEntry[]): string[] => entries.map((e) => `${e.name}=${e.value}`).sort();
function expected(epochs: number): string[] {
  const out: string[] = [];
  for (let i = 1; i <= epochs; i++) out.push(`accuracy=${(0.1 * i).toFixed(4)}`, `loss=${(1 / i).toFixed(4)}`);
  return out.sort();
}

const job = (env: Record<string, string>, args: string[] = []): UnstructuredObject => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  spec: {
    template: {
      spec: {
        restartPolicy: 'Never',
        containers: [
          {
            name: 'training',
            image: 'node:20',
            command: [process.execPath, '-e', TRAINING, '--'],
            args: ['--lr=${trialParameters.learningRate}', ...args],
            env: Object.entries(env).map(([name, value]) => ({ name, value })),
            resources: { limits: { 'nvidia.com/gpu': '1' } },
          },
        ],
      },
    },
  },
});

describe('a Job with the collector sidecar on the simulated node', () => {
  it('succeeds once every metric is in the DB-manager, with the arguments intact', async () => {
    const exp = experiment('node-job', job({ EPOCHS: '5' }, ['two words', '"quoted"']));
    const trial = await createTrial(exp, 'node-job-1');
    await runtime.start(exp, trial);
    const obs = await finished(exp, trial);
    expect(obs.phase).toBe('succeeded');
    // The Job completed only after the sidecar exited, and the sidecar exits after its last report.
    expect(sorted(await client.get('node-job-1'))).toEqual(expected(5));
    const outcome = await node.finished({ kind: 'Job', namespace: NS, name: 'node-job-1' });
    expect(Object.values(outcome.exitCodes)[0]).toEqual({ training: 0, 'metrics-logger-and-collector': 0 });
    const log = fs.readFileSync(node.logPath({ kind: 'Job', namespace: NS, name: 'node-job-1' }, 'training'), 'utf8');
    expect(log).toContain(`argv=${JSON.stringify(['--lr=0.05', 'two words', '"quoted"'])}`);
  });

  it('reads a JSON metrics file the training writes into the shared folder (File collector)', async () => {
    const writer = `
      const fs = require('node:fs');
      for (let i = 1; i <= 3; i++) fs.appendFileSync(process.argv[1], JSON.stringify({ accuracy: (0.1 * i).toFixed(4), loss: (1 / i).toFixed(4) }) + '\\n');
    `;
    const spec = job({});
    const container = (spec.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec.containers[0] as Record<string, unknown>;
    container.command = [process.execPath, '-e', writer, '/var/log/katib/metrics.json'];
    container.args = ['${trialParameters.learningRate}'];
    const exp = experiment('node-file', spec, { collector: { kind: 'File' }, source: { fileSystemPath: { path: '/var/log/katib/metrics.json', kind: 'File', format: 'JSON' } } });
    const trial = await createTrial(exp, 'node-file-1');
    await runtime.start(exp, trial);
    expect((await finished(exp, trial)).phase).toBe('succeeded');
    expect(sorted(await client.get('node-file-1'))).toEqual(expected(3));
  });

  it('is early-stopped by the sidecar: the training is stopped, the Job completes, the runtime reads the rule', async () => {
    const exp = experiment('node-es', job({ EPOCHS: '300', SLEEP_MS: '100' }));
    const trial = await createTrial(exp, 'node-es-1', [{ name: 'accuracy', value: '0.55', comparison: 'less', startStep: 3 }]);
    await runtime.start(exp, trial);
    const obs = await finished(exp, trial);
    expect(obs).toMatchObject({ phase: 'early-stopped', message: 'stopped early at step 3: best accuracy so far (0.3) is less than 0.55' });
    const stored = await client.get('node-es-1', { metricName: 'accuracy' });
    expect(stored.length).toBeGreaterThanOrEqual(3);
    expect(stored.length).toBeLessThan(100);
    const outcome = await node.finished({ kind: 'Job', namespace: NS, name: 'node-es-1' });
    expect(Object.values(outcome.exitCodes)[0]).toEqual({ training: 0, 'metrics-logger-and-collector': 0 });
  });

  it('fails with the training exit code', async () => {
    const exp = experiment('node-fail', job({ EPOCHS: '2', EXIT: '3' }));
    const trial = await createTrial(exp, 'node-fail-1');
    await runtime.start(exp, trial);
    const obs = await finished(exp, trial);
    expect(obs.phase).toBe('failed');
    expect(obs.message).toMatch(/^Job katib-node\/node-fail-1 failed: Job has reached the specified backoff limit, reason BackoffLimitExceeded; container training of pod node-fail-1-\w+ exited with code 3 \(Error\)$/);
    // What it printed before failing is stored all the same.
    expect(sorted(await client.get('node-fail-1'))).toEqual(expected(2));
  });
});

describe('a TrainJob with the collector as its trainer command on the simulated node', () => {
  const trainJob = (env: Record<string, string>): UnstructuredObject => ({
    apiVersion: 'trainer.kubeflow.org/v1alpha1',
    kind: 'TrainJob',
    spec: {
      runtimeRef: { name: 'torch-distributed' },
      trainer: {
        numNodes: 2,
        command: [process.execPath, '-e', TRAINING, '--'],
        args: ['--lr=${trialParameters.learningRate}', 'a b'],
        env: Object.entries(env).map(([name, value]) => ({ name, value })),
        resourcesPerNode: { limits: { 'nvidia.com/gpu': '2' } },
      },
    },
  });

  it('succeeds with the metrics of the first node only, once', async () => {
    const exp = experiment('node-tj', trainJob({ EPOCHS: '4' }));
    const trial = await createTrial(exp, 'node-tj-1');
    await runtime.start(exp, trial);
    expect((await finished(exp, trial)).phase).toBe('succeeded');
    expect(sorted(await client.get('node-tj-1'))).toEqual(expected(4));
  });

  it('is early-stopped through the first node; the runtime stops the other one', async () => {
    const exp = experiment('node-tj-es', trainJob({ EPOCHS: '300', SLEEP_MS: '100' }));
    const trial = await createTrial(exp, 'node-tj-es-1', [{ name: 'loss', value: '0.4', comparison: 'less' }]);
    await runtime.start(exp, trial);
    // Node 0's collector stops its training; node 1 would train on: the runtime deletes the TrainJob.
    const obs = await finished(exp, trial);
    expect(obs).toMatchObject({ phase: 'early-stopped', message: 'stopped early at step 3: loss=0.3333 is less than 0.4' });
    await fake.settled();
    await expect(custom.getNamespacedCustomObject({ group: 'trainer.kubeflow.org', version: 'v1alpha1', namespace: NS, plural: 'trainjobs', name: 'node-tj-es-1' })).rejects.toMatchObject({ code: 404 });
    expect((await node.finished({ kind: 'TrainJob', namespace: NS, name: 'node-tj-es-1' })).killed).toBe(true);
  });
});
