/**
 * The learning-curve family of the early-stopping benchmark: validation loss after t epochs of a configuration h,
 *
 *   loss(t; h) = a(h) + b(h) · t^(−c(h))                 t = 1 … maxEpochs (81)
 *   observed   = loss · (1 + noise.relative · z(h, t, seed))
 *
 * over four hyperparameters: learning_rate (log 1e-4 … 1), batch_size (int, log 16 … 512), weight_decay
 * (log 1e-6 … 1e-1) and dropout (0 … 0.8). With u = log10 lr, v = log2 batch, w = log10 wd, d = dropout:
 * - the best learning rate grows with the batch: u* = lrOpt + lrPerBatchDoubling · (v − v0), du = u − u*;
 * - the asymptote a = aMin + aLr·du²·(aLrHighFactor when du > 0) + aWd·(w − wdOpt)² + aDrop·(d − dropOpt)²
 *   + aBatch·(v − log2 16)/(log2 512 − log2 16): a learning rate away from u* (worse above it), too little or too
 *   much regularisation, and large batches (the generalisation gap) plateau higher;
 * - the rate c = clamp(c0 · exp(cLr·du − cDrop·d − cBatch·(v − v0)), cMin, cMax): a higher learning rate learns
 *   faster, dropout and large batches slower;
 * - the scale b = (start − a) · (1 − exp(−2^(−c) · exp(bDrop·d + bWd·(w − log10 1e-6)/5))): regularisation (dropout,
 *   weight decay) slows the start, and the loss after epoch 1 stays below `start` (chance level).
 * So a too-high learning rate with little regularisation STARTS well and plateaus badly, a well-regularised one
 * starts slowly and ends best: the curves cross. Over the prior, the rank correlation of the loss at epoch 1 with
 * the final loss is about 0.4 (0.65 at epoch 3, 0.85 at epoch 9), and half of the configurations in the best 3% by
 * final loss are outside the best third at epoch 1 (none at epoch 9) — the regime where aggressive early stopping
 * can drop the eventual winner.
 *
 * z is a deterministic, hash-based noise draw (Irwin–Hall sum of four uniforms: mean 0, variance 1, |z| <= 2·√3)
 * keyed on (seed, epoch, the IEEE-754 bits of every parameter value), so a configuration retrained from scratch sees
 * the same noise, and optuna_pruners.py computes the same numbers from {@link familyDefinition} without sharing a
 * random generator. Everything here is pure.
 */

/** One hyperparameter of the family, in its Katib wire form and as Optuna samples it. */
export interface FamilyParameter {
  readonly name: string;
  readonly type: 'double' | 'int';
  readonly min: number;
  readonly max: number;
  readonly log: boolean;
}

export const PARAMETERS: readonly FamilyParameter[] = [
  { name: 'learning_rate', type: 'double', min: 1e-4, max: 1, log: true },
  { name: 'batch_size', type: 'int', min: 16, max: 512, log: true },
  { name: 'weight_decay', type: 'double', min: 1e-6, max: 1e-1, log: true },
  { name: 'dropout', type: 'double', min: 0, max: 0.8, log: false },
];

/** The coefficients of a(h), b(h), c(h); see the module comment. */
export const COEFFICIENTS = {
  start: 2.3,
  lrOpt: -2.5,
  lrPerBatchDoubling: 0.3,
  v0: 6,
  aMin: 0.2,
  aLr: 0.06,
  aLrHighFactor: 1.5,
  aWd: 0.02,
  wdOpt: -3,
  aDrop: 0.3,
  dropOpt: 0.5,
  aBatch: 0.04,
  c0: 0.6,
  cLr: 0.5,
  cDrop: 0.5,
  cBatch: 0.15,
  cMin: 0.1,
  cMax: 2.5,
  bDrop: 0.6,
  bWd: 0.5,
} as const;

export const MAX_EPOCHS = 81;
export const NOISE_RELATIVE = 0.03;

/** A configuration: the four parameter values in {@link PARAMETERS} order, as doubles. */
export type Config = readonly number[];

export interface CurveShape {
  readonly a: number;
  readonly b: number;
  readonly c: number;
}

/** a, b and c of a configuration. */
export function shape(h: Config): CurveShape {
  const k = COEFFICIENTS;
  const [lr, batch, wd, dropout] = h as [number, number, number, number];
  const u = Math.log(lr) / Math.LN10;
  const v = Math.log(batch) / Math.LN2;
  const w = Math.log(wd) / Math.LN10;
  const du = u - (k.lrOpt + k.lrPerBatchDoubling * (v - k.v0));
  const vMin = Math.log(16) / Math.LN2;
  const vMax = Math.log(512) / Math.LN2;
  const a =
    k.aMin +
    k.aLr * du * du * (du > 0 ? k.aLrHighFactor : 1) +
    k.aWd * (w - k.wdOpt) * (w - k.wdOpt) +
    k.aDrop * (dropout - k.dropOpt) * (dropout - k.dropOpt) +
    (k.aBatch * (v - vMin)) / (vMax - vMin);
  const c = Math.min(k.cMax, Math.max(k.cMin, k.c0 * Math.exp(k.cLr * du - k.cDrop * dropout - k.cBatch * (v - k.v0))));
  const wMin = Math.log(1e-6) / Math.LN10;
  const wMax = Math.log(1e-1) / Math.LN10;
  const slowStart = Math.exp(k.bDrop * dropout + (k.bWd * (w - wMin)) / (wMax - wMin));
  return { a, b: (k.start - a) * (1 - Math.exp(-Math.pow(2, -c) * slowStart)), c };
}

/** The noiseless validation loss after `t` epochs (t >= 1) of training `h` from scratch. */
export function trueLoss(h: Config, t: number): number {
  const { a, b, c } = shape(h);
  return a + b * Math.pow(t, -c);
}

/** The noiseless loss after the full budget: what the configuration is worth. */
export function finalLoss(h: Config): number {
  return trueLoss(h, MAX_EPOCHS);
}

const F64 = new DataView(new ArrayBuffer(8));

/** murmur3's 32-bit finalizer: a bijective mix of a uint32. */
function mix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** The hash of (seed, epoch, every parameter's IEEE-754 bits), in that order, as a uint32. */
export function noiseKey(h: Config, epoch: number, seed: number): number {
  const words = [seed >>> 0, epoch >>> 0];
  for (const x of h) {
    F64.setFloat64(0, x, true);
    words.push(F64.getUint32(0, true), F64.getUint32(4, true));
  }
  let acc = 0x811c9dc5;
  for (const w of words) acc = mix32((acc ^ w) >>> 0);
  return acc;
}

/** The noise draw z for (h, epoch, seed): mean 0, variance 1, bounded by ±2·√3. */
export function noise(h: Config, epoch: number, seed: number): number {
  const key = noiseKey(h, epoch, seed);
  let sum = 0;
  for (let j = 1; j <= 4; j++) sum += mix32((key ^ Math.imul(0x9e3779b9, j)) >>> 0) / 4294967296;
  return (sum - 2) * Math.sqrt(3);
}

/** The loss the trial reports after `epoch` epochs: the true loss times (1 + relative noise). */
export function observe(h: Config, trueValue: number, epoch: number, seed: number): number {
  return trueValue * (1 + NOISE_RELATIVE * noise(h, epoch, seed));
}

/** The observed curve of `h` trained from scratch for `epochs` epochs. */
export function observedCurve(h: Config, epochs: number, seed: number): number[] {
  const out: number[] = [];
  for (let t = 1; t <= epochs; t++) out.push(observe(h, trueLoss(h, t), t, seed));
  return out;
}

/**
 * One epoch of training under `h` from a model whose noiseless loss is `loss` (PBT: the checkpoint may come from
 * other hyperparameters). The model is placed on h's curve where h reaches that loss (t' = (b / (loss − a))^(1/c))
 * and trained one epoch further; a model already below h's asymptote drifts halfway back up to it per epoch (a
 * learning rate too high for it undoes part of the progress). `undefined` means a fresh model: one epoch gives
 * loss(1; h). Trained from scratch, this reproduces {@link trueLoss} exactly up to rounding.
 */
export function trainOneEpoch(h: Config, loss: number | undefined): number {
  const { a, b, c } = shape(h);
  if (loss === undefined) return a + b;
  if (loss <= a) return a - (a - loss) * 0.5;
  const t = Math.pow(b / (loss - a), 1 / c);
  return a + b * Math.pow(t + 1, -c);
}

/** Everything optuna_pruners.py needs to evaluate the same curves and noise. */
export function familyDefinition(): Record<string, unknown> {
  return {
    formula: 'loss(t;h) = a(h) + b(h) * t^(-c(h)); observed = loss * (1 + relative * z(h, t, seed)); see benchmarks/early-stopping/curves.ts',
    maxEpochs: MAX_EPOCHS,
    parameters: PARAMETERS,
    coefficients: COEFFICIENTS,
    noise: {
      relative: NOISE_RELATIVE,
      hash: 'acc=0x811c9dc5; for w in [seed, epoch, lo32(bits(x1)), hi32(bits(x1)), ...]: acc=mix32(acc^w); z=(sum_{j=1..4} mix32(acc ^ (0x9e3779b9*j mod 2^32))/2^32 - 2)*sqrt(3)',
    },
  };
}
