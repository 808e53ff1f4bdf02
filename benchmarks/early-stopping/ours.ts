/**
 * Tuning runs of katib-ts's own methods on the curve family, driven by calling the PURE algorithm modules directly
 * (algorithms/: `suggest` with the history and the state the previous call returned, as the suggestion service
 * does), not through gRPC. Every run is sequential — one trial at a time, each finished before the next suggestion
 * (parallelTrialCount = 1) — so "compute" is simply the sum of the epochs trained; Hyperband's settings are validated
 * with parallelTrialCount = 81 (Katib requires eta^s_max) and still run one trial at a time, which changes no decision
 * because Hyperband waits for a whole rung anyway.
 *
 * - `none`: random search, every trial trains maxEpochs.
 * - `medianstop`: the same random search (the same seed, so the same configurations in the same order) with the
 *   median rule as Katib applies it: when a trial is created its rules come from `medianStop.rules` over the
 *   objective logs of the trials that had Succeeded by then (early-stopped ones do not count); each report goes
 *   through the collectors' EarlyStoppingTracker (src/collector/rules.ts), which compares the BEST loss so far against
 *   each rule from the rule's start_step-th report on, and the trial stops right after the report that breaks a
 *   rule (no epoch is charged for the time a real kill takes). Katib's defaults: min_trials_required = 3,
 *   start_step = 4.
 * - `hyperband`, `asha`: the resource parameter `epochs` receives each trial's budget (r_l = max_resource = 81,
 *   min_resource = 1, eta = 3). A promotion is a NEW trial that, as in Katib, trains from scratch: it costs its whole
 *   budget r. The `-resume` variants make the identical decisions (the curves are deterministic, so a resumed trial
 *   reports the same numbers) but charge a promotion only r − r_parent, as a trial that resumes its parent's
 *   checkpoint would. Hyperband restarts with a fresh experiment when it reports itself exhausted (after the s = 0
 *   bracket), keeping the run's spent compute and its incumbent; ASHA never ends on its own.
 * - `pbt`: a population of 20, each trial trains 9 epochs from its parent's checkpoint (cost 9), ranked by its last
 *   report (metric strategy `latest`: the checkpoint's current loss), truncation 0.2, resample probability 0.25,
 *   nine generations, so every final model has trained 81 epochs and the run spends 20 × 81 epochs — exactly the
 *   fixed budget. Its regret is the noiseless loss of the best final member's model minus f*.
 */
import type { Algorithm, SuggestResult, TrialRecord } from '../../algorithms/core/algorithm.js';
import { formatIssues, isIssues } from '../../algorithms/core/issues.js';
import { createRng, type Rng } from '../../algorithms/core/rng.js';
import type { SearchSpace } from '../../algorithms/core/space.js';
import { medianStop, type StopRule } from '../../algorithms/earlystopping/medianstop.js';
import { AshaLabels } from '../../algorithms/asha/index.js';
import { HyperbandLabels } from '../../algorithms/hyperband/index.js';
import { PbtLabels } from '../../algorithms/pbt/index.js';
import { findAlgorithm } from '../../algorithms/index.js';
import { EarlyStoppingTracker } from '../../src/collector/rules.js';
import { MAX_EPOCHS, observe, observedCurve, trainOneEpoch, trueLoss, type Config } from './curves.js';
import { configOf, RESOURCE, searchSpace } from './family.js';
import { StopWatch, type TraceEvent } from './metrics.js';

export const OUR_METHODS = ['none', 'medianstop', 'hyperband', 'hyperband-resume', 'asha', 'asha-resume'] as const;
export type OurMethod = (typeof OUR_METHODS)[number];

/** What a run needs to know to decide when to stop (see {@link StopWatch}). */
export interface RunLimits {
  readonly seed: number;
  readonly bestFinal: number;
  readonly target: number;
  readonly budget: number;
  readonly cap: number;
}

/** How a promotion is charged: `restart`, its whole budget r (Katib); `resume`, only r − r_parent. */
type CostModel = 'restart' | 'resume';

const METRIC = 'loss';
const MEDIAN_STOP_SETTINGS = {} as const; // Katib's defaults: min_trials_required = 3, start_step = 4

/** Looks an algorithm up in the registry and validates its settings; throws with every issue. */
function configured(name: string, raw: Readonly<Record<string, string>>, space: SearchSpace): { algorithm: Algorithm<unknown, unknown>; settings: unknown } {
  const algorithm = findAlgorithm(name);
  if (algorithm === undefined) throw new Error(`algorithm ${JSON.stringify(name)} is not registered in algorithms/index.ts`);
  const settings = algorithm.parseSettings(raw, { space, parallelTrialCount: MAX_EPOCHS, maxTrialCount: undefined });
  if (isIssues(settings)) throw new Error(`${name}: invalid settings for the benchmark:\n${formatIssues(settings)}`);
  return { algorithm, settings };
}

/**
 * The reports of a trial trained from scratch, cut after the first report that breaks a rule, as decided by the
 * collectors' own rule tracker (src/collector/rules.ts: the objective is compared by its best value so far, from the
 * rule's start_step-th report on).
 */
function trainWithRules(config: Config, seed: number, rules: readonly StopRule[]): { observed: number[]; stopped: boolean } {
  const full = observedCurve(config, MAX_EPOCHS, seed);
  if (rules.length === 0) return { observed: full, stopped: false };
  const tracker = new EarlyStoppingTracker(rules.map((r) => ({ ...r })), { name: METRIC, maximize: false });
  for (let n = 1; n <= full.length; n++) {
    // String(x) round-trips a double exactly, so the tracker compares the very values reported.
    if (tracker.observe([{ timestamp: '', name: METRIC, value: String(full[n - 1]) }]) !== undefined) return { observed: full.slice(0, n), stopped: true };
  }
  return { observed: full, stopped: false };
}

function record(name: string, assignments: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>, status: TrialRecord['status'], objective: number): TrialRecord {
  return { name, assignments, status, objective, metrics: { [METRIC]: objective }, labels };
}

function suggestOne(algorithm: Algorithm<unknown, unknown>, settings: unknown, space: SearchSpace, history: readonly TrialRecord[], state: unknown, rng: Rng): SuggestResult<unknown> {
  return algorithm.suggest({ space, goal: 'minimize', objectiveMetric: METRIC, history, count: 1, state, rng }, settings);
}

const asRecord = (assignments: readonly { name: string; value: string }[]): Record<string, string> => Object.fromEntries(assignments.map((a) => [a.name, a.value]));

/** Random search with or without the median rule; returns the run's trace. */
function randomSearch(limits: RunLimits, withMedianStop: boolean): TraceEvent[] {
  const space = searchSpace(false);
  const { algorithm, settings } = configured('random', {}, space);
  const esSettings = medianStop.parseSettings(MEDIAN_STOP_SETTINGS);
  if (isIssues(esSettings)) throw new Error(formatIssues(esSettings));
  // The same stream for both methods: medianstop sees the configurations `none` sees, in the same order.
  const rng = createRng(`${limits.seed}/random`);
  const watch = new StopWatch(limits.bestFinal, limits.target, limits.budget, limits.cap);
  const history: TrialRecord[] = [];
  const logs: number[][] = [];
  const events: TraceEvent[] = [];
  let spent = 0;
  for (let i = 0; ; i++) {
    const res = suggestOne(algorithm, settings, space, history, null, rng);
    const s = res.suggestions[0];
    if (s === undefined) throw new Error('random search returned no suggestion');
    const assignments = asRecord(s.assignments);
    const config = configOf(assignments);
    const rules = withMedianStop ? medianStop.rules({ metricName: METRIC, goal: 'minimize', completed: logs, settings: esSettings }) : [];
    const { observed, stopped } = trainWithRules(config, limits.seed, rules);
    const objective = Math.min(...observed);
    history.push(record(`trial-${i}`, assignments, {}, stopped ? 'early-stopped' : 'succeeded', objective));
    if (!stopped) logs.push(observed);
    spent += observed.length;
    const event: TraceEvent = stopped ? { spent } : { spent, full: { config, objective } };
    events.push(event);
    if (watch.add(event)) return events;
  }
}

/** Hyperband or ASHA with the resource parameter `epochs`; promotions charged per `cost`. */
function multiFidelity(limits: RunLimits, name: 'hyperband' | 'asha', cost: CostModel): TraceEvent[] {
  const space = searchSpace(true);
  const raw: Record<string, string> =
    name === 'hyperband'
      ? { r_l: String(MAX_EPOCHS), eta: '3', resource_name: RESOURCE }
      : { resource_name: RESOURCE, min_resource: '1', max_resource: String(MAX_EPOCHS), reduction_factor: '3' };
  const { algorithm, settings } = configured(name, raw, space);
  const parentLabel = name === 'hyperband' ? HyperbandLabels.parent : AshaLabels.parent;
  const rng = createRng(`${limits.seed}/${name}`);
  const watch = new StopWatch(limits.bestFinal, limits.target, limits.budget, limits.cap);
  const budgetOf = new Map<string, number>();
  const events: TraceEvent[] = [];
  let history: TrialRecord[] = [];
  let state: unknown;
  let spent = 0;
  for (let i = 0; ; i++) {
    let res = suggestOne(algorithm, settings, space, history, state, rng);
    if (res.suggestions.length === 0 && res.exhausted === true) {
      // Every bracket has run: start the algorithm over, as a new experiment would.
      history = [];
      res = suggestOne(algorithm, settings, space, history, undefined, rng);
    }
    state = res.state;
    const s = res.suggestions[0];
    if (s === undefined) throw new Error(`${name} returned no suggestion although every trial has finished (trial ${i})`);
    const assignments = asRecord(s.assignments);
    const labels = s.labels ?? {};
    const epochs = Number(assignments[RESOURCE]);
    const config = configOf(assignments);
    const observed = observedCurve(config, epochs, limits.seed);
    const objective = Math.min(...observed);
    const trialName = `trial-${i}`;
    budgetOf.set(trialName, epochs);
    history.push(record(trialName, assignments, labels, 'succeeded', objective));
    const parent = labels[parentLabel];
    const resumed = cost === 'resume' && parent !== undefined ? (budgetOf.get(parent) ?? 0) : 0;
    spent += epochs - resumed;
    const event: TraceEvent = epochs >= MAX_EPOCHS ? { spent, full: { config, objective } } : { spent };
    events.push(event);
    if (watch.add(event)) return events;
  }
}

/** Runs one of our methods for one seed; returns its trace. */
export function runOurs(method: OurMethod, limits: RunLimits): TraceEvent[] {
  switch (method) {
    case 'none':
      return randomSearch(limits, false);
    case 'medianstop':
      return randomSearch(limits, true);
    case 'hyperband':
      return multiFidelity(limits, 'hyperband', 'restart');
    case 'hyperband-resume':
      return multiFidelity(limits, 'hyperband', 'resume');
    case 'asha':
      return multiFidelity(limits, 'asha', 'restart');
    case 'asha-resume':
      return multiFidelity(limits, 'asha', 'resume');
  }
}

export const PBT_POPULATION = 20;
export const PBT_EPOCHS_PER_TRIAL = 9;

export interface PbtOutcome {
  readonly spent: number;
  /** Noiseless loss of the best final member's model (by its last report) minus f*. */
  readonly regret: number;
  readonly trials: number;
}

/** One PBT run (see the module comment); its models train maxEpochs in all. */
export function runPbt(seed: number, bestFinal: number): PbtOutcome {
  const space = searchSpace(false);
  const raw = { n_population: String(PBT_POPULATION), truncation_threshold: '0.2', resample_probability: '0.25', suggestion_trial_dir: '/var/log/katib/checkpoints/' };
  const { algorithm, settings } = configured('pbt', raw, space);
  const generations = MAX_EPOCHS / PBT_EPOCHS_PER_TRIAL;
  const rng = createRng(`${seed}/pbt`);
  // A checkpoint: the model's noiseless loss and the epochs its lineage has trained.
  const checkpoints = new Map<string, { loss: number | undefined; epochs: number }>();
  const history: TrialRecord[] = [];
  let state: unknown;
  let spent = 0;
  for (let i = 0; i < PBT_POPULATION * generations; i++) {
    const res = suggestOne(algorithm, settings, space, history, state, rng);
    state = res.state;
    const s = res.suggestions[0];
    if (s === undefined) throw new Error(`pbt returned no suggestion although every trial has finished (trial ${i})`);
    const assignments = asRecord(s.assignments);
    const labels = s.labels ?? {};
    const config = configOf(assignments);
    const parent = labels[PbtLabels.parent];
    const from = parent === undefined ? { loss: undefined, epochs: 0 } : checkpoints.get(parent);
    if (from === undefined) throw new Error(`pbt trial ${i} names parent ${parent} that never ran`);
    let loss = from.loss;
    let last = Number.NaN;
    for (let e = 1; e <= PBT_EPOCHS_PER_TRIAL; e++) {
      loss = trainOneEpoch(config, loss);
      last = observe(config, loss, from.epochs + e, seed);
    }
    const name = `trial-${i}`;
    checkpoints.set(name, { loss, epochs: from.epochs + PBT_EPOCHS_PER_TRIAL });
    history.push(record(name, assignments, labels, 'succeeded', last));
    spent += PBT_EPOCHS_PER_TRIAL;
  }
  const lastGeneration = history.filter((t) => t.labels[PbtLabels.generation] === String(generations - 1));
  const best = lastGeneration.reduce((a, b) => ((b.objective as number) < (a.objective as number) ? b : a));
  const model = checkpoints.get(best.name) as { loss: number; epochs: number };
  if (model.epochs !== MAX_EPOCHS) throw new Error(`pbt's final model trained ${model.epochs} epochs, expected ${MAX_EPOCHS}`);
  return { spent, regret: model.loss - bestFinal, trials: history.length };
}

/** The noiseless loss of `config` trained from scratch through {@link trainOneEpoch}: checks the PBT model. */
export function pbtModelMatchesCurve(config: Config): number {
  let loss: number | undefined;
  let worst = 0;
  for (let t = 1; t <= MAX_EPOCHS; t++) {
    loss = trainOneEpoch(config, loss);
    worst = Math.max(worst, Math.abs(loss - trueLoss(config, t)) / trueLoss(config, t));
  }
  return worst;
}
