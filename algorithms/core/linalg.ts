/**
 * Small dense linear algebra on row-major Float64Arrays, written for the sizes model-based algorithms meet (a few
 * hundred rows): Cholesky factorisation with escalating jitter, triangular solves, and the inverse of a factored
 * matrix. Plain loops over typed arrays are several times faster than general matrix objects at these sizes.
 */

/**
 * Factors the symmetric positive-definite n×n matrix `a` (row-major; only the lower triangle is read) into L·Lᵀ,
 * writing L into `out` (its upper triangle zeroed). Returns false when `a` is not numerically positive definite.
 */
export function choleskyInto(a: Float64Array, n: number, out: Float64Array): boolean {
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let j = 0; j <= i; j++) {
      const rj = j * n;
      let s = a[ri + j] as number;
      for (let k = 0; k < j; k++) s -= (out[ri + k] as number) * (out[rj + k] as number);
      if (i === j) {
        if (!(s > 0) || !Number.isFinite(s)) return false;
        out[ri + i] = Math.sqrt(s);
      } else {
        out[ri + j] = s / (out[rj + j] as number);
      }
    }
    for (let j = i + 1; j < n; j++) out[ri + j] = 0;
  }
  return true;
}

/**
 * Cholesky factor of `a` + jitter·I, trying jitter 0 first and then growing it (relative to the mean diagonal) until
 * the factorisation succeeds. Returns the factor and the jitter used; throws when even a jitter of the mean diagonal
 * fails (the matrix holds NaN or infinity).
 */
export function choleskyWithJitter(a: Float64Array, n: number): { l: Float64Array; jitter: number } {
  const l = new Float64Array(n * n);
  return { l, jitter: choleskyWithJitterInto(a, n, l) };
}

/**
 * {@link choleskyWithJitter} writing the factor into `out` (n×n) and returning the jitter: for callers that factor
 * many matrices of one size (a hyperparameter search) and would otherwise allocate one n×n array per factorisation.
 * Only the rare jittered case allocates (a copy of `a`).
 */
export function choleskyWithJitterInto(a: Float64Array, n: number, out: Float64Array): number {
  if (choleskyInto(a, n, out)) return 0;
  let meanDiag = 0;
  for (let i = 0; i < n; i++) meanDiag += a[i * n + i] as number;
  meanDiag = Math.max(meanDiag / Math.max(1, n), 1e-300);
  const work = new Float64Array(a);
  for (let jitter = 1e-10 * meanDiag; jitter <= meanDiag; jitter *= 10) {
    for (let i = 0; i < n; i++) work[i * n + i] = (a[i * n + i] as number) + jitter;
    if (choleskyInto(work, n, out)) return jitter;
  }
  throw new RangeError('Cholesky: the matrix is not positive definite even with jitter (does it hold NaN or infinity?)');
}

/** Solves L·x = b in place (L lower triangular, row-major n×n); `b` becomes x. */
export function solveLowerInPlace(l: Float64Array, n: number, b: Float64Array): void {
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    let s = b[i] as number;
    for (let k = 0; k < i; k++) s -= (l[ri + k] as number) * (b[k] as number);
    b[i] = s / (l[ri + i] as number);
  }
}

/** Solves Lᵀ·x = b in place (L lower triangular, row-major n×n); `b` becomes x. */
export function solveLowerTransposedInPlace(l: Float64Array, n: number, b: Float64Array): void {
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i] as number;
    for (let k = i + 1; k < n; k++) s -= (l[k * n + i] as number) * (b[k] as number);
    b[i] = s / (l[i * n + i] as number);
  }
}

/** Solves (L·Lᵀ)·x = b and returns x (a new array). */
export function choleskySolve(l: Float64Array, n: number, b: ArrayLike<number>): Float64Array {
  const x = Float64Array.from(b);
  solveLowerInPlace(l, n, x);
  solveLowerTransposedInPlace(l, n, x);
  return x;
}

/** The inverse (L·Lᵀ)⁻¹ of a factored matrix, as a full symmetric row-major n×n array. */
export function choleskyInverse(l: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  choleskyInverseInto(l, n, out, new Float64Array(n * n));
  return out;
}

/** {@link choleskyInverse} into `out`, with `t` (n×n) as working space: no allocation. */
export function choleskyInverseInto(l: Float64Array, n: number, out: Float64Array, t: Float64Array): void {
  // Row j of `t` holds column j of M = L⁻¹ (zero before j), found by forward substitution; then
  // (A⁻¹)_ij = Σ_k M_ki·M_kj is a dot product of rows i and j of `t`. Every inner loop is a contiguous dot product.
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    for (let i = j; i < n; i++) {
      const ri = i * n;
      let s = i === j ? 1 : 0;
      for (let k = j; k < i; k++) s -= (l[ri + k] as number) * (t[rj + k] as number);
      t[rj + i] = s / (l[ri + i] as number);
    }
  }
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let j = 0; j <= i; j++) {
      const rj = j * n;
      let s = 0;
      for (let k = i; k < n; k++) s += (t[ri + k] as number) * (t[rj + k] as number);
      out[ri + j] = s;
      out[rj + i] = s;
    }
  }
}

/**
 * Extends the Cholesky factor of an n×n matrix A to that of [[A, b], [bᵀ, c]] (one more row and column).
 * Returns the new (n+1)×(n+1) factor, or undefined when the extended matrix is not positive definite.
 */
export function choleskyAppend(l: Float64Array, n: number, b: ArrayLike<number>, c: number): Float64Array | undefined {
  const row = Float64Array.from(b);
  solveLowerInPlace(l, n, row);
  let d = c;
  for (let k = 0; k < n; k++) d -= (row[k] as number) * (row[k] as number);
  if (!(d > 0)) return undefined;
  const m = n + 1;
  const out = new Float64Array(m * m);
  for (let i = 0; i < n; i++) out.set(l.subarray(i * n, i * n + i + 1), i * m);
  out.set(row, n * m);
  out[n * m + n] = Math.sqrt(d);
  return out;
}
