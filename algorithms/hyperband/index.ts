/**
 * Hyperband: successive halving run over brackets that trade the number of configurations for the budget each gets.
 * Li, Jamieson, DeSalvo, Rostamizadeh & Talwalkar, "Hyperband: A Novel Bandit-Based Approach to Hyperparameter
 * Optimization", JMLR 18(185) (2018). The arithmetic lives in `brackets.ts`.
 *
 * Settings, as Katib's hyperband service reads them:
 * - `r_l` (required): the maximum resource R a configuration gets, e.g. epochs.
 * - `eta` (default 3): the reduction factor; an integer >= 2.
 * - `resource_name` (required): an int or double parameter of the experiment. The algorithm writes each rung's
 *   budget into it; its feasible space is not consulted, as in Katib (whose example declares `min: 1, max: 1`).
 * - `random_state` (optional): accepted so the service can seed the sampling of the first rungs.
 * Katib's validation is kept: parallelTrialCount must be at least eta^s_max, the size of the first rung.
 *
 * Behaviour: the first rung of a bracket samples n configurations at random (non-resource parameters from their
 * priors). When every trial of a rung has finished, the best n_{i+1} (goal-aware; failed trials never rank) are
 * promoted: a promotion is a NEW trial with the parent's other parameters and the budget r_{i+1}. While a rung is
 * still running the algorithm returns no suggestions. After the only rung of bracket 0 has been suggested, it
 * reports itself exhausted.
 *
 * State: `{bracket, rung, issued}` — the current bracket s, rung i and how many of the rung's trials have been
 * suggested. Its size is constant. The trials of a rung are found by the labels this algorithm puts on them
 * (`katib-ts/hyperband-bracket`, `katib-ts/hyperband-rung`; promotions also carry `katib-ts/hyperband-parent`),
 * so the state names no trial, and when the state is lost it is rebuilt from those labels instead of restarting.
 *
 * Differences from Katib's service, and why: rung sizes follow the paper (floor, Katib rounds up, which lets a
 * bracket keep more than 1/eta); s_max is computed with integers (Katib's int(log(R)/log(eta)) gives 4 for
 * R = 243, eta = 3); the rung's trials are found by label (Katib takes the most recently started trials, which
 * breaks when other trials exist); a failed trial is never promoted (Katib raises an exception and stalls).
 */
import type { Algorithm, SuggestRequest, SuggestResult, Suggestion, TrialRecord } from '../core/algorithm.js';
import { inFlight } from '../core/algorithm.js';
import { formatBudget, intLabel, rankByObjective, requiredSetting, resourceParameter, withBudget } from '../core/budget.js';
import type { Issue } from '../core/issues.js';
import { numberSetting, rejectUnknown, seedSetting } from '../core/settings.js';
import type { RangeParameter } from '../core/space.js';
import { sampleAssignment } from '../random/index.js';
import { bracketRungs, maxBracket, type Rung } from './brackets.js';

export { bracketRungs, maxBracket, schedule, type Rung } from './brackets.js';

/** Labels on every trial Hyperband suggests. */
export const HyperbandLabels = {
  bracket: 'katib-ts/hyperband-bracket',
  rung: 'katib-ts/hyperband-rung',
  /** On promotions: the name of the trial whose configuration was promoted. */
  parent: 'katib-ts/hyperband-parent',
} as const;

export const HYPERBAND_SETTINGS = ['r_l', 'eta', 'resource_name', 'random_state'] as const;

export interface HyperbandSettings {
  /** R: the maximum resource (`r_l`). */
  readonly maxResource: number;
  readonly eta: number;
  readonly resource: RangeParameter;
  readonly sMax: number;
}

export interface HyperbandState {
  /** The current bracket s, counting down from s_max; -1 once every bracket has been suggested. */
  readonly bracket: number;
  /** The current rung i of the bracket, 0 … s. */
  readonly rung: number;
  /** How many of this rung's trials have been suggested. */
  readonly issued: number;
}

/** Narrows a state that arrived as JSON; undefined when it is not one this version wrote. */
function readState(value: unknown, sMax: number): HyperbandState | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { bracket, rung, issued } = value as Record<string, unknown>;
  if (!Number.isInteger(bracket) || !Number.isInteger(rung) || !Number.isInteger(issued)) return undefined;
  const s = bracket as number;
  const i = rung as number;
  if (s < -1 || s > sMax || i < 0 || (s >= 0 && i > s) || (issued as number) < 0) return undefined;
  return { bracket: s, rung: i, issued: issued as number };
}

function trialsOf(history: readonly TrialRecord[], s: number, i: number): TrialRecord[] {
  return history.filter((t) => intLabel(t.labels, HyperbandLabels.bracket) === s && intLabel(t.labels, HyperbandLabels.rung) === i);
}

/**
 * Rebuilds the state from the labels on the history when the caller lost it: the lowest bracket seen is the
 * current one (brackets count down), its highest rung the current rung, and every labelled trial of that rung
 * counts as suggested. Undefined when no trial carries the labels.
 */
export function recoverState(history: readonly TrialRecord[], sMax: number): HyperbandState | undefined {
  let s: number | undefined;
  for (const t of history) {
    const b = intLabel(t.labels, HyperbandLabels.bracket);
    if (b !== undefined && b <= sMax && (s === undefined || b < s)) s = b;
  }
  if (s === undefined) return undefined;
  let i = 0;
  for (const t of history) {
    const r = intLabel(t.labels, HyperbandLabels.rung);
    if (intLabel(t.labels, HyperbandLabels.bracket) === s && r !== undefined && r <= s && r > i) i = r;
  }
  return { bracket: s, rung: i, issued: trialsOf(history, s, i).length };
}

export const hyperband: Algorithm<HyperbandSettings, HyperbandState> = {
  name: 'hyperband',
  parseSettings(raw, ctx) {
    const issues: Issue[] = [];
    rejectUnknown(raw, HYPERBAND_SETTINGS, issues);
    seedSetting(raw, 'random_state', issues);
    const resource = resourceParameter(raw, 'resource_name', ctx.space, issues);
    const rText = requiredSetting(raw, 'r_l', 'the maximum resource per trial, e.g. the number of epochs', issues);
    // An int resource cannot go below 1, so R must be at least 1 for the budgets to stay <= R.
    const rRule = resource?.type === 'int' ? { min: 1 } : { min: 0, exclusiveMin: true };
    const maxResource = rText === undefined ? Number.NaN : numberSetting(raw, 'r_l', Number.NaN, rRule, issues);
    const eta = numberSetting(raw, 'eta', 3, { min: 2, integer: true }, issues);
    if (issues.length > 0) return issues;
    const sMax = maxBracket(maxResource, eta);
    const firstRung = eta ** sMax;
    if (ctx.parallelTrialCount < firstRung) {
      return [
        {
          path: 'spec.parallelTrialCount',
          message:
            `must be at least ${firstRung} for hyperband with r_l=${maxResource} and eta=${eta}: the first rung runs ` +
            `eta^s_max = ${firstRung} trials at once (parallelTrialCount=${ctx.parallelTrialCount}); raise parallelTrialCount, lower r_l or raise eta`,
        },
      ];
    }
    return { maxResource, eta, resource: resource as RangeParameter, sMax };
  },
  suggest(req, settings) {
    return suggestHyperband(req, settings);
  },
};

function suggestHyperband(req: SuggestRequest<HyperbandState>, settings: HyperbandSettings): SuggestResult<HyperbandState> {
  const { eta, sMax, maxResource, resource } = settings;
  let st = readState(req.state, sMax) ?? recoverState(req.history, sMax) ?? { bracket: sMax, rung: 0, issued: 0 };
  const out: Suggestion[] = [];
  for (;;) {
    const s = st.bracket;
    if (s < 0) return { suggestions: out, state: st, exhausted: true };
    const i = st.rung;
    const rung = bracketRungs(s, sMax, eta, maxResource)[i] as Rung;
    const labels = { [HyperbandLabels.bracket]: String(s), [HyperbandLabels.rung]: String(i) };
    const budget = formatBudget(resource, rung.budget);
    // A promotion rung holds the best of the rung below; fewer when trials below failed.
    const parents = i === 0 ? [] : rankByObjective(trialsOf(req.history, s, i - 1), req.goal).slice(0, rung.trials);
    const size = i === 0 ? rung.trials : parents.length;
    let issued = st.issued;
    while (issued < size && out.length < req.count) {
      const parent = parents[issued];
      if (parent === undefined) {
        const sample = Object.fromEntries(sampleAssignment(req.space, req.rng).map((a) => [a.name, a.value]));
        out.push({ assignments: withBudget(req.space, sample, resource, budget), labels });
      } else {
        out.push({ assignments: withBudget(req.space, parent.assignments, resource, budget), labels: { ...labels, [HyperbandLabels.parent]: parent.name } });
      }
      issued++;
    }
    st = { bracket: s, rung: i, issued };
    if (issued < size) return { suggestions: out, state: st };
    // Everything of the last rung of the last bracket is out: nothing will ever be suggested again.
    if (s === 0) return { suggestions: out, state: { bracket: -1, rung: 0, issued: 0 }, exhausted: true };
    // Wait until every suggested trial of the rung exists and has finished (a suggestion not yet turned into a trial
    // is absent from the history, so counting guards against promoting from half a rung).
    const members = trialsOf(req.history, s, i);
    if (members.length < issued || inFlight(members).length > 0) return { suggestions: out, state: st };
    st = i >= s ? { bracket: s - 1, rung: 0, issued: 0 } : { bracket: s, rung: i + 1, issued: 0 };
  }
}
