/**
 * Random search: independent draws from each parameter's prior.
 * Bergstra & Bengio, "Random Search for Hyper-Parameter Optimization", JMLR 13 (2012).
 *
 * Settings: `random_state` (seed). In a finite space it avoids repeating an assignment already tried while an
 * untried one is likely to exist (a bounded number of redraws).
 */
import type { Algorithm, SuggestResult, Suggestion } from '../core/algorithm.js';
import type { Issue } from '../core/issues.js';
import { assignmentKey, cardinality, samplePrior, type Assignment, type SearchSpace } from '../core/space.js';
import { rejectUnknown, seedSetting } from '../core/settings.js';
import type { Rng } from '../core/rng.js';

export interface RandomSettings {
  readonly randomState: number | undefined;
}

/** Draws one full assignment from the priors. */
export function sampleAssignment(space: SearchSpace, rng: Rng): Assignment[] {
  return space.map((p) => ({ name: p.name, value: samplePrior(p, rng) }));
}

/** Keys of every assignment in the history, to avoid duplicates. */
export function historyKeys(space: SearchSpace, history: readonly { assignments: Readonly<Record<string, string>> }[]): Set<string> {
  return new Set(history.map((t) => assignmentKey(space.map((p) => ({ name: p.name, value: t.assignments[p.name] ?? '' })))));
}

export const random: Algorithm<RandomSettings, null> = {
  name: 'random',
  parseSettings(raw) {
    const issues: Issue[] = [];
    rejectUnknown(raw, ['random_state'], issues);
    const randomState = seedSetting(raw, 'random_state', issues);
    return issues.length > 0 ? issues : { randomState };
  },
  suggest(req): SuggestResult<null> {
    const size = req.space.reduce((n, p) => n * cardinality(p), 1);
    const suggestions: Suggestion[] = [];
    if (!Number.isFinite(size)) {
      // A continuous parameter makes repeats practically impossible: no need to look at the history.
      for (let i = 0; i < req.count; i++) suggestions.push({ assignments: sampleAssignment(req.space, req.rng) });
      return { suggestions, state: null };
    }
    const seen = historyKeys(req.space, req.history);
    for (let i = 0; i < req.count; i++) {
      let a = sampleAssignment(req.space, req.rng);
      // Redraw duplicates only while the finite space still has room.
      for (let tries = 0; seen.size < size && seen.has(assignmentKey(a)) && tries < 64; tries++) a = sampleAssignment(req.space, req.rng);
      seen.add(assignmentKey(a));
      suggestions.push({ assignments: a });
    }
    return { suggestions, state: null };
  },
};
