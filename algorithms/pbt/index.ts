/**
 * Population based training. Jaderberg, Dalibard, Osindero, Czarnecki, Donahue, Razavi, Vinyals, Green, Dunning,
 * Simonyan, Fernando & Kavukcuoglu, "Population Based Training of Neural Networks", arXiv:1711.09846 (2017).
 *
 * A population of `n_population` members trains in generations; a trial is one member's training for one
 * generation, resumed from a checkpoint. Generation 0 samples every member from the priors. When every member of
 * generation g has a result, generation g + 1 is planned member by member (truncation selection, section 3.1):
 * - a member in the bottom `truncation_threshold` fraction (or one with no result) EXPLOITS: it copies the
 *   hyperparameters and the checkpoint of a member drawn uniformly from the top fraction, then EXPLORES them
 *   (`explore.ts`: perturb by 0.8/1.2, or resample with `resample_probability`);
 * - every other member continues from its own checkpoint with its own hyperparameters.
 * The parent of a generation-(g+1) trial is therefore always a generation-g trial: the one whose checkpoint it
 * resumes. Katib's service, by contrast, perturbs every non-bottom member and gives an exploiting member its own
 * (worse) checkpoint as parent while copying the top member's hyperparameters; we follow the paper.
 *
 * Settings, as Katib's pbt service reads them: `n_population` (required, integer >= 5), `truncation_threshold`
 * (required, 0 … 1), `resample_probability` (optional, 0 … 1; default 0: always perturb), `suggestion_trial_dir`
 * (required: where each trial finds its checkpoint folder), and `random_state` (optional seed).
 *
 * Trials are labelled as Katib labels them — `pbt.suggestion.katib.kubeflow.org/generation` and, from generation 1,
 * `pbt.suggestion.katib.kubeflow.org/parent` (the parent trial's name) — plus `katib-ts/pbt-member` (the member's
 * index). Checkpoints follow Katib's layout ({@link checkpointPlan}): a trial's folder is `<experiment>/<trial>` on
 * the suggestion volume, mounted at `suggestion_trial_dir`, and seeded with a copy of its parent's folder before the
 * trial starts. The copy is I/O, so the runtime performs it from the labels; trial names are left to the controller
 * (Katib's service invents `<experiment>-<uuid>` names so that it can create the folders itself).
 *
 * A trial that fails or reports no objective is retried with the same assignments and labels (as Katib re-queues
 * it), at most {@link MAX_ATTEMPTS} times in all; after that the member counts as having no result and exploits in
 * the next generation. If a whole generation ends without one result the algorithm reports itself exhausted.
 *
 * State: `{generation, issued, retried}` — the current generation, how many of its members have been suggested,
 * and the failed trials already retried (bounded by n_population · MAX_ATTEMPTS). Everything else is read from
 * the labels on the history, from which a lost state is rebuilt.
 */
import type { Algorithm, Goal, SuggestRequest, SuggestResult, Suggestion, TrialRecord } from '../core/algorithm.js';
import { inFlight, toLoss } from '../core/algorithm.js';
import { intLabel, rankByObjective, requiredSetting } from '../core/budget.js';
import type { Issue } from '../core/issues.js';
import { numberSetting, rejectUnknown, seedSetting } from '../core/settings.js';
import type { Assignment, SearchSpace } from '../core/space.js';
import { sampleAssignment } from '../random/index.js';
import { explore } from './explore.js';

export { explore, perturb, PERTURB_FACTORS } from './explore.js';

/** Labels on every PBT trial: Katib's two, and the member index. */
export const PbtLabels = {
  generation: 'pbt.suggestion.katib.kubeflow.org/generation',
  parent: 'pbt.suggestion.katib.kubeflow.org/parent',
  member: 'katib-ts/pbt-member',
} as const;

export const PBT_SETTINGS = ['n_population', 'truncation_threshold', 'resample_probability', 'suggestion_trial_dir', 'random_state'] as const;

/** Katib's lower bound on the population. */
export const MIN_POPULATION = 5;

/** Attempts per member and generation (the first run and its retries). */
export const MAX_ATTEMPTS = 3;

export interface PbtSettings {
  readonly population: number;
  readonly truncationThreshold: number;
  readonly resampleProbability: number;
  readonly trialDir: string;
}

export interface PbtState {
  readonly generation: number;
  /** Members 0 … issued-1 of this generation have been suggested. */
  readonly issued: number;
  /** Names of this generation's failed trials for which a retry has been suggested. */
  readonly retried: readonly string[];
}

/**
 * Where a PBT trial keeps its checkpoint, relative to the suggestion volume (Katib's `<experiment>/<trial>`), and
 * the folder to copy into it before the trial starts: its parent's, or none in generation 0. Called by the runtime.
 */
export function checkpointPlan(experimentName: string, trial: { readonly name: string; readonly labels: Readonly<Record<string, string>> }): { folder: string; copyFrom: string | undefined } {
  const parent = trial.labels[PbtLabels.parent];
  return { folder: `${experimentName}/${trial.name}`, copyFrom: parent === undefined || parent === '' ? undefined : `${experimentName}/${parent}` };
}

export const pbt: Algorithm<PbtSettings, PbtState> = {
  name: 'pbt',
  parseSettings(raw) {
    const issues: Issue[] = [];
    rejectUnknown(raw, PBT_SETTINGS, issues);
    seedSetting(raw, 'random_state', issues);
    const n = requiredSetting(raw, 'n_population', `the population size, an integer >= ${MIN_POPULATION}`, issues);
    const t = requiredSetting(raw, 'truncation_threshold', 'the fraction of the population that exploits, between 0 and 1', issues);
    const trialDir = requiredSetting(raw, 'suggestion_trial_dir', 'the folder where each trial finds its checkpoint, e.g. /var/log/katib/checkpoints/', issues);
    const population = n === undefined ? 0 : numberSetting(raw, 'n_population', 0, { min: MIN_POPULATION, integer: true }, issues);
    const truncationThreshold = t === undefined ? 0 : numberSetting(raw, 'truncation_threshold', 0, { min: 0, max: 1 }, issues);
    const resampleProbability = numberSetting(raw, 'resample_probability', 0, { min: 0, max: 1 }, issues);
    if (issues.length > 0) return issues;
    return { population, truncationThreshold, resampleProbability, trialDir: trialDir as string };
  },
  suggest(req, settings) {
    return suggestPbt(req, settings);
  },
};

const slotKey = (generation: number, member: number): string => `${generation}/${member}`;

/** PBT trials of the history by generation and member. */
function indexHistory(history: readonly TrialRecord[], population: number): Map<string, TrialRecord[]> {
  const index = new Map<string, TrialRecord[]>();
  for (const t of history) {
    const g = intLabel(t.labels, PbtLabels.generation);
    const i = intLabel(t.labels, PbtLabels.member);
    if (g === undefined || i === undefined || i >= population) continue;
    const key = slotKey(g, i);
    const list = index.get(key);
    if (list) list.push(t);
    else index.set(key, [t]);
  }
  return index;
}

function readState(value: unknown, population: number): PbtState | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { generation, issued, retried } = value as Record<string, unknown>;
  if (!Number.isInteger(generation) || (generation as number) < 0) return undefined;
  if (!Number.isInteger(issued) || (issued as number) < 0 || (issued as number) > population) return undefined;
  if (!Array.isArray(retried) || !retried.every((r) => typeof r === 'string')) return undefined;
  return { generation: generation as number, issued: issued as number, retried: retried as string[] };
}

/** Rebuilds the state from the labels: the latest generation, with every member seen there counted as suggested. */
export function recoverState(history: readonly TrialRecord[], population: number): PbtState | undefined {
  let generation: number | undefined;
  let issued = 0;
  for (const t of history) {
    const g = intLabel(t.labels, PbtLabels.generation);
    const i = intLabel(t.labels, PbtLabels.member);
    if (g === undefined || i === undefined || i >= population) continue;
    if (generation === undefined || g > generation) {
      generation = g;
      issued = 0;
    }
    if (g === generation) issued = Math.max(issued, i + 1);
  }
  return generation === undefined ? undefined : { generation, issued, retried: [] };
}

/**
 * Plans member `i` of the next generation from the previous one's results (`previous[j]`: member j's result, or
 * undefined when it has none). Exported for tests.
 */
export function planMember(
  i: number,
  previous: readonly (TrialRecord | undefined)[],
  settings: PbtSettings,
  goal: Goal,
  space: SearchSpace,
  rng: SuggestRequest<PbtState>['rng'],
): { assignments: Record<string, string>; parent: TrialRecord; exploited: boolean } {
  const n = settings.population;
  const ranked = previous
    .map((t, j) => ({ t, j }))
    .filter((x): x is { t: TrialRecord; j: number } => x.t !== undefined)
    .sort((a, b) => toLoss(a.t.objective as number, goal) - toLoss(b.t.objective as number, goal) || a.j - b.j);
  const m = ranked.length;
  // At least one member is never in the bottom, and the top is never empty, so there is always someone to copy.
  const bottomCount = Math.max(0, Math.min(Math.floor(n * settings.truncationThreshold), m - 1));
  const topCount = Math.max(1, Math.min(Math.ceil(n * settings.truncationThreshold), m - bottomCount));
  const own = previous[i];
  const inBottom = ranked.slice(m - bottomCount).some((x) => x.j === i);
  if (own !== undefined && !inBottom) return { assignments: { ...own.assignments }, parent: own, exploited: false };
  const donor = rng.pick(ranked.slice(0, topCount)).t;
  return { assignments: explore(space, donor.assignments, settings.resampleProbability, rng), parent: donor, exploited: true };
}

function inSpaceOrder(space: SearchSpace, values: Readonly<Record<string, string>>): Assignment[] {
  return space.map((p) => ({ name: p.name, value: values[p.name] ?? '' }));
}

function suggestPbt(req: SuggestRequest<PbtState>, settings: PbtSettings): SuggestResult<PbtState> {
  const n = settings.population;
  const index = indexHistory(req.history, n);
  const resultOf = (g: number, i: number): TrialRecord | undefined => rankByObjective(index.get(slotKey(g, i)) ?? [], req.goal)[0];
  let st = readState(req.state, n) ?? recoverState(req.history, n) ?? { generation: 0, issued: 0, retried: [] };
  const out: Suggestion[] = [];
  for (;;) {
    const g = st.generation;
    const previous = g === 0 ? [] : Array.from({ length: n }, (_, j) => resultOf(g - 1, j));
    const retried = new Set(st.retried);
    let issued = st.issued;
    let waiting = false;
    let results = 0;
    for (let i = 0; i < n; i++) {
      const attempts = index.get(slotKey(g, i)) ?? [];
      if (i >= issued && attempts.length === 0) {
        // Members are suggested in order; stop at the first one that no longer fits in this call.
        if (out.length >= req.count) {
          waiting = true;
          break;
        }
        const labels: Record<string, string> = { [PbtLabels.generation]: String(g), [PbtLabels.member]: String(i) };
        if (g === 0) {
          out.push({ assignments: sampleAssignment(req.space, req.rng), labels });
        } else {
          const plan = planMember(i, previous, settings, req.goal, req.space, req.rng);
          out.push({ assignments: inSpaceOrder(req.space, plan.assignments), labels: { ...labels, [PbtLabels.parent]: plan.parent.name } });
        }
        issued = i + 1;
        waiting = true;
        continue;
      }
      issued = Math.max(issued, i + 1);
      if (resultOf(g, i) !== undefined) {
        results++;
        continue;
      }
      const failed = attempts.filter((a) => retried.has(a.name)).length;
      // Running, or a suggested trial (first run or retry) not yet in the history.
      if (inFlight(attempts).length > 0 || attempts.length < 1 + failed) {
        waiting = true;
        continue;
      }
      if (attempts.length >= MAX_ATTEMPTS) continue; // given up: this member has no result this generation
      if (out.length >= req.count) {
        waiting = true;
        continue;
      }
      const last = attempts.find((a) => !retried.has(a.name)) as TrialRecord;
      // Only PBT's own labels travel: the trial's others (experiment, trial name) belong to the failed trial.
      const labels = Object.fromEntries(Object.values(PbtLabels).flatMap((k) => (last.labels[k] === undefined ? [] : [[k, last.labels[k]]])));
      out.push({ assignments: inSpaceOrder(req.space, last.assignments), labels });
      retried.add(last.name);
      waiting = true;
    }
    st = { generation: g, issued, retried: [...retried] };
    if (waiting || issued < n) return { suggestions: out, state: st };
    if (results === 0) return { suggestions: out, state: st, exhausted: true };
    st = { generation: g + 1, issued: 0, retried: [] };
  }
}
