import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { acquisitionValue, ACQUISITIONS } from '../../algorithms/bayesianoptimization/acquisition.js';
import { SpaceEncoding } from '../../algorithms/bayesianoptimization/encoding.js';
import { defaultLogParams, fitKernel, GaussianProcess, makeHyperparameterLoss } from '../../algorithms/bayesianoptimization/gp.js';
import { searchEffort } from '../../algorithms/bayesianoptimization/index.js';
import { warpLosses } from '../../algorithms/bayesianoptimization/warping.js';
import { binnedFromUnit, binnedToUnit } from '../../algorithms/core/binned-unit.js';
import { logH, normCdf, normLogCdf, normQuantile } from '../../algorithms/core/gaussian.js';
import { isIssues } from '../../algorithms/core/issues.js';
import { choleskyAppend, choleskyInverse, choleskySolve, choleskyWithJitter } from '../../algorithms/core/linalg.js';
import { minimizeBox } from '../../algorithms/core/minimize-box.js';
import { createRng } from '../../algorithms/core/rng.js';
import { isFeasible, parseSearchSpace, type SearchSpace, type WireParameter } from '../../algorithms/core/space.js';

function space(params: WireParameter[]): SearchSpace {
  const s = parseSearchSpace(params);
  if (isIssues(s)) throw new Error(JSON.stringify(s));
  return s;
}

/** Equal to a relative tolerance. */
const relClose = (a: number, b: number, tol: number): boolean => Math.abs(a - b) <= tol * Math.max(Math.abs(a), Math.abs(b), 1e-300);
/** A derivative against its finite difference: relative, or both within 1e-8 of zero (no relative precision there). */
const derivativeClose = (a: number, b: number, tol: number): boolean => Math.abs(a - b) <= tol * Math.max(Math.abs(a), Math.abs(b)) + 1e-8;

describe('standard normal', () => {
  // Reference values from Python's math.erfc: Φ(z) = erfc(-z/√2)/2.
  it.each([
    { z: -38, cdf: 2.88542835e-316 },
    { z: -10, cdf: 7.619853024160593e-24 },
    { z: -5, cdf: 2.866515718791946e-7 },
    { z: -3, cdf: 0.0013498980316300957 },
    { z: -1, cdf: 0.15865525393145707 },
    { z: 0, cdf: 0.5 },
    { z: 2.9, cdf: 0.998134186699616 },
    { z: 6, cdf: 0.9999999990134123 },
  ])('Φ($z) = $cdf to 1e-12 relative', ({ z, cdf }) => {
    expect(relClose(normCdf(z), cdf, 1e-12)).toBe(true);
  });

  it('log Φ stays finite far into the lower tail', () => {
    expect(normLogCdf(-50)).toBeCloseTo(-1254.8313611394199, 9);
    expect(Number.isFinite(normLogCdf(-1000))).toBe(true);
  });

  it.each([
    { z: -30, logh: -457.72465376070403 },
    { z: -10, logh: -55.55312203612325 },
    { z: -3, logh: -7.869686059603037 },
    { z: 0, logh: -0.9189385332046727 },
    { z: 2.9, logh: 1.0648975036361985 },
  ])('log h($z) matches log(φ(z) + zΦ(z)), slope Φ/h', ({ z, logh }) => {
    const r = logH(z);
    expect(r.value).toBeCloseTo(logh, 9);
    const eps = 1e-6;
    expect(relClose(r.slope, (logH(z + eps).value - logH(z - eps).value) / (2 * eps), 1e-5)).toBe(true);
  });

  // Reference values from SciPy's ndtri (Cephes).
  it.each([
    { p: 1e-300, z: -37.0470962993612 },
    { p: 1e-100, z: -21.273453560965322 },
    { p: 1e-10, z: -6.361340902404056 },
    { p: 0.001, z: -3.090232306167813 },
    { p: 0.075, z: -1.4395314709384563 },
    { p: 0.3, z: -0.5244005127080409 },
    { p: 0.5, z: 0 },
    { p: 0.8, z: 0.8416212335729143 },
    { p: 0.975, z: 1.959963984540054 },
  ])('Φ⁻¹($p) = $z to 1e-15 relative', ({ p, z }) => {
    expect(Math.abs(normQuantile(p) - z)).toBeLessThanOrEqual(1e-15 * Math.max(1, Math.abs(z)));
  });

  it('inverts Φ (property; above z = 5, 1 - Φ(z) has too few bits left in a double to invert)', () => {
    fc.assert(
      fc.property(fc.double({ min: -37, max: 5, noNaN: true }), (z) => {
        expect(Math.abs(normQuantile(normCdf(z)) - z)).toBeLessThan(1e-8 * Math.max(1, Math.abs(z)));
      }),
    );
  });
});

describe('linear algebra', () => {
  const rng = createRng('linalg');
  const spd = (n: number): Float64Array => {
    const b = Array.from({ length: n * n }, () => rng.normal());
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) a[i * n + j] = (a[i * n + j] as number) + (b[i * n + k] as number) * (b[j * n + k] as number);
    for (let i = 0; i < n; i++) a[i * n + i] = (a[i * n + i] as number) + 0.1;
    return a;
  };

  it('solves and inverts through the Cholesky factor', () => {
    const n = 12;
    const a = spd(n);
    const { l, jitter } = choleskyWithJitter(a, n);
    expect(jitter).toBe(0);
    const b = Array.from({ length: n }, () => rng.normal());
    const x = choleskySolve(l, n, b);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += (a[i * n + j] as number) * (x[j] as number);
      expect(s).toBeCloseTo(b[i] as number, 8);
    }
    const inv = choleskyInverse(l, n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += (a[i * n + k] as number) * (inv[k * n + j] as number);
        expect(s).toBeCloseTo(i === j ? 1 : 0, 8);
      }
    }
  });

  it('extends a factor by one row exactly as a full factorisation', () => {
    const n = 9;
    const a = spd(n);
    const small = new Float64Array((n - 1) * (n - 1));
    for (let i = 0; i < n - 1; i++) for (let j = 0; j < n - 1; j++) small[i * (n - 1) + j] = a[i * n + j] as number;
    const ext = choleskyAppend(choleskyWithJitter(small, n - 1).l, n - 1, Array.from({ length: n - 1 }, (_, j) => a[(n - 1) * n + j] as number), a[n * n - 1] as number);
    const full = choleskyWithJitter(a, n).l;
    expect(ext).toBeDefined();
    for (let i = 0; i < n * n; i++) expect(ext?.[i]).toBeCloseTo(full[i] as number, 10);
  });

  it('adds jitter to a singular matrix instead of failing', () => {
    const ones = new Float64Array(16).fill(1);
    const { jitter } = choleskyWithJitter(ones, 4);
    expect(jitter).toBeGreaterThan(0);
    expect(jitter).toBeLessThan(1e-3);
  });
});

describe('box-constrained minimisation', () => {
  it('finds the minimum of the Rosenbrock function inside a box', () => {
    const rosen = (x: Float64Array, g: Float64Array): number => {
      const a = x[0] as number;
      const b = x[1] as number;
      g[0] = -2 * (1 - a) - 400 * a * (b - a * a);
      g[1] = 200 * (b - a * a);
      return (1 - a) ** 2 + 100 * (b - a * a) ** 2;
    };
    const r = minimizeBox(rosen, [-1.2, 1], [-2, -2], [2, 2], { maxIterations: 500, gradientTolerance: 1e-9 });
    expect(r.x[0]).toBeCloseTo(1, 4);
    expect(r.x[1]).toBeCloseTo(1, 4);
  });

  it('stops on the bound when the unconstrained minimum lies outside', () => {
    const f = (x: Float64Array, g: Float64Array): number => {
      g[0] = 2 * ((x[0] as number) - 3);
      g[1] = 2 * ((x[1] as number) - 0.5);
      return ((x[0] as number) - 3) ** 2 + ((x[1] as number) - 0.5) ** 2;
    };
    const r = minimizeBox(f, [0.2, 0.2], [0, 0], [1, 1]);
    expect(r.x[0]).toBe(1);
    expect(r.x[1]).toBeCloseTo(0.5, 6);
  });

  it('keeps coordinates whose bounds coincide fixed', () => {
    const f = (x: Float64Array, g: Float64Array): number => {
      g[0] = 2 * (x[0] as number);
      g[1] = 2 * (x[1] as number);
      return (x[0] as number) ** 2 + (x[1] as number) ** 2;
    };
    const r = minimizeBox(f, [0.7, 0.4], [0.7, 0], [0.7, 1]);
    expect(r.x[0]).toBe(0.7);
    expect(r.x[1]).toBeCloseTo(0, 6);
  });
});

describe('Gaussian process', () => {
  const rng = createRng('gp');
  const n = 25;
  const d = 3;
  const x = Float64Array.from({ length: n * d }, () => rng.next());
  const y = Float64Array.from({ length: n }, (_, i) => Math.sin(6 * (x[i * d] as number)) + (x[i * d + 1] as number) ** 2 + 0.01 * rng.normal());

  it('has an exact gradient of the hyperparameter loss', () => {
    const loss = makeHyperparameterLoss(x, y, d);
    const theta = Float64Array.from([0.3, -0.5, 1.2, 0.1, Math.log(0.05)]);
    const g = new Float64Array(5);
    loss(theta, g);
    const scratch = new Float64Array(5);
    for (let j = 0; j < 5; j++) {
      const up = Float64Array.from(theta);
      const down = Float64Array.from(theta);
      up[j] = (up[j] as number) + 1e-6;
      down[j] = (down[j] as number) - 1e-6;
      const numeric = (loss(up, scratch) - loss(down, scratch)) / 2e-6;
      expect(relClose(g[j] as number, numeric, 1e-5), `parameter ${j}: ${g[j]} vs ${numeric}`).toBe(true);
    }
  });

  it('fits lengthscales that tell relevant inputs from an irrelevant one', () => {
    const params = fitKernel(x, y, d, [defaultLogParams(d)]);
    // Inverse squared lengthscales: the sine input varies fastest, the third input does not matter.
    expect(params[0]).toBeGreaterThan(params[2] as number);
    expect(params[1]).toBeGreaterThan(params[2] as number);
  });

  it('has exact gradients of the posterior mean and variance, and predicts many points as one at a time', () => {
    const gp = new GaussianProcess(x, y, d, fitKernel(x, y, d, [defaultLogParams(d)]));
    const point = [0.31, 0.42, 0.53];
    const mg = new Float64Array(d);
    const vg = new Float64Array(d);
    const at = gp.predictWithGradient(point, mg, vg);
    expect(at).toEqual(gp.predict(point));
    for (let j = 0; j < d; j++) {
      const up = [...point];
      const down = [...point];
      up[j] = (up[j] as number) + 1e-6;
      down[j] = (down[j] as number) - 1e-6;
      expect(relClose(mg[j] as number, (gp.predict(up).mean - gp.predict(down).mean) / 2e-6, 1e-5)).toBe(true);
      expect(relClose(vg[j] as number, (gp.predict(up).variance - gp.predict(down).variance) / 2e-6, 1e-4)).toBe(true);
    }
    const many = Float64Array.from({ length: 70 * d }, () => rng.next());
    const batch = gp.predictMany(many, 70);
    for (let i = 0; i < 70; i++) {
      const one = gp.predict(many.subarray(i * d, (i + 1) * d));
      expect(batch.means[i]).toBeCloseTo(one.mean, 10);
      expect(batch.variances[i]).toBeCloseTo(one.variance, 10);
    }
  });

  it('interpolates its data and shrinks the variance at a pseudo-observation (kriging believer)', () => {
    const gp = new GaussianProcess(x, y, d, fitKernel(x, y, d, [defaultLogParams(d)]));
    const first = gp.predict(x.subarray(0, d));
    expect(first.mean).toBeCloseTo(y[0] as number, 1);
    const pending = [0.9, 0.05, 0.5];
    const before = gp.predict(pending);
    gp.condition(pending, before.mean);
    const after = gp.predict(pending);
    expect(after.mean).toBeCloseTo(before.mean, 8);
    expect(after.variance).toBeLessThan(before.variance / 10);
    expect(gp.size).toBe(n + 1);
  });

  it.each(ACQUISITIONS)('%s has exact derivatives in the posterior mean and variance', (kind) => {
    const grads = new Float64Array(2);
    for (const [mean, variance] of [
      [0.3, 0.2],
      [-1, 0.01],
      [4, 0.05],
    ] as const) {
      acquisitionValue(kind, mean, variance, 0, grads);
      const eps = 1e-7;
      const dm = (acquisitionValue(kind, mean + eps, variance, 0) - acquisitionValue(kind, mean - eps, variance, 0)) / (2 * eps);
      const dv = (acquisitionValue(kind, mean, variance + eps, 0) - acquisitionValue(kind, mean, variance - eps, 0)) / (2 * eps);
      expect(derivativeClose(grads[0] as number, dm, 1e-5), `d/dmean at (${mean}, ${variance})`).toBe(true);
      expect(derivativeClose(grads[1] as number, dv, 1e-5), `d/dvariance at (${mean}, ${variance})`).toBe(true);
    }
  });
});

describe('unit encodings', () => {
  const ALL = space([
    { name: 'uniform', parameterType: 'double', feasibleSpace: { min: '-1', max: '3' } },
    { name: 'log', parameterType: 'double', feasibleSpace: { min: '0.0001', max: '1', distribution: 'logUniform' } },
    { name: 'stepped', parameterType: 'double', feasibleSpace: { min: '0.1', max: '0.9', step: '0.2' } },
    { name: 'steplog', parameterType: 'double', feasibleSpace: { min: '0.5', max: '64.5', step: '2', distribution: 'logUniform' } },
    { name: 'int', parameterType: 'int', feasibleSpace: { min: '1', max: '9' } },
    { name: 'intlog', parameterType: 'int', feasibleSpace: { min: '1', max: '1024', distribution: 'logUniform' } },
    { name: 'point', parameterType: 'int', feasibleSpace: { min: '3', max: '3' } },
    { name: 'discrete', parameterType: 'discrete', feasibleSpace: { list: ['16', '32', '64', '128'] } },
    { name: 'categorical', parameterType: 'categorical', feasibleSpace: { list: ['sgd', 'adam', 'rmsprop'] } },
  ]);

  it('decodes every point of the unit interval to a feasible value that encodes back into its bin (property)', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), (u) => {
        for (const p of ALL) {
          const v = binnedFromUnit(p, u);
          expect(isFeasible(p, v), `${p.name}=${v}`).toBe(true);
          expect(binnedFromUnit(p, binnedToUnit(p, v))).toBe(v);
        }
      }),
    );
  });

  it('gives the end values of an int whole bins', () => {
    const int = ALL[4] as SearchSpace[number];
    expect(binnedToUnit(int, '1')).toBeCloseTo(1 / 18, 12);
    expect(binnedToUnit(int, '9')).toBeCloseTo(17 / 18, 12);
    expect(binnedFromUnit(int, 0.11)).toBe('1');
    expect(binnedFromUnit(int, 0.12)).toBe('2');
  });

  it('one-hot encodes categoricals for the GP and snaps relaxed points onto legal ones', () => {
    const enc = new SpaceEncoding(ALL);
    expect(enc.dims).toBe(ALL.length - 1 + 3);
    const a = { uniform: '0.5', log: '0.01', stepped: '0.5', steplog: '8.5', int: '4', intlog: '17', point: '3', discrete: '64', categorical: 'adam' };
    const x = enc.encode(a) as Float64Array;
    expect(Array.from(x.slice(-3))).toEqual([0, 1, 0]);
    // Every value comes back; a continuous log value up to rounding (0.010000000000000005).
    const back = Object.fromEntries(enc.decode(x).map((v) => [v.name, v.value]));
    expect({ ...back, log: '' }).toEqual({ ...a, log: '' });
    expect(Number(back['log'])).toBeCloseTo(0.01, 14);
    const relaxed = Float64Array.from(x, (v) => Math.min(1, v + 0.02));
    enc.snapInPlace(relaxed);
    expect(Array.from(relaxed.slice(-3))).toEqual([0, 1, 0]);
    for (const v of enc.decode(relaxed)) expect(isFeasible(ALL.find((p) => p.name === v.name) as SearchSpace[number], v.value)).toBe(true);
    expect(enc.encode({ ...a, categorical: 'lion' })).toBeUndefined();
  });
});

describe('output warping', () => {
  it('keeps the order of the losses, ties aside (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 3, maxLength: 40 }), (losses) => {
        const w = warpLosses(losses);
        for (let i = 0; i < losses.length; i++) {
          for (let j = 0; j < losses.length; j++) {
            if ((losses[i] as number) < (losses[j] as number)) expect(w[i] as number).toBeLessThanOrEqual(w[j] as number);
          }
        }
      }),
    );
  });

  it('maps the best to log δ and the median to log 2δ, δ the median’s distance from the best', () => {
    const losses = [7, 3, 1003, 5, 4];
    // best 3, median 5: δ = 2.
    expect(warpLosses(losses)).toEqual(losses.map((v) => Math.log(v - 3 + 2)));
    // More than half at the best: δ is the smallest gap above it; all equal: 1.
    expect(warpLosses([2, 2, 2, 2.5, 9])).toEqual([2, 2, 2, 2.5, 9].map((v) => Math.log(v - 2 + 0.5)));
    expect(warpLosses([4, 4, 4])).toEqual([0, 0, 0]);
    expect(warpLosses([])).toEqual([]);
  });

  it('compresses a heavy tail of bad values and keeps a heavy tail of good ones spread', () => {
    const rng = createRng('warp');
    // (worst - median) / (median - best): how far the tail stretches past the good half.
    const spread = (v: readonly number[]): number => {
      const s = [...v].sort((a, b) => a - b);
      return ((s[s.length - 1] as number) - (s[s.length >> 1] as number)) / ((s[s.length >> 1] as number) - (s[0] as number));
    };
    const heavy = Array.from({ length: 100 }, () => Math.exp(2 * rng.normal()));
    expect(spread(heavy)).toBeGreaterThan(20);
    expect(spread(warpLosses(heavy))).toBeLessThan(10);
    // A few deep good values (Hartmann's kind): after the warp the best still lies well below the median.
    const deep = Array.from({ length: 100 }, () => -Math.exp(2 * rng.normal()));
    expect(spread(deep)).toBeLessThan(0.1);
    expect(spread(warpLosses(deep))).toBeLessThan(0.1);
  });
});

describe('search effort', () => {
  const small = new SpaceEncoding(space([{ name: 'x', parameterType: 'double', feasibleSpace: { min: '0', max: '1' } }]));
  const wide = new SpaceEncoding(
    space([
      ...Array.from({ length: 10 }, (_, i): WireParameter => ({ name: `d${i}`, parameterType: 'double', feasibleSpace: { min: '0', max: '1' } })),
      ...Array.from({ length: 5 }, (_, i): WireParameter => ({ name: `c${i}`, parameterType: 'categorical', feasibleSpace: { list: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'] } })),
    ]),
  );
  const settings = { nInitialPoints: 10, acqFunc: 'EI', acqOptimizer: 'auto', randomState: undefined } as const;
  it.each([
    { name: 'few points, one dimension: everything', enc: small, n: 20, settings, want: { candidates: 2048, localSearches: 10 } },
    { name: 'gp_hedge splits the searches', enc: small, n: 20, settings: { ...settings, acqFunc: 'gp_hedge' as const }, want: { candidates: 2048, localSearches: 5 } },
    { name: 'sampling only', enc: small, n: 20, settings: { ...settings, acqOptimizer: 'sampling' as const }, want: { candidates: 2048, localSearches: 0 } },
    { name: '200 points', enc: small, n: 200, settings, want: { candidates: 594, localSearches: 9 } },
    { name: '200 points, 60 coordinates, 45 categorical moves', enc: wide, n: 200, settings, want: { candidates: 375, localSearches: 3 } },
  ])('$name', ({ enc, n, settings: s, want }) => {
    expect(searchEffort(n, enc, s)).toEqual(want);
  });
});
