/**
 * The coordinates in which TPE's Parzen estimators (Bergstra et al. 2011) model each parameter.
 *
 * - continuous (a double without step): the unit interval of core `toUnit` (log scale for logUniform/logNormal).
 * - ordinal (an int, a stepped double, a discrete list): value k of K is a grid point with a cell around it, and a
 *   kernel gives it the normal mass of its cell (Optuna's discretised truncated normal). Linear grids and discrete
 *   lists (sorted by value, so nearby values share kernels) use the coordinate k / (K - 1) and cells of equal width;
 *   log-scaled stepped ranges use the log-unit coordinate and the cells [v - step/2, v + step/2] in log space.
 *   Everything is computed from k, so a grid of 10⁹ points costs no memory.
 * - categorical: the index of the value; kernels are Aitchison–Aitken-like (see parzen-estimator.ts).
 * A parameter with a single value is a constant and is not modelled at all.
 *
 * The domain [low, high] of an ordinal dimension includes the outer half cells. The prior kernel is centred on the
 * domain with the domain's width (Optuna), except for a normal/logNormal distribution, whose prior kernel is that
 * distribution: centred, with the bounds at ±3 standard deviations (Katib's convention, as core `samplePrior`).
 */
import { cardinality, formatValue, isLog, snapRange, toUnit, type Parameter } from '../core/space.js';

export const DIM_KINDS = ['continuous', 'ordinal', 'categorical'] as const;
export type DimKind = (typeof DIM_KINDS)[number];

/** One modelled parameter and everything the estimators need to know about its coordinate. */
export interface Dim {
  readonly param: Parameter;
  /** The parameter's position in the search space. */
  readonly position: number;
  readonly kind: DimKind;
  /** Number of values (ordinal, categorical); 0 for continuous. */
  readonly size: number;
  /** The domain of the kernels. */
  readonly low: number;
  readonly high: number;
  readonly priorMu: number;
  readonly priorSigma: number;
  /** Ordinal on a log-scaled stepped range: coordinates and cells come from the values. */
  readonly logGrid: boolean;
  /** Stepped range: min and step; log grid: log(min) and log(max) - log(min). */
  readonly gridMin: number;
  readonly gridStep: number;
  readonly logMin: number;
  readonly logSpan: number;
  /** Discrete lists: list index of the k-th smallest value, and its inverse. */
  readonly listOfRank: Int32Array | undefined;
  readonly rankOfList: Int32Array | undefined;
}

/** The modelled dimensions of a space and the wire values of its constant parameters. */
export interface Encoding {
  readonly dims: readonly Dim[];
  /** Position → value for parameters that have a single value. */
  readonly constants: ReadonlyMap<number, string>;
  /** True when every parameter takes finitely many values. */
  readonly finite: boolean;
  /** Number of distinct assignments (Infinity when not finite). */
  readonly size: number;
}

function isNormalPrior(p: Parameter): boolean {
  return (p.type === 'int' || p.type === 'double') && (p.distribution === 'normal' || p.distribution === 'logNormal');
}

function baseDim(param: Parameter, position: number): Omit<Dim, 'kind' | 'size' | 'low' | 'high' | 'priorMu' | 'priorSigma'> {
  return { param, position, logGrid: false, gridMin: 0, gridStep: 1, logMin: 0, logSpan: 1, listOfRank: undefined, rankOfList: undefined };
}

/** Builds the encoding of a search space. Called once per suggest. */
export function encodeSpace(space: readonly Parameter[]): Encoding {
  const dims: Dim[] = [];
  const constants = new Map<number, string>();
  let size = 1;
  space.forEach((p, position) => {
    const k = cardinality(p);
    size *= k;
    if (k === 1 || ((p.type === 'double' || p.type === 'int') && p.max === p.min)) {
      constants.set(position, p.type === 'categorical' ? (p.values[0] as string) : p.type === 'discrete' ? (p.raw[0] as string) : formatValue(p, snapRange(p, p.min)));
      return;
    }
    const base = baseDim(p, position);
    switch (p.type) {
      case 'categorical':
        dims.push({ ...base, kind: 'categorical', size: k, low: 0, high: k - 1, priorMu: 0, priorSigma: 0 });
        return;
      case 'discrete': {
        const listOfRank = Int32Array.from(p.values.map((_, i) => i).sort((a, b) => (p.values[a] as number) - (p.values[b] as number) || a - b));
        const rankOfList = new Int32Array(k);
        listOfRank.forEach((listIndex, rank) => (rankOfList[listIndex] = rank));
        const h = 0.5 / (k - 1);
        dims.push({ ...base, kind: 'ordinal', size: k, low: -h, high: 1 + h, priorMu: 0.5, priorSigma: 1 + 2 * h, listOfRank, rankOfList });
        return;
      }
      case 'int':
      case 'double': {
        if (p.step === undefined) {
          const normal = isNormalPrior(p);
          dims.push({ ...base, kind: 'continuous', size: 0, low: 0, high: 1, priorMu: 0.5, priorSigma: normal ? 1 / 6 : 1 });
          return;
        }
        const step = p.step;
        if (isLog(p)) {
          const logMin = Math.log(p.min);
          const logSpan = Math.log(p.max) - logMin;
          const dim: Dim = { ...base, kind: 'ordinal', size: k, low: 0, high: 1, priorMu: 0.5, priorSigma: 1, logGrid: true, gridMin: p.min, gridStep: step, logMin, logSpan };
          const low = cellLow(dim, 0);
          const high = cellHigh(dim, k - 1);
          dims.push({ ...dim, low, high, priorMu: isNormalPrior(p) ? 0.5 : (low + high) / 2, priorSigma: isNormalPrior(p) ? 1 / 6 : high - low });
          return;
        }
        const h = 0.5 / (k - 1);
        const scale = step * (k - 1);
        const normal = isNormalPrior(p);
        dims.push({
          ...base,
          kind: 'ordinal',
          size: k,
          low: -h,
          high: 1 + h,
          priorMu: normal ? ((p.min + p.max) / 2 - p.min) / scale : 0.5,
          priorSigma: normal ? (p.max - p.min) / 6 / scale : 1 + 2 * h,
          gridMin: p.min,
          gridStep: step,
        });
        return;
      }
    }
  });
  return { dims, constants, finite: Number.isFinite(size), size };
}

/** The coordinate of grid point k of an ordinal dimension. */
export function ordinalCoordinate(dim: Dim, k: number): number {
  if (!dim.logGrid) return k / (dim.size - 1);
  return (Math.log(dim.gridMin + k * dim.gridStep) - dim.logMin) / dim.logSpan;
}

/** The upper end of grid point k's cell. */
export function cellHigh(dim: Dim, k: number): number {
  if (!dim.logGrid) return (k + 0.5) / (dim.size - 1);
  return (Math.log(dim.gridMin + (k + 0.5) * dim.gridStep) - dim.logMin) / dim.logSpan;
}

/** The lower end of grid point k's cell (mirrored about the point when v - step/2 would not be positive). */
export function cellLow(dim: Dim, k: number): number {
  if (!dim.logGrid) return (k - 0.5) / (dim.size - 1);
  const v = dim.gridMin + (k - 0.5) * dim.gridStep;
  if (v > 0) return (Math.log(v) - dim.logMin) / dim.logSpan;
  return 2 * ordinalCoordinate(dim, k) - cellHigh(dim, k);
}

/** The grid point whose cell contains coordinate c. */
export function ordinalSnap(dim: Dim, c: number): number {
  const last = dim.size - 1;
  const k = dim.logGrid ? Math.round((Math.exp(dim.logMin + c * dim.logSpan) - dim.gridMin) / dim.gridStep) : Math.round(c * last);
  return k < 0 ? 0 : k > last ? last : k;
}

/**
 * Encodes a wire value: the unit coordinate (continuous), the grid index (ordinal) or the value index
 * (categorical). NaN when the value is missing or outside the space, so the trial is left out of the model.
 */
export function encodeValue(dim: Dim, value: string | undefined): number {
  if (value === undefined) return Number.NaN;
  const p = dim.param;
  switch (p.type) {
    case 'categorical': {
      const i = p.values.indexOf(value);
      return i < 0 ? Number.NaN : i;
    }
    case 'discrete': {
      let i = p.raw.indexOf(value);
      if (i < 0) i = p.values.indexOf(Number(value));
      return i < 0 ? Number.NaN : (dim.rankOfList as Int32Array)[i] as number;
    }
    case 'int':
    case 'double': {
      if (dim.kind === 'continuous') {
        const u = toUnit(p, value);
        return u >= -1e-9 && u <= 1 + 1e-9 ? Math.min(1, Math.max(0, u)) : Number.NaN;
      }
      const x = Number(value);
      const k = Math.round((x - dim.gridMin) / dim.gridStep);
      return k >= 0 && k < dim.size ? k : Number.NaN;
    }
  }
}

/** The wire value of an encoded value (see {@link encodeValue}). */
export function decodeValue(dim: Dim, x: number): string {
  const p = dim.param;
  switch (p.type) {
    case 'categorical':
      return p.values[x] as string;
    case 'discrete':
      return p.raw[(dim.listOfRank as Int32Array)[x] as number] as string;
    case 'int':
    case 'double': {
      if (dim.kind === 'continuous') {
        const v = isLog(p) ? Math.exp(Math.log(p.min) + x * (Math.log(p.max) - Math.log(p.min))) : p.min + x * (p.max - p.min);
        return formatValue(p, snapRange(p, v));
      }
      return formatValue(p, snapRange(p, dim.gridMin + x * dim.gridStep));
    }
  }
}

/** The coordinate in which kernels measure distance: the encoded value itself except for ordinal grid indices. */
export function coordinate(dim: Dim, x: number): number {
  return dim.kind === 'ordinal' ? ordinalCoordinate(dim, x) : x;
}
