/**
 * The algorithm registry: every suggestion algorithm by its Katib name. The gRPC adapter and the SDK look
 * algorithms up here; adding an algorithm means adding one line.
 */
import type { AnyAlgorithm } from './core/algorithm.js';
import { asha } from './asha/index.js';
import { grid } from './grid/index.js';
import { hyperband } from './hyperband/index.js';
import { pbt } from './pbt/index.js';
import { random } from './random/index.js';
import { sobol } from './sobol/index.js';
import { cmaes } from './cmaes/index.js';
import { bayesianoptimization } from './bayesianoptimization/index.js';
import { multivariateTpe, tpe } from './tpe/index.js';

export const ALGORITHMS = {
  random: random as AnyAlgorithm,
  grid: grid as AnyAlgorithm,
  hyperband: hyperband as AnyAlgorithm,
  asha: asha as AnyAlgorithm,
  pbt: pbt as AnyAlgorithm,
  sobol: sobol as AnyAlgorithm,
  cmaes: cmaes as AnyAlgorithm,
  bayesianoptimization: bayesianoptimization as AnyAlgorithm,
  tpe: tpe as AnyAlgorithm,
  'multivariate-tpe': multivariateTpe as AnyAlgorithm,
} as const satisfies Record<string, AnyAlgorithm>;

export type AlgorithmName = keyof typeof ALGORITHMS;

/** The algorithm registered under `name`, or undefined. */
export function findAlgorithm(name: string): AnyAlgorithm | undefined {
  return Object.prototype.hasOwnProperty.call(ALGORITHMS, name) ? ALGORITHMS[name as AlgorithmName] : undefined;
}

export type { Algorithm, AnyAlgorithm, Goal, SuggestRequest, SuggestResult, Suggestion, TrialRecord, TrialState, RawSettings, SettingsContext } from './core/algorithm.js';
export type { Issue } from './core/issues.js';
export { formatIssues } from './core/issues.js';
export { createRng, type Rng } from './core/rng.js';
export * from './core/space.js';
