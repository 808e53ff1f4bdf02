/**
 * Grid search: every combination of the parameters' values exactly once, in a deterministic order (the first
 * parameter varies slowest, as nested loops in declaration order). A double needs a `step`; an int's step defaults
 * to 1. When every combination has been suggested, the algorithm reports itself exhausted and the experiment ends
 * with ExperimentSuggestionEndReached.
 *
 * State: the index of the next combination. Combinations already present in the history are skipped, so a lost
 * state never produces a duplicate trial.
 */
import type { Algorithm, SuggestResult, Suggestion } from '../core/algorithm.js';
import type { Issue } from '../core/issues.js';
import { assignmentKey, cardinality, formatValue, snapRange, type Assignment, type Parameter, type SearchSpace } from '../core/space.js';
import { rejectUnknown, seedSetting, SETTINGS_PATH } from '../core/settings.js';
import { historyKeys } from '../random/index.js';

/** The most combinations a grid may have; larger grids are almost always a mistake in the step. */
export const MAX_GRID_SIZE = 10_000_000;

export interface GridSettings {
  readonly size: number;
}

export interface GridState {
  readonly next: number;
}

/** The i-th value of a parameter on its grid. */
export function gridValue(p: Parameter, i: number): string {
  switch (p.type) {
    case 'categorical':
      return p.values[i] as string;
    case 'discrete':
      return p.raw[i] as string;
    case 'int':
    case 'double':
      return formatValue(p, snapRange(p, p.min + i * (p.step ?? 1)));
  }
}

/** The combination at `index` (mixed radix, last parameter fastest). */
export function combinationAt(space: SearchSpace, index: number): Assignment[] {
  const out: Assignment[] = new Array<Assignment>(space.length);
  let rest = index;
  for (let j = space.length - 1; j >= 0; j--) {
    const p = space[j] as Parameter;
    const n = cardinality(p);
    out[j] = { name: p.name, value: gridValue(p, rest % n) };
    rest = Math.floor(rest / n);
  }
  return out;
}

export const grid: Algorithm<GridSettings, GridState> = {
  name: 'grid',
  parseSettings(raw, ctx) {
    const issues: Issue[] = [];
    // random_state is accepted for compatibility with Katib's grid service; the order is deterministic regardless.
    rejectUnknown(raw, ['random_state'], issues);
    seedSetting(raw, 'random_state', issues);
    ctx.space.forEach((p, i) => {
      if (p.type === 'double' && p.step === undefined) {
        issues.push({
          path: `spec.parameters[${i}].feasibleSpace.step`,
          message: `grid needs a step for double parameter ${JSON.stringify(p.name)} (min=${p.min}, max=${p.max}); add feasibleSpace.step`,
        });
      }
    });
    if (issues.length > 0) return issues;
    const size = ctx.space.reduce((n, p) => n * cardinality(p), 1);
    if (size > MAX_GRID_SIZE) {
      return [{ path: SETTINGS_PATH, message: `the grid has ${size} combinations, more than ${MAX_GRID_SIZE}; use larger steps or another algorithm` }];
    }
    return { size };
  },
  suggest(req, settings): SuggestResult<GridState> {
    const seen = historyKeys(req.space, req.history);
    const suggestions: Suggestion[] = [];
    let next = req.state?.next ?? 0;
    while (suggestions.length < req.count && next < settings.size) {
      const a = combinationAt(req.space, next++);
      const key = assignmentKey(a);
      if (seen.has(key)) continue;
      seen.add(key);
      suggestions.push({ assignments: a });
    }
    return { suggestions, state: { next }, exhausted: next >= settings.size };
  },
};
