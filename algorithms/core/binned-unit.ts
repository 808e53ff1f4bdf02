/**
 * A unit-interval encoding in which every value of a finite parameter owns an interval of equal width: value i of n
 * is the bin [i/n, (i+1)/n) with centre (i+0.5)/n. Continuous doubles use the plain (log-)linear map of
 * {@link toUnit}. Model-based and quasi-random algorithms work in this encoding so that the first and last values of
 * an int, a discrete or a categorical parameter are as likely as the inner ones (rounding `t * (n - 1)` would give
 * them half a bin). Log-scaled grids widen the range by half a step on each side before taking logarithms, as
 * Optuna's search-space transform does for log ints.
 */
import { cardinality, formatValue, isLog, snapRange, toUnit, type Parameter, type RangeParameter } from './space.js';

/** The (log-)range a stepped log parameter covers, widened by half a step on each side (kept positive). */
function widenedLogRange(p: RangeParameter): [number, number] {
  const half = (p.step ?? 0) / 2;
  const lo = p.min - half > 0 ? p.min - half : p.min / 2;
  return [Math.log(lo), Math.log(p.max + half)];
}

/** True when the parameter takes finitely many values and is encoded by bins. */
export function isBinned(p: Parameter): boolean {
  return Number.isFinite(cardinality(p));
}

/**
 * Encodes a wire value into [0, 1]: the centre of its bin for a finite parameter, the (log-)linear position for a
 * continuous double. Returns NaN for a value outside the space (an unparsable number, an unknown category).
 */
export function binnedToUnit(p: Parameter, value: string): number {
  switch (p.type) {
    case 'categorical':
    case 'discrete': {
      let i = p.type === 'categorical' ? p.values.indexOf(value) : p.raw.indexOf(value);
      if (i < 0 && p.type === 'discrete') i = p.values.indexOf(Number(value));
      return i < 0 ? Number.NaN : (i + 0.5) / p.values.length;
    }
    case 'int':
    case 'double': {
      if (p.step === undefined) return toUnit(p, value);
      const x = Number(value);
      if (!Number.isFinite(x)) return Number.NaN;
      if (isLog(p)) {
        const [lo, hi] = widenedLogRange(p);
        return Math.min(1, Math.max(0, (Math.log(x) - lo) / (hi - lo)));
      }
      const n = cardinality(p);
      const i = Math.min(n - 1, Math.max(0, Math.round((x - p.min) / p.step)));
      return (i + 0.5) / n;
    }
  }
}

/** Decodes a point of [0, 1] (clamped) into a wire value: the bin it falls in, or the snapped (log-)linear value. */
export function binnedFromUnit(p: Parameter, u: number): string {
  const t = Math.min(1, Math.max(0, Number.isFinite(u) ? u : 0.5));
  switch (p.type) {
    case 'categorical':
      return p.values[Math.min(p.values.length - 1, Math.floor(t * p.values.length))] as string;
    case 'discrete':
      return p.raw[Math.min(p.raw.length - 1, Math.floor(t * p.raw.length))] as string;
    case 'int':
    case 'double': {
      if (p.step === undefined) {
        const x = isLog(p) ? Math.exp(Math.log(p.min) + t * (Math.log(p.max) - Math.log(p.min))) : p.min + t * (p.max - p.min);
        return formatValue(p, snapRange(p, x));
      }
      if (isLog(p)) {
        const [lo, hi] = widenedLogRange(p);
        return formatValue(p, snapRange(p, Math.exp(lo + t * (hi - lo))));
      }
      const n = cardinality(p);
      const i = Math.min(n - 1, Math.floor(t * n));
      return formatValue(p, snapRange(p, p.min + i * p.step));
    }
  }
}
