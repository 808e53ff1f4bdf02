/**
 * Katib's `kubeflow.org/v1beta1` resources as JSON (the shape of the YAML users write), for Experiment, Trial and
 * Suggestion. Field names and value spellings are Katib's, so a Katib YAML loads unchanged.
 */

export const API_VERSION = 'kubeflow.org/v1beta1';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export type ObjectiveType = 'minimize' | 'maximize';
export type MetricStrategyType = 'min' | 'max' | 'latest';

export interface MetricStrategy {
  name: string;
  value: MetricStrategyType;
}

export interface ObjectiveSpec {
  type?: ObjectiveType;
  goal?: number;
  objectiveMetricName?: string;
  additionalMetricNames?: string[];
  metricStrategies?: MetricStrategy[];
}

export interface AlgorithmSetting {
  name: string;
  value: string;
}

export interface AlgorithmSpec {
  algorithmName?: string;
  algorithmSettings?: AlgorithmSetting[];
}

export interface EarlyStoppingSpec {
  algorithmName?: string;
  algorithmSettings?: AlgorithmSetting[];
}

export type ComparisonType = 'equal' | 'less' | 'greater';

export interface EarlyStoppingRule {
  name: string;
  value: string;
  comparison: ComparisonType;
  startStep?: number;
}

export interface FeasibleSpace {
  max?: string;
  min?: string;
  list?: string[];
  step?: string;
  distribution?: 'uniform' | 'logUniform' | 'normal' | 'logNormal';
}

export interface ParameterSpec {
  name: string;
  parameterType: 'double' | 'int' | 'discrete' | 'categorical';
  feasibleSpace: FeasibleSpace;
}

export interface TrialParameterSpec {
  name: string;
  description?: string;
  reference?: string;
}

export interface ConfigMapSource {
  configMapName?: string;
  configMapNamespace?: string;
  templatePath?: string;
}

/** An arbitrary Kubernetes object (the trial's run spec): unknown beyond apiVersion, kind and metadata. */
export interface UnstructuredObject {
  apiVersion?: string;
  kind?: string;
  metadata?: Partial<ObjectMeta>;
  [key: string]: unknown;
}

export interface TrialTemplate {
  retain?: boolean;
  trialSpec?: UnstructuredObject;
  configMap?: ConfigMapSource;
  trialParameters?: TrialParameterSpec[];
  primaryPodLabels?: Record<string, string>;
  primaryContainerName?: string;
  successCondition?: string;
  failureCondition?: string;
}

export type FileSystemKind = 'Directory' | 'File';
export type FileFormat = 'TEXT' | 'JSON';
export type CollectorKind = 'StdOut' | 'File' | 'TensorFlowEvent' | 'PrometheusMetric' | 'Custom' | 'Push' | 'None';

export interface FileSystemPath {
  path?: string;
  kind?: FileSystemKind;
  format?: FileFormat;
}

export interface SourceSpec {
  httpGet?: { path?: string; port?: number | string; host?: string; scheme?: string; httpHeaders?: { name: string; value: string }[] };
  fileSystemPath?: FileSystemPath;
  filter?: { metricsFormat?: string[] };
}

export interface MetricsCollectorSpec {
  source?: SourceSpec;
  collector?: { kind?: CollectorKind; customCollector?: Record<string, unknown> };
}

export type ResumePolicy = 'Never' | 'LongRunning' | 'FromVolume';

export interface ExperimentSpec {
  parameters?: ParameterSpec[];
  objective?: ObjectiveSpec;
  algorithm?: AlgorithmSpec;
  earlyStopping?: EarlyStoppingSpec;
  trialTemplate?: TrialTemplate;
  parallelTrialCount?: number;
  maxTrialCount?: number;
  maxFailedTrialCount?: number;
  metricsCollectorSpec?: MetricsCollectorSpec;
  nasConfig?: Record<string, unknown>;
  resumePolicy?: ResumePolicy;
}

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition<T extends string> {
  type: T;
  status: ConditionStatus;
  reason?: string;
  message?: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
}

export const EXPERIMENT_CONDITIONS = ['Created', 'Running', 'Restarting', 'Succeeded', 'Failed'] as const;
export type ExperimentConditionType = (typeof EXPERIMENT_CONDITIONS)[number];

/** Katib's experiment condition reasons. */
export const ExperimentReason = {
  Created: 'ExperimentCreated',
  Running: 'ExperimentRunning',
  Restarting: 'ExperimentRestarting',
  GoalReached: 'ExperimentGoalReached',
  MaxTrialsReached: 'ExperimentMaxTrialsReached',
  SuggestionEndReached: 'ExperimentSuggestionEndReached',
  Failed: 'ExperimentFailed',
} as const;

export interface Metric {
  name: string;
  min: string;
  max: string;
  latest: string;
}

export interface Observation {
  metrics?: Metric[];
}

export interface OptimalTrial {
  bestTrialName?: string;
  parameterAssignments?: AlgorithmSetting[];
  observation?: Observation;
}

export interface ExperimentStatus {
  startTime?: string;
  completionTime?: string;
  lastReconcileTime?: string;
  conditions?: Condition<ExperimentConditionType>[];
  currentOptimalTrial?: OptimalTrial;
  runningTrialList?: string[];
  pendingTrialList?: string[];
  failedTrialList?: string[];
  succeededTrialList?: string[];
  killedTrialList?: string[];
  earlyStoppedTrialList?: string[];
  metricsUnavailableTrialList?: string[];
  trials?: number;
  trialsSucceeded?: number;
  trialsFailed?: number;
  trialsKilled?: number;
  trialsPending?: number;
  trialsRunning?: number;
  trialsEarlyStopped?: number;
  trialMetricsUnavailable?: number;
}

export interface Experiment {
  apiVersion: typeof API_VERSION;
  kind: 'Experiment';
  metadata: ObjectMeta;
  spec: ExperimentSpec;
  status?: ExperimentStatus;
}

export const TRIAL_CONDITIONS = ['Created', 'Running', 'Succeeded', 'Killed', 'Failed', 'MetricsUnavailable', 'EarlyStopped'] as const;
export type TrialConditionType = (typeof TRIAL_CONDITIONS)[number];

/** Katib's trial condition reasons. */
export const TrialReason = {
  Created: 'TrialCreated',
  Running: 'TrialRunning',
  Succeeded: 'TrialSucceeded',
  Failed: 'TrialFailed',
  Killed: 'TrialKilled',
  MetricsUnavailable: 'MetricsUnavailable',
  EarlyStopped: 'TrialEarlyStopped',
} as const;

export interface TrialSpec {
  objective?: ObjectiveSpec;
  parameterAssignments: AlgorithmSetting[];
  earlyStoppingRules?: EarlyStoppingRule[];
  runSpec?: UnstructuredObject;
  retainRun?: boolean;
  metricsCollector?: MetricsCollectorSpec;
  primaryPodLabels?: Record<string, string>;
  primaryContainerName?: string;
  successCondition?: string;
  failureCondition?: string;
  labels?: Record<string, string>;
}

export interface TrialStatus {
  startTime?: string;
  completionTime?: string;
  lastReconcileTime?: string;
  conditions?: Condition<TrialConditionType>[];
  observation?: Observation;
}

export interface Trial {
  apiVersion: typeof API_VERSION;
  kind: 'Trial';
  metadata: ObjectMeta;
  spec: TrialSpec;
  status?: TrialStatus;
}

/**
 * Katib's Suggestion resource. katib-ts keeps it bounded: `suggestions` holds only the assignments not yet turned
 * into trials (Katib keeps every one ever made, which grows until etcd rejects the object).
 */
export interface SuggestionSpec {
  algorithm?: AlgorithmSpec;
  earlyStopping?: EarlyStoppingSpec;
  requests: number;
  resumePolicy?: ResumePolicy;
}

export interface TrialAssignment {
  name: string;
  parameterAssignments: AlgorithmSetting[];
  labels?: Record<string, string>;
  earlyStoppingRules?: EarlyStoppingRule[];
}

export interface SuggestionStatus {
  suggestionCount?: number;
  suggestions?: TrialAssignment[];
  algorithmSettings?: AlgorithmSetting[];
  conditions?: Condition<'Created' | 'DeploymentReady' | 'Running' | 'Restarting' | 'Succeeded' | 'Failed' | 'Exhausted'>[];
  startTime?: string;
  completionTime?: string;
  lastReconcileTime?: string;
}

export interface SuggestionResource {
  apiVersion: typeof API_VERSION;
  kind: 'Suggestion';
  metadata: ObjectMeta;
  spec: SuggestionSpec;
  status?: SuggestionStatus;
}

/** The value Katib writes for a metric with no observation. */
export const UNAVAILABLE_METRIC_VALUE = 'unavailable';

/** Katib's labels on trials and their run objects. */
export const Labels = {
  experimentName: 'katib.kubeflow.org/experiment',
  trialName: 'katib.kubeflow.org/trial',
  /** PBT's labels on trials. */
  pbtGeneration: 'pbt.suggestion.katib.kubeflow.org/generation',
  pbtParent: 'pbt.suggestion.katib.kubeflow.org/parent',
} as const;
