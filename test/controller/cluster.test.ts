/**
 * The cluster manager in-process, on the fake API server with the simulated node (or the cluster named by
 * KATIB_TEST_KUBECONFIG): experiments with Job and TrainJob trials run to Succeeded through the shared reconcile
 * core; invalid experiments fail with their issues; two managers writing at once still make exactly the trials
 * asked for; deleting an experiment removes its trials and their Jobs; Suggestions stay bounded. Tests read the
 * world back, not the calls made.
 */
import { BatchV1Api, CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Experiment } from '../../src/api/types.js';
import { ResourceWatch } from '../../src/store/kubernetes-watch.js';
import { MemoryObservationStore } from '../../src/store/memory-observations.js';
import { startSuggestionServer, type RunningServer } from '../../src/suggestion/adapter.js';
import { SuggestionClient } from '../../src/suggestion/client.js';
import { usingRealCluster } from '../support/kube-test-cluster.js';
import { connectCluster, jobExperiment, startManager, trainJobExperiment, trueConditions, waitForCondition, waitUntil, type ClusterHarness } from './cluster-support.js';

const real = usingRealCluster();
const TIMEOUT = real ? 600_000 : 60_000;

let h: ClusterHarness;
let suggestion: RunningServer;
let client: SuggestionClient;

beforeAll(async () => {
  h = await connectCluster('katib-manager');
  suggestion = await startSuggestionServer();
  client = new SuggestionClient(suggestion.address);
});

afterAll(async () => {
  client?.close();
  await suggestion?.close();
  await h?.close();
});

function key(name: string) {
  return { namespace: h.namespace, name };
}

describe('cluster manager', () => {
  it(
    'runs an experiment with Job trials to Succeeded, storing defaults and Katib conditions',
    async () => {
      const m = startManager(h, client);
      try {
        await m.manager.synced();
        expect(m.manager.isSynced()).toBe(true);
        await m.store.createExperiment(jobExperiment('jobs', h.namespace, { maxTrialCount: 4, parallelTrialCount: 2 }));
        const done = await waitForCondition(() => m.store.getExperiment(key('jobs')), 'Succeeded', 'experiment jobs', TIMEOUT);
        expect(trueConditions(done)).toEqual(['Created', 'Succeeded']);
        expect(done.status?.conditions?.find((c) => c.type === 'Succeeded')?.reason).toBe('ExperimentMaxTrialsReached');
        expect(done.status?.conditions?.find((c) => c.type === 'Running')?.status).toBe('False');
        expect(done.status?.trialsSucceeded).toBe(4);
        expect(done.status?.currentOptimalTrial?.bestTrialName).toMatch(/^jobs-\d$/);
        // Katib's defaults, written back as its mutating webhook would.
        expect(done.spec.resumePolicy).toBe('Never');
        expect(done.spec.metricsCollectorSpec?.collector?.kind).toBe('StdOut');
        expect(done.spec.trialTemplate?.successCondition).toBeTruthy();
        const trials = await m.store.listTrials(key('jobs'));
        expect(trials.map((t) => t.metadata.name)).toEqual(['jobs-1', 'jobs-2', 'jobs-3', 'jobs-4']);
        for (const t of trials) {
          expect(trueConditions(t)).toContain('Succeeded');
          expect(t.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Experiment', name: 'jobs', uid: done.metadata.uid, controller: true });
          expect(t.status?.observation?.metrics?.find((x) => x.name === 'loss')?.latest).toMatch(/^\d/);
        }
        const jobs = await h.kubeConfig.makeApiClient(BatchV1Api).listNamespacedJob({ namespace: h.namespace, labelSelector: 'katib.kubeflow.org/experiment=jobs' });
        expect(jobs.items.map((j) => j.metadata?.ownerReferences?.[0]?.kind)).toEqual(['Trial', 'Trial', 'Trial', 'Trial']);
        const metrics = await m.registry.getSingleMetricAsString('katib_controller_reconcile_total');
        expect(metrics).toMatch(/result="done"} [1-9]/);
      } finally {
        await m.stop();
      }
    },
    TIMEOUT,
  );

  // On a real cluster only when Kubeflow Trainer is installed (KATIB_TEST_TRAINER=1).
  it.skipIf(real && process.env.KATIB_TEST_TRAINER !== '1')(
    'runs an experiment with TrainJob trials to Succeeded',
    async () => {
      const m = startManager(h, client);
      try {
        await m.store.createExperiment(trainJobExperiment('trainjobs', h.namespace, { maxTrialCount: 3, parallelTrialCount: 3 }));
        const done = await waitForCondition(() => m.store.getExperiment(key('trainjobs')), 'Succeeded', 'experiment trainjobs', TIMEOUT);
        expect(done.status?.trialsSucceeded).toBe(3);
        const trials = await m.store.listTrials(key('trainjobs'));
        expect(trials.map((t) => t.spec.runSpec?.kind)).toEqual(['TrainJob', 'TrainJob', 'TrainJob']);
      } finally {
        await m.stop();
      }
    },
    TIMEOUT,
  );

  it('marks an invalid experiment Failed with every issue and creates no trials', async () => {
    const m = startManager(h, client);
    try {
      const bad = jobExperiment('invalid', h.namespace);
      bad.spec.algorithm = { algorithmName: 'no-such-algorithm' };
      bad.spec.parallelTrialCount = 5;
      bad.spec.maxTrialCount = 2;
      await m.store.createExperiment(bad);
      const failed = await waitForCondition(() => m.store.getExperiment(key('invalid')), 'Failed', 'experiment invalid');
      const cond = failed.status?.conditions?.find((c) => c.type === 'Failed');
      expect(cond?.reason).toBe('ExperimentFailed');
      expect(cond?.message).toContain('spec.algorithm.algorithmName');
      expect(cond?.message).toContain('no-such-algorithm');
      expect(cond?.message).toContain('spec.parallelTrialCount');
      expect(await m.store.listTrials(key('invalid'))).toEqual([]);
    } finally {
      await m.stop();
    }
  });

  it('fails the experiment when the suggestion service rejects its settings (a terminal error)', async () => {
    const m = startManager(h, client);
    try {
      await m.store.createExperiment(jobExperiment('bad-settings', h.namespace, { algorithmSettings: [{ name: 'random_state', value: 'not-a-number' }] }));
      const failed = await waitForCondition(() => m.store.getExperiment(key('bad-settings')), 'Failed', 'experiment bad-settings');
      expect(failed.status?.conditions?.find((c) => c.type === 'Failed')?.message).toContain('random_state');
      expect(await m.store.listTrials(key('bad-settings'))).toEqual([]);
    } finally {
      await m.stop();
    }
  });

  it(
    'reads a trial\'s own observations only: logs an earlier trial of the same name left in the database are removed before it starts',
    async () => {
      const observations = new MemoryObservationStore();
      // What trials of a deleted experiment of this name left behind (logs outlive their trials, keyed by name).
      for (const name of ['recreated-1', 'recreated-2']) await observations.report(name, [{ timestamp: '2020-01-01T00:00:00Z', name: 'loss', value: '-1000' }]);
      await observations.report('other-1', [{ timestamp: '2020-01-01T00:00:00Z', name: 'loss', value: '-1000' }]);
      const m = startManager(h, client, observations);
      try {
        await m.store.createExperiment(jobExperiment('recreated', h.namespace, { maxTrialCount: 2, parallelTrialCount: 2 }));
        const done = await waitForCondition(() => m.store.getExperiment(key('recreated')), 'Succeeded', 'experiment recreated', TIMEOUT);
        expect(done.status?.trialsSucceeded).toBe(2);
        for (const t of await m.store.listTrials(key('recreated'))) {
          const loss = t.status?.observation?.metrics?.find((x) => x.name === 'loss');
          expect(Number(loss?.min)).toBeGreaterThan(0);
          expect((await observations.get(t.metadata.name)).map((e) => e.value)).not.toContain('-1000');
        }
        expect(await observations.get('other-1')).toHaveLength(1);
      } finally {
        await m.stop();
      }
    },
    TIMEOUT,
  );

  it(
    'makes exactly the trials asked for when two managers reconcile the same experiment at once',
    async () => {
      const shared = new MemoryObservationStore();
      const a = startManager(h, client, shared);
      const b = startManager(h, client, shared);
      try {
        await Promise.all([a.manager.synced(), b.manager.synced()]);
        await a.store.createExperiment(jobExperiment('two-writers', h.namespace, { maxTrialCount: 6, parallelTrialCount: 3 }));
        const done = await waitForCondition(() => a.store.getExperiment(key('two-writers')), 'Succeeded', 'experiment two-writers', TIMEOUT);
        expect(done.status?.trialsSucceeded).toBe(6);
        const trials = await a.store.listTrials(key('two-writers'));
        expect(trials.map((t) => t.metadata.name)).toEqual(['two-writers-1', 'two-writers-2', 'two-writers-3', 'two-writers-4', 'two-writers-5', 'two-writers-6']);
        if (h.cluster.fake) {
          // Both wrote: the API server refused some writes as conflicts, and those were requeued, not lost.
          const conflicts = h.cluster.fake.requests().filter((r) => r.code === 409 && r.group === 'kubeflow.org');
          expect(conflicts.length).toBeGreaterThan(0);
        }
      } finally {
        await a.stop();
        await b.stop();
      }
    },
    TIMEOUT,
  );

  it.skipIf(real)(
    'retries with backoff through API server errors and injected conflicts, then succeeds',
    async () => {
      const fake = h.cluster.fake;
      if (!fake) throw new Error('needs the fake API server');
      const m = startManager(h, client);
      try {
        await m.manager.synced();
        fake.injectFault({ verb: 'update', resource: 'experiments', subresource: 'status', code: 409, times: 3 });
        fake.injectFault({ verb: 'create', resource: 'trials', code: 503, times: 2 });
        fake.injectFault({ verb: 'get', resource: 'suggestions', code: 500, times: 2 });
        await m.store.createExperiment(jobExperiment('faults', h.namespace, { maxTrialCount: 2, parallelTrialCount: 2 }));
        const done = await waitForCondition(() => m.store.getExperiment(key('faults')), 'Succeeded', 'experiment faults', TIMEOUT);
        expect(done.status?.trialsSucceeded).toBe(2);
        const metrics = await m.registry.getSingleMetricAsString('katib_controller_reconcile_total');
        expect(metrics).toMatch(/result="error"} [1-9]/);
        expect(metrics).toMatch(/result="conflict"} [1-9]/);
      } finally {
        await m.stop();
      }
    },
    TIMEOUT,
  );

  it(
    'keeps the Suggestion bounded by parallelTrialCount over many trials',
    async () => {
      const m = startManager(h, client);
      let largest = 0;
      const watch = new ResourceWatch(h.kubeConfig, { group: 'kubeflow.org', version: 'v1beta1', plural: 'suggestions', namespace: h.namespace }, (_, obj) => {
        const n = ((obj as { status?: { suggestions?: unknown[] } }).status?.suggestions ?? []).length;
        largest = Math.max(largest, n);
      });
      await watch.start();
      try {
        await m.store.createExperiment(jobExperiment('bounded', h.namespace, { maxTrialCount: 12, parallelTrialCount: 3 }));
        await waitForCondition(() => m.store.getExperiment(key('bounded')), 'Succeeded', 'experiment bounded', TIMEOUT);
        const sug = await m.store.getSuggestion(key('bounded'));
        expect(sug?.status?.suggestionCount).toBe(12);
        expect(sug?.status?.suggestions ?? []).toEqual([]);
        expect(largest).toBeLessThanOrEqual(3);
      } finally {
        await watch.stop();
        await m.stop();
      }
    },
    TIMEOUT,
  );

  it(
    'deleting the experiment removes its trials, their Jobs and pods (ownerReference cascade)',
    async () => {
      const m = startManager(h, client);
      const batch = h.kubeConfig.makeApiClient(BatchV1Api);
      const core = h.kubeConfig.makeApiClient(CoreV1Api);
      try {
        // Long trials, so they are still running when the experiment goes.
        const exp: Experiment = jobExperiment('deleted', h.namespace, { maxTrialCount: 4, parallelTrialCount: 2, extraArgs: ['--sleep=2000'] });
        await m.store.createExperiment(exp);
        await waitUntil(
          async () => (await core.listNamespacedPod({ namespace: h.namespace })).items.filter((p) => p.metadata?.labels?.['batch.kubernetes.io/job-name']?.startsWith('deleted-')),
          (pods) => pods.filter((p) => p.status?.phase === 'Running').length === 2,
          'two running pods of experiment deleted',
          TIMEOUT,
        );
        expect(await m.store.deleteExperiment(key('deleted'))).toBe(true);
        await waitUntil(() => m.store.listTrials(key('deleted')), (t) => t.length === 0, 'the trials to go');
        await waitUntil(() => batch.listNamespacedJob({ namespace: h.namespace, labelSelector: 'katib.kubeflow.org/experiment=deleted' }), (l) => l.items.length === 0, 'the Jobs to go');
        await waitUntil(() => m.store.getSuggestion(key('deleted')), (s) => s === undefined, 'the Suggestion to go');
        await waitUntil(
          async () => (await core.listNamespacedPod({ namespace: h.namespace })).items.filter((p) => p.metadata?.labels?.['batch.kubernetes.io/job-name']?.startsWith('deleted-')),
          (pods) => pods.length === 0,
          'the pods to go',
        );
        // The manager does not bring it back.
        await new Promise((r) => setTimeout(r, 500));
        expect(await m.store.getExperiment(key('deleted'))).toBeUndefined();
        expect(await m.store.listTrials(key('deleted'))).toEqual([]);
      } finally {
        await m.stop();
      }
    },
    TIMEOUT,
  );
});
