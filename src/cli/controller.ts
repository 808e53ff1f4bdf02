/**
 * `katib controller`: the cluster-mode controller. Reconciles kubeflow.org/v1beta1 Experiments on a Kubernetes API
 * server with the same ExperimentController as `katib run`, on the Kubernetes store (custom resources) and the
 * Kubernetes runtime (trials as Jobs, TrainJobs or any custom resource, with the metrics-collector sidecar).
 *
 * Where things are:
 * - API server: `--kubeconfig PATH`, else the default loading rules (KUBECONFIG, ~/.kube/config, in-cluster).
 * - Observation logs: `--db-manager-address HOST:PORT` (env KATIB_DB_MANAGER_ADDRESS; the DB-manager Deployment),
 *   or `--db URL` to keep them in-process (SQLite/PostgreSQL/MySQL). With `--db` the controller also serves the
 *   DBManager API on `--db-manager-port` (default 6789, all interfaces) so the trials' collectors can report; they
 *   are told `--db-manager-address` when given, else `$POD_IP:PORT`, else `127.0.0.1:PORT` (one machine, for
 *   development). Put a Service in front of the controller for the pod address to be stable.
 * - Suggestions: `--suggestion-address NAME=HOST:PORT` per algorithm, else `--suggestion-service-address`
 *   (env KATIB_SUGGESTION_ADDRESS), else an in-process service on loopback (for development). Early stopping the
 *   same way with `--early-stopping-address` / `--early-stopping-service-address` (env
 *   KATIB_EARLY_STOPPING_ADDRESS); an in-process early-stopping service cannot be reached by the collectors, so
 *   they skip SetTrialStatus then.
 * - Leader election (`--leader-elect`): a Lease named `--leader-election-id` (default katib-controller) in
 *   `--leader-election-namespace` (default KATIB_CORE_NAMESPACE, POD_NAMESPACE, the service account's namespace,
 *   the kubeconfig context's, else "default"). Only the leader reconciles; a replica that loses the Lease exits 1
 *   so its pod restarts as a standby.
 * - Health: `/healthz` (alive), `/readyz` (watches synced, or a standby) and `/metrics` (Prometheus) on
 *   `--health-port` (default 8081; 0 picks one, logged).
 *
 * SIGTERM or SIGINT: stop taking work, let passes in flight finish (up to 30 s), release the Lease, exit 0.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { KubeConfig } from '@kubernetes/client-node';
import pino, { type Logger as PinoLogger } from 'pino';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { ALGORITHMS } from '../../algorithms/index.js';
import { EARLY_STOPPING_ALGORITHMS } from '../../algorithms/earlystopping/index.js';
import { renderTrialSpec } from '../api/template.js';
import { ClusterManager } from '../controller/cluster.js';
import { cached } from '../controller/embedded.js';
import type { Logger } from '../controller/experiment-controller.js';
import { LeaderElector, defaultIdentity } from '../controller/leader-election.js';
import { DbManagerClient } from '../dbmanager/client.js';
import { dbManagerHandlers } from '../dbmanager/service.js';
import { addEarlyStoppingService } from '../earlystopping/service.js';
import { ValidationError } from '../errors.js';
import { HealthService } from '../grpc/health.js';
import { bindServer } from '../grpc/server.js';
import { HealthServiceName, loadKatibProto } from '../grpc/proto.js';
import { KubernetesRuntime, type CollectorSettings } from '../runtime/kubernetes.js';
import { KubernetesStore } from '../store/kubernetes.js';
import { openObservationStore } from '../store/observations/index.js';
import type { ObservationStore } from '../store/store.js';
import { addSuggestionService, closeServer } from '../suggestion/adapter.js';
import { EarlyStoppingClient, SuggestionClient } from '../suggestion/client.js';
import type { ControllerOptions } from './controller-command.js';

const SHUTDOWN_GRACE_MS = 30_000;
const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';


function loadKubeConfig(path: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  if (path !== undefined) {
    if (!existsSync(path)) throw new ValidationError([{ path: '--kubeconfig', message: `${path}: no such file; give the path of a kubeconfig, or leave the flag out to use KUBECONFIG, ~/.kube/config or the in-cluster service account` }]);
    kc.loadFromFile(path);
  } else {
    kc.loadFromDefault();
  }
  if (!kc.getCurrentCluster()) {
    throw new ValidationError([{ path: path !== undefined ? '--kubeconfig' : 'KUBECONFIG', message: `the kubeconfig has no current cluster (current-context ${JSON.stringify(kc.getCurrentContext())}); set current-context or pass --kubeconfig` }]);
  }
  return kc;
}

/** Where the Lease lives when no namespace is given; see the module comment. */
function leaseNamespace(o: ControllerOptions, kc: KubeConfig): string {
  if (o.leaderElectionNamespace) return o.leaderElectionNamespace;
  const env = process.env.KATIB_CORE_NAMESPACE || process.env.POD_NAMESPACE;
  if (env) return env;
  if (existsSync(SERVICE_ACCOUNT_NAMESPACE)) {
    const ns = readFileSync(SERVICE_ACCOUNT_NAMESPACE, 'utf8').trim();
    if (ns) return ns;
  }
  return kc.getContextObject(kc.getCurrentContext())?.namespace || 'default';
}


interface Closer {
  readonly name: string;
  close(): unknown;
}

/** Runs the controller until SIGTERM/SIGINT (exit 0) or a lost leader Lease (exit 1). */
export async function runController(o: ControllerOptions, io: { stderr: NodeJS.WritableStream }): Promise<number> {
  const log: PinoLogger = pino({ name: 'katib-controller', level: o.logLevel }, io.stderr);
  const logger: Logger = { info: (m) => log.info(m), warn: (m) => log.warn(m) };
  const kc = loadKubeConfig(o.kubeconfig);
  if (!o.db && !o.dbManagerAddress) {
    throw new ValidationError([{ path: '--db-manager-address', message: 'is required (or set KATIB_DB_MANAGER_ADDRESS): the host:port of the DB-manager; or keep observation logs in-process with --db URL' }]);
  }
  const closers: Closer[] = [];
  const close = async (): Promise<void> => {
    for (const c of closers.reverse()) {
      try {
        await c.close();
      } catch (e) {
        log.warn(`closing ${c.name}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  };

  let stopRequested: (code: number) => void = () => undefined;
  const stopped = new Promise<number>((resolve) => (stopRequested = resolve));
  const onSignal = (signal: string) => () => {
    log.info(`${signal}: shutting down`);
    stopRequested(0);
  };
  const onTerm = onSignal('SIGTERM');
  const onInt = onSignal('SIGINT');
  process.once('SIGTERM', onTerm);
  process.once('SIGINT', onInt);

  try {
    // Observation logs.
    let observations: ObservationStore;
    let dbManagerAddress: string;
    if (o.db) {
      const store = await openObservationStore(o.db, { logger: { info: (m: string) => log.info(m), warn: (m: string) => log.warn(m) } });
      observations = store;
      closers.push({ name: 'observation store', close: () => store.close() });
      const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
      server.addService(loadKatibProto().DBManager.service, dbManagerHandlers(store, log.child({ name: 'db-manager' })));
      const health = new HealthService();
      health.set(HealthServiceName.dbManager, 'SERVING');
      health.addTo(server);
      const port = await bindServer(server, '0.0.0.0', o.dbManagerPort);
      closers.push({ name: 'DB-manager server', close: () => closeServer(server) });
      dbManagerAddress = o.dbManagerAddress ?? `${process.env.POD_IP || '127.0.0.1'}:${port}`;
      log.info(`serving DBManager on port ${port} for the trials' collectors (advertised as ${dbManagerAddress})`);
    } else {
      const client = new DbManagerClient(o.dbManagerAddress as string);
      observations = client;
      closers.push({ name: 'DB-manager client', close: () => client.close() });
      dbManagerAddress = o.dbManagerAddress as string;
    }

    // Suggestion and early-stopping services: external where given, else in-process on loopback.
    let loopback: string | undefined;
    const inProcess = async (): Promise<string> => {
      if (loopback) return loopback;
      const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
      const health = new HealthService();
      addSuggestionService(server, health);
      const closeEs = addEarlyStoppingService(server, health, { observations });
      health.addTo(server);
      loopback = `127.0.0.1:${await bindServer(server, '127.0.0.1', 0)}`;
      closers.push({
        name: 'in-process suggestion service',
        close: async () => {
          closeEs();
          await closeServer(server);
        },
      });
      log.info(`serving Suggestion and EarlyStopping in-process on ${loopback} (no --suggestion-service-address; for development)`);
      return loopback;
    };
    const needsLoopback =
      (!o.suggestionServiceAddress && Object.keys(ALGORITHMS).some((a) => !o.suggestionAddress[a])) ||
      (!o.earlyStoppingServiceAddress && Object.keys(EARLY_STOPPING_ALGORITHMS).some((a) => !o.earlyStoppingAddress[a]));
    const local = needsLoopback ? await inProcess() : undefined;
    const suggestionClients = cached((algorithm) => new SuggestionClient(o.suggestionAddress[algorithm] ?? o.suggestionServiceAddress ?? (local as string)));
    const esClients = cached((algorithm) => new EarlyStoppingClient(o.earlyStoppingAddress[algorithm] ?? o.earlyStoppingServiceAddress ?? (local as string)));
    closers.push({
      name: 'service clients',
      close: () => {
        for (const c of suggestionClients.all()) c.close();
        for (const c of esClients.all()) c.close();
      },
    });
    const externalEs: Record<string, string> = { ...o.earlyStoppingAddress, ...(o.earlyStoppingServiceAddress ? { '*': o.earlyStoppingServiceAddress } : {}) };

    const collector: CollectorSettings = {
      image: o.collectorImage,
      ...(o.collectorCommand ? { command: o.collectorCommand } : {}),
      ...(o.trainerCollectorCommand ? { trainerCommand: o.trainerCollectorCommand } : {}),
    };
    const runtime = new KubernetesRuntime(kc, {
      dbManagerAddress,
      collector,
      ...(Object.keys(externalEs).length > 0 ? { earlyStoppingAddress: externalEs } : {}),
      ...(o.namespace ? { namespace: o.namespace } : {}),
      logger,
    });
    closers.push({ name: 'runtime', close: () => runtime.close() });
    const store = new KubernetesStore({ kubeConfig: kc, namespace: o.namespace, watch: { onError: (e, r) => log.warn(`watch ${r.plural}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}; restarting`) } });
    closers.push({ name: 'store', close: () => store.close() });

    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const leaderGauge = new Gauge({ name: 'katib_controller_leader', help: '1 while this replica leads (always 1 without --leader-elect)', registers: [registry] });
    const manager = new ClusterManager({
      store,
      deps: {
        observations,
        runtime,
        suggestionClient: (a) => suggestionClients.get(a),
        earlyStoppingClient: (a) => esClients.get(a),
        dbManagerAddress,
        renderRun: (exp, t) => renderTrialSpec(exp, t),
        logger,
      },
      validation: {
        knownAlgorithms: [...new Set([...Object.keys(ALGORITHMS), ...Object.keys(o.suggestionAddress)])],
        knownEarlyStopping: [...new Set([...Object.keys(EARLY_STOPPING_ALGORITHMS), ...Object.keys(o.earlyStoppingAddress)])],
      },
      workers: o.workers,
      resyncMs: o.resyncPeriod * 1000,
      registry,
      logger,
    });

    let leading = !o.leaderElect;
    let shuttingDown = false;
    const health = await startHealthServer(o.healthHost, o.healthPort, {
      healthz: () => !shuttingDown,
      readyz: () => !shuttingDown && (!leading || manager.isSynced()),
      metrics: () => registry.metrics(),
      contentType: registry.contentType,
    });
    closers.push({
      name: 'health server',
      close: () =>
        new Promise<void>((resolve) => {
          health.close(() => resolve());
          health.closeAllConnections();
        }),
    });
    log.info(`health on http://${o.healthHost}:${(health.address() as AddressInfo).port} (/healthz, /readyz, /metrics); watching ${o.namespace ? `namespace ${o.namespace}` : 'all namespaces'}`);

    let elector: LeaderElector | undefined;
    if (o.leaderElect) {
      const namespace = leaseNamespace(o, kc);
      elector = new LeaderElector({
        kubeConfig: kc,
        namespace,
        name: o.leaderElectionId,
        identity: defaultIdentity(),
        leaseDurationMs: o.leaseDuration * 1000,
        renewDeadlineMs: o.renewDeadline * 1000,
        retryPeriodMs: o.retryPeriod * 1000,
        onStartedLeading: () => {
          leading = true;
          leaderGauge.set(1);
          manager.start();
        },
        onStoppedLeading: () => {
          leading = false;
          leaderGauge.set(0);
          if (!shuttingDown) {
            log.warn('lost the leader Lease: exiting so that this replica restarts as a standby');
            stopRequested(1);
          }
        },
        onNewLeader: (id) => log.info(`leader is ${id}`),
        logger,
      });
      log.info(`leader election on Lease ${namespace}/${o.leaderElectionId} as ${elector.identity}`);
      elector.start();
    } else {
      leaderGauge.set(1);
      manager.start();
    }

    const code = await stopped;
    shuttingDown = true;
    const grace = new Promise<void>((resolve) => setTimeout(resolve, SHUTDOWN_GRACE_MS).unref());
    await Promise.race([manager.stop(), grace]);
    await elector?.stop();
    await close();
    log.info('stopped');
    return code;
  } catch (e) {
    await close();
    throw e;
  } finally {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
  }
}

/** Serves /healthz, /readyz and /metrics (plain node:http). */
async function startHealthServer(
  host: string,
  port: number,
  h: { healthz(): boolean; readyz(): boolean; metrics(): Promise<string>; contentType: string },
): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const answer = (ok: boolean): void => {
      res.writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain' });
      res.end(ok ? 'ok\n' : 'not ready\n');
    };
    if (path === '/healthz' || path === '/livez') return answer(h.healthz());
    if (path === '/readyz') return answer(h.readyz());
    if (path === '/metrics') {
      h.metrics().then(
        (text) => {
          res.writeHead(200, { 'Content-Type': h.contentType });
          res.end(text);
        },
        (e: unknown) => {
          res.writeHead(500, { 'Content-Type': 'text/plain' });
          res.end(`${e instanceof Error ? e.message : String(e)}\n`);
        },
      );
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('not found: /healthz, /readyz, /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  server.unref();
  return server;
}
