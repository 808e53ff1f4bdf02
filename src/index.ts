/**
 * katib-ts's public API, for `import { ... } from 'katib-ts'`: the SDK (`optimize` in process or on a cluster,
 * `search`, and the cluster client: `waitForExperiment`, `getBestResults`, `listTrials`, `deleteExperiment`), the
 * Katib parameter conversion the cluster path shares, the error classes every part throws, and the types a caller
 * needs to write objectives and read results. Everything else (controllers, stores, services) is reached through
 * the `katib` CLI and is not part of this surface.
 */
export * from './sdk/index.js';
export { AlreadyExistsError, ConflictError, KatibError, NotFoundError, TerminalError, UnavailableError, ValidationError } from './errors.js';
export type { Issue } from '../algorithms/core/issues.js';
export type { AlgorithmName } from '../algorithms/index.js';
export type { Experiment, ParameterSpec, FeasibleSpace } from './api/types.js';

import { ALGORITHMS } from '../algorithms/index.js';
import { EARLY_STOPPING_ALGORITHMS } from '../algorithms/earlystopping/index.js';

/** The suggestion algorithms `optimize({ algorithm })` accepts, by their Katib names. */
export const algorithmNames: readonly string[] = Object.freeze(Object.keys(ALGORITHMS));

/** The early-stopping algorithms `optimize({ earlyStopping: { algorithm } })` accepts. */
export const earlyStoppingAlgorithmNames: readonly string[] = Object.freeze(Object.keys(EARLY_STOPPING_ALGORITHMS));
