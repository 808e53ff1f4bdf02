/**
 * The observation store over a SQL back end: checks input, turns timestamps into sort keys, makes every report
 * idempotent and retries operations that lose their connection. Retrying is safe for reports because every report
 * carries a batch id (the caller's, or one made up here for the call) that the back end records in the same
 * transaction as the rows: a retry after a commit whose answer was lost inserts nothing.
 */
import { randomUUID } from 'node:crypto';
import type { Issue } from '../../../algorithms/core/issues.js';
import { KatibError, UnavailableError, ValidationError } from '../../errors.js';
import type { MetricLogEntry, ObservationQuery, ObservationStore } from '../store.js';
import type { Backend, BackendKind, LogRow, RowQuery } from './backend.js';
import type { Backoff } from './retry.js';
import { backoffDelay, causeChain, describeError, sleep } from './retry.js';
import { timeSortKey } from './time.js';

/** Longest trial name, metric name and batch id the schema holds (VARCHAR(255)). */
export const MAX_NAME_LENGTH = 255;
/** Issues listed in one ValidationError; a 10,000-entry batch of garbage must not make a 10,000-line message. */
const MAX_ISSUES = 20;

/** Where the store says what it is doing: one line per message. pino loggers fit. */
export interface ObservationLogger {
  info(msg: string): void;
  warn(msg: string): void;
}

/** How store operations retry when the database connection is lost. */
export interface RetryPolicy extends Backoff {
  /** Attempts in all, the first included. */
  readonly attempts: number;
}

/** Defaults: 8 attempts, 100 ms doubling to at most 5 s (about 16 s in all): a database restart fits in. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 8, initialDelayMs: 100, maxDelayMs: 5_000 };

/** An ObservationStore on SQLite, PostgreSQL or MySQL, as openObservationStore returns it. */
export interface SqlObservationStore extends ObservationStore {
  readonly backend: BackendKind;
  /** The database URL without its password. */
  readonly url: string;
  /** The schema migrations this open applied (empty when the schema was current). */
  readonly migrationsApplied: readonly number[];
  /** The highest applied schema migration. */
  schemaVersion(): Promise<number>;
  /** Round trip to the database (`SELECT 1`), without retries; throws the driver's error. */
  ping(): Promise<void>;
}

function checkName(issues: Issue[], path: string, value: string, what: string): void {
  if (value === '') issues.push({ path, message: `${what} must not be empty` });
  else if (value.length > MAX_NAME_LENGTH) issues.push({ path, message: `${what} is ${value.length} characters long; at most ${MAX_NAME_LENGTH} are stored` });
  else if (value.includes('\u0000')) issues.push({ path, message: `${what} ${JSON.stringify(value)} contains a NUL character, which databases cannot store` });
}

function fail(issues: Issue[]): never {
  const shown = issues.slice(0, MAX_ISSUES);
  if (issues.length > MAX_ISSUES) shown.push({ path: '...', message: `and ${issues.length - MAX_ISSUES} more problems` });
  throw new ValidationError(shown);
}

export class SqlObservationStoreImpl implements SqlObservationStore {
  private closed = false;

  constructor(
    private readonly db: Backend,
    readonly url: string,
    readonly migrationsApplied: readonly number[],
    private readonly retry: RetryPolicy,
    private readonly logger: ObservationLogger,
  ) {}

  get backend(): BackendKind {
    return this.db.kind;
  }

  /**
   * Stores `entries` for `trialName` in one transaction. With `batchId`, a batch already stored for that trial is
   * not stored again. Throws ValidationError for an empty or over-long name, an unparsable timestamp or a NUL
   * character; UnavailableError when the database stays unreachable through every retry.
   */
  async report(trialName: string, entries: readonly MetricLogEntry[], batchId?: string): Promise<void> {
    const issues: Issue[] = [];
    checkName(issues, 'trialName', trialName, 'trial name');
    if (batchId !== undefined) checkName(issues, 'batchId', batchId, 'batch id');
    const rows: LogRow[] = [];
    entries.forEach((e, i) => {
      checkName(issues, `entries[${i}].name`, e.name, 'metric name');
      if (e.value.includes('\u0000')) issues.push({ path: `entries[${i}].value`, message: `value ${JSON.stringify(e.value)} contains a NUL character, which databases cannot store` });
      const timeKey = timeSortKey(e.timestamp);
      if (timeKey === undefined) issues.push({ path: `entries[${i}].timestamp`, message: `${JSON.stringify(e.timestamp)} is not an RFC3339 timestamp (e.g. 2024-05-01T08:00:00Z)` });
      else rows.push({ metricName: e.name, timeKey, timestamp: e.timestamp, value: e.value });
    });
    if (issues.length > 0) fail(issues);
    // One id for every attempt of this call: a retry after a lost COMMIT answer is then recognised.
    const batch = batchId ?? `auto:${randomUUID()}`;
    await this.retrying(`report ${rows.length} entries for trial ${JSON.stringify(trialName)}`, () => this.db.insert(trialName, rows, batch));
  }

  /** The trial's entries, ordered by time (then report order), filtered by metric name and inclusive RFC3339 bounds. */
  async get(trialName: string, query: ObservationQuery = {}): Promise<MetricLogEntry[]> {
    const issues: Issue[] = [];
    const q: { metricName?: string; startKey?: string; endKey?: string } = {};
    if (trialName.includes('\u0000')) issues.push({ path: 'trialName', message: `trial name ${JSON.stringify(trialName)} contains a NUL character` });
    if (query.metricName?.includes('\u0000')) issues.push({ path: 'metricName', message: `metric name ${JSON.stringify(query.metricName)} contains a NUL character` });
    if (query.metricName) q.metricName = query.metricName;
    for (const [field, key] of [
      ['startTime', 'startKey'],
      ['endTime', 'endKey'],
    ] as const) {
      const text = query[field];
      if (!text) continue;
      const sortKey = timeSortKey(text);
      if (sortKey === undefined) issues.push({ path: field, message: `${JSON.stringify(text)} is not an RFC3339 timestamp (e.g. 2024-05-01T08:00:00Z)` });
      else q[key] = sortKey;
    }
    if (issues.length > 0) fail(issues);
    const rowQuery: RowQuery = q;
    return this.retrying(`read observations of trial ${JSON.stringify(trialName)}`, () => this.db.select(trialName, rowQuery));
  }

  /** Removes every entry and batch record of the trial; a trial with none is not an error. */
  async delete(trialName: string): Promise<void> {
    await this.retrying(`delete observations of trial ${JSON.stringify(trialName)}`, () => this.db.deleteTrial(trialName));
  }

  schemaVersion(): Promise<number> {
    return this.retrying('read the schema version', () => this.db.schemaVersion());
  }

  ping(): Promise<void> {
    this.assertOpen();
    return this.db.ping();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.db.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new KatibError(`observation store ${this.url} is closed`);
  }

  private retrying<T>(what: string, op: () => Promise<T>): Promise<T> {
    return retryTransient(what, op, {
      backend: this.db,
      url: this.url,
      policy: this.retry,
      logger: this.logger,
      assertOpen: () => this.assertOpen(),
    });
  }
}

interface RetryContext {
  readonly backend: Backend;
  readonly url: string;
  readonly policy: RetryPolicy;
  readonly logger: ObservationLogger;
  /** Throws when the store was closed meanwhile; called before every attempt. */
  readonly assertOpen?: () => void;
}

/**
 * Runs `op`, retrying failures the back end calls transient (anywhere in the cause chain) with capped exponential
 * backoff, one log line per retry. Throws UnavailableError once the attempts are spent, KatibError (with `cause`) at
 * once for any other failure.
 */
export async function retryTransient<T>(what: string, op: () => Promise<T>, ctx: RetryContext): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    ctx.assertOpen?.();
    try {
      return await op();
    } catch (e) {
      if (!causeChain(e).some((c) => ctx.backend.isTransient(c))) {
        if (e instanceof KatibError) throw e;
        throw new KatibError(`${ctx.url}: ${what} failed: ${describeError(e)}`, { cause: e });
      }
      if (attempt >= ctx.policy.attempts) {
        throw new UnavailableError(`${ctx.url}: ${what} failed after ${attempt} attempts: ${describeError(e)}; check that the database server is running and reachable`, { cause: e });
      }
      const delay = backoffDelay(ctx.policy, attempt);
      ctx.logger.warn(`${ctx.url}: ${what}: attempt ${attempt}/${ctx.policy.attempts} failed, retrying in ${delay} ms: ${describeError(e)}`);
      await sleep(delay);
    }
  }
}
