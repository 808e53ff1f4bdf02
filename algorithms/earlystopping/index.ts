/**
 * The early-stopping algorithms by their Katib names. Each is pure: settings in, rules out; the gRPC
 * EarlyStopping service fetches observation logs and serves the rules.
 */
import { medianStop } from './medianstop.js';

export const EARLY_STOPPING_ALGORITHMS = {
  medianstop: medianStop,
} as const;

export type EarlyStoppingAlgorithmName = keyof typeof EARLY_STOPPING_ALGORITHMS;

export { medianStop, median, type MedianStopInput, type MedianStopSettings, type StopRule } from './medianstop.js';
