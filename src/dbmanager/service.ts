/**
 * Katib's DB-manager: the gRPC DBManager service (ReportObservationLog, GetObservationLog, DeleteObservationLog)
 * over an ObservationStore, plus grpc.health.v1 for `manager.v1beta1.DBManager`. `katib serve db-manager` calls
 * startDbManager. Like Katib's, it waits for the database before it listens; unlike Katib's, a report retried with
 * the same batch id (metadata `katib-batch-id`) is stored once, and bad requests are INVALID_ARGUMENT naming every
 * bad field instead of a database error.
 */
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import type { Issue } from '../../algorithms/core/issues.js';
import { formatIssues } from '../../algorithms/core/issues.js';
import { KatibError, ValidationError } from '../errors.js';
import { HealthService } from '../grpc/health.js';
import { bindServer } from '../grpc/server.js';
import { HealthServiceName, loadKatibProto } from '../grpc/proto.js';
import type { ObservationLogger, ObservationStoreOptions } from '../store/observations/index.js';
import { openObservationStore } from '../store/observations/index.js';
import type { ObservationStore } from '../store/store.js';
import type { PbDeleteObservationLogRequest, PbGetObservationLogReply, PbGetObservationLogRequest, PbReportObservationLogRequest } from './wire.js';
import { BATCH_ID_METADATA_KEY, capIssues, deleteIssues, entriesFromPb, entriesToPb, getIssues, reportIssues } from './wire.js';

/** Katib's db-manager port. */
export const DEFAULT_DB_MANAGER_PORT = 6789;

/** Katib's db-manager accepts messages up to 2 GiB: a collector may send a whole trial's log in one report. */
const MAX_MESSAGE_BYTES = 2 ** 31 - 1;

export type DbManagerLogger = ObservationLogger;

/** Carries a gRPC status to the callback. */
class StatusError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

function invalid(issues: readonly Issue[]): StatusError {
  return new StatusError(grpc.status.INVALID_ARGUMENT, formatIssues(capIssues(issues)));
}

/** The gRPC status for a store failure: bad input, a database that stays down, or anything else. */
function statusOf(err: unknown): StatusError {
  if (err instanceof StatusError) return err;
  if (err instanceof ValidationError) return invalid(err.issues);
  if (err instanceof KatibError && err.retryable) return new StatusError(grpc.status.UNAVAILABLE, err.message);
  return new StatusError(grpc.status.INTERNAL, err instanceof Error ? err.message : String(err));
}

function batchIdOf(metadata: grpc.Metadata): string | undefined {
  const v = metadata.get(BATCH_ID_METADATA_KEY)[0];
  return v === undefined ? undefined : typeof v === 'string' ? v : v.toString('utf8');
}

/**
 * The DBManager handlers over `store`. Every request is validated first (INVALID_ARGUMENT lists every bad field);
 * a store that stays unreachable through its retries answers UNAVAILABLE, so clients retry; other failures INTERNAL.
 * UNAVAILABLE and INTERNAL are logged once here, where they end.
 */
export function dbManagerHandlers(store: ObservationStore, logger: DbManagerLogger): grpc.UntypedServiceImplementation {
  function unary<Req, Res>(method: string, run: (req: Req, metadata: grpc.Metadata) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      run(call.request, call.metadata).then(
        (res) => callback(null, res),
        (err: unknown) => {
          const s = statusOf(err);
          if (s.code !== grpc.status.INVALID_ARGUMENT) logger.warn(`${method}: ${grpc.status[s.code]}: ${s.message}`);
          callback({ code: s.code, details: s.message });
        },
      );
    };
  }

  return {
    ReportObservationLog: unary('ReportObservationLog', async (req: PbReportObservationLogRequest, metadata) => {
      const batchId = batchIdOf(metadata);
      const issues = reportIssues(req, batchId);
      if (issues.length > 0) throw invalid(issues);
      await store.report(req.trial_name, entriesFromPb(req.observation_log), batchId);
      return {};
    }),
    GetObservationLog: unary('GetObservationLog', async (req: PbGetObservationLogRequest): Promise<PbGetObservationLogReply> => {
      const issues = getIssues(req);
      if (issues.length > 0) throw invalid(issues);
      const entries = await store.get(req.trial_name, {
        ...(req.metric_name ? { metricName: req.metric_name } : {}),
        ...(req.start_time ? { startTime: req.start_time } : {}),
        ...(req.end_time ? { endTime: req.end_time } : {}),
      });
      return { observation_log: entriesToPb(entries) };
    }),
    DeleteObservationLog: unary('DeleteObservationLog', async (req: PbDeleteObservationLogRequest) => {
      const issues = deleteIssues(req);
      if (issues.length > 0) throw invalid(issues);
      await store.delete(req.trial_name);
      return {};
    }),
  };
}

export interface DbManagerOptions {
  /** Interface to listen on. Default 0.0.0.0, as Katib's. */
  readonly host?: string;
  /** Port to listen on; 0 picks a free one (see the returned `port`). Katib uses 6789. */
  readonly port: number;
  /** Database URL: sqlite:PATH, postgres://..., mysql://... (see openObservationStore). */
  readonly db: string;
  /** Default: pino, JSON lines on stdout. */
  readonly logger?: DbManagerLogger;
  /** Store tuning (table prefix, start-up wait, retries, pool size). */
  readonly store?: Omit<ObservationStoreOptions, 'logger'>;
  /** How often the health service checks the database, ms. Default 10,000. */
  readonly healthCheckIntervalMs?: number;
}

export interface DbManagerHandle {
  readonly port: number;
  /** Stops accepting calls, lets running ones finish (5 s at most), closes the database. */
  close(): Promise<void>;
}

/**
 * Opens the database (waiting for it as openObservationStore does, one log line per attempt), applies migrations,
 * then serves DBManager and health on host:port. Health answers SERVING while the database answers `SELECT 1`,
 * NOT_SERVING while it does not. Throws what openObservationStore throws, or the bind error.
 */
export async function startDbManager(opts: DbManagerOptions): Promise<DbManagerHandle> {
  const logger = opts.logger ?? pino({ name: 'db-manager' });
  const store = await openObservationStore(opts.db, { ...opts.store, logger });
  const server = new grpc.Server({ 'grpc.max_receive_message_length': MAX_MESSAGE_BYTES, 'grpc.max_send_message_length': MAX_MESSAGE_BYTES });
  server.addService(loadKatibProto().DBManager.service, dbManagerHandlers(store, logger));
  const health = new HealthService();
  health.set(HealthServiceName.dbManager, 'SERVING');
  health.addTo(server);

  let serving = true;
  let checking = false;
  const checkDatabase = async (): Promise<void> => {
    if (checking) return;
    checking = true;
    try {
      await store.ping();
      if (!serving) logger.info(`database ${store.url} answers again: health SERVING`);
      serving = true;
    } catch (e) {
      if (serving) logger.warn(`database ${store.url} does not answer (${e instanceof Error ? e.message : String(e)}): health NOT_SERVING until it does`);
      serving = false;
    } finally {
      checking = false;
    }
    const status = serving ? 'SERVING' : 'NOT_SERVING';
    health.set(HealthServiceName.dbManager, status);
    health.set('', status);
  };
  const timer = setInterval(() => void checkDatabase(), opts.healthCheckIntervalMs ?? 10_000);
  timer.unref();

  let port: number;
  try {
    port = await bindServer(server, opts.host ?? '0.0.0.0', opts.port);
  } catch (e) {
    clearInterval(timer);
    server.forceShutdown();
    await store.close();
    throw new KatibError(`db-manager: cannot listen on ${opts.host ?? '0.0.0.0'}:${opts.port}: ${e instanceof Error ? e.message : String(e)}; choose another --port`, { cause: e });
  }
  logger.info(`db-manager serving on ${opts.host ?? '0.0.0.0'}:${port}, observations in ${store.url} (${store.backend})`);

  let closing: Promise<void> | undefined;
  return {
    port,
    close: () =>
      (closing ??= (async () => {
        clearInterval(timer);
        await new Promise<void>((resolve) => {
          const force = setTimeout(() => {
            server.forceShutdown();
            resolve();
          }, 5_000);
          server.tryShutdown(() => {
            clearTimeout(force);
            resolve();
          });
        });
        await store.close();
      })()),
  };
}
