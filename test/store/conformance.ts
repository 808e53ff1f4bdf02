/**
 * The Store contract, run over every implementation (embedded SQLite here; the Kubernetes store against the test
 * API server). Tests state, not calls: what a reader sees after each operation.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Experiment, SuggestionResource, Trial } from '../../src/api/types.js';
import { AlreadyExistsError, ConflictError } from '../../src/errors.js';
import type { Store, StoreEvent } from '../../src/store/store.js';

export function experimentFixture(name: string, namespace = 'default'): Experiment {
  return {
    apiVersion: 'kubeflow.org/v1beta1',
    kind: 'Experiment',
    metadata: { name, namespace },
    spec: {
      objective: { type: 'minimize', objectiveMetricName: 'loss' },
      algorithm: { algorithmName: 'random' },
      parameters: [{ name: 'x', parameterType: 'double', feasibleSpace: { min: '0', max: '1' } }],
      maxTrialCount: 3,
      parallelTrialCount: 1,
    },
  };
}

export function trialFixture(exp: Experiment, name: string): Trial {
  return {
    apiVersion: 'kubeflow.org/v1beta1',
    kind: 'Trial',
    metadata: {
      name,
      namespace: exp.metadata.namespace,
      labels: { 'katib.kubeflow.org/experiment': exp.metadata.name },
      ownerReferences: exp.metadata.uid ? [{ apiVersion: 'kubeflow.org/v1beta1', kind: 'Experiment', name: exp.metadata.name, uid: exp.metadata.uid, controller: true }] : undefined,
    },
    spec: { parameterAssignments: [{ name: 'x', value: '0.5' }], labels: { 'katib.kubeflow.org/experiment': exp.metadata.name } },
  };
}

export function storeConformance(name: string, open: () => Promise<Store>): void {
  describe(`Store conformance: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    it('creates, reads and lists experiments; a duplicate name is AlreadyExists', async () => {
      const created = await store.createExperiment(experimentFixture('a'));
      expect(created.metadata.resourceVersion).toBeTruthy();
      expect(created.metadata.uid).toBeTruthy();
      expect((await store.getExperiment({ namespace: 'default', name: 'a' }))?.spec.maxTrialCount).toBe(3);
      expect(await store.getExperiment({ namespace: 'default', name: 'missing' })).toBeUndefined();
      await expect(store.createExperiment(experimentFixture('a'))).rejects.toBeInstanceOf(AlreadyExistsError);
      await store.createExperiment(experimentFixture('b'));
      expect((await store.listExperiments('default')).map((e) => e.metadata.name).sort()).toEqual(['a', 'b']);
    });

    it('updates status only, and rejects a stale resourceVersion with a conflict', async () => {
      const created = await store.createExperiment(experimentFixture('c'));
      const updated = await store.updateExperimentStatus({ ...created, spec: { ...created.spec, maxTrialCount: 99 }, status: { trials: 1 } });
      expect(updated.status?.trials).toBe(1);
      expect(updated.spec.maxTrialCount).toBe(3);
      expect(updated.metadata.resourceVersion).not.toBe(created.metadata.resourceVersion);
      await expect(store.updateExperimentStatus({ ...created, status: { trials: 2 } })).rejects.toBeInstanceOf(ConflictError);
      expect((await store.getExperiment({ namespace: 'default', name: 'c' }))?.status?.trials).toBe(1);
    });

    it('keeps trials per experiment in creation order and updates their status', async () => {
      const exp = await store.createExperiment(experimentFixture('d'));
      const other = await store.createExperiment(experimentFixture('d2'));
      for (const n of ['d-1', 'd-2', 'd-3']) await store.createTrial(trialFixture(exp, n));
      await store.createTrial(trialFixture(other, 'd2-1'));
      await expect(store.createTrial(trialFixture(exp, 'd-1'))).rejects.toBeInstanceOf(AlreadyExistsError);
      const trials = await store.listTrials({ namespace: 'default', name: 'd' });
      expect(trials.map((t) => t.metadata.name)).toEqual(['d-1', 'd-2', 'd-3']);
      const t = trials[1] as Trial;
      const done = await store.updateTrialStatus({ ...t, status: { conditions: [{ type: 'Succeeded', status: 'True' }] } });
      expect((await store.getTrial({ namespace: 'default', name: 'd-2' }))?.status?.conditions?.[0]?.type).toBe('Succeeded');
      await expect(store.updateTrialStatus({ ...t, status: {} })).rejects.toBeInstanceOf(ConflictError);
      expect(done.spec.parameterAssignments).toEqual([{ name: 'x', value: '0.5' }]);
    });

    it('stores suggestions with spec and status, conflict-checked', async () => {
      const exp = await store.createExperiment(experimentFixture('e'));
      const s: SuggestionResource = { apiVersion: 'kubeflow.org/v1beta1', kind: 'Suggestion', metadata: { name: 'e', namespace: 'default', labels: { 'katib.kubeflow.org/experiment': exp.metadata.name } }, spec: { requests: 0 }, status: { suggestionCount: 0 } };
      const created = await store.createSuggestion(s);
      const updated = await store.updateSuggestion({ ...created, spec: { requests: 2 }, status: { suggestionCount: 2, suggestions: [{ name: 'e-1', parameterAssignments: [{ name: 'x', value: '0.1' }] }] } });
      expect(updated.spec.requests).toBe(2);
      expect((await store.getSuggestion({ namespace: 'default', name: 'e' }))?.status?.suggestions?.[0]?.name).toBe('e-1');
      await expect(store.updateSuggestion({ ...created, spec: { requests: 5 } })).rejects.toBeInstanceOf(ConflictError);
    });

    it('deleting an experiment removes its trials and suggestion', async () => {
      const exp = await store.createExperiment(experimentFixture('f'));
      await store.createTrial(trialFixture(exp, 'f-1'));
      await store.createSuggestion({ apiVersion: 'kubeflow.org/v1beta1', kind: 'Suggestion', metadata: { name: 'f', namespace: 'default' }, spec: { requests: 0 } });
      expect(await store.deleteExperiment({ namespace: 'default', name: 'f' })).toBe(true);
      expect(await store.deleteExperiment({ namespace: 'default', name: 'f' })).toBe(false);
      await eventually(async () => (await store.listTrials({ namespace: 'default', name: 'f' })).length === 0);
      await eventually(async () => (await store.getSuggestion({ namespace: 'default', name: 'f' })) === undefined);
    });

    it('tells watchers what changed, with the owning experiment', async () => {
      const events: StoreEvent[] = [];
      const stop = store.watch((e) => events.push(e));
      const exp = await store.createExperiment(experimentFixture('g'));
      await store.createTrial(trialFixture(exp, 'g-1'));
      await eventually(async () => events.some((e) => e.kind === 'Trial' && e.type === 'ADDED' && e.key.name === 'g-1' && e.experiment.name === 'g'));
      stop();
    });
  });
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
