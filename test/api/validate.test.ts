import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Issue } from '../../algorithms/core/issues.js';
import { ValidationError } from '../../src/errors.js';
import type { Experiment, ExperimentSpec, TrialTemplate, UnstructuredObject } from '../../src/api/types.js';
import { admitExperiment, validateExperiment } from '../../src/api/validate.js';
import { metricsFormatProblem, DEFAULT_METRICS_FORMAT } from '../../src/api/metrics-format.js';

const opts = { knownAlgorithms: ['random', 'grid'], knownEarlyStopping: ['medianstop'] } as const;

/** A valid experiment; each row changes one thing. */
function base(): Experiment {
  return {
    apiVersion: 'kubeflow.org/v1beta1',
    kind: 'Experiment',
    metadata: { name: 'exp' },
    spec: {
      objective: { type: 'minimize', objectiveMetricName: 'loss' },
      algorithm: { algorithmName: 'random' },
      maxTrialCount: 10,
      parallelTrialCount: 2,
      maxFailedTrialCount: 2,
      parameters: [
        { name: 'lr', parameterType: 'double', feasibleSpace: { min: '0.01', max: '0.1' } },
        { name: 'opt', parameterType: 'categorical', feasibleSpace: { list: ['sgd', 'adam'] } },
      ],
      trialTemplate: {
        primaryContainerName: 'trainer',
        trialParameters: [
          { name: 'learningRate', reference: 'lr' },
          { name: 'optimizer', reference: 'opt' },
        ],
        trialSpec: {
          apiVersion: 'batch/v1',
          kind: 'Job',
          spec: {
            template: {
              spec: {
                containers: [{ name: 'trainer', image: 'python', command: ['python', 'train.py', '--lr=${trialParameters.learningRate}', '--opt=${trialParameters.optimizer}'] }],
                restartPolicy: 'Never',
              },
            },
          },
        },
      },
    },
  };
}

/** Loose views for rows that write values of the wrong type on purpose. */
const loose = (o: object): Record<string, unknown> => o as Record<string, unknown>;
const spec = (e: Experiment): ExperimentSpec => e.spec;
const tt = (e: Experiment): TrialTemplate => e.spec.trialTemplate as TrialTemplate;
const trialSpec = (e: Experiment): UnstructuredObject => tt(e).trialSpec as UnstructuredObject;
const container = (e: Experiment): Record<string, unknown> =>
  ((((trialSpec(e).spec as Record<string, unknown>).template as Record<string, unknown>).spec as Record<string, unknown>).containers as Record<string, unknown>[])[0] as Record<string, unknown>;
const param = (e: Experiment, i: number) => (e.spec.parameters ?? [])[i] as NonNullable<ExperimentSpec['parameters']>[number];

type Row = [name: string, mutate: (e: Experiment) => void, expected: Issue[]];

const rows: Row[] = [
  // metadata
  [
    'name with upper case and underscore',
    (e) => (e.metadata.name = 'My_Exp'),
    [{ path: 'metadata.name', message: `must be at most 40 lower-case letters, digits or '-', start with a letter and end with a letter or digit (name="My_Exp", 6 characters), e.g. "my-experiment"` }],
  ],
  [
    'name longer than 40 characters',
    (e) => (e.metadata.name = 'a'.repeat(41)),
    [{ path: 'metadata.name', message: `must be at most 40 lower-case letters, digits or '-', start with a letter and end with a letter or digit (name="${'a'.repeat(41)}", 41 characters), e.g. "my-experiment"` }],
  ],
  [
    'name ending with a dash',
    (e) => (e.metadata.name = 'exp-'),
    [{ path: 'metadata.name', message: `must be at most 40 lower-case letters, digits or '-', start with a letter and end with a letter or digit (name="exp-", 4 characters), e.g. "my-experiment"` }],
  ],
  [
    'name missing',
    (e) => (e.metadata.name = ''),
    [{ path: 'metadata.name', message: `must be specified: lower-case letters, digits and '-', starting with a letter, at most 40 characters` }],
  ],
  [
    'namespace not a DNS label',
    (e) => (e.metadata.namespace = 'Team_A'),
    [{ path: 'metadata.namespace', message: `must be a DNS label: at most 63 lower-case letters, digits or '-' (namespace="Team_A")` }],
  ],
  // counts
  [
    'negative maxFailedTrialCount',
    (e) => (spec(e).maxFailedTrialCount = -1),
    [{ path: 'spec.maxFailedTrialCount', message: 'must not be negative (maxFailedTrialCount=-1); use 0 to stop at the first failed trial' }],
  ],
  ['zero maxTrialCount', (e) => (spec(e).maxTrialCount = 0), [{ path: 'spec.maxTrialCount', message: 'must be greater than 0 (maxTrialCount=0)' }]],
  ['zero parallelTrialCount', (e) => (spec(e).parallelTrialCount = 0), [{ path: 'spec.parallelTrialCount', message: 'must be greater than 0 (parallelTrialCount=0)' }]],
  [
    'maxFailedTrialCount above maxTrialCount',
    (e) => (spec(e).maxFailedTrialCount = 11),
    [{ path: 'spec.maxFailedTrialCount', message: 'must be less than or equal to spec.maxTrialCount (maxFailedTrialCount=11, maxTrialCount=10)' }],
  ],
  [
    'parallelTrialCount above maxTrialCount',
    (e) => (spec(e).parallelTrialCount = 12),
    [{ path: 'spec.parallelTrialCount', message: 'must be less than or equal to spec.maxTrialCount (parallelTrialCount=12, maxTrialCount=10); lower parallelTrialCount or raise maxTrialCount' }],
  ],
  [
    'default parallelTrialCount above maxTrialCount',
    (e) => {
      delete spec(e).parallelTrialCount;
      spec(e).maxTrialCount = 2;
      spec(e).maxFailedTrialCount = 1;
    },
    [{ path: 'spec.parallelTrialCount', message: 'must be less than or equal to spec.maxTrialCount (parallelTrialCount=3, the default, maxTrialCount=2); lower parallelTrialCount or raise maxTrialCount' }],
  ],
  // objective
  ['objective missing', (e) => delete spec(e).objective, [{ path: 'spec.objective', message: 'must be specified: type (minimize or maximize) and objectiveMetricName' }]],
  [
    'objective type misspelt',
    (e) => (loose(spec(e).objective ?? {}).type = 'minimise'),
    [{ path: 'spec.objective.type', message: 'must be minimize or maximize (type="minimise")' }],
  ],
  ['objective type missing', (e) => delete spec(e).objective?.type, [{ path: 'spec.objective.type', message: 'must be minimize or maximize (type=(missing))' }]],
  [
    'objective metric missing',
    (e) => delete spec(e).objective?.objectiveMetricName,
    [{ path: 'spec.objective.objectiveMetricName', message: 'must be specified: the metric the trials report and the experiment optimizes, e.g. loss' }],
  ],
  [
    'additional metrics repeat the objective',
    (e) => (spec(e).objective = { type: 'minimize', objectiveMetricName: 'loss', additionalMetricNames: ['accuracy', 'loss'] }),
    [{ path: 'spec.objective.additionalMetricNames[1]', message: 'must not repeat the objective metric "loss"; remove it from additionalMetricNames' }],
  ],
  [
    'additional metric listed twice',
    (e) => (spec(e).objective = { type: 'minimize', objectiveMetricName: 'loss', additionalMetricNames: ['acc', 'acc'] }),
    [{ path: 'spec.objective.additionalMetricNames[1]', message: 'duplicate metric name "acc"; list each metric once' }],
  ],
  [
    'metric strategy for an unknown metric',
    (e) => (spec(e).objective = { type: 'minimize', objectiveMetricName: 'loss', metricStrategies: [{ name: 'accuracy', value: 'max' }] }),
    [{ path: 'spec.objective.metricStrategies[0].name', message: 'metric "accuracy" is neither the objective metric ("loss") nor in additionalMetricNames; fix the name or add it to additionalMetricNames' }],
  ],
  [
    'metric strategy with an unknown value',
    (e) => (loose(spec(e).objective ?? {}).metricStrategies = [{ name: 'loss', value: 'avg' }]),
    [{ path: 'spec.objective.metricStrategies[0].value', message: 'must be min, max or latest (value="avg")' }],
  ],
  [
    'two strategies for one metric',
    (e) => (spec(e).objective = { type: 'minimize', objectiveMetricName: 'loss', metricStrategies: [{ name: 'loss', value: 'min' }, { name: 'loss', value: 'latest' }] }),
    [{ path: 'spec.objective.metricStrategies[1].name', message: 'duplicate strategy for metric "loss"; keep one' }],
  ],
  // algorithms
  ['algorithm missing', (e) => delete spec(e).algorithm, [{ path: 'spec.algorithm', message: 'must be specified: algorithmName, one of random, grid' }]],
  ['algorithm name empty', (e) => (spec(e).algorithm = { algorithmName: '' }), [{ path: 'spec.algorithm.algorithmName', message: 'must be specified: one of random, grid' }]],
  ['unknown algorithm', (e) => (spec(e).algorithm = { algorithmName: 'tpe' }), [{ path: 'spec.algorithm.algorithmName', message: 'unknown algorithm "tpe"; use one of random, grid' }]],
  [
    'unknown early stopping algorithm',
    (e) => (spec(e).earlyStopping = { algorithmName: 'hyperband' }),
    [{ path: 'spec.earlyStopping.algorithmName', message: 'unknown early-stopping algorithm "hyperband"; use one of medianstop' }],
  ],
  ['early stopping without a name', (e) => (spec(e).earlyStopping = {}), [{ path: 'spec.earlyStopping.algorithmName', message: 'must be specified: one of medianstop' }]],
  ['unknown resume policy', (e) => (loose(spec(e)).resumePolicy = 'Always'), [{ path: 'spec.resumePolicy', message: 'must be one of Never, LongRunning, FromVolume (resumePolicy="Always")' }]],
  // trial template: sources
  [
    'trial template missing',
    (e) => delete spec(e).trialTemplate,
    [{ path: 'spec.trialTemplate', message: 'must be specified: trialSpec (the object each trial runs), trialParameters and primaryContainerName' }],
  ],
  [
    'trialSpec and configMap together',
    (e) => (tt(e).configMap = { configMapName: 'templates', configMapNamespace: 'kubeflow', templatePath: 'job.yaml' }),
    [{ path: 'spec.trialTemplate.configMap', message: 'must not be set together with spec.trialTemplate.trialSpec; keep one of them' }],
  ],
  [
    'configMap without name, namespace and path',
    (e) => {
      delete tt(e).trialSpec;
      tt(e).configMap = { configMapName: 'templates' };
      tt(e).successCondition = 'status.ok';
      tt(e).failureCondition = 'status.failed';
    },
    [
      { path: 'spec.trialTemplate.configMap.configMapNamespace', message: 'must be specified to read the trial template from a ConfigMap' },
      { path: 'spec.trialTemplate.configMap.templatePath', message: 'must be specified to read the trial template from a ConfigMap' },
    ],
  ],
  [
    'neither trialSpec nor configMap',
    (e) => {
      delete tt(e).trialSpec;
      tt(e).successCondition = 'status.ok';
      tt(e).failureCondition = 'status.failed';
    },
    [{ path: 'spec.trialTemplate.trialSpec', message: 'must be specified (or spec.trialTemplate.configMap): the Kubernetes object each trial runs, e.g. a batch/v1 Job' }],
  ],
  [
    'primaryContainerName missing',
    (e) => delete tt(e).primaryContainerName,
    [{ path: 'spec.trialTemplate.primaryContainerName', message: 'must be specified: the container that runs the training code and reports metrics (containers in the template: trainer)' }],
  ],
  [
    'primaryContainerName names no container',
    (e) => (tt(e).primaryContainerName = 'training-container'),
    [{ path: 'spec.trialTemplate.primaryContainerName', message: 'no container named "training-container" in the trial template (containers: trainer); use one of them' }],
  ],
  [
    'conditions required for a kind without defaults',
    (e) => {
      trialSpec(e).apiVersion = 'argoproj.io/v1alpha1';
      trialSpec(e).kind = 'Workflow';
    },
    [
      {
        path: 'spec.trialTemplate.successCondition',
        message: 'must be specified for trial kind "Workflow" (Katib defaults it only for Job, TFJob, PyTorchJob, XGBoostJob, MPIJob, TrainJob): a GJSON condition on the run object, e.g. status.conditions.#(type=="Succeeded")#|#(status=="True")#',
      },
      {
        path: 'spec.trialTemplate.failureCondition',
        message: 'must be specified for trial kind "Workflow" (Katib defaults it only for Job, TFJob, PyTorchJob, XGBoostJob, MPIJob, TrainJob): a GJSON condition on the run object, e.g. status.conditions.#(type=="Failed")#|#(status=="True")#',
      },
    ],
  ],
  // trial template: parameters and placeholders
  [
    'trialParameters missing',
    (e) => delete tt(e).trialParameters,
    [
      {
        path: 'spec.trialTemplate.trialParameters',
        message: 'must be specified: one entry per ${trialParameters.NAME} placeholder in the template, each with a name and a reference to an experiment parameter',
      },
      {
        path: 'spec.trialTemplate.trialSpec.spec.template.spec.containers[0].command[2]',
        message: '${trialParameters.learningRate} is not declared in spec.trialTemplate.trialParameters (declared: (none)); add {name: learningRate, reference: <parameter>} or fix the name',
      },
      {
        path: 'spec.trialTemplate.trialSpec.spec.template.spec.containers[0].command[3]',
        message: '${trialParameters.optimizer} is not declared in spec.trialTemplate.trialParameters (declared: (none)); add {name: optimizer, reference: <parameter>} or fix the name',
      },
    ],
  ],
  [
    'trial parameter without a reference',
    (e) => (tt(e).trialParameters = [{ name: 'learningRate', reference: 'lr' }, { name: 'optimizer' }]),
    [
      {
        path: 'spec.trialTemplate.trialParameters[1].reference',
        message:
          'must be specified: the name of an experiment parameter or trial metadata (${trialSpec.Name}, ${trialSpec.Namespace}, ${trialSpec.Kind}, ${trialSpec.APIVersion}, ${trialSpec.Labels[key]}, ${trialSpec.Annotations[key]})',
      },
    ],
  ],
  [
    'trial parameter name with braces',
    (e) => (tt(e).trialParameters = [{ name: 'learningRate', reference: 'lr' }, { name: 'opt}', reference: 'opt' }]),
    [
      { path: 'spec.trialTemplate.trialParameters[1].name', message: `must not contain '{' or '}' (name="opt}")` },
      {
        path: 'spec.trialTemplate.trialSpec.spec.template.spec.containers[0].command[3]',
        message: '${trialParameters.optimizer} is not declared in spec.trialTemplate.trialParameters (declared: learningRate, opt}); add {name: optimizer, reference: <parameter>} or fix the name',
      },
    ],
  ],
  [
    'duplicate trial parameter name',
    (e) => tt(e).trialParameters?.push({ name: 'optimizer', reference: 'lr' }),
    [{ path: 'spec.trialTemplate.trialParameters[2].name', message: 'duplicate trial parameter name "optimizer" (also trialParameters[1]); names must be unique' }],
  ],
  [
    'duplicate trial parameter reference',
    (e) => tt(e).trialParameters?.push({ name: 'lr2', reference: 'lr' }),
    [{ path: 'spec.trialTemplate.trialParameters[2].reference', message: '"lr" is already referenced by trialParameters[0]; reference each parameter once and reuse that trial parameter' }],
  ],
  [
    'reference to a parameter that does not exist',
    (e) => (tt(e).trialParameters = [{ name: 'learningRate', reference: 'learning_rate' }, { name: 'optimizer', reference: 'opt' }]),
    [
      {
        path: 'spec.trialTemplate.trialParameters[0].reference',
        message: '"learning_rate" is not a parameter in spec.parameters (parameters: lr, opt); fix the reference or use trial metadata such as ${trialSpec.Name}',
      },
    ],
  ],
  [
    'unknown trial metadata reference',
    (e) => {
      tt(e).trialParameters?.push({ name: 'trialUid', reference: '${trialSpec.UID}' });
      container(e).args = ['${trialParameters.trialUid}'];
    },
    [
      {
        path: 'spec.trialTemplate.trialParameters[2].reference',
        message:
          'unknown trial metadata reference "${trialSpec.UID}"; use one of ${trialSpec.Name}, ${trialSpec.Namespace}, ${trialSpec.Kind}, ${trialSpec.APIVersion}, ${trialSpec.Labels[key]}, ${trialSpec.Annotations[key]}',
      },
    ],
  ],
  [
    'label reference to a label the template lacks',
    (e) => {
      tt(e).trialParameters?.push({ name: 'team', reference: '${trialSpec.Labels[team]}' });
      container(e).args = ['--team=${trialParameters.team}'];
    },
    [{ path: 'spec.trialTemplate.trialParameters[2].reference', message: '"team" is not in spec.trialTemplate.trialSpec.metadata.labels; add it there or fix the reference' }],
  ],
  [
    'declared trial parameter unused in the template',
    (e) => tt(e).trialParameters?.push({ name: 'trialName', reference: '${trialSpec.Name}' }),
    [{ path: 'spec.trialTemplate.trialParameters[2].name', message: '${trialParameters.trialName} does not appear in spec.trialTemplate.trialSpec; use it in the template or remove this trial parameter' }],
  ],
  [
    'placeholder not declared (a typo in the template)',
    (e) => (container(e).command = ['python', 'train.py', '--lr=${trialParameters.learningRate}', '--opt=${trialParameters.optimizer}', '--momentum=${trialParameters.momentum}']),
    [
      {
        path: 'spec.trialTemplate.trialSpec.spec.template.spec.containers[0].command[4]',
        message: '${trialParameters.momentum} is not declared in spec.trialTemplate.trialParameters (declared: learningRate, optimizer); add {name: momentum, reference: <parameter>} or fix the name',
      },
    ],
  ],
  [
    'template with metadata.name and namespace',
    (e) => (trialSpec(e).metadata = { name: 'fixed', namespace: 'other' }),
    [
      { path: 'spec.trialTemplate.trialSpec.metadata.name', message: `must be omitted: each trial's run object gets the trial's name (name="fixed")` },
      { path: 'spec.trialTemplate.trialSpec.metadata.namespace', message: `must be omitted: each trial's run object gets the trial's namespace (namespace="other")` },
    ],
  ],
  [
    'template without apiVersion',
    (e) => delete trialSpec(e).apiVersion,
    [{ path: 'spec.trialTemplate.trialSpec.apiVersion', message: 'must be specified, e.g. batch/v1' }],
  ],
  [
    'Job without containers',
    (e) => (trialSpec(e).spec = { template: { spec: { containers: [] } } }),
    [
      { path: 'spec.trialTemplate.trialParameters[0].name', message: '${trialParameters.learningRate} does not appear in spec.trialTemplate.trialSpec; use it in the template or remove this trial parameter' },
      { path: 'spec.trialTemplate.trialParameters[1].name', message: '${trialParameters.optimizer} does not appear in spec.trialTemplate.trialSpec; use it in the template or remove this trial parameter' },
      { path: 'spec.trialTemplate.trialSpec.spec.template.spec.containers', message: 'a batch/v1 Job needs at least one container in spec.template.spec.containers' },
    ],
  ],
  // parameters
  [
    'no parameters',
    (e) => {
      spec(e).parameters = [];
      tt(e).trialParameters = [
        { name: 'learningRate', reference: '${trialSpec.Name}' },
        { name: 'optimizer', reference: '${trialSpec.Namespace}' },
      ];
    },
    [{ path: 'spec.parameters', message: 'must list at least one parameter to tune (name, parameterType and feasibleSpace)' }],
  ],
  [
    'NAS configuration',
    (e) => (spec(e).nasConfig = { graphConfig: { numLayers: 8 } }),
    [{ path: 'spec.nasConfig', message: 'neural architecture search is not supported by katib-ts; remove spec.nasConfig and describe the search space in spec.parameters' }],
  ],
  [
    'unsupported parameter type',
    (e) => (loose(param(e, 0)).parameterType = 'float'),
    [{ path: 'spec.parameters[0].parameterType', message: 'must be one of double, int, discrete, categorical (parameterType="float")' }],
  ],
  [
    'min above max',
    (e) => (param(e, 0).feasibleSpace = { min: '0.5', max: '0.1' }),
    [{ path: 'spec.parameters[0].feasibleSpace.max', message: 'must be greater than min (min=0.5, max=0.1)' }],
  ],
  [
    'int parameter with a fractional bound',
    (e) => (spec(e).parameters = [{ name: 'lr', parameterType: 'int', feasibleSpace: { min: '1.5', max: '10' } }, param(e, 1)]),
    [{ path: 'spec.parameters[0].feasibleSpace.min', message: 'must be an integer for an int parameter (min=1.5)' }],
  ],
  [
    'int parameter with a fractional step above 1',
    (e) => (spec(e).parameters = [{ name: 'lr', parameterType: 'int', feasibleSpace: { min: '1', max: '10', step: '2.5' } }, param(e, 1)]),
    [{ path: 'spec.parameters[0].feasibleSpace.step', message: 'must be a whole number for an int parameter (step=2.5); use 2 or 3' }],
  ],
  [
    'zero step',
    (e) => (param(e, 0).feasibleSpace = { min: '0.01', max: '0.1', step: '0' }),
    [{ path: 'spec.parameters[0].feasibleSpace.step', message: 'must be greater than 0 (step=0)' }],
  ],
  [
    'bound that is not a number',
    (e) => (param(e, 0).feasibleSpace = { min: 'low', max: '0.1' }),
    [{ path: 'spec.parameters[0].feasibleSpace.min', message: 'must be a number (min="low")' }],
  ],
  [
    'log distribution with a zero minimum',
    (e) => (param(e, 0).feasibleSpace = { min: '0', max: '0.1', distribution: 'logUniform' }),
    [{ path: 'spec.parameters[0].feasibleSpace.min', message: 'must be greater than 0 for distribution logUniform (min=0); use uniform or raise min' }],
  ],
  ['empty feasibleSpace', (e) => (param(e, 0).feasibleSpace = {}), [{ path: 'spec.parameters[0].feasibleSpace', message: 'must be specified: min and max for a double parameter' }]],
  [
    'list on a double parameter',
    (e) => (param(e, 0).feasibleSpace = { min: '0.01', max: '0.1', list: ['0.05'] }),
    [{ path: 'spec.parameters[0].feasibleSpace.list', message: 'is not supported for parameterType double; use min, max and step, or make the parameter discrete' }],
  ],
  [
    'min on a categorical parameter',
    (e) => (param(e, 1).feasibleSpace = { min: '1', list: ['sgd', 'adam'] }),
    [{ path: 'spec.parameters[1].feasibleSpace.min', message: 'is not supported for parameterType categorical (min="1"); list the values in feasibleSpace.list' }],
  ],
  [
    'categorical value listed twice',
    (e) => (param(e, 1).feasibleSpace = { list: ['sgd', 'adam', 'sgd'] }),
    [{ path: 'spec.parameters[1].feasibleSpace.list[2]', message: 'duplicate value "sgd"; list each value once' }],
  ],
  [
    'discrete value that is not a number',
    (e) => (spec(e).parameters = [param(e, 0), { name: 'opt', parameterType: 'discrete', feasibleSpace: { list: ['1', 'two'] } }]),
    [{ path: 'spec.parameters[1].feasibleSpace.list[1]', message: 'must be a number (value="two")' }],
  ],
  [
    'duplicate parameter name',
    (e) => (spec(e).parameters = [param(e, 0), param(e, 1), { name: 'lr', parameterType: 'int', feasibleSpace: { min: '1', max: '3' } }]),
    [{ path: 'spec.parameters[2].name', message: 'duplicate parameter name "lr"; names must be unique' }],
  ],
  // metrics collector
  [
    'File collector with a relative path',
    (e) => (spec(e).metricsCollectorSpec = { collector: { kind: 'File' }, source: { fileSystemPath: { path: 'metrics.log' } } }),
    [{ path: 'spec.metricsCollectorSpec.source.fileSystemPath.path', message: 'must be the absolute path of the metrics file (path="metrics.log"), e.g. /var/log/katib/metrics.log' }],
  ],
  [
    'File collector pointed at a directory',
    (e) => (spec(e).metricsCollectorSpec = { collector: { kind: 'File' }, source: { fileSystemPath: { path: '/logs', kind: 'Directory' } } }),
    [{ path: 'spec.metricsCollectorSpec.source.fileSystemPath.kind', message: 'must be File for the File collector (kind="Directory")' }],
  ],
  [
    'File collector with an unknown format',
    (e) => (spec(e).metricsCollectorSpec = { collector: { kind: 'File' }, source: { fileSystemPath: { format: 'YAML' as 'TEXT' } } }),
    [{ path: 'spec.metricsCollectorSpec.source.fileSystemPath.format', message: 'must be TEXT or JSON (format="YAML")' }],
  ],
  [
    'JSON metrics file with a filter',
    (e) => (spec(e).metricsCollectorSpec = { collector: { kind: 'File' }, source: { fileSystemPath: { format: 'JSON' }, filter: { metricsFormat: ['(\\w+)=(\\d+)'] } } }),
    [{ path: 'spec.metricsCollectorSpec.source.filter', message: 'must be omitted when the metrics file format is JSON: the JSON keys name the metrics' }],
  ],
  [
    'TensorFlowEvent collector pointed at a file',
    (e) => (spec(e).metricsCollectorSpec = { collector: { kind: 'TensorFlowEvent' }, source: { fileSystemPath: { path: '/logs/events', kind: 'File', format: 'TEXT' } } }),
    [
      { path: 'spec.metricsCollectorSpec.source.fileSystemPath.kind', message: 'must be Directory for the TensorFlowEvent collector (kind="File")' },
      { path: 'spec.metricsCollectorSpec.source.fileSystemPath.format', message: 'must be omitted for the TensorFlowEvent collector (format="TEXT")' },
    ],
  ],
  [
    'Prometheus collector with a named port and a relative path',
    (e) => (spec(e).metricsCollectorSpec = { collector: { kind: 'PrometheusMetric' }, source: { httpGet: { port: 'http', path: 'metrics' } } }),
    [
      { path: 'spec.metricsCollectorSpec.source.httpGet.port', message: 'must be a positive port number for the PrometheusMetric collector (port="http")' },
      { path: 'spec.metricsCollectorSpec.source.httpGet.path', message: `must start with '/' (path="metrics"), e.g. /metrics` },
    ],
  ],
  [
    'Custom collector without its container',
    (e) => (spec(e).metricsCollectorSpec = { collector: { kind: 'Custom' } }),
    [{ path: 'spec.metricsCollectorSpec.collector.customCollector', message: 'must be specified for the Custom collector: the container that collects the metrics' }],
  ],
  [
    'unknown collector kind',
    (e) => (spec(e).metricsCollectorSpec = { collector: { kind: 'Stdout' as 'StdOut' } }),
    [{ path: 'spec.metricsCollectorSpec.collector.kind', message: 'must be one of StdOut, File, TensorFlowEvent, PrometheusMetric, Custom, Push, None (kind="Stdout")' }],
  ],
  [
    'metricsFormat with one capture group',
    (e) => (spec(e).metricsCollectorSpec = { collector: { kind: 'StdOut' }, source: { filter: { metricsFormat: ['loss=(\\d+)'] } } }),
    [
      {
        path: 'spec.metricsCollectorSpec.source.filter.metricsFormat[0]',
        message: 'must have exactly two top-level capture groups, the metric name then its value (found 1) (metricsFormat="loss=(\\\\d+)"); make other groups non-capturing with (?:...)',
      },
    ],
  ],
  [
    'metricsFormat that does not compile',
    (e) => (spec(e).metricsCollectorSpec = { collector: { kind: 'StdOut' }, source: { filter: { metricsFormat: ['(\\w+=(\\d+)'] } } }),
    [
      {
        path: 'spec.metricsCollectorSpec.source.filter.metricsFormat[0]',
        message: 'is not a valid regular expression (Invalid regular expression: /(\\w+=(\\d+)/: Unterminated group) (metricsFormat="(\\\\w+=(\\\\d+)")',
      },
    ],
  ],
  [
    'metricsFormat whose name group holds another group',
    (e) => (spec(e).metricsCollectorSpec = { collector: { kind: 'StdOut' }, source: { filter: { metricsFormat: ['((\\w+)_metric)=(\\d+)'] } } }),
    [
      {
        path: 'spec.metricsCollectorSpec.source.filter.metricsFormat[0]',
        message: 'the first capture group (the metric name) must not contain another capture group, or group 2 is not the value (metricsFormat="((\\\\w+)_metric)=(\\\\d+)"); use (?:...) inside it',
      },
    ],
  ],
  // structure (the CRD schema)
  ['apiVersion of another Katib version', (e) => (loose(e).apiVersion = 'kubeflow.org/v1alpha3'), [{ path: 'apiVersion', message: 'must be "kubeflow.org/v1beta1" (apiVersion="kubeflow.org/v1alpha3")' }]],
  ['kind of another resource', (e) => (loose(e).kind = 'Trial'), [{ path: 'kind', message: 'must be "Experiment" (kind="Trial")' }]],
  ['count written as a string', (e) => (loose(spec(e)).parallelTrialCount = '3'), [{ path: 'spec.parallelTrialCount', message: 'must be an integer (got "3")' }]],
  ['count with a fraction', (e) => (loose(spec(e)).maxTrialCount = 2.5), [{ path: 'spec.maxTrialCount', message: 'must be an integer (got number 2.5)' }]],
  [
    'count beyond int32',
    (e) => (loose(spec(e)).maxTrialCount = 2 ** 31),
    [{ path: 'spec.maxTrialCount', message: 'must be an integer between -2147483648 and 2147483647 (int32) (got number 2147483648)' }],
  ],
  [
    'bound written as a number',
    (e) => (loose(param(e, 0).feasibleSpace).min = 0.01),
    [{ path: 'spec.parameters[0].feasibleSpace.min', message: 'must be a string (got number 0.01); quote it: min: "0.01"' }],
  ],
  [
    'misspelt field',
    (e) => (loose(spec(e)).paralellTrialCount = 5),
    [
      {
        path: 'spec.paralellTrialCount',
        message:
          'unknown field "paralellTrialCount"; known fields here: parameters, objective, algorithm, earlyStopping, trialTemplate, parallelTrialCount, maxTrialCount, maxFailedTrialCount, metricsCollectorSpec, nasConfig, resumePolicy',
      },
    ],
  ],
  ['parameters that are not a list', (e) => (loose(spec(e)).parameters = { lr: 1 }), [{ path: 'spec.parameters', message: 'must be a list (got a mapping)' }]],
  ['label value that is not a string', (e) => (loose(e.metadata).labels = { team: 7 }), [{ path: 'metadata.labels[team]', message: 'must be a string (got number 7); quote the value' }]],
];

describe('validateExperiment', () => {
  it('accepts the base experiment', () => {
    expect(validateExperiment(base(), opts)).toEqual([]);
  });

  it.each(rows)('%s', (_name, mutate, expected) => {
    const exp = base();
    mutate(exp);
    expect(validateExperiment(exp, opts)).toEqual(expected);
  });

  it('collects every problem of a badly broken experiment at once', () => {
    const exp = base();
    exp.metadata.name = 'Bad';
    spec(exp).parallelTrialCount = 0;
    spec(exp).algorithm = { algorithmName: 'nope' };
    param(exp, 0).feasibleSpace = { min: '1', max: '0' };
    expect(validateExperiment(exp, opts).map((i) => i.path)).toEqual([
      'metadata.name',
      'spec.parallelTrialCount',
      'spec.algorithm.algorithmName',
      'spec.parameters[0].feasibleSpace.max',
    ]);
  });

  it('rejects a document that is not a mapping', () => {
    expect(validateExperiment(['a'], opts)).toEqual([{ path: '(document)', message: 'must be a mapping with apiVersion, kind, metadata and spec (got a list)' }]);
  });

  it('does not change its input', () => {
    const exp = base();
    const before = structuredClone(exp);
    validateExperiment(exp, opts);
    expect(exp).toEqual(before);
  });
});

describe('validateExperiment on updates', () => {
  const stored = (conditions: NonNullable<Experiment['status']>['conditions'], resumePolicy?: 'Never' | 'LongRunning'): Experiment => {
    const exp = base();
    if (resumePolicy) spec(exp).resumePolicy = resumePolicy;
    exp.status = { trials: 10, conditions };
    return exp;
  };
  const succeeded = (reason: string) => [{ type: 'Succeeded' as const, status: 'True' as const, reason }];

  it.each<[string, Experiment, (e: Experiment) => void, Issue[]]>([
    ['unchanged spec', stored(succeeded('ExperimentGoalReached')), () => undefined, []],
    [
      'raising maxTrialCount of a LongRunning experiment that reached it',
      stored(succeeded('ExperimentMaxTrialsReached'), 'LongRunning'),
      (e) => {
        spec(e).resumePolicy = 'LongRunning';
        spec(e).maxTrialCount = 20;
      },
      [],
    ],
    [
      'restarting an experiment that reached its goal',
      stored(succeeded('ExperimentGoalReached')),
      (e) => (spec(e).maxTrialCount = 20),
      [
        {
          path: 'spec.resumePolicy',
          message:
            'the experiment has completed (Succeeded: ExperimentGoalReached); it can be restarted only when it succeeded by reaching maxTrialCount and its resumePolicy is LongRunning or FromVolume (resumePolicy="Never")',
        },
      ],
    ],
    [
      'maxTrialCount not above the trials created',
      stored([{ type: 'Running', status: 'True' }]),
      (e) => (spec(e).maxTrialCount = 10 - 1),
      [{ path: 'spec.maxTrialCount', message: 'must be greater than the 10 trials already created (maxTrialCount=9)' }],
    ],
    [
      'changing the objective',
      stored([{ type: 'Running', status: 'True' }]),
      (e) => {
        spec(e).objective = { type: 'maximize', objectiveMetricName: 'loss' };
        spec(e).maxTrialCount = 12;
      },
      [{ path: 'spec.objective', message: 'cannot be changed after creation; only spec.parallelTrialCount, spec.maxTrialCount, spec.maxFailedTrialCount are editable' }],
    ],
  ])('%s', (_name, previous, mutate, expected) => {
    const exp = base();
    if (previous.spec.resumePolicy) spec(exp).resumePolicy = previous.spec.resumePolicy;
    mutate(exp);
    expect(validateExperiment(exp, { ...opts, previous })).toEqual(expected);
  });
});

describe('admitExperiment', () => {
  it('returns the defaulted experiment when it is valid', () => {
    const admitted = admitExperiment(base(), opts);
    expect(admitted.spec.trialTemplate?.successCondition).toBe('status.conditions.#(type=="Complete")#|#(status=="True")#');
    expect(admitted.metadata.namespace).toBe('default');
  });

  it('throws a ValidationError carrying every issue', () => {
    const exp = base();
    spec(exp).parallelTrialCount = 0;
    exp.metadata.name = '';
    let caught: unknown;
    try {
      admitExperiment(exp, opts, 'exp.yaml');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    expect((caught as ValidationError).issues.map((i) => i.path)).toEqual(['metadata.name', 'spec.parallelTrialCount']);
    expect((caught as ValidationError).message.startsWith('exp.yaml: 2 problems\nmetadata.name: must be specified')).toBe(true);
  });
});

describe('metricsFormatProblem', () => {
  it.each([
    ["Katib's default TEXT filter", DEFAULT_METRICS_FORMAT],
    ["Katib's brace example", '{metricName: ([\\w|-]+), metricValue: ((-?\\d+)(\\.\\d+)?)}'],
    ['named groups', '(?<name>\\w+)=(?<value>[\\d.]+)'],
    ['non-capturing and lookbehind groups', '(?:epoch \\d+ )?(?<=\\s|^)(\\w+)=(\\d+)'],
    ['parentheses inside a character class', '([(\\w]+)=([\\d)]+)'],
    ['escaped parentheses', '\\((\\w+)\\)=(\\d+)'],
  ])('accepts %s', (_name, source) => {
    expect(metricsFormatProblem(source)).toBeUndefined();
  });

  it.each([
    ['three groups', '(\\w+)=(\\d+)(s)', /found 3/],
    ['no group', '\\w+=\\d+', /found 0/],
    ["Go's named group syntax", '(?P<name>\\w+)=(\\d+)', /is not a valid regular expression/],
  ])('rejects %s', (_name, source, problem) => {
    expect(metricsFormatProblem(source)).toMatch(problem);
  });
});

/** Every path of a JSON value, as key lists, for the mutation property. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...prefix, i])));
  else if (typeof value === 'object' && value !== null) for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  return out;
}

function setAt(root: unknown, path: readonly (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path as [string | number, ...(string | number)[]];
  const container = root as Record<string | number, unknown>;
  container[head] = setAt(container[head], rest, value);
  return root;
}

describe('validateExperiment never throws', () => {
  it('on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const issues = validateExperiment(value, opts);
        expect(Array.isArray(issues)).toBe(true);
        for (const i of issues) expect(typeof i.path === 'string' && typeof i.message === 'string').toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('on a valid experiment with any one field replaced by arbitrary JSON', () => {
    const all = paths(base());
    fc.assert(
      fc.property(fc.constantFrom(...all), fc.jsonValue({ maxDepth: 3 }), (path, value) => {
        const exp = setAt(base(), path, value);
        expect(() => validateExperiment(exp, opts)).not.toThrow();
        expect(() => validateExperiment(exp, { ...opts, previous: base() })).not.toThrow();
      }),
      { numRuns: 1000 },
    );
  });
});
