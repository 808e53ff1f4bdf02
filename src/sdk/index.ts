/**
 * The in-process SDK: `optimize()` runs a study with the registered algorithms and a plain async objective; the
 * `search` helpers describe its parameters. The curated package entry point (src/index.ts) re-exports this.
 */
export { optimize } from './optimize.js';
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
export { OptimizeError, StudyAbortedError, StudyFailedError, TrialStoppedError } from './errors.js';
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
  type StudyEndReason,
  type StudyResult,
  type Trial,
  type TrialReport,
  type TrialResult,
  type TrialStatus,
  type UntypedParams,
} from './types.js';
