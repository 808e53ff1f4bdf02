/**
 * Minimisation of a smooth function inside a box, by a projected limited-memory BFGS method: the L-BFGS direction
 * (J. Nocedal, "Updating quasi-Newton matrices with limited storage", Math. Comp. 35 (1980)) restricted to the
 * variables not held at a bound, a projected backtracking (Armijo) line search, and the usual curvature guard on the
 * stored pairs. It is a small, dependable relative of L-BFGS-B (Byrd, Lu, Nocedal & Zhu, 1995) for the few to few
 * dozen variables of kernel hyperparameters and acquisition functions.
 */

/** Evaluates f at x and writes ∇f(x) into `grad`. Must return a finite number for points inside the box. */
export type ValueAndGradient = (x: Float64Array, grad: Float64Array) => number;

export interface MinimizeBoxOptions {
  /** Most iterations (line searches); default 100. */
  readonly maxIterations?: number;
  /** Stop when the largest projected-gradient component is below this; default 1e-6. */
  readonly gradientTolerance?: number;
  /** Stop when an iteration improves f by less than this times max(1, |f|); default 1e-10. */
  readonly relativeTolerance?: number;
  /** Stored correction pairs; default 8. */
  readonly memory?: number;
}

export interface MinimizeBoxResult {
  readonly x: Float64Array;
  readonly value: number;
  readonly iterations: number;
  readonly evaluations: number;
}

function clampInto(x: Float64Array, lower: ArrayLike<number>, upper: ArrayLike<number>): void {
  for (let i = 0; i < x.length; i++) x[i] = Math.min(upper[i] as number, Math.max(lower[i] as number, x[i] as number));
}

/**
 * Minimises `f` over the box [lower, upper] from `x0` (clamped into the box). Never throws for a finite `f`; returns
 * the best point seen. A non-finite value during the line search is treated as "too far" and the step shrinks.
 */
export function minimizeBox(f: ValueAndGradient, x0: ArrayLike<number>, lower: ArrayLike<number>, upper: ArrayLike<number>, options: MinimizeBoxOptions = {}): MinimizeBoxResult {
  const n = x0.length;
  const maxIterations = options.maxIterations ?? 100;
  const gtol = options.gradientTolerance ?? 1e-6;
  const rtol = options.relativeTolerance ?? 1e-10;
  const memory = options.memory ?? 8;
  const x = Float64Array.from(x0);
  clampInto(x, lower, upper);
  const g = new Float64Array(n);
  let fx = f(x, g);
  let evaluations = 1;
  if (!Number.isFinite(fx)) return { x, value: fx, iterations: 0, evaluations };
  const ss: Float64Array[] = [];
  const ys: Float64Array[] = [];
  const rhos: number[] = [];
  const free = new Uint8Array(n);
  const d = new Float64Array(n);
  const xNew = new Float64Array(n);
  const gNew = new Float64Array(n);
  const alpha = new Float64Array(memory);
  let iterations = 0;
  for (; iterations < maxIterations; iterations++) {
    // Variables at a bound whose gradient pushes outwards stay fixed this iteration.
    let pgMax = 0;
    for (let i = 0; i < n; i++) {
      const gi = g[i] as number;
      const atLower = (x[i] as number) <= (lower[i] as number) && gi > 0;
      const atUpper = (x[i] as number) >= (upper[i] as number) && gi < 0;
      free[i] = atLower || atUpper ? 0 : 1;
      if (free[i]) pgMax = Math.max(pgMax, Math.abs(gi));
    }
    if (pgMax < gtol) break;
    // Two-loop recursion on the free variables.
    for (let i = 0; i < n; i++) d[i] = free[i] ? (g[i] as number) : 0;
    for (let k = ss.length - 1; k >= 0; k--) {
      const s = ss[k] as Float64Array;
      let a = 0;
      for (let i = 0; i < n; i++) if (free[i]) a += (s[i] as number) * (d[i] as number);
      a *= rhos[k] as number;
      alpha[k] = a;
      const y = ys[k] as Float64Array;
      for (let i = 0; i < n; i++) if (free[i]) d[i] = (d[i] as number) - a * (y[i] as number);
    }
    if (ss.length > 0) {
      const s = ss[ss.length - 1] as Float64Array;
      const y = ys[ys.length - 1] as Float64Array;
      let sy = 0;
      let yy = 0;
      for (let i = 0; i < n; i++) {
        sy += (s[i] as number) * (y[i] as number);
        yy += (y[i] as number) * (y[i] as number);
      }
      const gamma = yy > 0 ? sy / yy : 1;
      for (let i = 0; i < n; i++) d[i] = (d[i] as number) * gamma;
    } else {
      // First step: a unit-length move along the steepest descent, so the scale of f does not matter.
      let gn = 0;
      for (let i = 0; i < n; i++) if (free[i]) gn += (g[i] as number) * (g[i] as number);
      const scale = 1 / Math.max(Math.sqrt(gn), 1e-300);
      for (let i = 0; i < n; i++) d[i] = (d[i] as number) * Math.min(1, scale);
    }
    for (let k = 0; k < ss.length; k++) {
      const y = ys[k] as Float64Array;
      let b = 0;
      for (let i = 0; i < n; i++) if (free[i]) b += (y[i] as number) * (d[i] as number);
      b *= rhos[k] as number;
      const s = ss[k] as Float64Array;
      const a = alpha[k] as number;
      for (let i = 0; i < n; i++) if (free[i]) d[i] = (d[i] as number) + (a - b) * (s[i] as number);
    }
    // d now approximates H·g: the search direction is -d. Fall back to steepest descent if it is not a descent.
    let slope = 0;
    for (let i = 0; i < n; i++) slope -= (d[i] as number) * (g[i] as number);
    if (!(slope < 0)) {
      for (let i = 0; i < n; i++) d[i] = free[i] ? (g[i] as number) : 0;
      slope = 0;
      for (let i = 0; i < n; i++) slope -= (d[i] as number) * (g[i] as number);
      if (!(slope < 0)) break;
    }
    // Projected backtracking line search.
    let t = 1;
    let fNew = Number.NaN;
    let accepted = false;
    for (let ls = 0; ls < 30; ls++) {
      for (let i = 0; i < n; i++) xNew[i] = (x[i] as number) - t * (d[i] as number);
      clampInto(xNew, lower, upper);
      fNew = f(xNew, gNew);
      evaluations++;
      // Armijo on the projected step: f(x_new) <= f(x) + c·gᵀ(x_new - x).
      let decrease = 0;
      for (let i = 0; i < n; i++) decrease += (g[i] as number) * ((xNew[i] as number) - (x[i] as number));
      if (Number.isFinite(fNew) && fNew <= fx + 1e-4 * decrease) {
        accepted = true;
        break;
      }
      t *= ls < 2 ? 0.5 : 0.25;
    }
    if (!accepted) break;
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    let sy = 0;
    for (let i = 0; i < n; i++) {
      s[i] = (xNew[i] as number) - (x[i] as number);
      y[i] = (gNew[i] as number) - (g[i] as number);
      sy += (s[i] as number) * (y[i] as number);
    }
    const improvement = fx - fNew;
    x.set(xNew);
    g.set(gNew);
    fx = fNew;
    if (sy > 1e-12) {
      if (ss.length === memory) {
        ss.shift();
        ys.shift();
        rhos.shift();
      }
      ss.push(s);
      ys.push(y);
      rhos.push(1 / sy);
    }
    if (improvement < rtol * Math.max(1, Math.abs(fx))) {
      iterations++;
      break;
    }
  }
  return { x, value: fx, iterations, evaluations };
}
