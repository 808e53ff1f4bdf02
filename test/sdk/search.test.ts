import fc from 'fast-check';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { isFeasible, parseSearchSpace, samplePrior, type SearchSpace } from '../../algorithms/core/space.js';
import { createRng } from '../../algorithms/core/rng.js';
import { isIssues } from '../../algorithms/core/issues.js';
import { search, toParameterSpecs, ValidationError, type ParamsOf, type SearchParameter } from '../../src/index.js';
import { checkSearchParameter, paramsDecoder, toWireParameters } from '../../src/sdk/search.js';

/** Runs `fn` and returns the ValidationError's message lines after the first (one per issue). */
function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return (e as ValidationError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('expected a ValidationError');
}

describe('search helpers', () => {
  it.each<{ name: string; make: () => SearchParameter; want: SearchParameter }>([
    { name: 'uniform', make: () => search.uniform(-1, 1), want: { type: 'double', min: -1, max: 1, step: undefined, distribution: 'uniform' } },
    { name: 'uniform with step', make: () => search.uniform(0, 1, { step: 0.25 }), want: { type: 'double', min: 0, max: 1, step: 0.25, distribution: 'uniform' } },
    { name: 'uniform pinned (min == max, as Katib)', make: () => search.uniform(2, 2), want: { type: 'double', min: 2, max: 2, step: undefined, distribution: 'uniform' } },
    { name: 'loguniform', make: () => search.loguniform(1e-4, 1e-1), want: { type: 'double', min: 1e-4, max: 1e-1, step: undefined, distribution: 'logUniform' } },
    { name: 'normal', make: () => search.normal(-3, 3), want: { type: 'double', min: -3, max: 3, step: undefined, distribution: 'normal' } },
    { name: 'lognormal', make: () => search.lognormal(1, 100), want: { type: 'double', min: 1, max: 100, step: undefined, distribution: 'logNormal' } },
    { name: 'int', make: () => search.int(1, 8), want: { type: 'int', min: 1, max: 8, step: undefined, distribution: 'uniform' } },
    { name: 'int with step', make: () => search.int(0, 100, { step: 10 }), want: { type: 'int', min: 0, max: 100, step: 10, distribution: 'uniform' } },
    { name: 'int on a log scale', make: () => search.int(1, 1024, { log: true }), want: { type: 'int', min: 1, max: 1024, step: undefined, distribution: 'logUniform' } },
    { name: 'discrete', make: () => search.discrete([16, 32, 64]), want: { type: 'discrete', values: [16, 32, 64] } },
    { name: 'choice', make: () => search.choice(['relu', 'tanh']), want: { type: 'categorical', values: ['relu', 'tanh'] } },
  ])('$name', ({ make, want }) => {
    const p = make();
    expect(p).toEqual(want);
    expect(Object.isFrozen(p)).toBe(true);
    expect(checkSearchParameter(p, 'parameters.p')).toEqual([]);
  });

  it.each<{ name: string; make: () => unknown; issues: string[] }>([
    { name: 'uniform min > max', make: () => search.uniform(5, 1), issues: ['search.uniform: min must be less than or equal to max (min=5, max=1)'] },
    { name: 'uniform NaN bound', make: () => search.uniform(Number.NaN, 1), issues: ['search.uniform: min must be a finite number (min=NaN)'] },
    {
      name: 'uniform both bounds not numbers',
      make: () => search.uniform('0' as unknown as number, Number.POSITIVE_INFINITY),
      issues: ['search.uniform: min must be a finite number (min="0")', 'search.uniform: max must be a finite number (max=Infinity)'],
    },
    { name: 'uniform step 0', make: () => search.uniform(0, 1, { step: 0 }), issues: ['search.uniform: step must be a positive number (step=0)'] },
    { name: 'uniform step too large', make: () => search.uniform(0, 1, { step: 2 }), issues: ['search.uniform: step must not exceed max - min (step=2, min=0, max=1)'] },
    {
      name: 'uniform unknown option',
      make: () => search.uniform(0, 1, { steps: 0.1 } as unknown as { step: number }),
      issues: ['search.uniform: unknown option "steps"; known options: step'],
    },
    { name: 'loguniform min 0', make: () => search.loguniform(0, 1), issues: ['search.loguniform: min must be greater than 0 on a log scale (min=0); use a linear helper or raise min'] },
    { name: 'loguniform min > max', make: () => search.loguniform(1, 0.1), issues: ['search.loguniform: min must be less than or equal to max (min=1, max=0.1)'] },
    { name: 'normal min > max', make: () => search.normal(3, -3), issues: ['search.normal: min must be less than or equal to max (min=3, max=-3)'] },
    { name: 'lognormal negative min', make: () => search.lognormal(-1, 1), issues: ['search.lognormal: min must be greater than 0 on a log scale (min=-1); use a linear helper or raise min'] },
    { name: 'int fractional bounds', make: () => search.int(0.5, 2.5), issues: ['search.int: min must be an integer (min=0.5)', 'search.int: max must be an integer (max=2.5)'] },
    { name: 'int min > max', make: () => search.int(8, 1), issues: ['search.int: min must be less than or equal to max (min=8, max=1)'] },
    { name: 'int fractional step', make: () => search.int(0, 10, { step: 1.5 }), issues: ['search.int: step must be a positive integer (step=1.5)'] },
    { name: 'int log with min 0', make: () => search.int(0, 10, { log: true }), issues: ['search.int: min must be at least 1 with log: true (min=0); drop log or raise min'] },
    { name: 'int log not boolean', make: () => search.int(1, 10, { log: 'yes' as unknown as boolean }), issues: ['search.int: log must be true or false (log="yes")'] },
    { name: 'discrete empty', make: () => search.discrete([]), issues: ['search.discrete: values must list at least one number'] },
    { name: 'discrete not an array', make: () => search.discrete(3 as unknown as number[]), issues: ['search.discrete: values must be an array of numbers (values=3)'] },
    {
      name: 'discrete bad and repeated values',
      make: () => search.discrete([1, Number.NaN, 1, '2' as unknown as number]),
      issues: ['search.discrete: values[1] must be a finite number (values[1]=NaN)', 'search.discrete: values[2] repeats values[0] (1); list each value once', 'search.discrete: values[3] must be a finite number (values[3]="2")'],
    },
    { name: 'choice empty', make: () => search.choice([]), issues: ['search.choice: values must list at least one string'] },
    {
      name: 'choice non-string and repeated',
      make: () => search.choice(['a', 1 as unknown as string, 'a']),
      issues: ['search.choice: values[1] must be a string (values[1]=1)', 'search.choice: values[2] repeats values[0] ("a"); list each value once'],
    },
  ])('rejects $name', ({ make, issues }) => {
    expect(issuesOf(make)).toEqual(issues);
  });

  it('says which helper and values in the error message', () => {
    expect(() => search.uniform(5, 1)).toThrow('search.uniform: min must be less than or equal to max (min=5, max=1)');
  });

  it('infers value types from the helpers', () => {
    const parameters = {
      lr: search.loguniform(1e-4, 1e-1),
      layers: search.int(1, 8),
      act: search.choice(['relu', 'tanh']),
      batch: search.discrete([16, 32]),
      dropout: search.uniform(0, 0.5),
    };
    expectTypeOf<ParamsOf<typeof parameters>>().toEqualTypeOf<{
      readonly lr: number;
      readonly layers: number;
      readonly act: 'relu' | 'tanh';
      readonly batch: 16 | 32;
      readonly dropout: number;
    }>();
    const decode = paramsDecoder(parameters);
    const params = decode({ lr: '0.001', layers: '3', act: 'tanh', batch: '32', dropout: '0.25' });
    expect(params).toEqual({ lr: 0.001, layers: 3, act: 'tanh', batch: 32, dropout: 0.25 });
  });
});

describe('toParameterSpecs', () => {
  it("converts every helper to Katib's spec.parameters in key order", () => {
    const specs = toParameterSpecs({
      lr: search.loguniform(0.0001, 0.1),
      momentum: search.uniform(0.5, 0.9, { step: 0.1 }),
      init: search.normal(-1, 1),
      scale: search.lognormal(1, 10),
      layers: search.int(1, 8, { step: 1 }),
      units: search.int(8, 512, { log: true }),
      batch: search.discrete([16, 32, 64]),
      act: search.choice(['relu', 'tanh']),
    });
    expect(specs).toEqual([
      { name: 'lr', parameterType: 'double', feasibleSpace: { min: '0.0001', max: '0.1', distribution: 'logUniform' } },
      { name: 'momentum', parameterType: 'double', feasibleSpace: { min: '0.5', max: '0.9', step: '0.1', distribution: 'uniform' } },
      { name: 'init', parameterType: 'double', feasibleSpace: { min: '-1', max: '1', distribution: 'normal' } },
      { name: 'scale', parameterType: 'double', feasibleSpace: { min: '1', max: '10', distribution: 'logNormal' } },
      { name: 'layers', parameterType: 'int', feasibleSpace: { min: '1', max: '8', step: '1', distribution: 'uniform' } },
      { name: 'units', parameterType: 'int', feasibleSpace: { min: '8', max: '512', distribution: 'logUniform' } },
      { name: 'batch', parameterType: 'discrete', feasibleSpace: { list: ['16', '32', '64'] } },
      { name: 'act', parameterType: 'categorical', feasibleSpace: { list: ['relu', 'tanh'] } },
    ]);
  });

  it('gives specs that parse and whose prior draws decode to in-bounds typed values', () => {
    const parameters = {
      lr: search.loguniform(1e-5, 1),
      init: search.normal(-2, 2),
      scale: search.lognormal(0.1, 10),
      units: search.int(8, 512, { log: true }),
      step: search.uniform(0, 1, { step: 0.125 }),
      batch: search.discrete([0.5, 2, 1e-7]),
      act: search.choice(['relu', 'tanh', 'gelu']),
    };
    const space = parseSearchSpace(toWireParameters(parameters));
    if (isIssues(space)) throw new Error(JSON.stringify(space));
    const decode = paramsDecoder(parameters);
    const rng = createRng(1);
    for (let i = 0; i < 200; i++) {
      const assignments = Object.fromEntries((space as SearchSpace).map((p) => [p.name, samplePrior(p, rng)]));
      for (const p of space as SearchSpace) expect(isFeasible(p, assignments[p.name] as string)).toBe(true);
      const v = decode(assignments);
      expect(v.lr).toBeGreaterThanOrEqual(1e-5);
      expect(v.lr).toBeLessThanOrEqual(1);
      expect(Number.isInteger(v.units)).toBe(true);
      expect([0.5, 2, 1e-7]).toContain(v.batch);
      expect(['relu', 'tanh', 'gelu']).toContain(v.act);
      expect((v.step * 8) % 1).toBe(0);
    }
  });
});

describe('checkSearchParameter', () => {
  it.each<{ name: string; value: unknown; issues: string[] }>([
    { name: 'a number', value: 3, issues: ["parameters.x: must be a search helper's result such as search.uniform(0, 1) (parameters.x=3)"] },
    { name: 'an unknown type', value: { type: 'float' }, issues: ['parameters.x: must be a search helper\'s result such as search.uniform(0, 1); its type "float" is not double, int, discrete or categorical'] },
    { name: 'a bad distribution', value: { type: 'double', min: 0, max: 1, distribution: 'beta' }, issues: ['parameters.x.distribution: must be one of uniform, logUniform, normal, logNormal (distribution="beta")'] },
    { name: 'hand-built bounds reversed', value: { type: 'int', min: 3, max: 1, distribution: 'uniform' }, issues: ['parameters.x: search.int: min must be less than or equal to max (min=3, max=1)'] },
    { name: 'hand-built empty list', value: { type: 'categorical', values: [] }, issues: ['parameters.x: search.choice: values must list at least one string'] },
  ])('reports $name', ({ value, issues }) => {
    expect(checkSearchParameter(value, 'parameters.x').map((i) => `${i.path}: ${i.message}`)).toEqual(issues);
  });

  it('never throws, whatever it is given', () => {
    fc.assert(
      fc.property(fc.anything(), (v) => {
        expect(Array.isArray(checkSearchParameter(v, 'p'))).toBe(true);
      }),
    );
    fc.assert(
      fc.property(fc.constantFrom('double', 'int', 'discrete', 'categorical'), fc.anything(), fc.anything(), fc.anything(), fc.anything(), (type, min, max, step, distribution) => {
        expect(Array.isArray(checkSearchParameter({ type, min, max, step, distribution, values: min }, 'p'))).toBe(true);
      }),
    );
  });

  it('accepts exactly what the helpers produce (valid numeric bounds round-trip)', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.double({ noNaN: true, noDefaultInfinity: true }), (a, b) => {
        const [min, max] = a <= b ? [a, b] : [b, a];
        expect(checkSearchParameter(search.uniform(min, max), 'p')).toEqual([]);
      }),
    );
  });
});
