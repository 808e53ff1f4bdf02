import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { AlgorithmSetting, Experiment, Trial } from '../../src/api/types.js';
import { ValidationError } from '../../src/errors.js';
import { ALGORITHMS } from '../../algorithms/index.js';
import { loadKatibProto } from '../../src/grpc/proto.js';
import { startSuggestionServer } from '../../src/suggestion/adapter.js';
import { SuggestionClient } from '../../src/suggestion/client.js';
import { useSuggestionService } from '../support/suggestion-service.js';

function experiment(algorithm: string, settings: AlgorithmSetting[] = [], parameters?: Experiment['spec']['parameters']): Experiment {
  return {
    apiVersion: 'kubeflow.org/v1beta1',
    kind: 'Experiment',
    metadata: { name: 'exp', namespace: 'default' },
    spec: {
      objective: { type: 'minimize', objectiveMetricName: 'loss' },
      algorithm: { algorithmName: algorithm, algorithmSettings: settings },
      parallelTrialCount: 2,
      maxTrialCount: 20,
      parameters: parameters ?? [
        { name: 'lr', parameterType: 'double', feasibleSpace: { min: '0.01', max: '0.05', step: '0.01' } },
        { name: 'layers', parameterType: 'int', feasibleSpace: { min: '1', max: '2' } },
        { name: 'act', parameterType: 'categorical', feasibleSpace: { list: ['relu', 'tanh'] } },
      ],
    },
  };
}

function asTrial(name: string, assignments: AlgorithmSetting[]): Trial {
  return { apiVersion: 'kubeflow.org/v1beta1', kind: 'Trial', metadata: { name }, spec: { parameterAssignments: assignments }, status: { conditions: [{ type: 'Running', status: 'True' }] } };
}

const service = useSuggestionService();

describe('suggestion service over gRPC', () => {
  it('reports SERVING for manager.v1beta1.Suggestion on the health service', async () => {
    const { Health } = loadKatibProto();
    const h = new Health(service.server.address, grpc.credentials.createInsecure()) as unknown as { Check: (req: { service: string }, cb: (e: grpc.ServiceError | null, r: { status: string }) => void) => void; close(): void };
    const res = await new Promise<{ status: string }>((resolve, reject) => h.Check({ service: 'manager.v1beta1.Suggestion' }, (e, r) => (e ? reject(e) : resolve(r))));
    expect(res.status).toBe('SERVING');
    const missing = await new Promise<grpc.ServiceError | null>((resolve) => h.Check({ service: 'nope' }, (e) => resolve(e)));
    expect(missing?.code).toBe(grpc.status.NOT_FOUND);
    h.close();
  });

  it('enumerates the grid once, in a deterministic order, then says it is exhausted', async () => {
    const exp = experiment('grid');
    const seen: string[] = [];
    let settings: AlgorithmSetting[] | undefined;
    let trials: Trial[] = [];
    let exhausted = false;
    for (let round = 0; round < 10 && !exhausted; round++) {
      const reply = await service.client.getSuggestions(exp, trials, 3, seen.length + 3, settings);
      for (const s of reply.suggestions) seen.push(s.assignments.map((a) => `${a.name}=${a.value}`).join(','));
      trials = [...trials, ...reply.suggestions.map((s, i) => asTrial(`t${trials.length + i}`, s.assignments))];
      settings = reply.algorithmSettings;
      exhausted = reply.exhausted;
    }
    expect(exhausted).toBe(true);
    expect(seen).toHaveLength(5 * 2 * 2);
    expect(new Set(seen).size).toBe(20);
    expect(seen.slice(0, 3)).toEqual(['lr=0.01,layers=1,act=relu', 'lr=0.01,layers=1,act=tanh', 'lr=0.01,layers=2,act=relu']);
    expect(seen[19]).toBe('lr=0.05,layers=2,act=tanh');
  });

  it('carries grid state in the reply settings, so a new server process continues where the old one stopped', async () => {
    const exp = experiment('grid');
    const first = await service.client.getSuggestions(exp, [], 2, 2, undefined);
    const other = await startSuggestionServer({ port: 0 });
    const c2 = new SuggestionClient(other.address);
    try {
      const next = await c2.getSuggestions(exp, [], 2, 4, first.algorithmSettings);
      expect(next.suggestions.map((s) => s.assignments.map((a) => a.value).join(','))).toEqual(['0.01,2,relu', '0.01,2,tanh']);
    } finally {
      c2.close();
      await other.close();
    }
  });

  it('skips grid points already in the history when the state was lost', async () => {
    const exp = experiment('grid');
    const done = [asTrial('a', [{ name: 'lr', value: '0.01' }, { name: 'layers', value: '1' }, { name: 'act', value: 'relu' }])];
    const reply = await service.client.getSuggestions(exp, done, 1, 2, undefined);
    expect(reply.suggestions[0]?.assignments.map((a) => a.value)).toEqual(['0.01', '1', 'tanh']);
  });

  it('gives the same random suggestions for the same request and random_state', async () => {
    const exp = experiment('random', [{ name: 'random_state', value: '42' }], [{ name: 'x', parameterType: 'double', feasibleSpace: { min: '0', max: '1' } }]);
    const a = await service.client.getSuggestions(exp, [], 4, 4, undefined);
    const b = await service.client.getSuggestions(exp, [], 4, 4, undefined);
    expect(a.suggestions).toEqual(b.suggestions);
    for (const s of a.suggestions) {
      const v = Number(s.assignments[0]?.value);
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
    }
  });

  it('parses each experiment\'s own space: one experiment\'s bounds changed between calls are followed, and back again', async () => {
    const withBounds = (min: string, max: string): Experiment => experiment('random', [{ name: 'random_state', value: '7' }], [{ name: 'x', parameterType: 'double', feasibleSpace: { min, max } }]);
    const valuesOf = async (exp: Experiment): Promise<number[]> => (await service.client.getSuggestions(exp, [], 8, 8, undefined)).suggestions.map((s) => Number(s.assignments[0]?.value));
    const low = await valuesOf(withBounds('0', '1'));
    const high = await valuesOf(withBounds('10', '11'));
    for (const v of low) expect(v >= 0 && v <= 1).toBe(true);
    for (const v of high) expect(v >= 10 && v <= 11).toBe(true);
    expect(await valuesOf(withBounds('0', '1'))).toEqual(low);
    const bad = await service.client.getSuggestions(withBounds('1', '0'), [], 1, 1, undefined).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ValidationError);
    expect(await valuesOf(withBounds('10', '11'))).toEqual(high);
  });

  it.each([
    { name: 'grid without a step for a double', exp: experiment('grid', [], [{ name: 'x', parameterType: 'double', feasibleSpace: { min: '0', max: '1' } }]), message: 'spec.parameters[0].feasibleSpace.step: grid needs a step for double parameter "x" (min=0, max=1); add feasibleSpace.step' },
    { name: 'unknown algorithm', exp: experiment('nope'), message: 'spec.algorithm.algorithmName: unknown algorithm "nope"; this service offers' },
    { name: 'bad random_state', exp: experiment('random', [{ name: 'random_state', value: '-1' }]), message: 'spec.algorithm.algorithmSettings[random_state]: must be a non-negative integer (random_state="-1")' },
    { name: 'unknown setting', exp: experiment('random', [{ name: 'gama', value: '1' }]), message: 'spec.algorithm.algorithmSettings[gama]: unknown setting "gama"; known settings: random_state' },
  ])('ValidateAlgorithmSettings answers INVALID_ARGUMENT: $name', async ({ exp, message }) => {
    const err = await service.client.validate(exp).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).message).toContain(message);
  });

  describe('ValidateAlgorithmSettings without parameters checks the settings alone, as Katib\'s own services do', () => {
    const bare = (algorithm: string, settings: AlgorithmSetting[] = []): Experiment => experiment(algorithm, settings, []);

    it.each(Object.keys(ALGORITHMS).filter((a) => !['hyperband', 'asha', 'pbt'].includes(a)))('%s with its default settings: OK', async (algorithm) => {
      await expect(service.client.validate(bare(algorithm))).resolves.toBeUndefined();
    });

    it.each([
      { name: 'tpe, a bad n_startup_trials', exp: bare('tpe', [{ name: 'n_startup_trials', value: '-1' }]), message: 'spec.algorithm.algorithmSettings[n_startup_trials]: must be an integer >= 0 (n_startup_trials="-1")' },
      { name: 'bayesianoptimization, another estimator', exp: bare('bayesianoptimization', [{ name: 'base_estimator', value: 'RF' }]), message: 'spec.algorithm.algorithmSettings[base_estimator]' },
      { name: 'hyperband, a resource that names no parameter', exp: bare('hyperband', [{ name: 'resource_name', value: 'epochs' }, { name: 'r_l', value: '9' }]), message: 'spec.algorithm.algorithmSettings[resource_name]' },
    ])('$name: INVALID_ARGUMENT naming the setting', async ({ exp, message }) => {
      const err = await service.client.validate(exp).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).message).toContain(message);
      expect((err as ValidationError).message).not.toContain('at least one parameter');
    });

    it('GetSuggestions still needs a parameter', async () => {
      await expect(service.client.getSuggestions(bare('random'), [], 1, 1, undefined)).rejects.toThrow('spec.parameters: at least one parameter is required');
    });
  });

  it('restricted to one algorithm, it refuses the others', async () => {
    const only = await startSuggestionServer({ port: 0, algorithms: ['grid'] });
    const c = new SuggestionClient(only.address);
    try {
      await expect(c.validate(experiment('random'))).rejects.toThrow('unknown algorithm "random"; this service offers grid');
      await expect(c.validate(experiment('grid'))).resolves.toBeUndefined();
    } finally {
      c.close();
      await only.close();
    }
  });
});
