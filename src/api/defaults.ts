/**
 * Katib's experiment defaulting (its mutating webhook, `experiment_defaults.go`), applied before validation and
 * before the controller reads an Experiment. The values and condition strings are Katib's, byte for byte, so a
 * defaulted katib-ts Experiment equals what Katib would store.
 */
import type { CollectorKind, Experiment, MetricStrategy, MetricStrategyType, ObjectiveType, TrialTemplate } from './types.js';

/** `spec.parallelTrialCount` when unset. */
export const DEFAULT_PARALLEL_TRIAL_COUNT = 3;
/** `spec.resumePolicy` when unset. */
export const DEFAULT_RESUME_POLICY = 'Never';
/** `metadata.namespace` when unset (what the Kubernetes API server and `kubectl` assume). */
export const DEFAULT_NAMESPACE = 'default';

/** Katib's default GJSON conditions on the trial's run object, by kind. */
export const DefaultConditions = {
  jobSuccess: 'status.conditions.#(type=="Complete")#|#(status=="True")#',
  jobFailure: 'status.conditions.#(type=="Failed")#|#(status=="True")#',
  kubeflowJobSuccess: 'status.conditions.#(type=="Succeeded")#|#(status=="True")#',
  kubeflowJobFailure: 'status.conditions.#(type=="Failed")#|#(status=="True")#',
  trainJobSuccess: 'status.conditions.#(type=="Complete")#|#(status=="True")#',
  trainJobFailure: 'status.conditions.#(type=="Failed")#|#(status=="True")#',
} as const;

/** The kind of a Kubernetes batch Job. */
export const JOB_KIND = 'Job';
/** The kind of a Kubeflow Trainer v2 TrainJob (`trainer.kubeflow.org/v1alpha1`). */
export const TRAIN_JOB_KIND = 'TrainJob';
/** Kinds Katib treats as Kubeflow training jobs (defaults for conditions and primary pod labels); matched by kind only. */
export const KUBEFLOW_JOB_KINDS = ['TFJob', 'PyTorchJob', 'XGBoostJob', 'MPIJob', TRAIN_JOB_KIND] as const;

/** `spec.trialTemplate.primaryPodLabels` when unset, for Kubeflow training jobs and for TrainJob. */
export const DefaultPrimaryPodLabels = {
  kubeflowJob: { 'training.kubeflow.org/job-role': 'master' },
  trainJob: { 'jobset.sigs.k8s.io/replicatedjob-name': 'node', 'batch.kubernetes.io/job-completion-index': '0' },
} as const;

/** Metrics collector defaults by kind. */
export const CollectorDefaults = {
  filePath: '/var/log/katib/metrics.log',
  tensorflowEventDirPath: '/var/log/katib/tfevent/',
  prometheusPath: '/metrics',
  prometheusPort: 8080,
} as const;

export const DEFAULT_COLLECTOR_KIND: CollectorKind = 'StdOut';

/** True for the kinds whose success and failure conditions Katib defaults. */
export function hasDefaultConditions(kind: string | undefined): boolean {
  return kind === JOB_KIND || (KUBEFLOW_JOB_KINDS as readonly string[]).includes(kind ?? '');
}

/** The strategy Katib gives a metric that has none: by the objective's direction, `latest` when it has none. */
function defaultStrategy(type: ObjectiveType | undefined): MetricStrategyType {
  return type === 'minimize' ? 'min' : type === 'maximize' ? 'max' : 'latest';
}

/**
 * Fills `metricStrategies` for the objective metric and every additional metric that has none. As in Katib's code
 * (whose comment says otherwise) additional metrics follow the objective's direction too: min when minimizing, max
 * when maximizing.
 */
function defaultMetricStrategies(exp: Experiment): void {
  const obj = exp.spec.objective;
  if (obj === undefined) return;
  const strategies: MetricStrategy[] = obj.metricStrategies ?? [];
  const objectiveName = obj.objectiveMetricName ?? '';
  const named = new Set(strategies.map((s) => s.name));
  const strategy = defaultStrategy(obj.type);
  // An empty name is left alone: validation reports the missing objectiveMetricName, not a strategy without a name.
  if (objectiveName !== '' && !named.has(objectiveName)) strategies.push({ name: objectiveName, value: strategy });
  named.add(objectiveName);
  for (const name of obj.additionalMetricNames ?? []) {
    if (named.has(name)) continue;
    // Katib checks only the strategies the user wrote, so a name listed twice (or repeating the objective) gets
    // two entries; we add one, so validation reports the list and not the strategies derived from it.
    named.add(name);
    strategies.push({ name, value: strategy });
  }
  obj.metricStrategies = strategies;
}

function defaultTrialTemplate(t: TrialTemplate | undefined): void {
  const kind = t?.trialSpec?.kind;
  if (t === undefined || t.trialSpec === undefined || typeof kind !== 'string') return;
  if (kind === JOB_KIND) {
    t.successCondition ||= DefaultConditions.jobSuccess;
    t.failureCondition ||= DefaultConditions.jobFailure;
    return;
  }
  if (!(KUBEFLOW_JOB_KINDS as readonly string[]).includes(kind)) return;
  const trainJob = kind === TRAIN_JOB_KIND;
  t.successCondition ||= trainJob ? DefaultConditions.trainJobSuccess : DefaultConditions.kubeflowJobSuccess;
  t.failureCondition ||= trainJob ? DefaultConditions.trainJobFailure : DefaultConditions.kubeflowJobFailure;
  if (t.primaryPodLabels === undefined || Object.keys(t.primaryPodLabels).length === 0) {
    t.primaryPodLabels = { ...(trainJob ? DefaultPrimaryPodLabels.trainJob : DefaultPrimaryPodLabels.kubeflowJob) };
  }
}

function defaultMetricsCollector(exp: Experiment): void {
  const mc = (exp.spec.metricsCollectorSpec ??= {});
  const collector = (mc.collector ??= { kind: DEFAULT_COLLECTOR_KIND });
  switch (collector.kind) {
    case 'PrometheusMetric': {
      const httpGet = ((mc.source ??= {}).httpGet ??= {});
      httpGet.path ||= CollectorDefaults.prometheusPath;
      // Katib tests the port's string form against "0": an unset port and port 0 both get the default.
      if (httpGet.port === undefined || httpGet.port === 0 || httpGet.port === '0') httpGet.port = CollectorDefaults.prometheusPort;
      return;
    }
    case 'File': {
      const fsPath = ((mc.source ??= {}).fileSystemPath ??= {});
      fsPath.kind ||= 'File';
      fsPath.path ||= CollectorDefaults.filePath;
      fsPath.format ||= 'TEXT';
      return;
    }
    case 'TensorFlowEvent': {
      const fsPath = ((mc.source ??= {}).fileSystemPath ??= {});
      fsPath.kind ||= 'Directory';
      fsPath.path ||= CollectorDefaults.tensorflowEventDirPath;
      return;
    }
    default:
      return;
  }
}

/**
 * Returns a copy of `exp` with Katib's defaults filled in; `exp` is not changed. Called after loading and before
 * validation (Katib's mutating webhook runs before its validating one), and by the controller on every Experiment
 * it reads, so the result must not depend on anything but the input (defaulting twice changes nothing).
 *
 * Fills: metadata.namespace ("default"), spec.parallelTrialCount (3), spec.resumePolicy (Never), objective metric
 * strategies, trial template success/failure conditions and primary pod labels for Job, Kubeflow jobs and TrainJob,
 * the metrics collector (StdOut; File: kind File, /var/log/katib/metrics.log, TEXT; TensorFlowEvent: Directory,
 * /var/log/katib/tfevent/; PrometheusMetric: /metrics on 8080) and each parameter's distribution (uniform).
 * `maxTrialCount`, `maxFailedTrialCount` and `primaryContainerName` have no default, as in Katib.
 * Never throws on a structurally valid Experiment.
 */
export function applyDefaults(exp: Experiment): Experiment {
  const out = structuredClone(exp);
  out.metadata.namespace ||= DEFAULT_NAMESPACE;
  const spec = out.spec;
  spec.parallelTrialCount ??= DEFAULT_PARALLEL_TRIAL_COUNT;
  spec.resumePolicy ||= DEFAULT_RESUME_POLICY;
  defaultMetricStrategies(out);
  defaultTrialTemplate(spec.trialTemplate);
  defaultMetricsCollector(out);
  for (const p of spec.parameters ?? []) p.feasibleSpace.distribution ||= 'uniform';
  return out;
}
