/**
 * `optimize({ trainJob })`'s options → options with defaults → validated → the Katib Experiment they describe.
 * Pure: no cluster is contacted here. The options shared with the in-process path are checked by the same code
 * (`resolveStudyOptions`), so both paths accept and reject the same values with the same messages; the built
 * Experiment is then checked by the validator `katib run` and the controller use (`validateExperiment`), and its
 * issues are reported under the option they came from.
 *
 * The trial template is a Kubeflow Trainer TrainJob (`trainer.kubeflow.org/v1alpha1`). Each parameter reaches the
 * trainer twice, both filled in by the controller when it creates a trial's TrainJob: wherever the user wrote
 * `${trialParameters.NAME}` (in `args`, typically), and as the environment variable `KUBEFLOW_TRAINER_OPT_<NAME>`,
 * the convention of Kubeflow's OptimizationJob proposal, so a trainer can read its hyperparameters without parsing
 * arguments.
 */
import type { Issue } from '../../../algorithms/core/issues.js';
import { ALGORITHMS } from '../../../algorithms/index.js';
import { EARLY_STOPPING_ALGORITHMS } from '../../../algorithms/earlystopping/index.js';
import { applyDefaults, DEFAULT_NAMESPACE, TRAIN_JOB_KIND } from '../../api/defaults.js';
import { ownValue } from '../../api/guards.js';
import { placeholder } from '../../api/template.js';
import type { Experiment, MetricsCollectorSpec } from '../../api/types.js';
import { API_VERSION } from '../../api/types.js';
import { validateExperiment } from '../../api/validate.js';
import { ValidationError } from '../../errors.js';
import { fmt, isRecord, reportUnknownKeys, resolveStudyOptions, STUDY_OPTION_NAMES, type StudyOptions } from '../options.js';
import { toParameterSpecs } from '../search.js';

/** The TrainJob API the trial template uses. */
export const TRAIN_JOB_API_VERSION = 'trainer.kubeflow.org/v1alpha1';
/** The API group of training runtimes (`spec.runtimeRef.apiGroup`). */
export const TRAINER_API_GROUP = 'trainer.kubeflow.org';
/** Prefix of the environment variable that carries each parameter to the trainer. */
export const TRAINER_OPT_ENV_PREFIX = 'KUBEFLOW_TRAINER_OPT_';
/** A TrainJob's trainer container: Katib's primary container for TrainJob trials. */
export const TRAINER_CONTAINER_NAME = 'node';
/** The default experiment name's prefix; six random hex digits follow. */
export const GENERATED_NAME_PREFIX = 'optimize-';
/** `pollIntervalMs` when unset. */
export const DEFAULT_POLL_INTERVAL_MS = 2000;

/** Every option optimize() knows on a cluster; any other key is reported as unknown. */
export const CLUSTER_OPTION_NAMES = [
  'trainJob',
  ...STUDY_OPTION_NAMES,
  'experimentName',
  'namespace',
  'kubeConfig',
  'metricsCollector',
  'wait',
  'timeoutMs',
  'pollIntervalMs',
  'signal',
] as const;

/** Options of the in-process path that mean nothing on a cluster, with what to do instead. */
const IN_PROCESS_ONLY: Readonly<Record<string, string>> = {
  store: 'the Experiment is stored by the cluster; remove store',
  studyName: 'name the Experiment with experimentName',
  onTrialComplete: 'read finished trials with listTrials(experimentName)',
};

const TRAIN_JOB_KEYS = ['runtime', 'runtimeKind', 'trainer'] as const;
const TRAINER_KEYS = ['image', 'command', 'args', 'env', 'numNodes', 'resourcesPerNode'] as const;
const RUNTIME_KINDS = ['ClusterTrainingRuntime', 'TrainingRuntime'] as const;

/** The environment variable that carries parameter `name` to the trainer: upper-cased, other than A-Z and 0-9 → `_`. */
export function trainerOptEnvName(name: string): string {
  return TRAINER_OPT_ENV_PREFIX + name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

/** A TrainJob's `spec.trainer` as built from the options. */
interface TrainerSpec {
  image?: string;
  command?: string[];
  args?: string[];
  env: { name: string; value: string }[];
  numNodes?: number;
  resourcesPerNode?: { limits?: Record<string, string | number>; requests?: Record<string, string | number> };
}

/** Validated cluster options with defaults applied (the connection is resolved later, by the client). */
export interface ResolvedClusterOptions {
  readonly study: StudyOptions;
  readonly runtime: string;
  readonly runtimeKind: (typeof RUNTIME_KINDS)[number];
  readonly trainer: TrainerSpec;
  /** Undefined: generate one. */
  readonly experimentName: string | undefined;
  /** Undefined: the kubeconfig context's namespace, else `default`. */
  readonly namespace: string | undefined;
  readonly kubeConfig: unknown;
  readonly metricsCollector: MetricsCollectorSpec;
  readonly wait: boolean;
  readonly timeoutMs: number | undefined;
  readonly pollIntervalMs: number;
  readonly signal: AbortSignal | undefined;
}

function stringList(v: unknown, path: string, issues: Issue[]): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) {
    issues.push({ path, message: `must be an array of strings (${path}=${Array.isArray(v) ? `[${v.map(fmt).join(', ')}]` : fmt(v)})` });
    return undefined;
  }
  return [...(v as string[])];
}

function quantities(v: unknown, path: string, issues: Issue[]): Record<string, string | number> | undefined {
  if (v === undefined) return undefined;
  if (!isRecord(v)) {
    issues.push({ path, message: `must be an object of resource name to quantity, e.g. { cpu: '2', 'nvidia.com/gpu': 1 } (${path}=${fmt(v)})` });
    return undefined;
  }
  const out: Record<string, string | number> = {};
  for (const [name, q] of Object.entries(v)) {
    if ((typeof q === 'string' && q !== '') || (typeof q === 'number' && Number.isFinite(q) && q >= 0)) out[name] = q;
    else issues.push({ path: `${path}[${name}]`, message: `must be a quantity such as '500m', '4Gi' or 1 (${name}=${fmt(q)})` });
  }
  return out;
}

function resolveTrainer(v: unknown, parameterNames: readonly string[], issues: Issue[]): TrainerSpec {
  const P = 'trainJob.trainer';
  const trainer: TrainerSpec = { env: [] };
  if (!isRecord(v)) {
    issues.push({ path: P, message: `must be an object { image, command, args, env, numNodes, resourcesPerNode } (trainer=${fmt(v)})` });
    return trainer;
  }
  reportUnknownKeys(v, TRAINER_KEYS, `${P}.`, issues);
  if (v.image !== undefined) {
    if (typeof v.image !== 'string' || v.image === '') issues.push({ path: `${P}.image`, message: `must be a container image reference, e.g. "pytorch/pytorch:2.5.0" (image=${fmt(v.image)})` });
    else trainer.image = v.image;
  }
  const command = stringList(v.command, `${P}.command`, issues);
  if (command !== undefined) {
    if (command.length === 0) issues.push({ path: `${P}.command`, message: 'must not be empty; omit it to use the runtime\'s entrypoint (with metricsCollector: "Push")' });
    trainer.command = command;
  }
  const args = stringList(v.args, `${P}.args`, issues);
  if (args !== undefined) trainer.args = args;
  if (v.numNodes !== undefined) {
    if (typeof v.numNodes !== 'number' || !Number.isInteger(v.numNodes) || v.numNodes < 1) issues.push({ path: `${P}.numNodes`, message: `must be an integer >= 1 (numNodes=${fmt(v.numNodes)})` });
    else trainer.numNodes = v.numNodes;
  }
  const resources = v.resourcesPerNode;
  if (resources !== undefined) {
    if (!isRecord(resources)) issues.push({ path: `${P}.resourcesPerNode`, message: `must be an object { limits, requests } (resourcesPerNode=${fmt(resources)})` });
    else {
      reportUnknownKeys(resources, ['limits', 'requests'], `${P}.resourcesPerNode.`, issues);
      const limits = quantities(resources.limits, `${P}.resourcesPerNode.limits`, issues);
      const requests = quantities(resources.requests, `${P}.resourcesPerNode.requests`, issues);
      trainer.resourcesPerNode = { ...(limits ? { limits } : {}), ...(requests ? { requests } : {}) };
    }
  }

  // The parameters' variables first, then the user's; a clash between them (or between two parameters whose names
  // map to one variable) would silently drop a value, so it is an error.
  const owner = new Map<string, string>();
  for (const name of parameterNames) {
    const env = trainerOptEnvName(name);
    const other = owner.get(env);
    if (other !== undefined) {
      issues.push({ path: `parameters.${name}`, message: `gives the same environment variable ${env} as parameter ${JSON.stringify(other)}; rename one of them` });
      continue;
    }
    owner.set(env, name);
    trainer.env.push({ name: env, value: placeholder(name) });
  }
  const env = v.env;
  if (env !== undefined) {
    if (!isRecord(env)) issues.push({ path: `${P}.env`, message: `must be an object of variable name to value, e.g. { EPOCHS: 10 } (env=${fmt(env)})` });
    else
      for (const [name, value] of Object.entries(env)) {
        const at = `${P}.env.${name}`;
        if (!/^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(name)) issues.push({ path: at, message: `is not a valid environment variable name (letters, digits, '_', '-', '.', not starting with a digit)` });
        else if (owner.has(name)) issues.push({ path: at, message: `is set by katib-ts to parameter ${JSON.stringify(owner.get(name))}'s value; use another name` });
        else if (typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) trainer.env.push({ name, value: String(value) });
        else issues.push({ path: at, message: `must be a string, finite number or boolean (${name}=${fmt(value)})` });
      }
  }
  return trainer;
}

function resolveCollector(v: unknown, issues: Issue[]): MetricsCollectorSpec {
  if (v === undefined || v === 'StdOut') return { collector: { kind: 'StdOut' } };
  if (v === 'Push') return { collector: { kind: 'Push' } };
  if (isRecord(v) && v.kind === 'StdOut') {
    reportUnknownKeys(v, ['kind', 'metricsFormat'], 'metricsCollector.', issues);
    const formats = stringList(v.metricsFormat, 'metricsCollector.metricsFormat', issues);
    return { collector: { kind: 'StdOut' }, ...(formats && formats.length > 0 ? { source: { filter: { metricsFormat: formats } } } : {}) };
  }
  issues.push({ path: 'metricsCollector', message: `must be 'StdOut', 'Push' or { kind: 'StdOut', metricsFormat: [REGEX, ...] } (metricsCollector=${fmt(v)})` });
  return { collector: { kind: 'StdOut' } };
}

function positiveInteger(o: Record<string, unknown>, name: string, issues: Issue[]): number | undefined {
  const v = o[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    issues.push({ path: name, message: `must be an integer number of milliseconds >= 1 (${name}=${fmt(v)})` });
    return undefined;
  }
  return v;
}

/**
 * Validates optimize()'s cluster options and applies the defaults. Throws ValidationError (source `optimize`)
 * listing every problem with its option path: unknown options (an in-process option says what to use instead),
 * the shared study options, and the TrainJob's shape. Does not build or check the Experiment (see
 * {@link buildExperiment}).
 */
export function resolveClusterOptions(input: unknown): ResolvedClusterOptions {
  const issues: Issue[] = [];
  if (!isRecord(input)) throw new ValidationError([{ path: 'options', message: `must be an object (options=${fmt(input)})` }], 'optimize');
  const o = input;
  // `objective` beside `trainJob` is reported by optimize(), which names both.
  const { objective: _objective, ...rest } = o;
  reportUnknownKeys(rest, CLUSTER_OPTION_NAMES, '', issues, (key) => {
    const instead = ownValue(IN_PROCESS_ONLY, key);
    return instead === undefined ? undefined : `is an option of optimize() in process, not on a cluster (trainJob is given); ${instead}`;
  });
  const study = resolveStudyOptions(o, issues);
  const parameterNames = isRecord(o.parameters) ? Object.keys(o.parameters) : [];

  const tj = o.trainJob;
  let runtime = '';
  let runtimeKind: ResolvedClusterOptions['runtimeKind'] = 'ClusterTrainingRuntime';
  let trainer: TrainerSpec = { env: [] };
  if (!isRecord(tj)) {
    issues.push({ path: 'trainJob', message: `must be an object { runtime, trainer: { image, command, args, numNodes, resourcesPerNode } } (trainJob=${fmt(tj)})` });
  } else {
    reportUnknownKeys(tj, TRAIN_JOB_KEYS, 'trainJob.', issues);
    if (typeof tj.runtime !== 'string' || tj.runtime === '') issues.push({ path: 'trainJob.runtime', message: `must name a training runtime, e.g. "torch-distributed" (runtime=${fmt(tj.runtime)})` });
    else runtime = tj.runtime;
    if (tj.runtimeKind !== undefined) {
      if (!(RUNTIME_KINDS as readonly unknown[]).includes(tj.runtimeKind)) issues.push({ path: 'trainJob.runtimeKind', message: `must be one of ${RUNTIME_KINDS.join(', ')} (runtimeKind=${fmt(tj.runtimeKind)})` });
      else runtimeKind = tj.runtimeKind as ResolvedClusterOptions['runtimeKind'];
    }
    trainer = resolveTrainer(tj.trainer, parameterNames, issues);
  }

  const metricsCollector = resolveCollector(o.metricsCollector, issues);
  if (metricsCollector.collector?.kind === 'StdOut' && isRecord(tj) && isRecord(tj.trainer) && tj.trainer.command === undefined) {
    issues.push({
      path: 'trainJob.trainer.command',
      message: "is required with the StdOut metrics collector, which runs the command under `katib collect` to read its output; set it, or use metricsCollector: 'Push' and report metrics with reportMetrics()",
    });
  }

  const experimentName = o.experimentName;
  if (experimentName !== undefined && typeof experimentName !== 'string') issues.push({ path: 'experimentName', message: `must be a string (experimentName=${fmt(experimentName)})` });
  const namespace = o.namespace;
  if (namespace !== undefined && (typeof namespace !== 'string' || namespace === '')) issues.push({ path: 'namespace', message: `must be a namespace's name (namespace=${fmt(namespace)})` });
  const kubeConfig = o.kubeConfig;
  if (kubeConfig !== undefined && !(typeof kubeConfig === 'string' && kubeConfig !== '') && !(isRecord(kubeConfig) && typeof kubeConfig.makeApiClient === 'function')) {
    issues.push({ path: 'kubeConfig', message: `must be a KubeConfig of @kubernetes/client-node or a kubeconfig file's path (kubeConfig=${fmt(kubeConfig)})` });
  }
  const wait = o.wait ?? true;
  if (typeof wait !== 'boolean') issues.push({ path: 'wait', message: `must be true or false (wait=${fmt(wait)})` });
  const timeoutMs = positiveInteger(o, 'timeoutMs', issues);
  const pollIntervalMs = positiveInteger(o, 'pollIntervalMs', issues) ?? DEFAULT_POLL_INTERVAL_MS;
  const signal = o.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) issues.push({ path: 'signal', message: `must be an AbortSignal (signal=${fmt(signal)})` });

  if (issues.length > 0) throw new ValidationError(issues, 'optimize');
  return {
    study,
    runtime,
    runtimeKind,
    trainer,
    experimentName: experimentName as string | undefined,
    namespace: namespace as string | undefined,
    kubeConfig,
    metricsCollector,
    wait: wait as boolean,
    timeoutMs,
    pollIntervalMs,
    signal: signal as AbortSignal | undefined,
  };
}

/** Where an issue of the built Experiment came from, as an option path; paths with no option keep theirs. */
function optionPathOf(path: string, parameterNames: readonly string[]): string {
  const rules: [RegExp, string | ((m: RegExpExecArray) => string)][] = [
    [/^spec\.trialTemplate\.trialSpec\.spec\.trainer/, 'trainJob.trainer'],
    [/^spec\.trialTemplate\.trialSpec\.spec\.runtimeRef\.name/, 'trainJob.runtime'],
    [/^spec\.parameters\[(\d+)\](\.feasibleSpace)?/, (m) => `parameters.${parameterNames[Number(m[1])] ?? m[1]}`],
    [/^metadata\.name/, 'experimentName'],
    [/^metadata\.namespace/, 'namespace'],
    [/^spec\.maxTrialCount/, 'numTrials'],
    [/^spec\.parallelTrialCount/, 'parallelTrials'],
    [/^spec\.maxFailedTrialCount/, 'maxFailedTrials'],
    [/^spec\.objective\.objectiveMetricName/, 'metric'],
    [/^spec\.objective\.goal/, 'goal'],
    [/^spec\.objective\.additionalMetricNames/, 'additionalMetrics'],
    [/^spec\.metricsCollectorSpec\.source\.filter\.metricsFormat/, 'metricsCollector.metricsFormat'],
    [/^spec\.algorithm\.algorithmName/, 'algorithm'],
  ];
  for (const [re, to] of rules) {
    const m = re.exec(path);
    if (m !== null) return (typeof to === 'string' ? to : to(m)) + path.slice(m[0].length);
  }
  return path;
}

/**
 * The Katib Experiment the options describe, named `name` in `namespace`, checked by the validator `katib run`
 * and the controller use and returned with Katib's defaults applied (so it shows what the cluster will store).
 *
 * @throws ValidationError (source `optimize`) with every issue, each under its option's path where it has one
 *   (`trainJob.trainer.args[0]: ...`) and under the Experiment's field path otherwise.
 */
export function buildExperiment(o: ResolvedClusterOptions, name: string, namespace: string): Experiment {
  const s = o.study;
  const parameterNames = Object.keys(s.parameters);
  const strategies = Object.entries(s.strategies).map(([metric, value]) => ({ name: metric, value }));
  const trainer: Record<string, unknown> = { ...o.trainer, env: o.trainer.env.map((e) => ({ ...e })) };
  const exp: Experiment = {
    apiVersion: API_VERSION,
    kind: 'Experiment',
    metadata: { name, namespace: namespace || DEFAULT_NAMESPACE },
    spec: {
      objective: {
        type: s.goal,
        objectiveMetricName: s.metric,
        ...(s.additionalMetrics.length > 0 ? { additionalMetricNames: [...s.additionalMetrics] } : {}),
        ...(strategies.length > 0 ? { metricStrategies: strategies } : {}),
        ...(s.goalValue !== undefined ? { goal: s.goalValue } : {}),
      },
      algorithm: { algorithmName: s.algorithmName, algorithmSettings: Object.entries(s.raw).map(([k, value]) => ({ name: k, value })) },
      ...(s.earlyStopping
        ? { earlyStopping: { algorithmName: s.earlyStopping.algorithm, algorithmSettings: Object.entries(s.earlyStopping.raw).map(([k, value]) => ({ name: k, value })) } }
        : {}),
      parallelTrialCount: s.parallelTrials,
      maxTrialCount: s.numTrials,
      ...(s.maxFailedTrials !== undefined ? { maxFailedTrialCount: s.maxFailedTrials } : {}),
      parameters: toParameterSpecs(s.parameters),
      metricsCollectorSpec: structuredClone(o.metricsCollector),
      trialTemplate: {
        primaryContainerName: TRAINER_CONTAINER_NAME,
        trialParameters: parameterNames.map((p) => ({ name: p, reference: p, description: `parameter ${p}, also in $${trainerOptEnvName(p)}` })),
        trialSpec: {
          apiVersion: TRAIN_JOB_API_VERSION,
          kind: TRAIN_JOB_KIND,
          spec: {
            runtimeRef: { name: o.runtime, apiGroup: TRAINER_API_GROUP, kind: o.runtimeKind },
            trainer,
          },
        },
      },
    },
  };
  const issues = validateExperiment(exp, { knownAlgorithms: Object.keys(ALGORITHMS), knownEarlyStopping: Object.keys(EARLY_STOPPING_ALGORITHMS) });
  if (issues.length > 0) throw new ValidationError(issues.map((i) => ({ path: optionPathOf(i.path, parameterNames), message: i.message })), 'optimize');
  // Defaulted here (TrainJob success/failure conditions, primary pod labels, metric strategies) so the object sent
  // is the one the controller will run, whichever controller serves the cluster.
  return applyDefaults(exp);
}
