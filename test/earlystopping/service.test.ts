import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Experiment, Trial } from '../../src/api/types.js';
import { ValidationError } from '../../src/errors.js';
import { startDbManager } from '../../src/dbmanager/service.js';
import { DbManagerClient } from '../../src/dbmanager/client.js';
import { startEarlyStoppingServer } from '../../src/earlystopping/service.js';
import { loadKatibProto } from '../../src/grpc/proto.js';
import type { RunningServer } from '../../src/suggestion/adapter.js';
import { EarlyStoppingClient } from '../../src/suggestion/client.js';
import { scratch } from '../support/cli.js';
import path from 'node:path';

function experiment(goal: 'minimize' | 'maximize', settings: Record<string, string> = { min_trials_required: '2', start_step: '2' }): Experiment {
  return {
    apiVersion: 'kubeflow.org/v1beta1',
    kind: 'Experiment',
    metadata: { name: 'es' },
    spec: {
      objective: { type: goal, objectiveMetricName: 'loss' },
      algorithm: { algorithmName: 'random' },
      earlyStopping: { algorithmName: 'medianstop', algorithmSettings: Object.entries(settings).map(([name, value]) => ({ name, value })) },
      parameters: [{ name: 'x', parameterType: 'double', feasibleSpace: { min: '0', max: '1' } }],
    },
  };
}

const trial = (name: string, phase: 'Succeeded' | 'Running'): Trial => ({
  apiVersion: 'kubeflow.org/v1beta1',
  kind: 'Trial',
  metadata: { name },
  spec: { parameterAssignments: [{ name: 'x', value: '0.5' }] },
  status: { conditions: [{ type: phase, status: 'True' }] },
});

let db: { port: number; close(): Promise<void> };
let es: RunningServer;
let client: EarlyStoppingClient;
const dbAddress = () => `127.0.0.1:${db.port}`;

beforeAll(async () => {
  db = await startDbManager({ host: '127.0.0.1', port: 0, db: `sqlite:${path.join(scratch('katib-es-'), 'obs.db')}`, logger: { info: () => undefined, warn: () => undefined } });
  const writer = new DbManagerClient(dbAddress());
  const log = (trial: string, values: number[]) =>
    writer.report(trial, values.map((v, i) => ({ timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), name: 'loss', value: String(v) })));
  // Averages of the first two values: a → 2, b → 4, c → 100 (a diverged trial): median 4, mean 35.3.
  await log('a', [3, 1, 0.5]);
  await log('b', [5, 3, 2]);
  await log('c', [150, 50, 10]);
  writer.close();
  es = await startEarlyStoppingServer({ host: '127.0.0.1', port: 0 });
  client = new EarlyStoppingClient(es.address);
});
afterAll(async () => {
  client.close();
  await es.close();
  await db.close();
});

describe('medianstop over gRPC, reading observations through the DBManager API', () => {
  it('answers the true median of the completed trials\' early averages (minimize → greater)', async () => {
    const rules = await client.getRules(experiment('minimize'), [trial('a', 'Succeeded'), trial('b', 'Succeeded'), trial('c', 'Succeeded'), trial('d', 'Running')], dbAddress());
    expect(rules).toEqual([{ name: 'loss', value: '4', comparison: 'greater', startStep: 2 }]);
  });

  it('uses less for maximize', async () => {
    const rules = await client.getRules(experiment('maximize'), [trial('a', 'Succeeded'), trial('b', 'Succeeded')], dbAddress());
    expect(rules).toEqual([{ name: 'loss', value: '3', comparison: 'less', startStep: 2 }]);
  });

  it('gives no rule before min_trials_required trials completed', async () => {
    expect(await client.getRules(experiment('minimize', { min_trials_required: '3' }), [trial('a', 'Succeeded'), trial('b', 'Succeeded'), trial('c', 'Running')], dbAddress())).toEqual([]);
  });

  it.each<{ name: string; settings: Record<string, string>; message: string }>([
    { name: 'bad start_step', settings: { start_step: '0' }, message: 'spec.earlyStopping.algorithmSettings[start_step]: must be an integer >= 1 (start_step="0")' },
    { name: 'unknown setting', settings: { min_trial: '3' }, message: 'spec.earlyStopping.algorithmSettings[min_trial]: unknown setting "min_trial"' },
  ])('ValidateEarlyStoppingSettings answers INVALID_ARGUMENT: $name', async ({ settings, message }) => {
    const err = await client.validate(experiment('minimize', settings)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as Error).message).toContain(message);
  });

  it('rejects an unknown early-stopping algorithm and acknowledges SetTrialStatus', async () => {
    const exp = experiment('minimize');
    exp.spec.earlyStopping = { algorithmName: 'nope' };
    await expect(client.validate(exp)).rejects.toThrow('unknown early-stopping algorithm "nope"; this service offers medianstop');
    await expect(client.setTrialStatus('a')).resolves.toBeUndefined();
    await expect(client.setTrialStatus('')).rejects.toThrow('trial_name: must not be empty');
  });

  it('takes a rules request that names no algorithm as one for medianstop, its only algorithm; validation still needs the name', async () => {
    const exp = experiment('minimize');
    delete exp.spec.earlyStopping;
    // Katib's own test: two trials that never ran, a DB-manager address that does not resolve, default settings.
    expect(await client.getRules(exp, [trial('x', 'Running'), trial('y', 'Running')], 'katib-db-manager.kubeflow:6789')).toEqual([]);
    expect(await client.getRules(exp, [trial('a', 'Succeeded'), trial('b', 'Succeeded'), trial('c', 'Succeeded')], dbAddress())).toEqual([{ name: 'loss', value: String(10 / 3), comparison: 'greater', startStep: 4 }]);
    await expect(client.validate(exp)).rejects.toThrow('unknown early-stopping algorithm ""; this service offers medianstop');
  });

  it('reports SERVING for manager.v1beta1.EarlyStopping', async () => {
    const { Health } = loadKatibProto();
    const h = new Health(es.address, grpc.credentials.createInsecure()) as unknown as { Check: (req: { service: string }, cb: (e: grpc.ServiceError | null, r: { status: string }) => void) => void; close(): void };
    const res = await new Promise<{ status: string }>((resolve, reject) => h.Check({ service: 'manager.v1beta1.EarlyStopping' }, (e, r) => (e ? reject(e) : resolve(r))));
    expect(res.status).toBe('SERVING');
    h.close();
  });
});
