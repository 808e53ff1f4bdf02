import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeGetSuggestionsRequest } from '../../src/suggestion/request-encoder.js';
import type { PbExperiment, PbGetSuggestionsRequest, PbTrial } from '../../src/suggestion/wire.js';
import { getSuggestionsMethod } from '../support/proto.js';

const method = getSuggestionsMethod();
/** What a Katib client reads: proto-loader's decoding (defaults filled in). */
const decode = (buf: Buffer): unknown => method.requestDeserialize(buf);

function experiment(o: { name?: string; metric?: string; type?: string; goal?: number; settings?: { name: string; value: string }[]; earlyStopping?: boolean; parallel?: number; max?: number }): PbExperiment {
  return {
    name: o.name ?? 'exp',
    spec: {
      parameter_specs: {
        parameters: [
          { name: 'lr', parameter_type: 'DOUBLE', feasible_space: { min: '0.001', max: '0.1', step: '', list: [], distribution: 'LOG_UNIFORM' } },
          { name: 'act', parameter_type: 'CATEGORICAL', feasible_space: { min: '', max: '', step: '', list: ['relu', '', 'tanh'], distribution: 'DISTRIBUTION_UNSPECIFIED' } },
          { name: 'n', parameter_type: 'INT', feasible_space: null },
        ],
      },
      objective: { type: o.type ?? 'MAXIMIZE', goal: o.goal ?? 0.99, objective_metric_name: o.metric ?? 'acc', additional_metric_names: ['loss', ''] },
      algorithm: { algorithm_name: 'cmaes', algorithm_settings: o.settings ?? [{ name: 'katib-ts.state', value: '{"mean":[0.5]}' }] },
      early_stopping: o.earlyStopping ? { algorithm_name: 'medianstop', algorithm_settings: [{ name: 'min_trials_required', value: '3' }] } : null,
      parallel_trial_count: o.parallel ?? 3,
      max_trial_count: o.max ?? 12,
    },
  };
}

function trial(name: string, condition: string, assignments: [string, string][], metrics: [string, string][], labels: Record<string, string> = {}): PbTrial {
  return {
    name,
    spec: {
      objective: { type: 'MAXIMIZE', goal: 0, objective_metric_name: 'acc', additional_metric_names: [] },
      parameter_assignments: { assignments: assignments.map(([n, value]) => ({ name: n, value })) },
      labels,
    },
    status: { start_time: '2024-01-01T00:00:00Z', completion_time: '', condition, observation: { metrics: metrics.map(([n, value]) => ({ name: n, value })) } },
  };
}

describe('GetSuggestionsRequest encoder of the client', () => {
  it.each<{ name: string; req: PbGetSuggestionsRequest }>([
    { name: 'an empty request', req: { experiment: null, trials: [], current_request_number: 0, total_request_number: 0 } },
    { name: 'an experiment with early stopping, no trials', req: { experiment: experiment({ earlyStopping: true }), trials: [], current_request_number: 2, total_request_number: 2 } },
    { name: 'negative numbers and a negative goal', req: { experiment: experiment({ goal: -1.5, parallel: -3, max: -2147483648 }), trials: [], current_request_number: -1, total_request_number: 2147483647 } },
    {
      name: 'trials with labels, unicode, long values and every condition',
      req: {
        experiment: experiment({ type: 'MINIMIZE', metric: 'loss' }),
        trials: [
          trial('t0', 'SUCCEEDED', [['lr', '0.01'], ['act', 'relu']], [['acc', '0.9']], { 'katib-ts/cmaes-generation': 'abc-0', '': '' }),
          trial('t1', 'METRICSUNAVAILABLE', [['act', 'ü-länge-ÿ 🙂'], ['long', 'x'.repeat(300)], ['ascii-then-not', 'adam-über'], ['at-64', 'y'.repeat(64)], ['past-64', 'z'.repeat(65)]], [['acc', 'unavailable']]),
          trial('t2', 'EARLYSTOPPED', [], []),
          trial('t3', 'UNKNOWN', [['lr', '']], [['', '']]),
          trial('t4', 'CREATED', [], []),
          { name: 'bare', spec: null, status: null },
        ],
        current_request_number: 1,
        total_request_number: 300,
      },
    },
    { name: 'a 200-character experiment name and 20 kB of state', req: { experiment: experiment({ name: 'e'.repeat(200), settings: [{ name: 'katib-ts.state', value: 'x'.repeat(20_000) }] }), trials: [], current_request_number: 1, total_request_number: 1 } },
  ])('decodes to the same message as proto-loader encodes: $name', ({ req }) => {
    expect(decode(encodeGetSuggestionsRequest(req))).toEqual(decode(method.requestSerialize(req)));
  });

  it('decodes to the same message as proto-loader encodes (property)', () => {
    const text = fc.oneof(fc.constantFrom('', 'acc', 'lr', 'SUCCEEDED'), fc.string({ maxLength: 200 }), fc.string({ unit: 'grapheme', maxLength: 8 }));
    const pairs = fc.array(fc.tuple(text, text), { maxLength: 4 });
    const condition = fc.constantFrom('CREATED', 'RUNNING', 'SUCCEEDED', 'KILLED', 'FAILED', 'METRICSUNAVAILABLE', 'EARLYSTOPPED', 'UNKNOWN');
    const arbTrial = fc.record({ name: text, condition, assignments: pairs, metrics: pairs, labels: fc.dictionary(text, text, { maxKeys: 3 }) });
    fc.assert(
      fc.property(fc.array(arbTrial, { maxLength: 8 }), text, fc.double({ noNaN: true }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (trials, metric, goal, count) => {
        const req: PbGetSuggestionsRequest = {
          experiment: experiment({ metric, goal }),
          trials: trials.map((t) => trial(t.name, t.condition, t.assignments, t.metrics, t.labels)),
          current_request_number: count,
          total_request_number: count ^ 0x5555,
        };
        expect(decode(encodeGetSuggestionsRequest(req))).toEqual(decode(method.requestSerialize(req)));
      }),
      { numRuns: 300 },
    );
  });

  it('writes a negative int32 as ten sign-extended bytes, as protobuf encoders do', () => {
    const req: PbGetSuggestionsRequest = { experiment: null, trials: [], current_request_number: -1, total_request_number: -2 };
    expect([...encodeGetSuggestionsRequest(req)]).toEqual([0x20, ...new Array<number>(9).fill(0xff), 0x01, 0x28, 0xfe, ...new Array<number>(8).fill(0xff), 0x01]);
  });
});
