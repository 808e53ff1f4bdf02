/**
 * What the experiment controller does with the suggestion service, reduced to one trial at a time: ask for one
 * suggestion, sending every trial so far (with its objective in the observation's metrics) and the algorithm
 * settings of the previous reply (which carry the algorithm's state); create the trial; run it; record its result.
 */
import type { AlgorithmSetting, Experiment, ParameterSpec, Trial } from '../../src/api/types.js';
import { API_VERSION } from '../../src/api/types.js';
import type { SuggestionClient } from '../../src/suggestion/client.js';

/** The objective metric every benchmark experiment minimises. */
export const OBJECTIVE_METRIC = 'loss';

export interface ExperimentOptions {
  readonly name: string;
  readonly parameters: readonly ParameterSpec[];
  readonly algorithm: string;
  readonly settings: Readonly<Record<string, string>>;
  readonly maxTrialCount?: number;
  readonly parallelTrialCount?: number;
}

/** A minimising experiment as the controller holds it. */
export function benchmarkExperiment(o: ExperimentOptions): Experiment {
  return {
    apiVersion: API_VERSION,
    kind: 'Experiment',
    metadata: { name: o.name, namespace: 'default' },
    spec: {
      parameters: o.parameters.map((p) => ({ ...p, feasibleSpace: { ...p.feasibleSpace } })),
      objective: { type: 'minimize', objectiveMetricName: OBJECTIVE_METRIC, metricStrategies: [{ name: OBJECTIVE_METRIC, value: 'min' }] },
      algorithm: { algorithmName: o.algorithm, algorithmSettings: Object.entries(o.settings).map(([name, value]) => ({ name, value })) },
      parallelTrialCount: o.parallelTrialCount ?? 1,
      maxTrialCount: o.maxTrialCount ?? 0,
    },
  };
}

/** A trial that succeeded and reported `value` for the objective metric once (min = max = latest). */
export function succeededTrial(exp: Experiment, index: number, assignments: readonly AlgorithmSetting[], value: number, labels: Readonly<Record<string, string>> = {}): Trial {
  const name = `${exp.metadata.name}-${String(index).padStart(5, '0')}`;
  const v = String(value);
  const at = new Date(Date.UTC(2024, 0, 1) + index * 1000).toISOString();
  return {
    apiVersion: API_VERSION,
    kind: 'Trial',
    metadata: { name, namespace: 'default', labels: { 'katib.kubeflow.org/experiment': exp.metadata.name, ...labels } },
    spec: { objective: exp.spec.objective, parameterAssignments: assignments.map((a) => ({ name: a.name, value: a.value })), labels: { ...labels } },
    status: {
      startTime: at,
      completionTime: at,
      conditions: [
        { type: 'Created', status: 'True' },
        { type: 'Running', status: 'False' },
        { type: 'Succeeded', status: 'True' },
      ],
      observation: { metrics: [{ name: OBJECTIVE_METRIC, min: v, max: v, latest: v }] },
    },
  };
}

/** One suggestion with the time its GetSuggestions call took. */
export interface Asked {
  readonly assignments: AlgorithmSetting[];
  readonly labels: Record<string, string>;
  readonly ms: number;
  readonly exhausted: boolean;
}

/**
 * Drives one experiment sequentially through a SuggestionClient. `history` may be pre-filled (the latency
 * benchmark does so); trials added by {@link complete} are appended with deterministic names.
 */
export class SequentialController {
  private settings: AlgorithmSetting[] | undefined;

  constructor(
    readonly client: SuggestionClient,
    readonly experiment: Experiment,
    readonly trials: Trial[] = [],
  ) {}

  /** Asks for one suggestion; an empty `assignments` means the algorithm gave none (waiting or exhausted). */
  async ask(): Promise<Asked> {
    const start = process.hrtime.bigint();
    const reply = await this.client.getSuggestions(this.experiment, this.trials, 1, this.trials.length + 1, this.settings);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (reply.algorithmSettings !== undefined) this.settings = reply.algorithmSettings;
    const s = reply.suggestions[0];
    return { assignments: s?.assignments ?? [], labels: s?.labels ?? {}, ms, exhausted: reply.exhausted };
  }

  /** Records a finished trial with `value` as its objective. */
  complete(asked: Pick<Asked, 'assignments' | 'labels'>, value: number): void {
    this.trials.push(succeededTrial(this.experiment, this.trials.length, asked.assignments, value, asked.labels));
  }

  /** The settings the next request will send (the state included). */
  get currentSettings(): readonly AlgorithmSetting[] | undefined {
    return this.settings;
  }
}

/** Assignments as a name → value record. */
export function pointOf(assignments: readonly AlgorithmSetting[]): Record<string, string> {
  return Object.fromEntries(assignments.map((a) => [a.name, a.value]));
}
