/**
 * The benchmarks' stand-in for the experiment controller (benchmarks/common/controller.ts), against a real
 * suggestion service: what it sends decides what the sample-efficiency tables measure, so a running trial must reach
 * the algorithms as running (not as a finished trial with a value) and a finished one with its value.
 */
import { describe, expect, it } from 'vitest';
import { BenchmarkController, benchmarkExperiment, OBJECTIVE_METRIC, pointOf } from '../../benchmarks/common/controller.js';
import type { TrialRecord } from '../../algorithms/core/algorithm.js';
import type { ParameterSpec } from '../../src/api/types.js';
import { trialFromPb, trialToPb } from '../../src/suggestion/wire.js';
import { useSuggestionService } from '../support/suggestion-service.js';

const parameters: ParameterSpec[] = [
  { name: 'x', parameterType: 'double', feasibleSpace: { min: '0', max: '1' } },
  { name: 'y', parameterType: 'double', feasibleSpace: { min: '0', max: '1' } },
];
const f = (p: Record<string, string>): number => (Number(p['x']) - 0.3) ** 2 + (Number(p['y']) - 0.7) ** 2;

const service = useSuggestionService();

describe('BenchmarkController', () => {
  it('sends started trials as running and finished ones with their value, and keeps their positions', async () => {
    const experiment = benchmarkExperiment({ name: 'bench-parallel', parameters, algorithm: 'tpe', settings: { random_state: '3', n_startup_trials: '3' }, parallelTrialCount: 3 });
    const c = new BenchmarkController(service.client, experiment);
    const first = await c.start(3);
    expect(first.map((s) => s.index)).toEqual([0, 1, 2]);
    expect(records(c).map((r) => [r.status, r.objective])).toEqual([
      ['running', undefined],
      ['running', undefined],
      ['running', undefined],
    ]);
    expect(records(c).map((r) => r.assignments)).toEqual(first.map((s) => pointOf(s.asked.assignments)));

    // They finish out of order; each keeps its position and gets its value.
    for (const s of [first[1], first[0], first[2]]) {
      if (s === undefined) throw new Error('three suggestions expected');
      c.finish(s.index, s.asked, f(pointOf(s.asked.assignments)));
    }
    expect(records(c).map((r) => [r.status, r.objective])).toEqual(first.map((s) => ['succeeded', f(pointOf(s.asked.assignments))]));

    // With two trials running, the model's next suggestion is neither of them.
    const running = [...(await c.start(1)), ...(await c.start(1))];
    const next = await c.start(1);
    expect(next.map((s) => s.index)).toEqual([5]);
    expect(records(c).map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'running', 'running', 'running']);
    const points = [...running, ...next].map((s) => JSON.stringify(pointOf(s.asked.assignments)));
    expect(new Set(points).size).toBe(3);
  });

  it('asks one trial at a time with ask and complete', async () => {
    const experiment = benchmarkExperiment({ name: 'bench-sequential', parameters, algorithm: 'random', settings: { random_state: '1' } });
    const c = new BenchmarkController(service.client, experiment);
    for (let i = 0; i < 3; i++) {
      const asked = await c.ask();
      expect(asked.assignments.map((a) => a.name)).toEqual(['x', 'y']);
      c.complete(asked, f(pointOf(asked.assignments)));
    }
    expect(records(c).map((r) => [r.name, r.status])).toEqual([
      ['bench-sequential-00000', 'succeeded'],
      ['bench-sequential-00001', 'succeeded'],
      ['bench-sequential-00002', 'succeeded'],
    ]);
  });
});

/** The controller's trials as the service's algorithms see them. */
function records(c: BenchmarkController): TrialRecord[] {
  return c.trials.map((t) => trialFromPb(trialToPb(t), OBJECTIVE_METRIC));
}
