/**
 * Leader election between candidates on one Lease, on the fake API server (or the cluster named by
 * KATIB_TEST_KUBECONFIG; the fault-injection case needs the fake). Durations are short (lease 1 s) so fail-over
 * shows within a test. The invariant checked throughout: the leaders' terms (from onStartedLeading to the abort of
 * its signal) never overlap.
 */
import { CustomObjectsApi } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LeaderElector, defaultIdentity } from '../../src/controller/leader-election.js';
import { connectTestCluster, eventually, usingRealCluster, type TestCluster } from '../support/kube-test-cluster.js';

const real = usingRealCluster();
const LEASE_MS = 1000;
const RENEW_DEADLINE_MS = 600;
const RETRY_MS = 100;

interface Term {
  readonly who: string;
  readonly start: number;
  end?: number;
}

describe('leader election on a Lease', () => {
  let cluster: TestCluster;
  let terms: Term[];
  let electors: LeaderElector[];

  beforeEach(async () => {
    cluster = await connectTestCluster({ namespacePrefix: 'katib-leader' });
    terms = [];
    electors = [];
  });
  afterEach(async () => {
    for (const e of electors) await e.stop({ release: false });
    await cluster.close();
  });

  function candidate(identity: string): LeaderElector {
    const elector = new LeaderElector({
      kubeConfig: cluster.kubeConfig,
      namespace: cluster.namespace,
      name: 'katib-controller',
      identity,
      leaseDurationMs: LEASE_MS,
      renewDeadlineMs: RENEW_DEADLINE_MS,
      retryPeriodMs: RETRY_MS,
      onStartedLeading: (signal) => {
        const term: Term = { who: identity, start: Date.now() };
        terms.push(term);
        signal.addEventListener('abort', () => (term.end = Date.now()));
      },
    });
    electors.push(elector);
    elector.start();
    return elector;
  }

  function leaders(): string[] {
    return terms.filter((t) => t.end === undefined).map((t) => t.who);
  }

  function expectNoOverlap(): void {
    const sorted = [...terms].sort((a, b) => a.start - b.start);
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1] as Term;
      const next = sorted[i] as Term;
      expect(prev.end, `${prev.who} still led when ${next.who} started`).toBeDefined();
      expect(prev.end as number).toBeLessThanOrEqual(next.start);
    }
  }

  async function lease(): Promise<{ holderIdentity?: string; leaseTransitions?: number; leaseDurationSeconds?: number; renewTime?: string }> {
    const api = cluster.kubeConfig.makeApiClient(CustomObjectsApi);
    const obj = (await api.getNamespacedCustomObject({ group: 'coordination.k8s.io', version: 'v1', plural: 'leases', namespace: cluster.namespace, name: 'katib-controller' })) as { spec?: Record<string, never> };
    return obj.spec ?? {};
  }

  it('lets exactly one of two candidates lead, and keeps it leading while it renews', async () => {
    const a = candidate('replica-a');
    const b = candidate('replica-b');
    await eventually(() => expect(leaders()).toHaveLength(1));
    const first = leaders()[0];
    for (let i = 0; i < 15; i++) {
      expect(leaders()).toEqual([first]);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect([a, b].filter((e) => e.isLeader()).map((e) => e.identity)).toEqual([first]);
    expect(a.leader).toBe(first);
    expect(b.leader).toBe(first);
    const spec = await lease();
    expect(spec.holderIdentity).toBe(first);
    expect(spec.leaseDurationSeconds).toBe(1);
    expect(spec.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expectNoOverlap();
  });

  it('hands over to the standby within the lease duration when the leader dies without releasing', async () => {
    const a = candidate('replica-a');
    await eventually(() => expect(a.isLeader()).toBe(true));
    const b = candidate('replica-b');
    await new Promise((r) => setTimeout(r, 3 * RETRY_MS));
    expect(b.isLeader()).toBe(false);
    const died = Date.now();
    await a.stop({ release: false });
    await eventually(() => expect(b.isLeader()).toBe(true), { timeoutMs: 5000 });
    const tookOver = (terms.find((t) => t.who === 'replica-b')?.start ?? Infinity) - died;
    expect(tookOver).toBeLessThanOrEqual(LEASE_MS + 5 * RETRY_MS);
    expect(tookOver).toBeGreaterThanOrEqual(LEASE_MS - 2 * RETRY_MS);
    const spec = await lease();
    expect(spec.holderIdentity).toBe('replica-b');
    expect(spec.leaseTransitions).toBe(1);
    expectNoOverlap();
  });

  it('releases the Lease on a clean stop, so the standby takes over at once', async () => {
    const a = candidate('replica-a');
    await eventually(() => expect(a.isLeader()).toBe(true));
    const b = candidate('replica-b');
    await new Promise((r) => setTimeout(r, 2 * RETRY_MS));
    const stopped = Date.now();
    await a.stop();
    await eventually(() => expect(b.isLeader()).toBe(true));
    expect((terms.find((t) => t.who === 'replica-b')?.start ?? Infinity) - stopped).toBeLessThan(LEASE_MS / 2);
    expectNoOverlap();
  });

  it.skipIf(real)('stops leading when it cannot renew before the deadline, before anyone else may lead', async () => {
    const a = candidate('replica-a');
    await eventually(() => expect(a.isLeader()).toBe(true));
    const b = candidate('replica-b');
    // Lease writes fail for longer than the leader's renew deadline: at most deadline/retry + 1 = 7 attempts fit
    // in it, so 10 failures outlast it; the standby meets the rest once the Lease expires, then acquires it.
    cluster.fake?.injectFault({ verb: 'update', resource: 'leases', code: 500, times: 10 });
    const cut = Date.now();
    await eventually(() => expect(a.isLeader()).toBe(false), { timeoutMs: 3000 });
    const term = terms.find((t) => t.who === 'replica-a') as Term;
    expect((term.end as number) - cut).toBeLessThanOrEqual(RENEW_DEADLINE_MS + 3 * RETRY_MS);
    expect(b.isLeader()).toBe(false);
    await a.stopped();
    await eventually(() => expect(b.isLeader()).toBe(true), { timeoutMs: 5000 });
    expect(await lease()).toMatchObject({ holderIdentity: 'replica-b', leaseTransitions: 1 });
    expectNoOverlap();
  });

  it('names itself after the pod, else host and pid', () => {
    const saved = process.env.POD_NAME;
    try {
      process.env.POD_NAME = 'katib-controller-7d9f-abcde';
      expect(defaultIdentity()).toBe('katib-controller-7d9f-abcde');
      delete process.env.POD_NAME;
      expect(defaultIdentity()).toMatch(new RegExp(`_${process.pid}$`));
    } finally {
      if (saved === undefined) delete process.env.POD_NAME;
      else process.env.POD_NAME = saved;
    }
  });

  it.each([
    { name: 'renew deadline not below the lease', lease: 1000, renew: 1000, retry: 100, message: 'renewDeadlineMs must be less than leaseDurationMs (renewDeadlineMs=1000, leaseDurationMs=1000)' },
    { name: 'retry not below the renew deadline', lease: 1000, renew: 500, retry: 500, message: 'retryPeriodMs must be less than renewDeadlineMs (retryPeriodMs=500, renewDeadlineMs=500)' },
  ])('rejects inconsistent durations: $name', ({ lease: leaseDurationMs, renew, retry, message }) => {
    expect(
      () => new LeaderElector({ kubeConfig: cluster.kubeConfig, namespace: 'x', name: 'y', leaseDurationMs, renewDeadlineMs: renew, retryPeriodMs: retry, onStartedLeading: () => undefined }),
    ).toThrow(message);
  });
});
