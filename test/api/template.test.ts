import { describe, expect, it } from 'vitest';
import type { Issue } from '../../algorithms/core/issues.js';
import { applyDefaults } from '../../src/api/defaults.js';
import { loadExperimentFile } from '../../src/api/load.js';
import { findPrimaryContainer, parseMetaReference, renderTrialSpec } from '../../src/api/template.js';
import type { PrimaryContainer, TrialToRender } from '../../src/api/template.js';
import type { Experiment, TrialParameterSpec, UnstructuredObject } from '../../src/api/types.js';
import { ValidationError } from '../../src/errors.js';

function experiment(trialParameters: TrialParameterSpec[], trialSpec: UnstructuredObject): Experiment {
  return {
    apiVersion: 'kubeflow.org/v1beta1',
    kind: 'Experiment',
    metadata: { name: 'exp', namespace: 'ns' },
    spec: {
      parameters: [
        { name: 'lr', parameterType: 'double', feasibleSpace: { min: '0', max: '1' } },
        { name: 'opt', parameterType: 'categorical', feasibleSpace: { list: ['sgd'] } },
      ],
      trialTemplate: { primaryContainerName: 'trainer', trialParameters, trialSpec },
    },
  };
}

function job(command: unknown[], metadata?: Record<string, unknown>): UnstructuredObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    ...(metadata ? { metadata } : {}),
    spec: { template: { spec: { containers: [{ name: 'trainer', image: 'python', command }], restartPolicy: 'Never' } } },
  };
}

const trial = (assignments: { name: string; value: string }[], extra: Partial<TrialToRender> = {}): TrialToRender => ({ name: 'exp-abc12', namespace: 'ns', assignments, ...extra });

/** The rendered command of a Job. */
const command = (run: UnstructuredObject): unknown => findPrimaryContainer(run).command;

function thrown(run: () => unknown): ValidationError {
  try {
    run();
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
  throw new Error('expected a ValidationError');
}

describe('renderTrialSpec', () => {
  const params: TrialParameterSpec[] = [
    { name: 'learningRate', reference: 'lr' },
    { name: 'optimizer', reference: 'opt' },
  ];

  it.each<[string, string, string]>([
    ['a plain number', '0.01', '--lr=0.01'],
    ['a double quote', 'a"b', '--lr=a"b'],
    ['a backslash sequence, not unescaped', 'a\\nb', '--lr=a\\nb'],
    ['a replacement pattern, not expanded', '$&$1$$', '--lr=$&$1$$'],
    ['another placeholder, not substituted again', '${trialParameters.optimizer}', '--lr=${trialParameters.optimizer}'],
    ['unicode and a newline', 'é\n😀', '--lr=é\n😀'],
    ['an empty value', '', '--lr='],
  ])('inserts %s byte for byte', (_name, value, expected) => {
    const exp = experiment(params, job(['train', '--lr=${trialParameters.learningRate}', '--opt=${trialParameters.optimizer}']));
    const run = renderTrialSpec(exp, trial([{ name: 'lr', value }, { name: 'opt', value: 'sgd' }]));
    expect(command(run)).toEqual(['train', expected, '--opt=sgd']);
  });

  it('replaces every occurrence, in keys and in any field', () => {
    const spec: UnstructuredObject = {
      apiVersion: 'example.com/v1',
      kind: 'Runner',
      spec: { replicas: '${trialParameters.optimizer}', config: { 'lr-${trialParameters.learningRate}': 'x ${trialParameters.learningRate} ${trialParameters.learningRate}' } },
    };
    const run = renderTrialSpec(experiment(params, spec), trial([{ name: 'lr', value: '0.5' }, { name: 'opt', value: 'adam' }]));
    expect(run.spec).toEqual({ replicas: 'adam', config: { 'lr-0.5': 'x 0.5 0.5' } });
  });

  it('names the run object after the trial and labels it as Katib does', () => {
    const exp = experiment(params, job(['${trialParameters.learningRate}', '${trialParameters.optimizer}'], { labels: { team: 'ml', 'katib.kubeflow.org/trial': 'stale' }, annotations: { a: 'b' } }));
    const run = renderTrialSpec(exp, trial([{ name: 'lr', value: '1' }, { name: 'opt', value: 'sgd' }], { labels: { 'pbt.suggestion.katib.kubeflow.org/generation': '2', team: 'ops' } }));
    expect(run.metadata).toEqual({
      name: 'exp-abc12',
      namespace: 'ns',
      annotations: { a: 'b' },
      labels: { team: 'ops', 'pbt.suggestion.katib.kubeflow.org/generation': '2', 'katib.kubeflow.org/experiment': 'exp', 'katib.kubeflow.org/trial': 'exp-abc12' },
    });
  });

  it('does not change the experiment', () => {
    const exp = experiment(params, job(['${trialParameters.learningRate}', '${trialParameters.optimizer}']));
    const before = structuredClone(exp);
    renderTrialSpec(exp, trial([{ name: 'lr', value: '1' }, { name: 'opt', value: 'sgd' }]));
    expect(exp).toEqual(before);
  });

  it("substitutes trial metadata as Katib's metadata example does", async () => {
    const exp = applyDefaults(await loadExperimentFile('test/fixtures/api/random-job.yaml'));
    const spec = exp.spec.trialTemplate?.trialSpec as UnstructuredObject;
    const withMeta: Experiment = {
      ...exp,
      spec: {
        ...exp.spec,
        trialTemplate: {
          ...exp.spec.trialTemplate,
          trialParameters: [
            ...(exp.spec.trialTemplate?.trialParameters ?? []),
            { name: 'ns', reference: '${trialSpec.Namespace}' },
            { name: 'kind', reference: '${trialSpec.Kind}' },
            { name: 'api', reference: '${trialSpec.APIVersion}' },
            { name: 'team', reference: '${trialSpec.Labels[team]}' },
            { name: 'owner', reference: '${trialSpec.Annotations[example.com/owner]}' },
          ],
          trialSpec: {
            ...spec,
            metadata: { labels: { team: 'ml' }, annotations: { 'example.com/owner': 'alice' } },
            spec: {
              template: {
                spec: {
                  containers: [
                    {
                      name: 'trainer',
                      command: ['--lr=${trialParameters.learningRate}', '--optimizer=${trialParameters.optimizer}'],
                      env: ['trialName', 'ns', 'kind', 'api', 'team', 'owner'].map((n) => ({ name: n.toUpperCase(), value: `\${trialParameters.${n}}` })),
                    },
                  ],
                },
              },
            },
          },
        },
      },
    };
    const run = renderTrialSpec(withMeta, { name: 'random-job-7', namespace: 'tuning', assignments: [{ name: 'lr', value: '0.05' }, { name: 'optimizer', value: 'adam' }] });
    expect(findPrimaryContainer(run, 'trainer')).toEqual({
      path: 'spec.template.spec.containers[0]',
      name: 'trainer',
      command: ['--lr=0.05', '--optimizer=adam'],
      args: [],
      env: [
        { name: 'TRIALNAME', value: 'random-job-7' },
        { name: 'NS', value: 'tuning' },
        { name: 'KIND', value: 'Job' },
        { name: 'API', value: 'batch/v1' },
        { name: 'TEAM', value: 'ml' },
        { name: 'OWNER', value: 'alice' },
      ],
    });
  });

  it('renders a template passed in for a ConfigMap source', () => {
    const exp = experiment(params, job([]));
    delete exp.spec.trialTemplate?.trialSpec;
    const run = renderTrialSpec(exp, trial([{ name: 'lr', value: '1' }, { name: 'opt', value: 'sgd' }]), job(['${trialParameters.learningRate}', '${trialParameters.optimizer}']));
    expect(command(run)).toEqual(['1', 'sgd']);
  });

  it.each<[string, Experiment, TrialToRender, Issue[]]>([
    [
      'a missing assignment',
      experiment(params, job(['${trialParameters.learningRate}', '${trialParameters.optimizer}'])),
      trial([{ name: 'lr', value: '1' }]),
      [{ path: 'spec.trialTemplate.trialParameters[1].reference', message: 'trial "exp-abc12" has no assignment for parameter "opt" (assigned: lr)' }],
    ],
    [
      'an assignment no trial parameter references',
      experiment(params, job(['${trialParameters.learningRate}', '${trialParameters.optimizer}'])),
      trial([{ name: 'lr', value: '1' }, { name: 'opt', value: 'sgd' }, { name: 'momentum', value: '0.9' }]),
      [{ path: 'trial.assignments[2]', message: 'parameter "momentum" is not referenced by any entry of spec.trialTemplate.trialParameters; add a trial parameter with reference: momentum' }],
    ],
    [
      'a label the template lacks',
      experiment([...params, { name: 'team', reference: '${trialSpec.Labels[team]}' }], job(['${trialParameters.learningRate}', '${trialParameters.optimizer}', '${trialParameters.team}'], { labels: { app: 'x' } })),
      trial([{ name: 'lr', value: '1' }, { name: 'opt', value: 'sgd' }]),
      [{ path: 'spec.trialTemplate.trialParameters[2].reference', message: '"team" is not in spec.trialTemplate.trialSpec.metadata.labels (labels: app); add it there or fix the reference' }],
    ],
    [
      'an unknown metadata reference',
      experiment([...params, { name: 'uid', reference: '${trialSpec.UID}' }], job(['${trialParameters.learningRate}', '${trialParameters.optimizer}'])),
      trial([{ name: 'lr', value: '1' }, { name: 'opt', value: 'sgd' }]),
      [
        {
          path: 'spec.trialTemplate.trialParameters[2].reference',
          message:
            'unknown trial metadata reference "${trialSpec.UID}"; use one of ${trialSpec.Name}, ${trialSpec.Namespace}, ${trialSpec.Kind}, ${trialSpec.APIVersion}, ${trialSpec.Labels[key]}, ${trialSpec.Annotations[key]}',
        },
      ],
    ],
    [
      'a placeholder with no trial parameter',
      experiment(params, job(['${trialParameters.learningRate}', '${trialParameters.optimizer}', '${trialParameters.epochs}'])),
      trial([{ name: 'lr', value: '1' }, { name: 'opt', value: 'sgd' }]),
      [{ path: 'spec.trialTemplate.trialSpec', message: '${trialParameters.epochs} has no value: no entry named "epochs" in spec.trialTemplate.trialParameters' }],
    ],
  ])('rejects %s', (_name, exp, t, issues) => {
    const err = thrown(() => renderTrialSpec(exp, t));
    expect(err.issues).toEqual(issues);
    expect(err.source).toBe('trial "exp-abc12"');
  });

  it('says where the template is when there is none inline', () => {
    const exp = experiment(params, job([]));
    exp.spec.trialTemplate = { configMap: { configMapName: 'templates', configMapNamespace: 'kubeflow', templatePath: 'job.yaml' } };
    expect(thrown(() => renderTrialSpec(exp, trial([]))).issues).toEqual([
      { path: 'spec.trialTemplate.trialSpec', message: 'the template is in a ConfigMap; read it and pass it to renderTrialSpec, or inline it as spec.trialTemplate.trialSpec' },
    ]);
  });
});

describe('parseMetaReference', () => {
  it.each<[string, ReturnType<typeof parseMetaReference>]>([
    ['${trialSpec.Name}', { key: 'Name' }],
    ['${trialSpec.APIVersion}', { key: 'APIVersion' }],
    ['${trialSpec.Labels[app.kubernetes.io/name]}', { key: 'Labels', index: 'app.kubernetes.io/name' }],
    ['${trialSpec.Annotations[a]}', { key: 'Annotations', index: 'a' }],
    ['${trialSpec.UID}', 'invalid'],
    ['${trialSpec.Labels}', 'invalid'],
    ['${trialSpec.Name', 'invalid'],
    ['lr', undefined],
    ['x${trialSpec.Name}', undefined],
  ])('%s', (reference, expected) => {
    expect(parseMetaReference(reference)).toEqual(expected);
  });
});

describe('findPrimaryContainer', () => {
  const podSpec = (...containers: Record<string, unknown>[]) => ({ template: { spec: { containers } } });
  const c = (name: string, command: string[] = [name]) => ({ name, image: `${name}:1`, command });

  it.each<[string, UnstructuredObject, string | undefined, Partial<PrimaryContainer>]>([
    [
      'a Job, by name, with args, env and resources',
      {
        apiVersion: 'batch/v1',
        kind: 'Job',
        spec: podSpec(c('sidecar'), {
          ...c('trainer', ['python']),
          args: ['train.py'],
          env: [{ name: 'A', value: '1' }, { name: 'B', valueFrom: { fieldRef: {} } }],
          resources: { limits: { cpu: '1' } },
          workingDir: '/w',
        }),
      },
      'trainer',
      { path: 'spec.template.spec.containers[1]', name: 'trainer', image: 'trainer:1', command: ['python'], args: ['train.py'], env: [{ name: 'A', value: '1' }], resources: { limits: { cpu: '1' } }, workingDir: '/w' },
    ],
    ['a Job, first container without a name', { apiVersion: 'batch/v1', kind: 'Job', spec: podSpec(c('a'), c('b')) }, undefined, { path: 'spec.template.spec.containers[0]', name: 'a' }],
    [
      'a TrainJob trainer, whatever the name',
      {
        apiVersion: 'trainer.kubeflow.org/v1alpha1',
        kind: 'TrainJob',
        spec: { trainer: { image: 'torch', command: ['torchrun'], args: ['x.py'], env: [{ name: 'E', value: '2' }], resourcesPerNode: { limits: { 'nvidia.com/gpu': '1' } } } },
      },
      'node',
      { path: 'spec.trainer', image: 'torch', command: ['torchrun'], args: ['x.py'], env: [{ name: 'E', value: '2' }], resources: { limits: { 'nvidia.com/gpu': '1' } } },
    ],
    [
      'a PyTorchJob: Master before Worker',
      { apiVersion: 'kubeflow.org/v1', kind: 'PyTorchJob', spec: { pytorchReplicaSpecs: { Worker: podSpec(c('pytorch', ['worker'])), Master: podSpec(c('pytorch', ['master'])) } } },
      'pytorch',
      { path: 'spec.pytorchReplicaSpecs.Master.template.spec.containers[0]', command: ['master'] },
    ],
    [
      'a TFJob: Chief before Worker',
      { apiVersion: 'kubeflow.org/v1', kind: 'TFJob', spec: { tfReplicaSpecs: { Worker: podSpec(c('tensorflow', ['w'])), Chief: podSpec(c('tensorflow', ['c'])) } } },
      undefined,
      { path: 'spec.tfReplicaSpecs.Chief.template.spec.containers[0]', command: ['c'] },
    ],
    [
      'an MPIJob launcher, by name',
      { apiVersion: 'kubeflow.org/v2beta1', kind: 'MPIJob', spec: { mpiReplicaSpecs: { Worker: podSpec(c('worker')), Launcher: podSpec(c('mpi-launcher')) } } },
      'mpi-launcher',
      { path: 'spec.mpiReplicaSpecs.Launcher.template.spec.containers[0]', name: 'mpi-launcher' },
    ],
    ['a Pod', { apiVersion: 'v1', kind: 'Pod', spec: { containers: [c('main')] } }, 'main', { path: 'spec.containers[0]', name: 'main' }],
    [
      'any custom resource with a pod spec somewhere',
      { apiVersion: 'example.com/v1', kind: 'Runner', spec: { stages: [{ name: 's', pod: { containers: [c('main')] } }] } },
      undefined,
      { path: 'spec.stages[0].pod.containers[0]', name: 'main' },
    ],
  ])('finds it in %s', (_name, run, name, expected) => {
    expect(findPrimaryContainer(run, name)).toMatchObject(expected);
  });

  it.each<[string, UnstructuredObject, string | undefined, Issue]>([
    [
      'no container of that name',
      { apiVersion: 'batch/v1', kind: 'Job', spec: podSpec(c('a'), c('b')) },
      'trainer',
      { path: 'spec.template.spec.containers', message: 'no container named "trainer" (containers: a, b); set spec.trialTemplate.primaryContainerName to one of them' },
    ],
    ['an empty container list', { apiVersion: 'batch/v1', kind: 'Job', spec: podSpec() }, undefined, { path: 'spec.template.spec.containers', message: 'must list at least one container' }],
    [
      'no pod template',
      { apiVersion: 'argoproj.io/v1alpha1', kind: 'Workflow', spec: { templates: [{ name: 'main', container: { image: 'x' } }] } },
      'main',
      {
        path: 'spec',
        message:
          'no pod template found in this Workflow; expected spec.template.spec.containers (Job), spec.trainer (TrainJob) or spec.<kind>ReplicaSpecs.<role>.template.spec.containers (Kubeflow training jobs)',
      },
    ],
    ['a TrainJob without trainer', { apiVersion: 'trainer.kubeflow.org/v1alpha1', kind: 'TrainJob', spec: { runtimeRef: { name: 'torch' } } }, undefined, { path: 'spec.trainer', message: 'a TrainJob needs spec.trainer with the image and command each trial runs' }],
    [
      'a command with a number',
      { apiVersion: 'batch/v1', kind: 'Job', spec: podSpec({ name: 'main', command: ['sleep', 5] }) },
      'main',
      { path: 'spec.template.spec.containers[0].command[1]', message: 'must be a string (got 5); quote it' },
    ],
  ])('reports %s', (_name, run, name, issue) => {
    expect(thrown(() => findPrimaryContainer(run, name)).issues).toEqual([issue]);
  });
});
