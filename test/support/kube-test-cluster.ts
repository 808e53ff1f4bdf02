/**
 * One way for a test to get a Kubernetes API: the in-process fake by default, or a real cluster when the
 * environment variable KATIB_TEST_KUBECONFIG names a kubeconfig file. Either way the test gets a KubeConfig and a
 * fresh namespace of its own, so the same suite runs in both places; `fake` is undefined on a real cluster, which
 * is how a test tells that fake-only parts (fault injection, compaction, the simulated node) are unavailable.
 */
import { randomBytes } from 'node:crypto';
import { ApiException, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { startFakeApiServer, type FakeApiServer, type FakeApiServerOptions } from './fake-apiserver.js';

export const TEST_KUBECONFIG_ENV = 'KATIB_TEST_KUBECONFIG';

export interface TestCluster {
  /** Points at the cluster, with `namespace` as the context's default namespace. */
  readonly kubeConfig: KubeConfig;
  /** The fake server, or undefined on a real cluster. */
  readonly fake: FakeApiServer | undefined;
  /** A namespace created for this test suite; `close()` deletes it. */
  readonly namespace: string;
  /** Deletes the namespace (on a real cluster without waiting) and stops the fake server. */
  close(): Promise<void>;
}

/** True when tests run against a real cluster. */
export function usingRealCluster(): boolean {
  return (process.env[TEST_KUBECONFIG_ENV] ?? '') !== '';
}

/** Connects to the fake (started with `options.fake`) or to the cluster named by KATIB_TEST_KUBECONFIG. */
export async function connectTestCluster(options: { namespacePrefix?: string; fake?: FakeApiServerOptions } = {}): Promise<TestCluster> {
  const namespace = `${options.namespacePrefix ?? 'katib-test'}-${randomBytes(3).toString('hex')}`;
  const path = process.env[TEST_KUBECONFIG_ENV] ?? '';
  let fake: FakeApiServer | undefined;
  let kubeConfig: KubeConfig;
  if (path !== '') {
    kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(path);
    const context = kubeConfig.getContextObject(kubeConfig.getCurrentContext());
    if (!context) throw new Error(`${TEST_KUBECONFIG_ENV}=${path}: the kubeconfig has no current context; set current-context`);
    kubeConfig.contexts = kubeConfig.contexts.map((c) => (c.name === context.name ? { ...c, namespace } : c));
  } else {
    fake = await startFakeApiServer(options.fake);
    kubeConfig = fake.kubeConfig(namespace);
  }
  const core = kubeConfig.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: namespace, labels: { 'katib.kubeflow.org/test': 'true' } } } });
  return {
    kubeConfig,
    fake,
    namespace,
    close: async () => {
      try {
        await core.deleteNamespace({ name: namespace });
      } catch (err) {
        if (apiStatus(err)?.code !== 404) throw err;
      }
      await fake?.close();
    },
  };
}

/** The `Status` a failed client-node call carried (code, reason, message, details), or undefined for other errors. */
export interface ApiStatus {
  readonly code: number;
  readonly reason: string | undefined;
  readonly message: string | undefined;
  readonly details: Record<string, unknown> | undefined;
}

export function apiStatus(err: unknown): ApiStatus | undefined {
  if (!(err instanceof ApiException)) return undefined;
  const body: unknown = typeof err.body === 'string' ? safeParse(err.body) : err.body;
  const status = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const details = status.details;
  return {
    code: err.code,
    reason: typeof status.reason === 'string' ? status.reason : undefined,
    message: typeof status.message === 'string' ? status.message : undefined,
    details: typeof details === 'object' && details !== null ? (details as Record<string, unknown>) : undefined,
  };
}

/** Awaits `promise`, expecting it to fail with an API Status; returns that Status (fails the test otherwise). */
export async function expectApiError(promise: Promise<unknown>): Promise<ApiStatus> {
  try {
    await promise;
  } catch (err) {
    const status = apiStatus(err);
    if (status) return status;
    throw err;
  }
  throw new Error('expected the API call to fail, but it succeeded');
}

/** Retries `check` until it returns without throwing (or `timeoutMs` passes, then rethrows its last error). */
export async function eventually<T>(check: () => T | Promise<T>, { timeoutMs = 10_000, intervalMs = 20 } = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { message: text };
  }
}
