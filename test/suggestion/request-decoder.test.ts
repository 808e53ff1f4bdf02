import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadKatibProto } from '../../src/grpc/proto.js';
import { TrialCache, decodeGetSuggestionsRequest } from '../../src/suggestion/request-decoder.js';
import type { PbExperiment, PbGetSuggestionsRequest, PbTrial } from '../../src/suggestion/wire.js';
import { trialFromPb } from '../../src/suggestion/wire.js';
import { getSuggestionsMethod } from '../support/proto.js';

const { EarlyStopping } = loadKatibProto();
const method = getSuggestionsMethod();
const encode = (req: unknown): Buffer => method.requestSerialize(req);

/** The plain path: proto-loader's decoding, then trialFromPb, as the adapter's getSuggestions does. */
function plain(buf: Buffer) {
  const req = method.requestDeserialize(buf) as PbGetSuggestionsRequest;
  const objectiveMetric = req.experiment?.spec?.objective?.objective_metric_name ?? '';
  return {
    experiment: req.experiment,
    history: req.trials.map((t) => trialFromPb(t, objectiveMetric)),
    currentRequestNumber: req.current_request_number,
    totalRequestNumber: req.total_request_number,
  };
}

function experiment(objectiveMetric: string, settings: { name: string; value: string }[] = []): PbExperiment {
  return {
    name: 'exp',
    spec: {
      parameter_specs: {
        parameters: [
          { name: 'lr', parameter_type: 'DOUBLE', feasible_space: { min: '0.001', max: '0.1', step: '', list: [], distribution: 'LOG_UNIFORM' } },
          { name: 'act', parameter_type: 'CATEGORICAL', feasible_space: { min: '', max: '', step: '', list: ['relu', 'tanh'], distribution: 'DISTRIBUTION_UNSPECIFIED' } },
        ],
      },
      objective: { type: 'MAXIMIZE', goal: 0.99, objective_metric_name: objectiveMetric, additional_metric_names: ['loss'] },
      algorithm: { algorithm_name: 'cmaes', algorithm_settings: settings },
      early_stopping: null,
      parallel_trial_count: 3,
      max_trial_count: 12,
    },
  };
}

function trial(name: string, condition: string, assignments: [string, string][], metrics: [string, string][], labels: Record<string, string> = {}): PbTrial {
  return {
    name,
    spec: {
      objective: { type: 'MAXIMIZE', goal: 0.99, objective_metric_name: 'acc', additional_metric_names: ['loss'] },
      parameter_assignments: { assignments: assignments.map(([n, value]) => ({ name: n, value })) },
      labels,
    },
    status: { start_time: '2024-01-01T00:00:00Z', completion_time: '2024-01-01T00:01:00Z', condition, observation: { metrics: metrics.map(([n, value]) => ({ name: n, value })) } },
  };
}

describe('GetSuggestionsRequest decoder of the service', () => {
  it.each<{ name: string; req: unknown }>([
    { name: 'an empty request', req: {} },
    { name: 'an experiment without trials', req: { experiment: experiment('acc', [{ name: 'katib-ts.state', value: '{"a":[1,2]}' }]), trials: [], current_request_number: 2, total_request_number: 2 } },
    {
      name: 'trials in every condition, with labels, missing and unusable metrics',
      req: {
        experiment: experiment('acc'),
        trials: [
          trial('t0', 'SUCCEEDED', [['lr', '0.01'], ['act', 'relu']], [['acc', '0.9'], ['loss', '0.1']], { 'katib-ts/cmaes-generation': 'abc-0' }),
          trial('t1', 'RUNNING', [['lr', '0.02'], ['act', 'tanh']], []),
          trial('t2', 'FAILED', [['lr', '0.03']], [['acc', 'unavailable'], ['loss', '']]),
          trial('t3', 'METRICSUNAVAILABLE', [], [['acc', 'NaN'], ['loss', '1e400']]),
          trial('t4', 'EARLYSTOPPED', [['lr', '0.05'], ['lr', '0.06']], [['acc', '0.5'], ['acc', '0.7']]),
          trial('t5', 'KILLED', [['act', 'relu']], [['acc', ' 0x10 ']]),
          trial('t6', 'UNKNOWN', [['act', 'ü-länge-ÿ'], ['long', 'x'.repeat(100)]], [['acc', '-0']], { 'ключ': 'значение' }),
          trial('t7', 'CREATED', [], []),
          trial('t8', 'SUCCEEDED', [['__proto__', '1'], ['constructor', '2']], [['__proto__', '3'], ['acc', '0.4']], { ['__proto__']: 'x', toString: 'y' }),
          { name: 'bare' },
          { name: 'no-status', spec: { parameter_assignments: { assignments: [{ name: 'lr', value: '0.1' }] } } },
        ],
        current_request_number: 1,
        total_request_number: 11,
      },
    },
    { name: 'a negative request number', req: { experiment: experiment('acc'), trials: [], current_request_number: -1, total_request_number: -7 } },
  ])('gives the same experiment and trials as proto-loader and trialFromPb: $name', ({ req }) => {
    const buf = encode(req);
    expect(decodeGetSuggestionsRequest(buf)).toEqual(plain(buf));
  });

  it.each(['constructor', 'toString', '__proto__'])('reads an objective metric named %s only from the trial\'s own metrics', (metric) => {
    const buf = encode({ experiment: experiment(metric), trials: [trial('t0', 'SUCCEEDED', [['lr', '0.01']], [[metric, '0.5']]), trial('t1', 'RUNNING', [['lr', '0.02']], [])], current_request_number: 1, total_request_number: 3 });
    expect(decodeGetSuggestionsRequest(buf).history.map((t) => t.objective)).toEqual([0.5, undefined]);
    expect(plain(buf).history.map((t) => t.objective)).toEqual([0.5, undefined]);
  });

  it('follows protobufjs on concatenated messages: repeated fields append, a later singular field replaces', () => {
    const a = encode({ experiment: experiment('acc', [{ name: 'sigma', value: '0.2' }]), trials: [trial('t0', 'SUCCEEDED', [['lr', '0.01']], [['acc', '1']])], current_request_number: 1, total_request_number: 1 });
    const b = encode({ experiment: experiment('loss'), trials: [trial('t1', 'FAILED', [['lr', '0.02']], [['loss', '2']])], current_request_number: 3, total_request_number: 0 });
    const buf = Buffer.concat([a, b]);
    const decoded = decodeGetSuggestionsRequest(buf);
    expect(decoded).toEqual(plain(buf));
    expect(decoded.history.map((t) => t.objective)).toEqual([undefined, 2]);
    expect(decoded.currentRequestNumber).toBe(3);
  });

  it('skips fields it does not know (a GetEarlyStoppingRulesRequest carries db_manager_address as field 3)', () => {
    const es = EarlyStopping.service['GetEarlyStoppingRules'];
    if (!es) throw new Error('GetEarlyStoppingRules missing from the loaded proto');
    const buf = es.requestSerialize({ experiment: experiment('acc'), trials: [trial('t0', 'SUCCEEDED', [['lr', '0.01']], [['acc', '1']])], db_manager_address: 'db:6789' });
    expect(decodeGetSuggestionsRequest(buf)).toEqual(plain(buf));
  });

  it.each<{ name: string; bytes: number[] }>([
    { name: 'a length past the end', bytes: [0x12, 0x05, 0x0a] },
    { name: 'a truncated varint', bytes: [0x20, 0x80] },
    { name: 'a trial field overrunning its trial', bytes: [0x12, 0x02, 0x0a, 0x05, 0x61, 0x62, 0x63, 0x64, 0x65] },
  ])('throws RangeError on $name', ({ bytes }) => {
    expect(() => decodeGetSuggestionsRequest(Buffer.from(bytes))).toThrow(RangeError);
  });

  it('agrees with proto-loader on any request (property)', () => {
    const text = fc.oneof(fc.constantFrom('', 'acc', 'loss', 'lr', 'unavailable', 'NaN', '1e-3', '-2.5'), fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 8 }));
    const pairs = fc.array(fc.tuple(text, text), { maxLength: 4 });
    const condition = fc.constantFrom('CREATED', 'RUNNING', 'SUCCEEDED', 'KILLED', 'FAILED', 'METRICSUNAVAILABLE', 'EARLYSTOPPED', 'UNKNOWN');
    const arbTrial = fc.record({ name: text, condition, assignments: pairs, metrics: pairs, labels: fc.dictionary(text, text, { maxKeys: 3 }) });
    fc.assert(
      fc.property(fc.array(arbTrial, { maxLength: 6 }), fc.constantFrom('acc', 'loss', ''), fc.integer({ min: -5, max: 5000 }), (trials, metric, count) => {
        const buf = encode({
          experiment: experiment(metric),
          trials: trials.map((t) => trial(t.name, t.condition, t.assignments, t.metrics, t.labels)),
          current_request_number: count,
          total_request_number: count * 3,
        });
        expect(decodeGetSuggestionsRequest(buf)).toEqual(plain(buf));
      }),
      { numRuns: 300 },
    );
  });

  it('reuses the records of unchanged trials from its cache, and decodes changed ones afresh', () => {
    const cache = new TrialCache();
    const t0 = trial('t0', 'RUNNING', [['lr', '0.01']], []);
    const t1 = trial('t1', 'SUCCEEDED', [['lr', '0.02']], [['acc', '0.5']]);
    const first = decodeGetSuggestionsRequest(encode({ experiment: experiment('acc'), trials: [t0, t1] }), cache);
    const nextBuf = encode({ experiment: experiment('acc'), trials: [trial('t0', 'SUCCEEDED', [['lr', '0.01']], [['acc', '0.7']]), t1, trial('t2', 'RUNNING', [], [])] });
    const next = decodeGetSuggestionsRequest(nextBuf, cache);
    expect(next).toEqual(plain(nextBuf));
    expect(next.history[1]).toBe(first.history[1]);
    expect(next.history[0]).not.toBe(first.history[0]);
    expect(Object.isFrozen(next.history[1]) && Object.isFrozen(next.history[1]?.assignments)).toBe(true);
    const otherMetricBuf = encode({ experiment: experiment('loss'), trials: [t1] });
    const other = decodeGetSuggestionsRequest(otherMetricBuf, cache);
    expect(other).toEqual(plain(otherMetricBuf));
    expect(other.history[0]?.objective).toBeUndefined();
  });

  it('reuses by position the trials laid out as in the experiment\'s previous request, without its by-name cache', () => {
    const cache = new TrialCache(0); // holds no trial by name: every reuse here comes from the previous request
    const trials = Array.from({ length: 40 }, (_, i) => trial(`t${i}`, 'SUCCEEDED', [['lr', String(i / 100)]], [['acc', String(i)]]));
    const first = decodeGetSuggestionsRequest(encode({ experiment: experiment('acc'), trials }), cache);
    expect(cache.size).toBe(0);
    const changed = [...trials];
    changed[17] = trial('t17', 'FAILED', [['lr', '0.17']], []);
    changed.push(trial('t40', 'RUNNING', [], []));
    const nextBuf = encode({ experiment: experiment('acc', [{ name: 'katib-ts.state', value: '{"g":2}' }]), trials: changed });
    const next = decodeGetSuggestionsRequest(nextBuf, cache);
    expect(next).toEqual(plain(nextBuf));
    next.history.forEach((t, i) => (i === 17 || i === 40 ? expect(t).not.toBe(first.history[i]) : expect(t).toBe(first.history[i])));
    // Another experiment's request neither uses nor replaces this one's.
    decodeGetSuggestionsRequest(encode({ experiment: { ...experiment('acc'), name: 'other' }, trials: trials.slice(1) }), cache);
    expect(cache.requests).toBe(2);
    const again = decodeGetSuggestionsRequest(nextBuf, cache);
    again.history.forEach((t, i) => expect(t).toBe(next.history[i]));
    // Another objective metric: decoded afresh.
    const byLossBuf = encode({ experiment: experiment('loss'), trials: changed });
    const byLoss = decodeGetSuggestionsRequest(byLossBuf, cache);
    expect(byLoss).toEqual(plain(byLossBuf));
    expect(byLoss.history[0]).not.toBe(next.history[0]);
  });

  it('decodes any sequence of requests as proto-loader does, whatever it reuses (property)', () => {
    const arbTrial = fc.record({
      name: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'),
      condition: fc.constantFrom('RUNNING', 'SUCCEEDED', 'FAILED'),
      lr: fc.constantFrom('0.1', '0.2', '0.25'),
      acc: fc.constantFrom('', '0.5', '0.75'),
    });
    const arbRequest = fc.record({ metric: fc.constantFrom('acc', 'loss'), name: fc.constantFrom('exp', 'exp2'), trials: fc.array(arbTrial, { maxLength: 12 }) });
    fc.assert(
      fc.property(fc.array(arbRequest, { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 400 }), (requests, maxBytes) => {
        const cache = new TrialCache(maxBytes, 1);
        for (const q of requests) {
          const buf = encode({
            experiment: { ...experiment(q.metric), name: q.name },
            trials: q.trials.map((t) => trial(t.name, t.condition, [['lr', t.lr]], t.acc === '' ? [] : [['acc', t.acc]])),
            current_request_number: 1,
          });
          expect(decodeGetSuggestionsRequest(buf, cache)).toEqual(plain(buf));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('decodes any sequence of experiments as proto-loader does, reusing what lies outside the algorithm spec (property)', () => {
    const text = fc.oneof(fc.constantFrom('', 'random_state', 'katib-ts.state', '{"g":1}', '{"g":12}'), fc.string({ maxLength: 12 }));
    const arbExperiment = fc.record({
      name: fc.constantFrom('exp', 'exp2'),
      metric: fc.constantFrom('acc', 'loss'),
      algorithm: fc.option(fc.record({ name: fc.constantFrom('cmaes', 'tpe', ''), settings: fc.array(fc.record({ name: text, value: text }), { maxLength: 3 }) }), { nil: undefined }),
      parallel: fc.constantFrom(0, 3),
    });
    fc.assert(
      fc.property(fc.array(arbExperiment, { minLength: 1, maxLength: 8 }), (experiments) => {
        const cache = new TrialCache();
        let previous: { e: (typeof experiments)[number]; decoded: PbExperiment | null } | undefined;
        for (const e of experiments) {
          const base = experiment(e.metric);
          const spec = { ...(base.spec as NonNullable<PbExperiment['spec']>), parallel_trial_count: e.parallel, algorithm: e.algorithm ? { algorithm_name: e.algorithm.name, algorithm_settings: e.algorithm.settings } : null };
          const buf = encode({ experiment: { name: e.name, spec }, trials: [trial('t0', 'SUCCEEDED', [['lr', '0.01']], [['acc', '0.5']])] });
          const decoded = decodeGetSuggestionsRequest(buf, cache).experiment;
          expect(decoded).toEqual(plain(buf).experiment);
          const sameOutside = previous !== undefined && previous.e.name === e.name && previous.e.metric === e.metric && previous.e.parallel === e.parallel && previous.e.algorithm !== undefined && e.algorithm !== undefined;
          if (sameOutside) expect(decoded?.spec?.parameter_specs).toBe(previous?.decoded?.spec?.parameter_specs);
          previous = { e, decoded };
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps at most 16 experiments decoded, the least recently used out first', () => {
    const cache = new TrialCache();
    const request = (name: string, state: string): Buffer => encode({ experiment: { ...experiment('acc', [{ name: 'katib-ts.state', value: state }]), name }, trials: [] });
    const specsOf = (buf: Buffer) => decodeGetSuggestionsRequest(buf, cache).experiment?.spec?.parameter_specs;
    const held = Array.from({ length: 16 }, (_, i) => specsOf(request(`e${i}`, '1')));
    expect(specsOf(request('e0', '2'))).toBe(held[0]); // 16 held: e0 still there, and now the most recently used
    specsOf(request('e16', '1')); // e1 goes
    expect(specsOf(request('e0', '3'))).toBe(held[0]);
    expect(specsOf(request('e2', '2'))).toBe(held[2]);
    const e1 = specsOf(request('e1', '2'));
    expect(e1).toEqual(held[1]);
    expect(e1).not.toBe(held[1]);
  });

  it('tells apart trials whose names hash alike (t439599 and t622382 share an FNV-1a hash)', () => {
    const cache = new TrialCache(2 * 1024 * 1024, 0); // by name only
    const a = trial('t439599', 'SUCCEEDED', [['lr', '0.01']], [['acc', '0.1']]);
    const b = trial('t622382', 'SUCCEEDED', [['lr', '0.02']], [['acc', '0.2']]);
    for (const trials of [[a, b], [b, a], [a, b]]) {
      const buf = encode({ experiment: experiment('acc'), trials });
      expect(decodeGetSuggestionsRequest(buf, cache)).toEqual(plain(buf));
    }
  });

  it('keeps its cache within its byte bound, oldest trials out first', () => {
    const cache = new TrialCache(1000);
    const trials = Array.from({ length: 50 }, (_, i) => trial(`t${i}`, 'SUCCEEDED', [['lr', String(i)]], [['acc', '1']]));
    const buf = encode({ experiment: experiment('acc'), trials });
    expect(decodeGetSuggestionsRequest(buf, cache)).toEqual(plain(buf));
    expect(cache.size).toBeGreaterThan(0);
    expect(cache.size).toBeLessThan(1000 / 60);
    const last = decodeGetSuggestionsRequest(encode({ experiment: experiment('acc'), trials: trials.slice(-1) }), cache);
    expect(last.history[0]).toBe(decodeGetSuggestionsRequest(encode({ experiment: experiment('acc'), trials: trials.slice(-1) }), cache).history[0]);
  });
});
