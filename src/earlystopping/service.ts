/**
 * The EarlyStopping gRPC service (medianstop). Like Katib's, it reads the completed trials' objective logs through
 * the DBManager API at the request's `db_manager_address`; embedded mode hands it the observation store directly.
 * It keeps no state between calls. SetTrialStatus only acknowledges: the controller records EarlyStopped itself.
 */
import * as grpc from '@grpc/grpc-js';
import { EARLY_STOPPING_ALGORITHMS } from '../../algorithms/earlystopping/index.js';
import { formatIssues, isIssues } from '../../algorithms/core/issues.js';
import { DbManagerClient } from '../dbmanager/client.js';
import { HealthService } from '../grpc/health.js';
import { bindServer } from '../grpc/server.js';
import { HealthServiceName, loadKatibProto } from '../grpc/proto.js';
import type { ObservationStore } from '../store/store.js';
import { ServiceError, closeServer, type RunningServer } from '../suggestion/adapter.js';
import type { PbExperiment, PbTrial, PbEarlyStoppingRule, PbSetting } from '../suggestion/wire.js';
import { goalFromPb, rulesToPb, settingsFromPb } from '../suggestion/wire.js';

export interface EarlyStoppingOptions {
  readonly host?: string;
  readonly port?: number;
  /** Read observation logs here instead of over the DBManager API (embedded mode). */
  readonly observations?: ObservationStore;
}

/**
 * The request's algorithm and settings. GetEarlyStoppingRules (`unnamedMeansOnly`) takes a request that names no
 * algorithm as one for the only algorithm offered, as Katib's single-algorithm services do (its medianstop service
 * never reads the name there); ValidateEarlyStoppingSettings still requires the name.
 */
function parse(spec: { algorithm_name: string; algorithm_settings: PbSetting[] } | null | undefined, unnamedMeansOnly = false) {
  const offered = Object.keys(EARLY_STOPPING_ALGORITHMS);
  const given = spec?.algorithm_name ?? '';
  const name = given === '' && unnamedMeansOnly && offered.length === 1 ? (offered[0] as string) : given;
  const algorithm = EARLY_STOPPING_ALGORITHMS[name as keyof typeof EARLY_STOPPING_ALGORITHMS];
  if (!algorithm) {
    throw new ServiceError(grpc.status.INVALID_ARGUMENT, `spec.earlyStopping.algorithmName: unknown early-stopping algorithm ${JSON.stringify(name)}; this service offers ${offered.join(', ')}`);
  }
  const settings = algorithm.parseSettings(settingsFromPb(spec?.algorithm_settings));
  if (isIssues(settings)) throw new ServiceError(grpc.status.INVALID_ARGUMENT, formatIssues(settings));
  return { algorithm, settings };
}

async function objectiveLogs(trials: readonly PbTrial[], metric: string, read: (trial: string) => Promise<{ name: string; value: string }[]>): Promise<number[][]> {
  const done = trials.filter((t) => t.status?.condition === 'SUCCEEDED');
  const logs = await Promise.all(done.map((t) => read(t.name)));
  return logs.map((entries) => entries.filter((e) => e.name === metric).map((e) => Number(e.value)));
}

function unary<Req, Res>(fn: (req: Req) => Promise<Res> | Res) {
  return (call: grpc.ServerUnaryCall<Req, Res>, cb: grpc.sendUnaryData<Res>): void => {
    Promise.resolve()
      .then(() => fn(call.request))
      .then(
        (res) => cb(null, res),
        (err: unknown) => cb(err instanceof ServiceError ? { code: err.code, details: err.message } : { code: grpc.status.INTERNAL, details: err instanceof Error ? err.message : String(err) }),
      );
  };
}

/** Adds the EarlyStopping service to `server`; returns a function that closes its DB-manager clients. */
export function addEarlyStoppingService(server: grpc.Server, health: HealthService, opts: Pick<EarlyStoppingOptions, 'observations'> = {}): () => void {
  const { EarlyStopping } = loadKatibProto();
  const clients = new Map<string, DbManagerClient>();
  server.addService(EarlyStopping.service, {
    GetEarlyStoppingRules: unary(async (req: { experiment: PbExperiment | null; trials: PbTrial[]; db_manager_address: string }): Promise<{ early_stopping_rules: PbEarlyStoppingRule[] }> => {
      const { algorithm, settings } = parse(req.experiment?.spec?.early_stopping, true);
      const metric = req.experiment?.spec?.objective?.objective_metric_name ?? '';
      let read: (trial: string) => Promise<{ name: string; value: string }[]>;
      if (opts.observations) {
        const store = opts.observations;
        read = (trial) => store.get(trial, { metricName: metric });
      } else {
        const address = req.db_manager_address;
        if (!address) throw new ServiceError(grpc.status.INVALID_ARGUMENT, 'db_manager_address: is empty; the early-stopping service reads observation logs from the DB-manager at this address');
        let client = clients.get(address);
        if (!client) clients.set(address, (client = new DbManagerClient(address)));
        const c = client;
        read = (trial) => c.get(trial, { metricName: metric });
      }
      const completed = await objectiveLogs(req.trials, metric, read);
      const rules = algorithm.rules({ metricName: metric, goal: goalFromPb(req.experiment?.spec?.objective ?? null), completed, settings });
      return { early_stopping_rules: rulesToPb(rules) };
    }),
    SetTrialStatus: unary((req: { trial_name: string }) => {
      if (!req.trial_name) throw new ServiceError(grpc.status.INVALID_ARGUMENT, 'trial_name: must not be empty');
      return {};
    }),
    ValidateEarlyStoppingSettings: unary((req: { early_stopping: { algorithm_name: string; algorithm_settings: PbSetting[] } | null }) => {
      parse(req.early_stopping);
      return {};
    }),
  });
  health.set(HealthServiceName.earlyStopping, 'SERVING');
  return () => {
    for (const c of clients.values()) c.close();
  };
}

/** Starts the EarlyStopping and Health services on host:port (port 0 picks one). */
export async function startEarlyStoppingServer(opts: EarlyStoppingOptions = {}): Promise<RunningServer> {
  const server = new grpc.Server();
  const health = new HealthService();
  const closeClients = addEarlyStoppingService(server, health, opts);
  health.addTo(server);
  const host = opts.host ?? '127.0.0.1';
  const port = await bindServer(server, host, opts.port ?? 0);
  return {
    port,
    address: `${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    close: async () => {
      closeClients();
      await closeServer(server);
    },
  };
}
