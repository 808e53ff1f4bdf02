import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normCdf } from '../../algorithms/core/gaussian.js';
import { isIssues } from '../../algorithms/core/issues.js';
import { createRng } from '../../algorithms/core/rng.js';
import { cardinality, isFeasible, parseSearchSpace, type Parameter, type SearchSpace, type WireParameter } from '../../algorithms/core/space.js';
import { cellHigh, cellLow, decodeValue, encodeSpace, encodeValue, type Dim } from '../../algorithms/tpe/encoding.js';
import { buildParzenEstimator, jointBandwidth, logAcquisitionPdf, logPdfParzen, sampleParzen } from '../../algorithms/tpe/parzen-estimator.js';
import { goodCount, observationWeights } from '../../algorithms/tpe/sampler.js';
import { logNormalMass, normalCdf, normalQuantile } from '../../algorithms/tpe/truncated-normal.js';

function space(params: WireParameter[]): SearchSpace {
  const s = parseSearchSpace(params);
  if (isIssues(s)) throw new Error(JSON.stringify(s));
  return s;
}

const KINDS = space([
  { name: 'uniform', parameterType: 'double', feasibleSpace: { min: '-1', max: '3' } },
  { name: 'log', parameterType: 'double', feasibleSpace: { min: '0.0001', max: '1', distribution: 'logUniform' } },
  { name: 'normal', parameterType: 'double', feasibleSpace: { min: '0', max: '6', distribution: 'normal' } },
  { name: 'stepped', parameterType: 'double', feasibleSpace: { min: '0.1', max: '0.9', step: '0.2' } },
  { name: 'int', parameterType: 'int', feasibleSpace: { min: '1', max: '9' } },
  { name: 'intlog', parameterType: 'int', feasibleSpace: { min: '1', max: '1024', distribution: 'logUniform' } },
  { name: 'intlogstep', parameterType: 'int', feasibleSpace: { min: '1', max: '61', step: '4', distribution: 'logUniform' } },
  { name: 'intnormal', parameterType: 'int', feasibleSpace: { min: '0', max: '30', distribution: 'normal' } },
  { name: 'discrete', parameterType: 'discrete', feasibleSpace: { list: ['64', '16', '128', '32'] } },
  { name: 'categorical', parameterType: 'categorical', feasibleSpace: { list: ['sgd', 'adam', 'rmsprop'] } },
  { name: 'constant', parameterType: 'categorical', feasibleSpace: { list: ['only'] } },
]);
const ENC = encodeSpace(KINDS);
const dimNamed = (name: string): Dim => ENC.dims.find((d) => d.param.name === name) as Dim;

/** Every value of a finite parameter, as wire strings. */
function allValues(p: Parameter): string[] {
  if (p.type === 'categorical') return [...p.values];
  if (p.type === 'discrete') return [...p.raw];
  return Array.from({ length: cardinality(p) }, (_, k) => String(p.min + k * (p.step as number)));
}

/** A 1-D estimator of `dim` over observations drawn by `obs` (encoded values). */
function estimator(dim: Dim, obs: number[], priorWeight = 1) {
  return buildParzenEstimator([dim], [Float64Array.from(obs)], new Float64Array(obs.length).fill(1), priorWeight);
}

describe('normal kernels', () => {
  it.each([
    ['centre', 0, 0.5],
    ['one sigma', 1, 0.8413447460685429],
    ['lower tail', -3, 0.0013498980316301],
    ['far lower tail', -8, 6.22096057427e-16],
  ])('Φ at %s', (_name, z, want) => {
    expect(normalCdf(z)).toBeCloseTo(want, 6);
    expect(Math.abs(normalCdf(z) - want) / want).toBeLessThan(2e-7);
  });

  it('log mass of [a, b] agrees with the full-precision Φ(b) - Φ(a), narrow and wide, including the tails', () => {
    fc.assert(
      fc.property(fc.double({ min: -12, max: 12, noNaN: true }), fc.double({ min: 1e-6, max: 10, noNaN: true }), (a, w) => {
        const b = a + w;
        // Subtract on the side where both tails are small, so that the reference keeps its precision.
        const reference = a >= 0 ? normCdf(-a) - normCdf(-b) : normCdf(b) - normCdf(a);
        fc.pre(reference > 1e-250);
        expect(Math.abs(logNormalMass(a, b) - Math.log(reference))).toBeLessThan(1e-5);
      }),
    );
  });

  it('stays finite 30 standard deviations out, where Φ underflows to its difference of zero', () => {
    expect(normalCdf(31) - normalCdf(30)).toBe(0);
    expect(logNormalMass(30, 31)).toBeCloseTo(-450 - Math.log(30) - 0.5 * Math.log(2 * Math.PI), 1);
  });

  it('the quantile inverts Φ', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-12, max: 1 - 1e-12, noNaN: true }), (p) => {
        expect(normalCdf(normalQuantile(p))).toBeCloseTo(p, 6);
      }),
    );
  });
});

describe('encoding', () => {
  it.each(KINDS.filter((p) => p.name !== 'constant' && Number.isFinite(cardinality(p))).map((p) => [p.name, p] as const))('%s: every value survives encode → decode', (name, p) => {
    const dim = dimNamed(name);
    for (const v of allValues(p)) {
      const back = decodeValue(dim, encodeValue(dim, v));
      if (p.type === 'categorical' || p.type === 'discrete') expect(back).toBe(v);
      else expect(Number(back)).toBeCloseTo(Number(v), 9);
    }
  });

  it('keeps constants out of the model and knows the space is infinite when a double is continuous', () => {
    expect(ENC.constants.get(KINDS.length - 1)).toBe('only');
    expect(ENC.dims.map((d) => d.kind)).toEqual(['continuous', 'continuous', 'continuous', 'ordinal', 'ordinal', 'ordinal', 'ordinal', 'ordinal', 'ordinal', 'categorical']);
    expect(ENC.finite).toBe(false);
  });

  it('orders a discrete list by value, so neighbouring values are neighbouring grid points', () => {
    const dim = dimNamed('discrete');
    expect(['16', '32', '64', '128'].map((v) => encodeValue(dim, v))).toEqual([0, 1, 2, 3]);
  });

  it('gives values outside the space NaN, so their trial is left out of the model', () => {
    expect(encodeValue(dimNamed('uniform'), '7')).toBeNaN();
    expect(encodeValue(dimNamed('int'), '12')).toBeNaN();
    expect(encodeValue(dimNamed('categorical'), 'adagrad')).toBeNaN();
    expect(encodeValue(dimNamed('uniform'), undefined)).toBeNaN();
  });

  it('tiles the domain of an ordinal dimension with the cells of its values', () => {
    for (const name of ['stepped', 'int', 'intlog', 'intlogstep', 'discrete']) {
      const dim = dimNamed(name);
      expect(cellLow(dim, 0)).toBeCloseTo(dim.low, 12);
      expect(cellHigh(dim, dim.size - 1)).toBeCloseTo(dim.high, 12);
      for (let k = 1; k < dim.size; k++) expect(cellLow(dim, k)).toBeCloseTo(cellHigh(dim, k - 1), 12);
    }
  });
});

describe('Parzen estimator', () => {
  const observations = (dim: Dim, seed: number, n: number): number[] => {
    const rng = createRng(seed);
    return Array.from({ length: n }, () => (dim.kind === 'continuous' ? rng.next() : rng.int(0, dim.size - 1)));
  };

  it.each(['uniform', 'log', 'normal'])('%s: the continuous density integrates to 1', (name) => {
    const dim = dimNamed(name);
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 0, max: 40 }), (seed, n) => {
        const pe = estimator(dim, observations(dim, seed, n));
        const grid = 20001;
        const xs = Float64Array.from({ length: grid }, (_, i) => i / (grid - 1));
        const pdf = logPdfParzen(pe, [xs], grid);
        let integral = 0;
        for (let i = 1; i < grid; i++) integral += ((Math.exp(pdf[i] as number) + Math.exp(pdf[i - 1] as number)) / 2) * (1 / (grid - 1));
        expect(integral).toBeCloseTo(1, 3);
      }),
      { numRuns: 15 },
    );
  });

  it.each(['stepped', 'int', 'intlog', 'intlogstep', 'discrete', 'categorical'])('%s: the masses of all values sum to 1', (name) => {
    const dim = dimNamed(name);
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 0, max: 60 }), fc.double({ min: 0.1, max: 4, noNaN: true }), (seed, n, priorWeight) => {
        const pe = estimator(dim, observations(dim, seed, n), priorWeight);
        const ks = Float64Array.from({ length: dim.size }, (_, k) => k);
        const total = Array.from(logPdfParzen(pe, [ks], dim.size)).reduce((s, l) => s + Math.exp(l), 0);
        expect(total).toBeCloseTo(1, 5);
      }),
      { numRuns: 30 },
    );
  });

  it('samples stay in the domain and on the grid, and follow the observations', () => {
    fc.assert(
      fc.property(fc.nat(), (seed) => {
        const pe = buildParzenEstimator(
          ENC.dims,
          ENC.dims.map((d) => Float64Array.from(observations(d, seed, 12))),
          new Float64Array(12).fill(1),
          1,
        );
        const draws = sampleParzen(pe, createRng(seed + 1), 50);
        ENC.dims.forEach((dim, d) => {
          for (const x of draws[d] as Float64Array) {
            const value = decodeValue(dim, x);
            expect(isFeasible(dim.param, value)).toBe(true);
            if (dim.kind !== 'continuous') expect(Number.isInteger(x) && x >= 0 && x < dim.size).toBe(true);
          }
        });
      }),
      { numRuns: 30 },
    );
  });

  it('concentrates density around repeated observations (the good model is sharp)', () => {
    const dim = dimNamed('uniform');
    const pe = estimator(dim, Array<number>(20).fill(0.3));
    const at = (x: number): number => logPdfParzen(pe, [Float64Array.of(x)], 1)[0] as number;
    expect(at(0.3)).toBeGreaterThan(at(0.5) + 3);
  });
});

describe('acquisition density', () => {
  // Optuna 3.1's TPESampler on x in [-5, 10] (FloatDistribution, default parameters): the bandwidths of its
  // _ParzenEstimator and log l(x) - log g(x) at the points below, as /usr/lib/python3/dist-packages/optuna computes
  // them. Its truncated-normal log pdf leaves out -log σ (optuna/optuna#5109), which is what our acquisition density's
  // bandwidth weighting reproduces.
  const branin = space([{ name: 'x', parameterType: 'double', feasibleSpace: { min: '-5', max: '10' } }]);
  const dim = encodeSpace(branin).dims[0] as Dim;
  const unit = (x: number): number => (x + 5) / 15;
  const below = [-2, -1.25, 4];
  const above = [-3.5, -0.5, 1.75, 2.5, 5.5, 7, 9.25, -4.25, 0.25, 8];
  const optuna = {
    belowSigmas: [3, 3.75, 3, 15],
    aboveSigmas: [3, 3, 1.5, 1.25, 3, 1.5, 1.25, 1.25, 1.5, 1.25, 15],
    at: [-5, -3.5, -2, -1, 0, 1.5, 3, 4, 6, 8.5, 10],
    logRatio: [0.709584, 0.772199, 0.931176, 0.905189, 0.811817, 0.688843, 0.742178, 0.853345, 0.695644, 0.274838, 0.466287],
  };
  const l = estimator(dim, below.map(unit));
  const g = buildParzenEstimator([dim], [Float64Array.from(above.map(unit))], observationWeights(above.length), 1);

  it.each([
    ['good', l, optuna.belowSigmas],
    ['bad', g, optuna.aboveSigmas],
  ] as const)('%s model: bandwidths count the prior centre among the neighbours, as Optuna 3.1', (_name, pe, want) => {
    const sigma = Array.from((pe.perDim[0] as { sigma: Float64Array }).sigma).map((x) => x * 15);
    sigma.forEach((x, j) => expect(x).toBeCloseTo(want[j] as number, 9));
  });

  it('log l(x) - log g(x) equals Optuna 3.1 TPE’s up to a constant (ours are normalised), so both rank alike', () => {
    const xs = Float64Array.from(optuna.at.map(unit));
    const lx = logAcquisitionPdf(l, [xs], xs.length);
    const gx = logAcquisitionPdf(g, [xs], xs.length);
    const ours = optuna.at.map((_x, i) => (lx[i] as number) - (gx[i] as number));
    const offset = (ours[0] as number) - (optuna.logRatio[0] as number);
    optuna.logRatio.forEach((want, i) => expect((ours[i] as number) - offset).toBeCloseTo(want, 5));
  });

  it.each(['uniform', 'log', 'normal'])('%s: integrates to 1, and weighs each kernel by weight × relative bandwidth', (name) => {
    const d = dimNamed(name);
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 0, max: 40 }), (seed, n) => {
        const rng = createRng(seed);
        const pe = estimator(d, Array.from({ length: n }, () => rng.next()));
        const grid = 20001;
        const xs = Float64Array.from({ length: grid }, (_, i) => i / (grid - 1));
        const pdf = logAcquisitionPdf(pe, [xs], grid);
        let integral = 0;
        for (let i = 1; i < grid; i++) integral += ((Math.exp(pdf[i] as number) + Math.exp(pdf[i - 1] as number)) / 2) * (1 / (grid - 1));
        expect(integral).toBeCloseTo(1, 3);
        const sigma = (pe.perDim[0] as { sigma: Float64Array }).sigma;
        const shift = (j: number): number => (pe.logAcquisitionWeights[j] as number) - (pe.logWeights[j] as number) - Math.log(sigma[j] as number);
        for (let j = 1; j < pe.kernels; j++) expect(shift(j)).toBeCloseTo(shift(0), 9);
      }),
      { numRuns: 15 },
    );
  });

  it('uses the geometric mean of the bandwidths in a joint model, and leaves categorical kernels as they are', () => {
    const dims = ['uniform', 'int', 'categorical'].map(dimNamed);
    const cols = [Float64Array.of(0.2, 0.25, 0.9), Float64Array.of(1, 2, 8), Float64Array.of(0, 0, 2)];
    const pe = buildParzenEstimator(dims, cols, new Float64Array(3).fill(1), 1);
    const relative = (d: number, j: number): number => {
      const k = pe.perDim[d] as { sigma: Float64Array };
      const dim = dims[d] as Dim;
      return Math.log((k.sigma[j] as number) / (dim.high - dim.low));
    };
    const shift = (j: number): number => (pe.logAcquisitionWeights[j] as number) - (pe.logWeights[j] as number) - (relative(0, j) + relative(1, j)) / 2;
    for (let j = 1; j < pe.kernels; j++) expect(shift(j)).toBeCloseTo(shift(0), 9);
    const categorical = estimator(dimNamed('categorical'), [0, 1, 1, 2]);
    expect(Array.from(categorical.logAcquisitionWeights)).toEqual(Array.from(categorical.logWeights));
  });
});

describe('Optuna-compatible schedules', () => {
  it.each([
    ['few trials', 5, 1],
    ['a tenth', 100, 10],
    ['no float round-up at 30', 30, 3],
    ['capped at 25', 1000, 25],
    ['none', 0, 0],
  ])('good trials: %s', (_name, n, want) => {
    expect(goodCount(n, 0.1)).toBe(want);
  });

  it('weights the newest 25 observations 1 and ramps older ones from 1/n', () => {
    expect(Array.from(observationWeights(3))).toEqual([1, 1, 1]);
    const w = Array.from(observationWeights(30));
    expect(w.slice(5)).toEqual(Array<number>(25).fill(1));
    expect(w[0]).toBeCloseTo(1 / 30, 12);
    expect(w[4]).toBeCloseTo(1, 12);
    for (let i = 1; i < 5; i++) expect(w[i] as number).toBeGreaterThan(w[i - 1] as number);
  });
});

describe('bandwidth rules', () => {
  // Unit coordinates of `uniform` (its domain is [0, 1]): a crowd of three and one far away, with a categorical.
  const obs = Float64Array.from([0.3, 0.31, 0.33, 0.9]);
  const cats = Float64Array.from([0, 0, 0, 1]);
  const build = (rule: 'neighbours' | 'joint') => buildParzenEstimator([dimNamed('uniform'), dimNamed('categorical')], [obs, cats], new Float64Array(4).fill(1), 1, rule);

  it('joint: every observation’s kernel has Scott’s bandwidth 0.1 · n^(-1/(d + 4)) of the domain; the prior keeps its own', () => {
    const sigma = build('joint').perDim[0]?.sigma as Float64Array;
    const expected = 0.1 * 4 ** (-1 / 6);
    expect(jointBandwidth(4, 2)).toBeCloseTo(expected, 12);
    expect(Array.from(sigma.subarray(0, 4))).toEqual(new Array(4).fill(expected));
    expect(sigma[4]).toBe(dimNamed('uniform').priorSigma);
  });

  it('capped: each kernel takes the smaller of its neighbour-rule bandwidth and Scott’s', () => {
    // A crowd of 29 near 0.4, whose gaps fall below the clip's floor (1/32), and one observation far off at 0.95.
    const crowd = Float64Array.from([...Array.from({ length: 29 }, (_, i) => 0.4 + 0.001 * i), 0.95]);
    const est = (rule: 'neighbours' | 'capped') => buildParzenEstimator([dimNamed('uniform')], [crowd], new Float64Array(30).fill(1), 1, rule).perDim[0]?.sigma as Float64Array;
    const neighbours = est('neighbours');
    const capped = est('capped');
    const cap = jointBandwidth(30, 1);
    expect(cap).toBeGreaterThan(1 / 32);
    for (let i = 0; i < 30; i++) expect(capped[i]).toBe(Math.min(neighbours[i] as number, cap));
    expect(capped[0]).toBe(neighbours[0]);
    expect(capped[29]).toBe(cap);
    expect(neighbours[29] as number).toBeGreaterThan(cap);
    expect(capped[30]).toBe(dimNamed('uniform').priorSigma);
  });

  it('neighbours: each kernel takes the gaps to its neighbours, magic-clipped', () => {
    const sigma = build('neighbours').perDim[0]?.sigma as Float64Array;
    // The prior's centre 0.5 counts as a neighbour. 0.3 and 0.31 have gaps below the clip's floor, width /
    // min(100, 5 centres + 1) = 1/6; 0.33 is 0.17 from the prior's centre, 0.9 is 0.4 from it.
    expect(Array.from(sigma.subarray(0, 4)).map((v) => Number(v.toFixed(12)))).toEqual([0.166666666667, 0.166666666667, 0.17, 0.4]);
  });
});
