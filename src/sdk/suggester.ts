/**
 * Calls a registered algorithm in process exactly as the gRPC Suggestion adapter (src/suggestion/adapter.ts) does,
 * so a study gives the suggestions a Katib experiment would get:
 * - settings are Katib's strings, parsed by the algorithm's own `parseSettings` with the same context
 *   (`parallelTrialCount`, `maxTrialCount`);
 * - state travels as the JSON text the adapter puts under the `katib-ts.state` setting, and is parsed back before
 *   each call, so an algorithm sees the same values in process as over the wire;
 * - the Rng's seed is `<random_state>/<total requests>/<history length>` when `random_state` is set (the
 *   controller's `total_request_number` is the suggestions made so far plus this request's count), fresh entropy
 *   otherwise.
 */
import { randomBytes } from 'node:crypto';
import type { AnyAlgorithm, Goal, RawSettings, SuggestResult, TrialRecord } from '../../algorithms/core/algorithm.js';
import { createRng } from '../../algorithms/core/rng.js';
import type { SearchSpace } from '../../algorithms/core/space.js';

/** The algorithm's state as the adapter carries it: JSON text, or undefined when there is none. */
export type StateText = string | undefined;

/** The seed the adapter derives for one GetSuggestions call. */
export function suggestionSeed(raw: RawSettings, totalRequests: number, historyLength: number): string {
  const base = raw['random_state'];
  return base !== undefined && base !== '' ? `${base}/${totalRequests}/${historyLength}` : randomBytes(16).toString('hex');
}

/** The adapter's encoding of a reply's state: absent for undefined and null. */
export function encodeState(state: unknown): StateText {
  return state === undefined || state === null ? undefined : JSON.stringify(state);
}

/** The adapter's decoding of the state setting. */
export function decodeState(text: StateText): unknown {
  return text === undefined || text === '' ? undefined : (JSON.parse(text) as unknown);
}

/** What stays the same across a study's GetSuggestions calls: the algorithm, its settings and the space. */
export interface SuggestCall {
  readonly algorithm: AnyAlgorithm;
  /** What `parseSettings` returned for `raw`. */
  readonly settings: unknown;
  readonly raw: RawSettings;
  readonly space: SearchSpace;
  readonly goal: Goal;
  readonly objectiveMetric: string;
}

/**
 * One GetSuggestions call: `count` (>= 1) suggestions given the history (completed, running and failed trials),
 * the previous state and the number of suggestions made before. Returns the algorithm's result with its state
 * re-encoded as text. Pure apart from the entropy drawn without `random_state`; throws what the algorithm throws.
 */
export function callSuggest(call: SuggestCall, history: readonly TrialRecord[], count: number, state: StateText, suggestedBefore: number): SuggestResult<unknown> & { readonly stateText: StateText } {
  const rng = createRng(suggestionSeed(call.raw, suggestedBefore + count, history.length));
  const result = call.algorithm.suggest(
    { space: call.space, goal: call.goal, objectiveMetric: call.objectiveMetric, history, count, state: decodeState(state), rng },
    call.settings,
  );
  return { ...result, suggestions: result.suggestions.slice(0, count), stateText: encodeState(result.state) };
}
