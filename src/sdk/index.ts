/**
 * The SDK: `optimize()` runs a study in process with the registered algorithms and a plain async objective, or on a
 * Kubernetes cluster as a Katib Experiment of TrainJobs; the `search` helpers describe its parameters; the cluster
 * client functions read experiments back. The curated package entry point (src/index.ts) re-exports this.
 */
export { optimize } from './optimize.js';
export { deleteExperiment, getBestResults, listTrials, waitForExperiment } from './cluster/client.js';
export { trainerOptEnvName } from './cluster/experiment.js';
export {
  CLUSTER_TRIAL_STATUSES,
  type BestTrialResult,
  type ClusterOptimizeOptions,
  type ClusterOptions,
  type ClusterStudyResult,
  type ClusterTrialResult,
  type ClusterTrialStatus,
  type ExperimentCompletion,
  type ExperimentRef,
  type KubeConfigOption,
  type MetricObservation,
  type MetricsCollectorOption,
  type ResourceRequirementsOption,
  type TrainerOption,
  type TrainJobOption,
  type WaitOptions,
} from './cluster/types.js';
export { reportMetrics, closeReportMetrics, type ReportMetricsOptions } from './report.js';
export {
  search,
  uniform,
  loguniform,
  normal,
  lognormal,
  int,
  discrete,
  choice,
  toParameterSpecs,
  type ChoiceSearch,
  type DiscreteSearch,
  type DoubleSearch,
  type IntOptions,
  type IntSearch,
  type ParamValue,
  type ParamsOf,
  type SearchParameter,
  type SearchSpaceMap,
  type UniformOptions,
} from './search.js';
export {
  ExperimentExistsError,
  ExperimentFailedError,
  OptimizeError,
  StudyAbortedError,
  StudyFailedError,
  TrialStoppedError,
  WaitAbortedError,
  WaitTimeoutError,
} from './errors.js';
export {
  METRIC_STRATEGIES,
  STUDY_END_REASONS,
  TRIAL_STATUSES,
  type EarlyStoppingOption,
  type MetricStrategy,
  type Metrics,
  type Objective,
  type OptimizeOptions,
  type StoreOption,
  type StudySpecOptions,
  type StudyEndReason,
  type StudyResult,
  type Trial,
  type TrialReport,
  type TrialResult,
  type TrialStatus,
  type UntypedParams,
} from './types.js';
