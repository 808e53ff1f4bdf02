/**
 * The client side of the DB-manager, for the metrics collector and the SDK's reportMetrics. It is an
 * ObservationStore, so code written against a local store works against a remote DB-manager unchanged.
 *
 * Every call has a deadline and is retried (capped exponential backoff) on UNAVAILABLE, DEADLINE_EXCEEDED and
 * ABORTED. A report sends one batch id (metadata `katib-batch-id`) with every attempt, so a report whose answer was
 * lost is stored once, not twice.
 */
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { KatibError, UnavailableError, ValidationError } from '../errors.js';
import { HealthServiceName, loadKatibProto } from '../grpc/proto.js';
import { backoffDelay, sleep } from '../store/observations/retry.js';
import type { MetricLogEntry, ObservationQuery, ObservationStore } from '../store/store.js';
import type { PbDeleteObservationLogRequest, PbGetObservationLogReply, PbGetObservationLogRequest, PbReportObservationLogRequest } from './wire.js';
import { BATCH_ID_METADATA_KEY, entriesFromPb, entriesToPb } from './wire.js';

export interface DbManagerClientOptions {
  /** Deadline of each attempt, ms. Default 30,000. */
  readonly timeoutMs?: number;
  /** Attempts per call, the first included. Default 6. */
  readonly attempts?: number;
  /** Wait before the second attempt, ms; doubles per attempt. Default 200. */
  readonly initialDelayMs?: number;
  /** Longest wait between attempts, ms. Default 5,000. */
  readonly maxDelayMs?: number;
}

export interface CallOptions {
  /** Stops retrying and cancels the call in flight. */
  readonly signal?: AbortSignal;
}

const RETRYABLE: ReadonlySet<grpc.status> = new Set([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.ABORTED]);

type Unary<Req, Res> = (req: Req, meta: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: Res) => void) => grpc.ClientUnaryCall;

/** INVALID_ARGUMENT → ValidationError (one issue per `path: message` line); UNAVAILABLE-like → UnavailableError. */
function translate(err: grpc.ServiceError, what: string): KatibError {
  if (err.code === grpc.status.INVALID_ARGUMENT) {
    return new ValidationError(
      err.details.split('\n').map((line) => {
        const i = line.indexOf(': ');
        return i > 0 ? { path: line.slice(0, i), message: line.slice(i + 2) } : { path: what, message: line };
      }),
      what,
    );
  }
  if (RETRYABLE.has(err.code)) return new UnavailableError(`${what}: ${grpc.status[err.code]}: ${err.details || err.message}`, { cause: err });
  return new KatibError(`${what}: ${grpc.status[err.code]}: ${err.details || err.message}`, { cause: err });
}

export class DbManagerClient implements ObservationStore {
  private readonly client: grpc.Client;
  private readonly health: grpc.Client;
  private readonly timeoutMs: number;
  private readonly attempts: number;
  private readonly backoff: { initialDelayMs: number; maxDelayMs: number };

  /** `address` is host:port of a DB-manager (Katib's or ours). Connects lazily. */
  constructor(
    readonly address: string,
    opts: DbManagerClientOptions = {},
  ) {
    const proto = loadKatibProto();
    const channel = { 'grpc.max_receive_message_length': 2 ** 31 - 1, 'grpc.max_send_message_length': 2 ** 31 - 1 };
    this.client = new proto.DBManager(address, grpc.credentials.createInsecure(), channel);
    this.health = new proto.Health(address, grpc.credentials.createInsecure());
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.attempts = Math.max(1, opts.attempts ?? 6);
    this.backoff = { initialDelayMs: opts.initialDelayMs ?? 200, maxDelayMs: opts.maxDelayMs ?? 5_000 };
  }

  private once<Req, Res>(client: grpc.Client, method: string, req: Req, metadata: grpc.Metadata, signal: AbortSignal | undefined, timeoutMs = this.timeoutMs): Promise<Res> {
    const fn = (client as unknown as Record<string, Unary<Req, Res>>)[method];
    if (!fn) throw new KatibError(`gRPC method ${method} missing from the loaded proto`);
    return new Promise((resolve, reject) => {
      const call = fn.call(client, req, metadata, { deadline: Date.now() + timeoutMs }, (err, res) => {
        signal?.removeEventListener('abort', cancel);
        if (err) reject(err);
        else resolve(res);
      });
      const cancel = (): void => call.cancel();
      signal?.addEventListener('abort', cancel, { once: true });
    });
  }

  /** One call with retries; throws the translated error of the last attempt. */
  private async call<Req, Res>(method: string, req: Req, metadata: grpc.Metadata, what: string, signal?: AbortSignal): Promise<Res> {
    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) throw new KatibError(`${what}: cancelled`, { cause: signal.reason });
      try {
        return await this.once<Req, Res>(this.client, method, req, metadata, signal);
      } catch (e) {
        const err = e as grpc.ServiceError;
        if (signal?.aborted) throw new KatibError(`${what}: cancelled`, { cause: signal.reason });
        if (!RETRYABLE.has(err.code) || attempt >= this.attempts) {
          const t = translate(err, what);
          if (RETRYABLE.has(err.code)) throw new UnavailableError(`${t.message} (after ${attempt} attempts); check that the DB-manager at ${this.address} is running`, { cause: err });
          throw t;
        }
        await sleep(backoffDelay(this.backoff, attempt), signal).catch(() => undefined);
      }
    }
  }

  /**
   * Stores `entries` for the trial. `batchId` (default: a new UUID per call) goes with every attempt, so retries
   * never store the batch twice; pass the same id when you retry a report yourself. Throws ValidationError for a
   * request the DB-manager rejects, UnavailableError when it stays unreachable.
   */
  async report(trialName: string, entries: readonly MetricLogEntry[], batchId?: string, opts: CallOptions = {}): Promise<void> {
    const metadata = new grpc.Metadata();
    metadata.set(BATCH_ID_METADATA_KEY, batchId ?? randomUUID());
    const req: PbReportObservationLogRequest = { trial_name: trialName, observation_log: entriesToPb(entries) };
    await this.call('ReportObservationLog', req, metadata, `ReportObservationLog for trial ${JSON.stringify(trialName)} at ${this.address}`, opts.signal);
  }

  /** The trial's log, ordered by time, optionally filtered by metric name and an inclusive RFC3339 range. */
  async get(trialName: string, query: ObservationQuery = {}, opts: CallOptions = {}): Promise<MetricLogEntry[]> {
    const req: PbGetObservationLogRequest = {
      trial_name: trialName,
      metric_name: query.metricName ?? '',
      start_time: query.startTime ?? '',
      end_time: query.endTime ?? '',
    };
    const res = await this.call<PbGetObservationLogRequest, PbGetObservationLogReply>(
      'GetObservationLog',
      req,
      new grpc.Metadata(),
      `GetObservationLog for trial ${JSON.stringify(trialName)} at ${this.address}`,
      opts.signal,
    );
    return entriesFromPb(res.observation_log);
  }

  /** Removes the trial's whole log. */
  async delete(trialName: string, opts: CallOptions = {}): Promise<void> {
    const req: PbDeleteObservationLogRequest = { trial_name: trialName };
    await this.call('DeleteObservationLog', req, new grpc.Metadata(), `DeleteObservationLog for trial ${JSON.stringify(trialName)} at ${this.address}`, opts.signal);
  }

  /** Resolves once the DB-manager's health service says SERVING; UnavailableError after `timeoutMs`. */
  async waitReady(timeoutMs = 30_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < until) {
      try {
        const res = await this.once<{ service: string }, { status: string }>(this.health, 'Check', { service: HealthServiceName.dbManager }, new grpc.Metadata(), undefined, 2_000);
        if (res.status === 'SERVING') return;
        last = new Error(`health status ${res.status}`);
      } catch (e) {
        last = e;
      }
      await sleep(200);
    }
    throw new UnavailableError(`DB-manager at ${this.address} is not serving after ${timeoutMs} ms; check the address or start it with \`katib serve db-manager\``, { cause: last });
  }

  async close(): Promise<void> {
    this.client.close();
    this.health.close();
  }
}
