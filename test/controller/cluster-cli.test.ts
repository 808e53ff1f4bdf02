/**
 * `katib controller` as a user runs it: the built binary (bin/katib.js; `npm run build` first) against the fake API
 * server through a kubeconfig file, with the simulated node running the trials' pods: the training container
 * wrapped by the Kubernetes runtime and the `katib collect` sidecar (Job) or wrapper (TrainJob) reporting metrics
 * to the DBManager the controller serves with --db. Checks the world: experiment and trial status, the owner
 * cascade on delete, health endpoints, leader fail-over between two replicas, a clean SIGTERM.
 *
 * On a real cluster (KATIB_TEST_KUBECONFIG) the pods must reach the controller's DBManager and run the collector
 * image: set KATIB_TEST_CONTROLLER_HOST (a host name or IP of this machine the pods can reach) and
 * KATIB_TEST_COLLECTOR_IMAGE (the katib-ts image); without them these tests are skipped there. The TrainJob part
 * runs on the fake only (a real one needs Kubeflow Trainer and a trainer image with `katib` on its PATH).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BatchV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Experiment, Trial } from '../../src/api/types.js';
import { startDbManager } from '../../src/dbmanager/service.js';
import { REPO, startKatib } from '../support/cli.js';
import { usingRealCluster } from '../support/kube-test-cluster.js';
import { connectCluster, jobExperiment, startController, trainJobExperiment, trueConditions, waitForCondition, waitUntil, type ClusterHarness } from './cluster-support.js';

const real = usingRealCluster();
const runnable = !real || (Boolean(process.env.KATIB_TEST_CONTROLLER_HOST) && Boolean(process.env.KATIB_TEST_COLLECTOR_IMAGE));
const TIMEOUT = real ? 600_000 : 90_000;

async function get(port: number, route: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${route}`);
  return { status: res.status, text: await res.text() };
}

describe.runIf(runnable)('katib controller (the binary)', () => {
  let h: ClusterHarness;
  let custom: CustomObjectsApi;
  let dir: string;
  beforeAll(async () => {
    if (!fs.existsSync(path.join(REPO, 'dist', 'src', 'cli', 'controller.js'))) throw new Error('dist/ is missing the controller: run `npm run build` first');
    h = await connectCluster('katib-cli');
    custom = h.kubeConfig.makeApiClient(CustomObjectsApi);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'katib-controller-'));
  });
  afterAll(async () => {
    await h?.close();
  });

  const experiment = (name: string) => () =>
    custom.getNamespacedCustomObject({ group: 'kubeflow.org', version: 'v1beta1', namespace: h.namespace, plural: 'experiments', name }).then(
      (o) => o as Experiment,
      () => undefined,
    );
  const trials = async (name: string): Promise<Trial[]> =>
    ((await custom.listNamespacedCustomObject({ group: 'kubeflow.org', version: 'v1beta1', namespace: h.namespace, plural: 'trials', labelSelector: `katib.kubeflow.org/experiment=${name}` })) as { items: Trial[] }).items;
  const apply = (exp: Experiment) => custom.createNamespacedCustomObject({ group: 'kubeflow.org', version: 'v1beta1', namespace: h.namespace, plural: 'experiments', body: exp });

  it(
    'runs Job and TrainJob experiments to Succeeded with metrics from the collector, serves health, and stops on SIGTERM',
    async () => {
      const ctl = startController(h, dir);
      try {
        const port = await ctl.healthPort();
        expect((await get(port, '/healthz')).status).toBe(200);
        await waitUntil(() => get(port, '/readyz'), (r) => r.status === 200, '/readyz to answer 200');
        await apply(jobExperiment('cli-job', h.namespace, { maxTrialCount: 3, parallelTrialCount: 2 }));
        if (!real) await apply(trainJobExperiment('cli-trainjob', h.namespace, { maxTrialCount: 2, parallelTrialCount: 2 }));
        const done: [Experiment, number][] = [[await waitForCondition(experiment('cli-job'), 'Succeeded', 'experiment cli-job', TIMEOUT), 3]];
        if (!real) done.push([await waitForCondition(experiment('cli-trainjob'), 'Succeeded', 'experiment cli-trainjob', TIMEOUT), 2]);
        for (const [exp, n] of done) {
          expect(trueConditions(exp)).toEqual(['Created', 'Succeeded']);
          expect(exp.status?.conditions?.find((c) => c.type === 'Succeeded')?.reason).toBe('ExperimentMaxTrialsReached');
          expect(exp.status?.trialsSucceeded).toBe(n);
          const list = await trials(exp.metadata.name);
          expect(list).toHaveLength(n);
          for (const t of list) {
            expect(trueConditions(t)).toContain('Succeeded');
            // The collector parsed `loss=` lines of the training: 3 epochs, so the minimum is below the last value.
            const loss = t.status?.observation?.metrics?.find((m) => m.name === 'loss');
            expect(Number(loss?.min)).toBeLessThan(Number(loss?.max));
            expect(Number(loss?.latest)).toBe(Number(loss?.min));
          }
          expect(exp.status?.currentOptimalTrial?.bestTrialName).toMatch(new RegExp(`^${exp.metadata.name}-\\d$`));
        }
        // Deleting an experiment takes its trials and their Jobs with it (ownerReferences), and it stays deleted.
        const jobs = () => h.kubeConfig.makeApiClient(BatchV1Api).listNamespacedJob({ namespace: h.namespace, labelSelector: 'katib.kubeflow.org/experiment=cli-job' });
        expect((await jobs()).items).toHaveLength(3);
        await custom.deleteNamespacedCustomObject({ group: 'kubeflow.org', version: 'v1beta1', namespace: h.namespace, plural: 'experiments', name: 'cli-job' });
        await waitUntil(() => trials('cli-job'), (t) => t.length === 0, 'the trials of cli-job to go');
        await waitUntil(jobs, (l) => l.items.length === 0, 'the Jobs of cli-job to go');
        await new Promise((r) => setTimeout(r, 1500));
        expect(await experiment('cli-job')()).toBeUndefined();
        expect(await trials('cli-job')).toEqual([]);
        const metrics = await get(port, '/metrics');
        expect(metrics.text).toMatch(/katib_controller_reconcile_total\{result="done"\} [1-9]/);
        expect(metrics.text).toMatch(/^katib_controller_leader 1$/m);
        ctl.child.kill('SIGTERM');
        const result = await ctl.done;
        expect(result.code).toBe(0);
        expect(result.stderr).toContain('"msg":"stopped"');
      } finally {
        ctl.child.kill('SIGKILL');
      }
    },
    TIMEOUT,
  );

  it(
    'fails over between two --leader-elect replicas: one acts, the standby finishes the work when the leader dies',
    async () => {
      // Both replicas use one DB-manager, as the Deployment does, so metrics survive the leader.
      const host = real ? (process.env.KATIB_TEST_CONTROLLER_HOST as string) : '127.0.0.1';
      const db = await startDbManager({ host: real ? '0.0.0.0' : host, port: 0, db: `sqlite:${path.join(dir, 'shared.db')}`, logger: pino({ level: 'silent' }) });
      const address = `${host}:${db.port}`;
      const lease = ['--leader-elect', '--leader-election-namespace', h.namespace, '--lease-duration', '2', '--renew-deadline', '1.5', '--retry-period', '0.2'];
      const a = startController(h, fs.mkdtempSync(path.join(dir, 'a-')), { extra: lease, dbManagerAddress: address });
      const b = startController(h, fs.mkdtempSync(path.join(dir, 'b-')), { extra: lease, dbManagerAddress: address });
      try {
        const ports = await Promise.all([a.healthPort(), b.healthPort()]);
        const leaderValue = async (port: number): Promise<number> => Number(/^katib_controller_leader (\d)$/m.exec((await get(port, '/metrics')).text)?.[1] ?? 0);
        const leaders = await waitUntil(() => Promise.all(ports.map(leaderValue)), (v) => (v[0] ?? 0) + (v[1] ?? 0) === 1, 'one leader');
        const [leader, standby] = leaders[0] === 1 ? [a, b] : [b, a];
        const standbyPort = leaders[0] === 1 ? ports[1] : ports[0];
        expect((await get(standbyPort as number, '/readyz')).status).toBe(200);
        await apply(jobExperiment('failover', h.namespace, { maxTrialCount: 4, parallelTrialCount: 1, extraArgs: ['--sleep=300'] }));
        await waitUntil(() => trials('failover'), (t) => t.length >= 1, 'the first trial of failover', TIMEOUT);
        leader.child.kill('SIGKILL');
        await waitUntil(() => leaderValue(standbyPort as number), (v) => v === 1, 'the standby to lead', 10_000);
        const done = await waitForCondition(experiment('failover'), 'Succeeded', 'experiment failover', TIMEOUT);
        expect(done.status?.trialsSucceeded).toBe(4);
        expect((await trials('failover')).map((t) => t.metadata.name).sort()).toEqual(['failover-1', 'failover-2', 'failover-3', 'failover-4']);
        expect(standby.output()).toMatch(/now leads/);
      } finally {
        a.child.kill('SIGKILL');
        b.child.kill('SIGKILL');
        await Promise.all([a.done, b.done]);
        await db.close();
      }
    },
    TIMEOUT,
  );

  it('refuses to start without a DB-manager, with an inconsistent lease or a missing kubeconfig, naming the flag', async () => {
    const kubeconfig = path.join(dir, 'refusals.kubeconfig.json');
    fs.writeFileSync(kubeconfig, h.kubeConfig.exportConfig());
    const [r1, r2, r3] = await Promise.all([
      startKatib(['controller', '--kubeconfig', kubeconfig, '--health-port', '0'], REPO, { KATIB_DB_MANAGER_ADDRESS: '' }).done,
      startKatib(['controller', '--db-manager-address', '127.0.0.1:1', '--lease-duration', '2', '--renew-deadline', '3'], REPO).done,
      startKatib(['controller', '--kubeconfig', path.join(dir, 'nope.yaml'), '--db-manager-address', '127.0.0.1:1'], REPO).done,
    ]);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toContain('--db-manager-address: is required');
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('need --retry-period < --renew-deadline < --lease-duration (got 2 < 3 < 2)');
    expect(r3.code).toBe(2);
    expect(r3.stderr).toContain('nope.yaml: no such file');
  });
});
