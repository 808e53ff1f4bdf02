/**
 * The Gaussian process's view of a search space: every numeric parameter (double, int, discrete) is one coordinate
 * in [0, 1] (log scale for log distributions; finite parameters at the centre of their equal-width bin, see
 * core/binned-unit.ts), and every categorical parameter is a one-hot group of coordinates.
 */
import { binnedFromUnit, binnedToUnit, isBinned } from '../core/binned-unit.js';
import { cardinality, isLog, type Assignment, type Parameter, type SearchSpace } from '../core/space.js';

interface NumericCoordinate {
  readonly kind: 'numeric';
  readonly param: Parameter;
  readonly index: number;
  /** Number of values for a finite parameter; undefined for a continuous double. */
  readonly bins: number | undefined;
  /** True when snapping must go through the wire value (stepped log scales); plain bins snap arithmetically. */
  readonly snapViaValue: boolean;
}

interface CategoricalGroup {
  readonly kind: 'categorical';
  readonly param: Parameter & { readonly type: 'categorical' };
  readonly offset: number;
  readonly size: number;
}

export type EncodedParameter = NumericCoordinate | CategoricalGroup;

/** Encodes assignments into points of [0, 1]^dims and back. */
export class SpaceEncoding {
  readonly dims: number;
  readonly parts: readonly EncodedParameter[];
  /** Per coordinate: true when it may move continuously (a numeric coordinate, binned ones relaxed). */
  readonly numericMask: Uint8Array;
  /** Per coordinate: true for a continuous double (never snapped). */
  readonly continuousMask: Uint8Array;

  constructor(readonly space: SearchSpace) {
    const parts: EncodedParameter[] = [];
    let dims = 0;
    for (const p of space) {
      if (p.type === 'categorical') {
        parts.push({ kind: 'categorical', param: p, offset: dims, size: p.values.length });
        dims += p.values.length;
      } else {
        const binned = isBinned(p);
        parts.push({
          kind: 'numeric',
          param: p,
          index: dims,
          bins: binned ? cardinality(p) : undefined,
          snapViaValue: binned && p.type !== 'discrete' && isLog(p),
        });
        dims += 1;
      }
    }
    this.dims = dims;
    this.parts = parts;
    this.numericMask = new Uint8Array(dims);
    this.continuousMask = new Uint8Array(dims);
    for (const part of parts) {
      if (part.kind === 'numeric') {
        this.numericMask[part.index] = 1;
        if (part.bins === undefined) this.continuousMask[part.index] = 1;
      }
    }
  }

  /** The encoded point of a trial's assignments, or undefined when a value is missing or outside the space. */
  encode(assignments: Readonly<Record<string, string>>): Float64Array | undefined {
    const x = new Float64Array(this.dims);
    for (const part of this.parts) {
      const value = assignments[part.param.name];
      if (value === undefined) return undefined;
      if (part.kind === 'numeric') {
        const u = binnedToUnit(part.param, value);
        if (!Number.isFinite(u)) return undefined;
        x[part.index] = Math.min(1, Math.max(0, u));
      } else {
        const i = part.param.values.indexOf(value);
        if (i < 0) return undefined;
        x[part.offset + i] = 1;
      }
    }
    return x;
  }

  /** The assignments of an encoded point (snapping each coordinate to a legal value). */
  decode(x: ArrayLike<number>): Assignment[] {
    return this.parts.map((part) => {
      if (part.kind === 'numeric') return { name: part.param.name, value: binnedFromUnit(part.param, x[part.index] as number) };
      return { name: part.param.name, value: part.param.values[argmax(x, part.offset, part.size)] as string };
    });
  }

  /** Moves every coordinate onto a legal value in place: bin centres, exact one-hot groups. */
  snapInPlace(x: Float64Array): void {
    for (const part of this.parts) {
      if (part.kind === 'numeric') {
        const u = Math.min(1, Math.max(0, x[part.index] as number));
        if (part.bins === undefined) x[part.index] = u;
        else if (part.snapViaValue) x[part.index] = binnedToUnit(part.param, binnedFromUnit(part.param, u));
        else x[part.index] = (Math.min(part.bins - 1, Math.floor(u * part.bins)) + 0.5) / part.bins;
      } else {
        const best = argmax(x, part.offset, part.size);
        for (let i = 0; i < part.size; i++) x[part.offset + i] = i === best ? 1 : 0;
      }
    }
  }

  /** Number of coordinates of a per-parameter unit sample (one per parameter). */
  get parameterCount(): number {
    return this.parts.length;
  }

  /** The snapped encoded point of a per-parameter sample u ∈ [0, 1)^parameters (a categorical takes bin floor(u·n)). */
  fromParameterSample(u: ArrayLike<number>): Float64Array {
    const x = new Float64Array(this.dims);
    this.parts.forEach((part, k) => {
      const t = u[k] as number;
      if (part.kind === 'numeric') x[part.index] = t;
      else x[part.offset + Math.min(part.size - 1, Math.floor(t * part.size))] = 1;
    });
    this.snapInPlace(x);
    return x;
  }
}

function argmax(x: ArrayLike<number>, offset: number, size: number): number {
  let best = 0;
  for (let i = 1; i < size; i++) if ((x[offset + i] as number) > (x[offset + best] as number)) best = i;
  return best;
}
