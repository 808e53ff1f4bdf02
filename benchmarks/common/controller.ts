/**
 * What the experiment controller does with the suggestion service: ask for suggestions, sending every trial so far
 * (a finished one with its objective in the observation's metrics, a running one without) and the algorithm
 * settings of the previous reply (which carry the algorithm's state); create the trials; run them; record results.
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

/** A trial that has started and not finished: no observation, as the controller sends a running trial. */
export function runningTrial(exp: Experiment, index: number, assignments: readonly AlgorithmSetting[], labels: Readonly<Record<string, string>> = {}): Trial {
  const trial = succeededTrial(exp, index, assignments, 0, labels);
  return {
    ...trial,
    status: {
      startTime: trial.status?.startTime,
      conditions: [
        { type: 'Created', status: 'True' },
        { type: 'Running', status: 'True' },
      ],
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
 * Drives one experiment through a SuggestionClient: one trial at a time ({@link ask}, {@link complete}), or several
 * running at once ({@link start}, {@link finish}). Trials get deterministic names from their position.
 */
export class BenchmarkController {
  private settings: AlgorithmSetting[] | undefined;

  constructor(
    readonly client: SuggestionClient,
    readonly experiment: Experiment,
    readonly trials: Trial[] = [],
  ) {}

  /** Asks for one suggestion; an empty `assignments` means the algorithm gave none (waiting or exhausted). */
  async ask(): Promise<Asked> {
    const r = await this.request(1);
    return r.asked[0] ?? { assignments: [], labels: {}, ms: r.ms, exhausted: r.exhausted };
  }

  /** One GetSuggestions call for `count` trials with every trial so far; keeps the reply's settings for the next. */
  private async request(count: number): Promise<{ asked: Asked[]; ms: number; exhausted: boolean }> {
    const start = process.hrtime.bigint();
    const reply = await this.client.getSuggestions(this.experiment, this.trials, count, this.trials.length + count, this.settings);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (reply.algorithmSettings !== undefined) this.settings = reply.algorithmSettings;
    const asked = reply.suggestions.map((s) => ({ assignments: s.assignments, labels: s.labels, ms, exhausted: reply.exhausted }));
    return { asked, ms, exhausted: reply.exhausted };
  }

  /** Records a finished trial with `value` as its objective. */
  complete(asked: Pick<Asked, 'assignments' | 'labels'>, value: number): void {
    this.trials.push(succeededTrial(this.experiment, this.trials.length, asked.assignments, value, asked.labels));
  }

  /**
   * Asks for `count` suggestions in one request, every trial so far in it (running ones included), as the controller
   * does when it has `count` trials to create; each is started at once (a running trial in the history). Returns
   * their positions in the history, for {@link finish}.
   */
  async start(count: number): Promise<{ index: number; asked: Asked }[]> {
    return (await this.request(count)).asked.map((asked) => {
      const index = this.trials.length;
      this.trials.push(runningTrial(this.experiment, index, asked.assignments, asked.labels));
      return { index, asked };
    });
  }

  /** Records the running trial at `index` (from {@link start}) as finished with `value`. */
  finish(index: number, asked: Pick<Asked, 'assignments' | 'labels'>, value: number): void {
    this.trials[index] = succeededTrial(this.experiment, index, asked.assignments, value, asked.labels);
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
