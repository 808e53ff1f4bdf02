/**
 * The public types of the SDK's cluster path: `optimize({ trainJob })` creates a Katib Experiment whose trials are
 * Kubeflow Trainer TrainJobs, and the client functions (`waitForExperiment`, `getBestResults`, `listTrials`,
 * `deleteExperiment`) read it back. Names follow the in-process SDK where the meaning is the same, and Katib's
 * resources where the value comes from them.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Experiment } from '../../api/types.js';
import type { SearchSpaceMap } from '../search.js';
import { TRIAL_STATUSES, type StudySpecOptions, type UntypedParams } from '../types.js';

/** A container's compute resources, as Kubernetes' `ResourceRequirements` (`{ limits: { 'nvidia.com/gpu': 1 } }`). */
export interface ResourceRequirementsOption {
  readonly limits?: Readonly<Record<string, string | number>>;
  readonly requests?: Readonly<Record<string, string | number>>;
}

/**
 * The trainer of each trial's TrainJob: Kubeflow Trainer's `spec.trainer`. Strings may hold
 * `${trialParameters.NAME}` placeholders (NAME: a key of `parameters`), which the controller replaces with the
 * trial's value before it creates the TrainJob.
 */
export interface TrainerOption {
  /** The training container's image. Default: the training runtime's. */
  readonly image?: string;
  /**
   * The entrypoint. Required with the StdOut collector (the default), which runs it under `katib collect` to read
   * its output; with `metricsCollector: 'Push'` the runtime's entrypoint is used when it is omitted.
   */
  readonly command?: readonly string[];
  /** Arguments, e.g. `['--lr=${trialParameters.lr}']`. Default none. */
  readonly args?: readonly string[];
  /**
   * More environment variables for the training container. Each parameter also arrives as
   * `KUBEFLOW_TRAINER_OPT_<NAME>` (see {@link trainerOptEnvName}); those names are taken.
   */
  readonly env?: Readonly<Record<string, string | number | boolean>>;
  /** Training nodes per trial; an integer >= 1. Default: the runtime's. */
  readonly numNodes?: number;
  /** Compute resources of each node. Default: the runtime's. */
  readonly resourcesPerNode?: ResourceRequirementsOption;
}

/** What each trial runs: a TrainJob (`trainer.kubeflow.org/v1alpha1`) on a training runtime. */
export interface TrainJobOption {
  /** The training runtime's name (`spec.runtimeRef.name`), e.g. `torch-distributed`. */
  readonly runtime: string;
  /** The runtime's kind. Default `ClusterTrainingRuntime`; `TrainingRuntime` for one in the experiment's namespace. */
  readonly runtimeKind?: 'ClusterTrainingRuntime' | 'TrainingRuntime';
  readonly trainer: TrainerOption;
}

/**
 * How trial metrics reach Katib. `StdOut` (default): the trainer prints `name=value` lines (or lines matching
 * `metricsFormat`, Katib's regexes with the name and value as groups 1 and 2), read by `katib collect`, which must be
 * on the trainer image's PATH. `Push`: the trainer reports them itself with `reportMetrics()` (or Katib's
 * `report_metrics`) to the DB-manager named by `KATIB_DB_MANAGER_ADDRESS`.
 */
export type MetricsCollectorOption = 'StdOut' | 'Push' | { readonly kind: 'StdOut'; readonly metricsFormat: readonly string[] };

/** Where the cluster is: a KubeConfig of @kubernetes/client-node, or a kubeconfig file's path. */
export type KubeConfigOption = KubeConfig | string;

/** How the client functions reach the experiment. */
export interface ClusterOptions {
  /**
   * The cluster. Default: as kubectl finds it (`KUBECONFIG`, then `~/.kube/config`, then the pod's service account
   * when running in a cluster).
   */
  readonly kubeConfig?: KubeConfigOption;
  /** The experiment's namespace. Default: the kubeconfig context's namespace, else `default`. */
  readonly namespace?: string;
}

/** Options of {@link waitForExperiment}. */
export interface WaitOptions extends ClusterOptions {
  /** Rejects with a WaitTimeoutError after this many milliseconds. Default: waits as long as the experiment runs. */
  readonly timeoutMs?: number;
  /** Stops waiting (the experiment keeps running) and rejects with a WaitAbortedError. */
  readonly signal?: AbortSignal;
  /** How often the experiment is read. Default 2000 ms. */
  readonly pollIntervalMs?: number;
}

/**
 * The options of `optimize()` on a cluster: the study runs as a Katib Experiment on Kubernetes, each trial a
 * TrainJob. Needs the katib-ts (or Katib) controller and Kubeflow Trainer on the cluster.
 */
export interface ClusterOptimizeOptions<M extends SearchSpaceMap> extends StudySpecOptions<M>, WaitOptions {
  readonly trainJob: TrainJobOption;
  /** Not with `trainJob`: `objective` runs the study in this process instead. */
  readonly objective?: never;
  /**
   * The Experiment's name: at most 40 lower-case letters, digits and '-', starting with a letter. Default
   * `optimize-` and six random hex digits. A name already taken in the namespace is an ExperimentExistsError.
   */
  readonly experimentName?: string;
  /** Default `StdOut`. */
  readonly metricsCollector?: MetricsCollectorOption;
  /**
   * Waits for the experiment to finish (default true). With `false`, optimize() resolves with the created
   * experiment's name and namespace as soon as the API server has stored it.
   */
  readonly wait?: boolean;
}

/** One metric of a trial as Katib records it: the minimum, maximum and latest reported value. */
export interface MetricObservation {
  /** Undefined when Katib has no value (`unavailable`). */
  readonly min: number | undefined;
  readonly max: number | undefined;
  readonly latest: number | undefined;
}

/** A trial's state on the cluster: Katib's trial conditions, `Created` for one not running yet. */
export const CLUSTER_TRIAL_STATUSES = ['Created', ...TRIAL_STATUSES] as const;
/** One of {@link CLUSTER_TRIAL_STATUSES}. */
export type ClusterTrialStatus = (typeof CLUSTER_TRIAL_STATUSES)[number];

/** The best trial as the experiment's status names it (`status.currentOptimalTrial`). */
export interface BestTrialResult<P = UntypedParams> {
  readonly name: string;
  /** The parameters, typed by the experiment's parameter types (numbers for double, int and discrete). */
  readonly params: P;
  /** Parameter values exactly as the algorithm suggested them (Katib's strings). */
  readonly assignments: Readonly<Record<string, string>>;
  /** The objective metric's value by its strategy; undefined when unavailable. */
  readonly value: number | undefined;
  /** Every observed metric's value, each by its strategy (min, max or latest). */
  readonly metrics: Readonly<Record<string, number>>;
  /** Every observed metric's min, max and latest. */
  readonly observation: Readonly<Record<string, MetricObservation>>;
}

/** A Trial resource of the experiment, read back. */
export interface ClusterTrialResult<P = UntypedParams> extends BestTrialResult<P> {
  /** The number after the name's last `-` (`<experiment>-<n>`: 1-based creation order), else the list position. */
  readonly number: number;
  readonly status: ClusterTrialStatus;
  /** The message of the condition that ended it (why it failed, was stopped or killed); undefined otherwise. */
  readonly message: string | undefined;
  /** Labels the algorithm gave the trial (`spec.labels`: PBT's generation and parent, for instance). */
  readonly labels: Readonly<Record<string, string>>;
  /** When the controller started it; undefined before. */
  readonly startTime: Date | undefined;
  /** When it finished; undefined while it runs. */
  readonly completionTime: Date | undefined;
}

/** What `optimize({ trainJob })` resolves with once the experiment Succeeded. */
export interface ClusterStudyResult<P = UntypedParams> {
  /** The Experiment's name. */
  readonly studyName: string;
  readonly namespace: string;
  /** The trial `status.currentOptimalTrial` names; undefined when no trial produced the objective metric. */
  readonly best: ClusterTrialResult<P> | undefined;
  /** Every trial in creation order. */
  readonly trials: readonly ClusterTrialResult<P>[];
  /** Katib's condition reason without its `Experiment` prefix: `MaxTrialsReached`, `GoalReached`, `SuggestionEndReached`. */
  readonly reason: string;
  /** The Succeeded condition's message. */
  readonly message: string;
}

/** An experiment on the cluster, by name. */
export interface ExperimentRef {
  readonly name: string;
  readonly namespace: string;
}

/** What {@link waitForExperiment} resolves with: the experiment Succeeded. */
export interface ExperimentCompletion extends ExperimentRef {
  /** Katib's condition reason, e.g. `ExperimentMaxTrialsReached`. */
  readonly reason: string;
  readonly message: string;
  /** The Experiment as last read, status included. */
  readonly experiment: Experiment;
}
