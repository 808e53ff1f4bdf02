import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyDefaults } from '../../src/api/defaults.js';
import { decodeExperiment } from '../../src/api/decode.js';
import { loadExperimentFile } from '../../src/api/load.js';
import type { Experiment, ExperimentSpec, MetricsCollectorSpec, ObjectiveSpec, TrialTemplate } from '../../src/api/types.js';

const JOB_SUCCESS = 'status.conditions.#(type=="Complete")#|#(status=="True")#';
const JOB_FAILURE = 'status.conditions.#(type=="Failed")#|#(status=="True")#';
const KUBEFLOW_SUCCESS = 'status.conditions.#(type=="Succeeded")#|#(status=="True")#';

function experiment(spec: ExperimentSpec): Experiment {
  return { apiVersion: 'kubeflow.org/v1beta1', kind: 'Experiment', metadata: { name: 'exp' }, spec };
}

const template = (apiVersion: string, kind: string, extra: Partial<TrialTemplate> = {}): TrialTemplate => ({
  primaryContainerName: 'main',
  trialParameters: [],
  trialSpec: { apiVersion, kind, spec: {} },
  ...extra,
});

describe('applyDefaults', () => {
  it('fills the top-level defaults and leaves the counts Katib does not default', () => {
    const out = applyDefaults(experiment({ maxTrialCount: 5 }));
    expect(out.metadata.namespace).toBe('default');
    expect(out.spec).toEqual({
      maxTrialCount: 5,
      parallelTrialCount: 3,
      resumePolicy: 'Never',
      metricsCollectorSpec: { collector: { kind: 'StdOut' } },
    });
  });

  it('keeps values the user set', () => {
    const exp = experiment({ parallelTrialCount: 1, resumePolicy: 'LongRunning', metricsCollectorSpec: { collector: { kind: 'Push' } } });
    exp.metadata.namespace = 'team-a';
    const out = applyDefaults(exp);
    expect(out.metadata.namespace).toBe('team-a');
    expect(out.spec.parallelTrialCount).toBe(1);
    expect(out.spec.resumePolicy).toBe('LongRunning');
    expect(out.spec.metricsCollectorSpec).toEqual({ collector: { kind: 'Push' } });
  });

  it.each<[string, ObjectiveSpec, ObjectiveSpec['metricStrategies']]>([
    ['minimize: objective and additional metrics by min', { type: 'minimize', objectiveMetricName: 'loss', additionalMetricNames: ['acc'] }, [
      { name: 'loss', value: 'min' },
      { name: 'acc', value: 'min' },
    ]],
    ['maximize: objective and additional metrics by max', { type: 'maximize', objectiveMetricName: 'acc', additionalMetricNames: ['loss'] }, [
      { name: 'acc', value: 'max' },
      { name: 'loss', value: 'max' },
    ]],
    ['no type: latest', { objectiveMetricName: 'loss' }, [{ name: 'loss', value: 'latest' }]],
    [
      'strategies the user wrote are kept and come first',
      { type: 'minimize', objectiveMetricName: 'loss', additionalMetricNames: ['acc', 'f1'], metricStrategies: [{ name: 'acc', value: 'max' }] },
      [
        { name: 'acc', value: 'max' },
        { name: 'loss', value: 'min' },
        { name: 'f1', value: 'min' },
      ],
    ],
    ['an objective strategy is not added twice', { type: 'maximize', objectiveMetricName: 'acc', metricStrategies: [{ name: 'acc', value: 'latest' }] }, [{ name: 'acc', value: 'latest' }]],
    ['no objective metric name: nothing to name', { type: 'minimize' }, []],
  ])('metric strategies, %s', (_name, objective, strategies) => {
    expect(applyDefaults(experiment({ objective })).spec.objective?.metricStrategies).toEqual(strategies);
  });

  it.each<[string, TrialTemplate, Partial<TrialTemplate>]>([
    ['batch Job', template('batch/v1', 'Job'), { successCondition: JOB_SUCCESS, failureCondition: JOB_FAILURE }],
    [
      'PyTorchJob',
      template('kubeflow.org/v1', 'PyTorchJob'),
      { successCondition: KUBEFLOW_SUCCESS, failureCondition: JOB_FAILURE, primaryPodLabels: { 'training.kubeflow.org/job-role': 'master' } },
    ],
    [
      'TFJob',
      template('kubeflow.org/v1', 'TFJob'),
      { successCondition: KUBEFLOW_SUCCESS, failureCondition: JOB_FAILURE, primaryPodLabels: { 'training.kubeflow.org/job-role': 'master' } },
    ],
    [
      'TrainJob',
      template('trainer.kubeflow.org/v1alpha1', 'TrainJob'),
      {
        successCondition: JOB_SUCCESS,
        failureCondition: JOB_FAILURE,
        primaryPodLabels: { 'jobset.sigs.k8s.io/replicatedjob-name': 'node', 'batch.kubernetes.io/job-completion-index': '0' },
      },
    ],
    [
      'MPIJob with its own conditions and pod labels',
      template('kubeflow.org/v2beta1', 'MPIJob', { successCondition: 'status.ok', primaryPodLabels: { role: 'launcher' } }),
      { successCondition: 'status.ok', failureCondition: JOB_FAILURE, primaryPodLabels: { role: 'launcher' } },
    ],
    ['Argo Workflow: nothing', template('argoproj.io/v1alpha1', 'Workflow'), {}],
    [
      'a ConfigMap template: nothing, its kind is unknown here',
      { primaryContainerName: 'main', configMap: { configMapName: 'templates', configMapNamespace: 'kubeflow', templatePath: 'job.yaml' } },
      {},
    ],
  ])('trial template defaults for %s', (_name, trialTemplate, expected) => {
    const out = applyDefaults(experiment({ trialTemplate })).spec.trialTemplate;
    expect(out).toEqual({ ...trialTemplate, ...expected });
  });

  it.each<[string, MetricsCollectorSpec, MetricsCollectorSpec]>([
    [
      'File with nothing else',
      { collector: { kind: 'File' } },
      { collector: { kind: 'File' }, source: { fileSystemPath: { kind: 'File', path: '/var/log/katib/metrics.log', format: 'TEXT' } } },
    ],
    [
      'File with a path and JSON format',
      { collector: { kind: 'File' }, source: { fileSystemPath: { path: '/out/m.json', format: 'JSON' } } },
      { collector: { kind: 'File' }, source: { fileSystemPath: { kind: 'File', path: '/out/m.json', format: 'JSON' } } },
    ],
    [
      'TensorFlowEvent',
      { collector: { kind: 'TensorFlowEvent' } },
      { collector: { kind: 'TensorFlowEvent' }, source: { fileSystemPath: { kind: 'Directory', path: '/var/log/katib/tfevent/' } } },
    ],
    [
      'PrometheusMetric',
      { collector: { kind: 'PrometheusMetric' }, source: { httpGet: { port: 0 } } },
      { collector: { kind: 'PrometheusMetric' }, source: { httpGet: { path: '/metrics', port: 8080 } } },
    ],
    ['a spec without collector', { source: { filter: { metricsFormat: ['(\\w+)=(\\d+)'] } } }, { source: { filter: { metricsFormat: ['(\\w+)=(\\d+)'] } }, collector: { kind: 'StdOut' } }],
  ])('metrics collector defaults for %s', (_name, metricsCollectorSpec, expected) => {
    expect(applyDefaults(experiment({ metricsCollectorSpec })).spec.metricsCollectorSpec).toEqual(expected);
  });

  it('gives every parameter the uniform distribution unless set', () => {
    const out = applyDefaults(
      experiment({
        parameters: [
          { name: 'lr', parameterType: 'double', feasibleSpace: { min: '0.1', max: '1', distribution: 'logUniform' } },
          { name: 'opt', parameterType: 'categorical', feasibleSpace: { list: ['a'] } },
        ],
      }),
    );
    expect(out.spec.parameters?.map((p) => p.feasibleSpace.distribution)).toEqual(['logUniform', 'uniform']);
  });

  it('defaults a fixture as Katib would store it, without changing the input', async () => {
    const exp = await loadExperimentFile('test/fixtures/api/trainjob.yaml');
    const before = structuredClone(exp);
    const out = applyDefaults(exp);
    expect(exp).toEqual(before);
    expect(out.spec.trialTemplate?.successCondition).toBe(JOB_SUCCESS);
    expect(out.spec.objective?.metricStrategies).toEqual([{ name: 'accuracy', value: 'max' }]);
    expect(out.spec.parallelTrialCount).toBe(3);
    expect(out.spec.maxFailedTrialCount).toBeUndefined();
  });

  it('is idempotent and never mutates, for any structurally valid experiment', () => {
    const arbitrarySpec = fc.record(
      {
        parallelTrialCount: fc.integer({ min: -2, max: 5 }),
        resumePolicy: fc.constantFrom('Never', 'LongRunning', ''),
        objective: fc.record(
          {
            type: fc.constantFrom('minimize', 'maximize', 'other'),
            objectiveMetricName: fc.constantFrom('loss', 'acc', ''),
            additionalMetricNames: fc.array(fc.constantFrom('loss', 'acc', 'f1')),
            metricStrategies: fc.array(fc.record({ name: fc.constantFrom('loss', 'acc', 'f1'), value: fc.constantFrom('min', 'max', 'latest') })),
          },
          { requiredKeys: [] },
        ),
        trialTemplate: fc.record(
          {
            trialSpec: fc.record({ apiVersion: fc.constant('v1'), kind: fc.constantFrom('Job', 'TrainJob', 'PyTorchJob', 'Workflow') }),
            successCondition: fc.constantFrom('', 'status.ok'),
            primaryPodLabels: fc.dictionary(fc.constantFrom('a', 'b'), fc.string()),
          },
          { requiredKeys: [] },
        ),
        metricsCollectorSpec: fc.record(
          { collector: fc.record({ kind: fc.constantFrom('StdOut', 'File', 'TensorFlowEvent', 'PrometheusMetric', 'Custom') }, { requiredKeys: [] }) },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(arbitrarySpec, (spec) => {
        const { experiment: exp, issues } = decodeExperiment({ apiVersion: 'kubeflow.org/v1beta1', kind: 'Experiment', metadata: { name: 'x' }, spec });
        expect(issues).toEqual([]);
        const input = exp as Experiment;
        const before = structuredClone(input);
        const once = applyDefaults(input);
        expect(input).toEqual(before);
        expect(applyDefaults(once)).toEqual(once);
      }),
      { numRuns: 300 },
    );
  });
});
