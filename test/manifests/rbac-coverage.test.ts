/**
 * The controller's ClusterRole (manifests/rbac/cluster-role.yaml) covers every call `katib controller` makes. The
 * binary runs through a recording proxy in front of the fake API server (so only its own calls are recorded, not
 * the simulated node's or the test's) with leader election on, through experiments that exercise its paths: Job and
 * TrainJob trials with the collector, a trial killed when the goal is reached, an invalid experiment, and an
 * experiment deleted while it runs. Every recorded (apiGroup, resource, verb) must be allowed by `rbacRules()`.
 * Discovery (non-resource URLs such as /apis/batch/v1) is allowed to every authenticated user by Kubernetes'
 * system:discovery role and is not checked here. Needs `npm run build`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Experiment } from '../../src/api/types.js';
import { connectCluster, jobExperiment, startController, trainJobExperiment, TRIAL_SCRIPT, waitForCondition, waitUntil, type ClusterHarness } from '../controller/cluster-support.js';
import { REPO } from '../support/cli.js';
import { usingRealCluster } from '../support/kube-test-cluster.js';
import { startRecordingProxy, type RecordingProxy } from '../support/recording-proxy.js';
import { rbacAllows, rbacRules } from './manifests.js';

/** A grid over two sleeps: the fast trial reaches the goal, so the slow one is killed (its Job deleted). */
function goalExperiment(namespace: string): Experiment {
  return {
    apiVersion: 'kubeflow.org/v1beta1',
    kind: 'Experiment',
    metadata: { name: 'rbac-goal', namespace },
    spec: {
      objective: { type: 'minimize', goal: 100, objectiveMetricName: 'loss' },
      algorithm: { algorithmName: 'grid' },
      parallelTrialCount: 2,
      maxTrialCount: 2,
      parameters: [{ name: 'sleep', parameterType: 'categorical', feasibleSpace: { list: ['20', '20000'] } }],
      trialTemplate: {
        primaryContainerName: 'training',
        trialParameters: [{ name: 'sleep', reference: 'sleep' }],
        trialSpec: {
          apiVersion: 'batch/v1',
          kind: 'Job',
          spec: { template: { spec: { containers: [{ name: 'training', image: 'node:20-slim', command: ['node', '-e', TRIAL_SCRIPT, '--', '--sleep=${trialParameters.sleep}'] }], restartPolicy: 'Never' } } },
        },
      },
    },
  } as Experiment;
}

describe.skipIf(usingRealCluster())('RBAC: the controller ClusterRole covers every call the controller makes', () => {
  let h: ClusterHarness;
  let proxy: RecordingProxy;
  beforeAll(async () => {
    h = await connectCluster('katib-rbac');
    const fake = h.cluster.fake;
    if (!fake) throw new Error('needs the fake API server');
    proxy = await startRecordingProxy(fake.url);
  });
  afterAll(async () => {
    await proxy?.close();
    await h?.close();
  });

  it(
    'records the calls of a full run and finds each allowed',
    async () => {
      if (!fs.existsSync(path.join(REPO, 'dist', 'src', 'cli', 'controller.js'))) throw new Error('dist/ is missing the controller: run `npm run build` first');
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'katib-rbac-'));
      const ctl = startController(h, dir, {
        kubeConfig: proxy.kubeConfig(h.namespace),
        extra: ['--leader-elect', '--leader-election-namespace', h.namespace, '--lease-duration', '4', '--renew-deadline', '3', '--retry-period', '0.5'],
      });
      const custom = h.kubeConfig.makeApiClient(CustomObjectsApi);
      const apply = (exp: Experiment) => custom.createNamespacedCustomObject({ group: 'kubeflow.org', version: 'v1beta1', namespace: h.namespace, plural: 'experiments', body: exp });
      const read = (name: string) => () =>
        custom.getNamespacedCustomObject({ group: 'kubeflow.org', version: 'v1beta1', namespace: h.namespace, plural: 'experiments', name }).then(
          (o) => o as Experiment,
          () => undefined,
        );
      try {
        await ctl.healthPort();
        const invalid = jobExperiment('rbac-invalid', h.namespace);
        invalid.spec.algorithm = { algorithmName: 'no-such-algorithm' };
        await apply(invalid);
        await apply(jobExperiment('rbac-job', h.namespace, { maxTrialCount: 2, parallelTrialCount: 2 }));
        await apply(trainJobExperiment('rbac-trainjob', h.namespace, { maxTrialCount: 1, parallelTrialCount: 1 }));
        await apply(goalExperiment(h.namespace));
        await apply(jobExperiment('rbac-deleted', h.namespace, { maxTrialCount: 2, parallelTrialCount: 2, extraArgs: ['--sleep=20000'] }));
        await waitForCondition(read('rbac-invalid'), 'Failed', 'experiment rbac-invalid');
        await waitForCondition(read('rbac-job'), 'Succeeded', 'experiment rbac-job', 60_000);
        await waitForCondition(read('rbac-trainjob'), 'Succeeded', 'experiment rbac-trainjob', 60_000);
        const goal = await waitForCondition(read('rbac-goal'), 'Succeeded', 'experiment rbac-goal', 60_000);
        expect(goal.status?.trialsKilled).toBe(1);
        await waitUntil(
          () => custom.listNamespacedCustomObject({ group: 'kubeflow.org', version: 'v1beta1', namespace: h.namespace, plural: 'trials', labelSelector: 'katib.kubeflow.org/experiment=rbac-deleted' }),
          (l) => (l as { items: unknown[] }).items.length === 2,
          'the trials of rbac-deleted',
        );
        await custom.deleteNamespacedCustomObject({ group: 'kubeflow.org', version: 'v1beta1', namespace: h.namespace, plural: 'experiments', name: 'rbac-deleted' });
        await new Promise((r) => setTimeout(r, 1500));
        ctl.child.kill('SIGTERM');
        expect((await ctl.done).code).toBe(0);
      } finally {
        ctl.child.kill('SIGKILL');
      }

      const rules = rbacRules();
      const seen = new Map<string, { group: string; resource: string; verb: string }>();
      for (const c of proxy.calls()) if (c.rbac) seen.set(`${c.rbac.group}|${c.rbac.resource}|${c.rbac.verb}`, c.rbac);
      const calls = [...seen.values()];
      const uncovered = calls.filter((c) => !rbacAllows(rules, c.group, c.resource, c.verb)).map((c) => `${c.verb} ${c.group || 'core'}/${c.resource}`);
      expect(uncovered, `calls the ClusterRole does not allow; add them to manifests/rbac/cluster-role.yaml`).toEqual([]);
      // The run went through the paths that need permissions (so the check above covered them).
      const names = calls.map((c) => `${c.verb} ${c.group || 'core'}/${c.resource}`);
      for (const expected of [
        'watch kubeflow.org/experiments',
        'watch kubeflow.org/trials',
        'create kubeflow.org/trials',
        'update kubeflow.org/experiments/status',
        'update kubeflow.org/trials/status',
        'create kubeflow.org/suggestions',
        'update kubeflow.org/suggestions',
        'create batch/jobs',
        'delete batch/jobs',
        'create trainer.kubeflow.org/trainjobs',
        'list core/pods',
        'create coordination.k8s.io/leases',
        'update coordination.k8s.io/leases',
      ]) {
        expect(names).toContain(expected);
      }
    },
    120_000,
  );
});
