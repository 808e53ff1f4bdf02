/**
 * The exact run objects KubernetesRuntime creates: sidecar injection into a Job, a PyTorchJob's Master replica and
 * a custom resource's pod template; the wrapped primary command (exec form, arguments byte for byte); the trainer
 * command of a TrainJob; Push, Custom and unsupported collectors; and what is escaped for `$(VAR)` expansion.
 * Pure: nothing is sent to an API server.
 */
import { describe, expect, it } from 'vitest';
import { applyDefaults } from '../../src/api/defaults.js';
import { renderTrialSpec } from '../../src/api/template.js';
import type { Experiment, MetricsCollectorSpec, Trial, UnstructuredObject } from '../../src/api/types.js';
import { ValidationError } from '../../src/errors.js';
import { ControlFiles, escapeExpansion, MAIN_MARKER, parseFieldPath, SIDECAR_NAME, WRAPPER_SCRIPT } from '../../src/runtime/kubernetes-inject.js';
import { KubernetesRuntime, type KubernetesRuntimeOptions } from '../../src/runtime/kubernetes.js';
import { kubeConfigFor } from '../support/fake-apiserver.js';

const options: KubernetesRuntimeOptions = {
  dbManagerAddress: 'katib-db-manager.kubeflow.svc:6789',
  collector: { image: 'katib-ts:0.1.0' },
  earlyStoppingAddress: { medianstop: 'katib-earlystopping.kubeflow.svc:6788' },
};
const runtime = new KubernetesRuntime(kubeConfigFor('http://127.0.0.1:9'), options);

const ARGS = ['--lr', '${trialParameters.learningRate}', '--note', 'two words "quoted" it\'s', '--path=$(HOME)/x', ''];

function experiment(trialSpec: UnstructuredObject, mc?: MetricsCollectorSpec, extra: Partial<Experiment['spec']> = {}): Experiment {
  return applyDefaults({
    apiVersion: 'kubeflow.org/v1beta1',
    kind: 'Experiment',
    metadata: { name: 'exp', namespace: 'team-a', uid: 'uid-exp' },
    spec: {
      objective: { type: 'maximize', objectiveMetricName: 'accuracy', additionalMetricNames: ['loss'] },
      algorithm: { algorithmName: 'random' },
      parameters: [{ name: 'lr', parameterType: 'double', feasibleSpace: { min: '0.01', max: '0.1' } }],
      trialTemplate: { trialParameters: [{ name: 'learningRate', reference: 'lr' }], trialSpec },
      ...(mc ? { metricsCollectorSpec: mc } : {}),
      ...extra,
    },
  });
}

function trialOf(exp: Experiment, rules?: Trial['spec']['earlyStoppingRules']): Trial {
  const t = exp.spec.trialTemplate ?? {};
  const labels = { 'katib.kubeflow.org/experiment': 'exp' };
  return {
    apiVersion: 'kubeflow.org/v1beta1',
    kind: 'Trial',
    metadata: { name: 'exp-1', namespace: 'team-a', uid: 'uid-trial', labels },
    spec: {
      objective: exp.spec.objective,
      parameterAssignments: [{ name: 'lr', value: '0.05' }],
      ...(rules ? { earlyStoppingRules: rules } : {}),
      runSpec: renderTrialSpec(exp, { name: 'exp-1', namespace: 'team-a', assignments: [{ name: 'lr', value: '0.05' }], labels }),
      metricsCollector: exp.spec.metricsCollectorSpec,
      primaryPodLabels: t.primaryPodLabels,
      primaryContainerName: t.primaryContainerName,
      successCondition: t.successCondition,
      failureCondition: t.failureCondition,
      labels,
    },
  };
}

const job = (container: Record<string, unknown> = {}): UnstructuredObject => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { labels: { team: 'a' } },
  spec: {
    backoffLimit: 0,
    template: {
      metadata: { labels: { app: 'train' } },
      spec: {
        restartPolicy: 'Never',
        containers: [
          {
            name: 'training',
            image: 'python:3.12',
            command: ['python', 'train.py'],
            args: ARGS,
            env: [{ name: 'EPOCHS', value: '3' }],
            resources: { limits: { 'nvidia.com/gpu': 1 }, requests: { 'nvidia.com/gpu': 1, cpu: '1' } },
            ...container,
          },
        ],
        volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }],
      },
    },
  },
});

const RENDERED_ARGS = ['--lr', '0.05', '--note', 'two words "quoted" it\'s', '--path=$(HOME)/x', ''];

const sidecarArgs = (extra: string[] = [], file = '/var/log/katib/metrics.log', format = 'TEXT', dir = '/var/log/katib'): string[] => [
  'collect',
  '--trial',
  'exp-1',
  '--experiment',
  'exp',
  '--namespace',
  'team-a',
  '--db-manager-address',
  'katib-db-manager.kubeflow.svc:6789',
  '--metric-names',
  'accuracy,loss',
  '--objective-type',
  'maximize',
  '--file',
  file,
  '--format',
  format,
  ...extra,
  '--grace-period',
  '10',
  '--wait-pid-of',
  `${dir}/.katib-main.pid`,
  '--exit-marker',
  `${dir}/.katib-main.exit`,
  '--stop-file',
  `${dir}/.katib-stop`,
  '--termination-log',
  '/dev/termination-log',
];

describe('Job', () => {
  it('StdOut: wraps the command in exec form, adds the sidecar, the volume and the trial labels', () => {
    const exp = experiment(job());
    const run = runtime.desiredRun(exp, trialOf(exp));
    expect(run).toEqual({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name: 'exp-1',
        namespace: 'team-a',
        labels: { team: 'a', 'katib.kubeflow.org/experiment': 'exp', 'katib.kubeflow.org/trial': 'exp-1' },
        ownerReferences: [{ apiVersion: 'kubeflow.org/v1beta1', kind: 'Trial', name: 'exp-1', uid: 'uid-trial', controller: true, blockOwnerDeletion: true }],
      },
      spec: {
        backoffLimit: 0,
        template: {
          metadata: { labels: { app: 'train', 'katib.kubeflow.org/experiment': 'exp', 'katib.kubeflow.org/trial': 'exp-1' } },
          spec: {
            restartPolicy: 'Never',
            shareProcessNamespace: true,
            containers: [
              {
                name: 'training',
                image: 'python:3.12',
                command: ['sh', '-c', WRAPPER_SCRIPT, MAIN_MARKER, '/var/log/katib/metrics.log', '/var/log/katib', '10', 'python', 'train.py', ...RENDERED_ARGS],
                env: [
                  { name: 'EPOCHS', value: '3' },
                  { name: 'KATIB_TRIAL_NAME', value: 'exp-1' },
                  { name: 'KATIB_DB_MANAGER_ADDRESS', value: 'katib-db-manager.kubeflow.svc:6789' },
                ],
                resources: { limits: { 'nvidia.com/gpu': 1 }, requests: { 'nvidia.com/gpu': 1, cpu: '1' } },
                volumeMounts: [{ name: 'metrics-volume', mountPath: '/var/log/katib' }],
              },
              {
                name: SIDECAR_NAME,
                image: 'katib-ts:0.1.0',
                args: sidecarArgs(),
                env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
                volumeMounts: [{ name: 'metrics-volume', mountPath: '/var/log/katib' }],
              },
            ],
            volumes: [
              { name: 'data', persistentVolumeClaim: { claimName: 'data' } },
              { name: 'metrics-volume', emptyDir: {} },
            ],
          },
        },
      },
    });
  });

  it('does not change the trial spec it was given', () => {
    const exp = experiment(job());
    const trial = trialOf(exp);
    const before = structuredClone(trial);
    runtime.desiredRun(exp, trial);
    expect(trial).toEqual(before);
  });

  it('File JSON with metricsFormat, rules and the sidecar command: flags escaped for $(VAR) expansion', () => {
    const mc: MetricsCollectorSpec = {
      collector: { kind: 'File' },
      source: { fileSystemPath: { path: '/output/metrics.json', kind: 'File', format: 'JSON' }, filter: { metricsFormat: [String.raw`(\w+)=\$(\d+)`] } },
    };
    const exp = experiment(job(), mc, { earlyStopping: { algorithmName: 'medianstop' } });
    const rules = [{ name: 'accuracy', value: '0.6', comparison: 'less' as const, startStep: 4 }];
    const own = new KubernetesRuntime(kubeConfigFor('http://127.0.0.1:9'), { ...options, collector: { image: 'katib-ts:0.1.0', command: ['node', '/app/bin/katib.js'], imagePullPolicy: 'IfNotPresent', resources: { limits: { memory: '64Mi' } }, gracePeriodSeconds: 30, pollIntervalMs: 250 } });
    const run = own.desiredRun(exp, trialOf(exp, rules)) as { spec: { template: { spec: { containers: Record<string, unknown>[] } } } };
    const [primary, sidecar] = run.spec.template.spec.containers;
    expect(primary?.command).toEqual(['sh', '-c', WRAPPER_SCRIPT, MAIN_MARKER, '', '/output', '30', 'python', 'train.py', ...RENDERED_ARGS]);
    expect(primary?.volumeMounts).toEqual([{ name: 'metrics-volume', mountPath: '/output' }]);
    expect(sidecar).toEqual({
      name: SIDECAR_NAME,
      image: 'katib-ts:0.1.0',
      command: ['node', '/app/bin/katib.js'],
      args: [
        ...sidecarArgs(
          [
            '--metrics-format',
            String.raw`(\w+)=\$$(\d+)`,
            '--early-stopping-rules',
            '[{"name":"accuracy","value":"0.6","comparison":"less","startStep":4}]',
            '--early-stopping-address',
            'katib-earlystopping.kubeflow.svc:6788',
            '--poll-interval',
            '250',
          ],
          '/output/metrics.json',
          'JSON',
          '/output',
        ),
      ].map((a) => (a === '10' ? '30' : a)),
      imagePullPolicy: 'IfNotPresent',
      env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
      volumeMounts: [{ name: 'metrics-volume', mountPath: '/output' }],
      resources: { limits: { memory: '64Mi' } },
    });
  });

  it('takes the primary container by name', () => {
    const spec = job();
    const containers = (spec.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec.containers;
    containers.unshift({ name: 'proxy', image: 'envoy', command: ['envoy'] });
    const exp = experiment(spec);
    exp.spec.trialTemplate = { ...exp.spec.trialTemplate, primaryContainerName: 'training' };
    const run = runtime.desiredRun(exp, trialOf(exp)) as { spec: { template: { spec: { containers: Record<string, unknown>[] } } } };
    const [proxy, training, sidecar] = run.spec.template.spec.containers;
    expect(proxy).toEqual({ name: 'proxy', image: 'envoy', command: ['envoy'] });
    expect((training?.command as string[]).slice(0, 2)).toEqual(['sh', '-c']);
    expect(sidecar?.name).toBe(SIDECAR_NAME);
  });

  it.each([
    { name: 'no command to wrap', container: { command: undefined }, mc: undefined, message: 'spec.template.spec.containers[0].command: the StdOut collector wraps the primary container\'s command, and this container has none (katib-ts does not read image entrypoints); set command (and args), or use the Push collector' },
    {
      name: 'the metrics folder mounted already',
      container: { volumeMounts: [{ name: 'logs', mountPath: '/var/log/katib' }] },
      mc: undefined,
      message: 'spec.template.spec.containers[0].volumeMounts: /var/log/katib is mounted already (volume "logs"); the StdOut collector mounts its own volume there, so write the metrics file to another folder (metricsCollectorSpec.source.fileSystemPath.path)',
    },
    { name: 'TensorFlowEvent', container: {}, mc: { collector: { kind: 'TensorFlowEvent' as const } }, message: 'spec.metricsCollectorSpec.collector.kind: TensorFlowEvent is not supported by katib-ts on Kubernetes; use StdOut, File (TEXT or JSON), Custom or Push' },
    { name: 'PrometheusMetric', container: {}, mc: { collector: { kind: 'PrometheusMetric' as const } }, message: 'spec.metricsCollectorSpec.collector.kind: PrometheusMetric is not supported by katib-ts on Kubernetes; use StdOut, File (TEXT or JSON), Custom or Push' },
    { name: 'Custom without a container', container: {}, mc: { collector: { kind: 'Custom' as const } }, message: 'spec.metricsCollectorSpec.collector.customCollector: the Custom collector needs customCollector: the container to add to the trial pod' },
  ])('rejects $name', ({ container, mc, message }) => {
    const exp = experiment(job(container), mc);
    let err: unknown;
    try {
      runtime.desiredRun(exp, trialOf(exp));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues.map((i) => `${i.path}: ${i.message}`)).toEqual([message]);
  });

  it('Push: only the environment for the SDK, the command untouched', () => {
    const exp = experiment(job(), { collector: { kind: 'Push' } });
    const run = runtime.desiredRun(exp, trialOf(exp)) as { spec: { template: { spec: Record<string, unknown> & { containers: Record<string, unknown>[] } } } };
    const podSpec = run.spec.template.spec;
    expect(podSpec.containers).toHaveLength(1);
    expect(podSpec.shareProcessNamespace).toBeUndefined();
    expect(podSpec.containers[0]?.command).toEqual(['python', 'train.py']);
    expect(podSpec.containers[0]?.args).toEqual(RENDERED_ARGS);
    expect(podSpec.containers[0]?.env).toEqual([
      { name: 'EPOCHS', value: '3' },
      { name: 'KATIB_TRIAL_NAME', value: 'exp-1' },
      { name: 'KATIB_DB_MANAGER_ADDRESS', value: 'katib-db-manager.kubeflow.svc:6789' },
    ]);
  });

  it('Custom: adds the user collector with the metrics volume, without wrapping', () => {
    const mc: MetricsCollectorSpec = {
      collector: { kind: 'Custom', customCollector: { name: 'my-collector', image: 'me/collector', args: ['--file', '/var/log/out/m.txt'] } },
      source: { fileSystemPath: { path: '/var/log/out/m.txt', kind: 'File' } },
    };
    const exp = experiment(job(), mc);
    const run = runtime.desiredRun(exp, trialOf(exp)) as { spec: { template: { spec: Record<string, unknown> & { containers: Record<string, unknown>[] } } } };
    const [primary, collector] = run.spec.template.spec.containers;
    expect(primary?.command).toEqual(['python', 'train.py']);
    expect(primary?.volumeMounts).toEqual([{ name: 'metrics-volume', mountPath: '/var/log/out' }]);
    expect(collector).toEqual({ name: 'my-collector', image: 'me/collector', args: ['--file', '/var/log/out/m.txt'], volumeMounts: [{ name: 'metrics-volume', mountPath: '/var/log/out' }] });
    expect(run.spec.template.spec.shareProcessNamespace).toBe(true);
  });
});

describe('PyTorchJob and other pod templates', () => {
  it('injects into the Master replica only', () => {
    const worker = { replicas: 2, restartPolicy: 'OnFailure', template: { spec: { containers: [{ name: 'pytorch', image: 'torch', command: ['torchrun', 'train.py'], args: ['--lr', '${trialParameters.learningRate}'] }] } } };
    const exp = experiment({
      apiVersion: 'kubeflow.org/v1',
      kind: 'PyTorchJob',
      spec: { pytorchReplicaSpecs: { Worker: worker, Master: { replicas: 1, restartPolicy: 'OnFailure', template: { spec: { containers: [{ name: 'pytorch', image: 'torch', command: ['torchrun', 'train.py'], args: ['--lr', '${trialParameters.learningRate}'], resources: { limits: { 'nvidia.com/gpu': 8 } } }] } } } } },
    });
    const run = runtime.desiredRun(exp, trialOf(exp)) as { spec: { pytorchReplicaSpecs: Record<string, { template: { metadata?: unknown; spec: Record<string, unknown> & { containers: Record<string, unknown>[] } } }> } };
    const master = run.spec.pytorchReplicaSpecs.Master?.template;
    expect(master?.metadata).toEqual({ labels: { 'katib.kubeflow.org/experiment': 'exp', 'katib.kubeflow.org/trial': 'exp-1' } });
    expect(master?.spec.shareProcessNamespace).toBe(true);
    expect(master?.spec.containers.map((c) => c.name)).toEqual(['pytorch', SIDECAR_NAME]);
    expect(master?.spec.containers[0]?.command).toEqual(['sh', '-c', WRAPPER_SCRIPT, MAIN_MARKER, '/var/log/katib/metrics.log', '/var/log/katib', '10', 'torchrun', 'train.py', '--lr', '0.05']);
    expect(master?.spec.containers[0]?.resources).toEqual({ limits: { 'nvidia.com/gpu': 8 } });
    expect(run.spec.pytorchReplicaSpecs.Worker).toEqual({ ...worker, template: { spec: { containers: [{ ...worker.template.spec.containers[0], args: ['--lr', '0.05'] }] } } });
  });

  it('injects into the pod template of any resource that has one', () => {
    const exp = experiment(
      { apiVersion: 'example.com/v1', kind: 'Trainer', spec: { worker: { template: { spec: { containers: [{ name: 'main', image: 'x', command: ['run', '${trialParameters.learningRate}'] }] } } } } },
      undefined,
    );
    exp.spec.trialTemplate = { ...exp.spec.trialTemplate, successCondition: 'status.done', failureCondition: 'status.failed' };
    const run = runtime.desiredRun(exp, trialOf(exp)) as { spec: { worker: { template: { metadata: { labels: Record<string, string> }; spec: { containers: Record<string, unknown>[] } } } } };
    expect(run.spec.worker.template.metadata.labels).toEqual({ 'katib.kubeflow.org/experiment': 'exp', 'katib.kubeflow.org/trial': 'exp-1' });
    expect(run.spec.worker.template.spec.containers.map((c) => c.name)).toEqual(['main', SIDECAR_NAME]);
  });

  it('leaves a resource without pod template alone when nothing is collected', () => {
    const exp = experiment({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Workflow', spec: { entrypoint: 'main', lr: '${trialParameters.learningRate}' } }, { collector: { kind: 'None' } });
    const run = runtime.desiredRun(exp, trialOf(exp));
    expect(run.spec).toEqual({ entrypoint: 'main', lr: '0.05' });
  });
});

describe('TrainJob', () => {
  const trainJob = (trainer: Record<string, unknown>): UnstructuredObject => ({
    apiVersion: 'trainer.kubeflow.org/v1alpha1',
    kind: 'TrainJob',
    spec: { runtimeRef: { name: 'torch-distributed' }, trainer: { numNodes: 2, image: 'torch:2', resourcesPerNode: { limits: { 'nvidia.com/gpu': '1' } }, ...trainer } },
  });

  it('StdOut: the trainer command becomes `katib collect ... -- CMD ARGS`, nothing else changes', () => {
    const exp = experiment(trainJob({ command: ['torchrun', 'train.py'], args: ARGS, env: [{ name: 'EPOCHS', value: '1' }] }), undefined, { earlyStopping: { algorithmName: 'medianstop' } });
    const run = runtime.desiredRun(exp, trialOf(exp, [{ name: 'accuracy', value: '0.5', comparison: 'less' }]));
    expect(run.spec).toEqual({
      runtimeRef: { name: 'torch-distributed' },
      trainer: {
        numNodes: 2,
        image: 'torch:2',
        resourcesPerNode: { limits: { 'nvidia.com/gpu': '1' } },
        env: [
          { name: 'EPOCHS', value: '1' },
          { name: 'KATIB_TRIAL_NAME', value: 'exp-1' },
          { name: 'KATIB_DB_MANAGER_ADDRESS', value: 'katib-db-manager.kubeflow.svc:6789' },
          { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        ],
        command: [
          'katib',
          'collect',
          '--trial',
          'exp-1',
          '--experiment',
          'exp',
          '--namespace',
          'team-a',
          '--db-manager-address',
          'katib-db-manager.kubeflow.svc:6789',
          '--metric-names',
          'accuracy,loss',
          '--objective-type',
          'maximize',
          '--format',
          'TEXT',
          '--early-stopping-rules',
          '[{"name":"accuracy","value":"0.5","comparison":"less"}]',
          '--early-stopping-address',
          'katib-earlystopping.kubeflow.svc:6788',
          '--grace-period',
          '10',
          '--copy-output',
          '--termination-log',
          '/dev/termination-log',
          '--',
          'torchrun',
          'train.py',
          ...RENDERED_ARGS,
        ],
      },
    });
    expect(run.metadata?.ownerReferences).toHaveLength(1);
  });

  it('File: the collector command in the trainer image is configurable; no --copy-output', () => {
    const exp = experiment(trainJob({ command: ['python', 'train.py'] }), { collector: { kind: 'File' }, source: { fileSystemPath: { path: '/tmp/m.log', kind: 'File', format: 'TEXT' } } });
    const own = new KubernetesRuntime(kubeConfigFor('http://127.0.0.1:9'), { ...options, collector: { image: 'katib-ts:0.1.0', trainerCommand: ['/opt/katib/bin/katib'] } });
    const command = (own.desiredRun(exp, trialOf(exp)).spec as { trainer: { command: string[] } }).trainer.command;
    expect(command.slice(0, 2)).toEqual(['/opt/katib/bin/katib', 'collect']);
    expect(command).not.toContain('--copy-output');
    expect(command.slice(command.indexOf('--file'), command.indexOf('--file') + 2)).toEqual(['--file', '/tmp/m.log']);
    expect(command.slice(-3)).toEqual(['--', 'python', 'train.py']);
  });

  it.each([
    { name: 'no trainer command', trainer: { args: ['x'] }, mc: undefined, message: "spec.trainer.command: the StdOut collector wraps the trainer command, and the TrainJob has none (the runtime's command is not known here); set spec.trainer.command, or use the Push collector" },
    { name: 'a Custom collector', trainer: { command: ['x'] }, mc: { collector: { kind: 'Custom' as const, customCollector: { name: 'c', image: 'c' } } }, message: "spec.metricsCollectorSpec.collector.kind: Custom collectors cannot be added to a TrainJob: Trainer's pod template overrides cannot add containers; use StdOut, File or Push" },
  ])('rejects $name', ({ trainer, mc, message }) => {
    const exp = experiment(trainJob(trainer), mc);
    let err: unknown;
    try {
      runtime.desiredRun(exp, trialOf(exp));
    } catch (e) {
      err = e;
    }
    expect((err as ValidationError).issues.map((i) => `${i.path}: ${i.message}`)).toEqual([message]);
  });

  it('Push: env only', () => {
    const exp = experiment(trainJob({ command: ['python', 'train.py'] }), { collector: { kind: 'Push' } });
    const trainer = (runtime.desiredRun(exp, trialOf(exp)).spec as { trainer: Record<string, unknown> }).trainer;
    expect(trainer.command).toEqual(['python', 'train.py']);
    expect(trainer.env).toEqual([
      { name: 'KATIB_TRIAL_NAME', value: 'exp-1' },
      { name: 'KATIB_DB_MANAGER_ADDRESS', value: 'katib-db-manager.kubeflow.svc:6789' },
    ]);
  });
});

describe('helpers', () => {
  it('the wrapper script survives Kubernetes variable expansion', () => {
    expect(WRAPPER_SCRIPT).not.toContain('$(');
    expect(WRAPPER_SCRIPT).not.toContain('$$');
    for (const name of Object.values(ControlFiles)) expect(WRAPPER_SCRIPT).toContain(name);
  });

  it.each([
    { text: 'plain', want: 'plain' },
    { text: '$(HOME)', want: '$$(HOME)' },
    { text: 'a$$b', want: 'a$$$$b' },
  ])('escapeExpansion($text)', ({ text, want }) => {
    expect(escapeExpansion(text)).toBe(want);
  });

  it.each([
    { path: 'spec.template.spec.containers[0]', want: ['spec', 'template', 'spec', 'containers', 0] },
    { path: 'spec.pytorchReplicaSpecs.Master.template.spec.containers[1]', want: ['spec', 'pytorchReplicaSpecs', 'Master', 'template', 'spec', 'containers', 1] },
    { path: 'spec[a.b].containers[0]', want: ['spec', 'a.b', 'containers', 0] },
  ])('parseFieldPath($path)', ({ path, want }) => {
    expect(parseFieldPath(path)).toEqual(want);
  });
});
