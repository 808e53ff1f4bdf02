/**
 * Observation logs on SQLite, PostgreSQL or MySQL/MariaDB, chosen by URL. `openObservationStore` waits for the
 * database (capped exponential backoff, one log line per attempt), applies the versioned schema migrations and
 * returns a store whose operations survive a database restart.
 */
import { UnavailableError, ValidationError } from '../../errors.js';
import type { Backend } from './backend.js';
import { tableNames } from './backend.js';
import { MysqlBackend } from './mysql.js';
import { PostgresBackend } from './postgres.js';
import type { Backoff } from './retry.js';
import { backoffDelay, describeError, sleep } from './retry.js';
import { SqliteBackend } from './sqlite.js';
import type { ObservationLogger, RetryPolicy, SqlObservationStore } from './store.js';
import { DEFAULT_RETRY, SqlObservationStoreImpl, retryTransient } from './store.js';
import { parseDatabaseUrl, redactUrl } from './url.js';

export type { BackendKind } from './backend.js';
export { BACKEND_KINDS } from './backend.js';
export type { Backoff } from './retry.js';
export type { ObservationLogger, RetryPolicy, SqlObservationStore } from './store.js';
export { DEFAULT_RETRY, MAX_NAME_LENGTH } from './store.js';
export { MigrationError } from './migrations.js';
export { DEFAULT_SQLITE_PATH, parseDatabaseUrl, redactUrl } from './url.js';
export { timeSortKey } from './time.js';

export interface ObservationStoreOptions {
  /** Prepended to every table name (`<prefix>observation_logs`, ...): letters, digits, `_`. Default none. */
  readonly tablePrefix?: string;
  /** Receives retry and migration messages. Default: one line each on stderr. */
  readonly logger?: ObservationLogger;
  /** How long to keep trying to reach the database at start, in ms. Default 60,000 (Katib's --connect-timeout). */
  readonly connectTimeoutMs?: number;
  /** Waits between start-up attempts. Default 500 ms doubling to at most 10 s. */
  readonly connectBackoff?: Backoff;
  /** How operations retry a lost connection. Default DEFAULT_RETRY. */
  readonly retry?: RetryPolicy;
  /** Connections per pool (PostgreSQL, MySQL). Default 10. */
  readonly poolSize?: number;
  /** Aborts the start-up wait. */
  readonly signal?: AbortSignal;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 60_000;
export const DEFAULT_CONNECT_BACKOFF: Backoff = { initialDelayMs: 500, maxDelayMs: 10_000 };

const stderrLogger: ObservationLogger = {
  info: (msg) => process.stderr.write(`katib observations: ${msg}\n`),
  warn: (msg) => process.stderr.write(`katib observations: ${msg}\n`),
};

/**
 * Opens the observation store at `url`: `sqlite:PATH` (`sqlite:` alone: ./.katib/katib.db, folder created),
 * `postgres://` / `postgresql://`, `mysql://` / `mariadb://`. Waits up to `connectTimeoutMs` for the server, logging
 * one line per failed attempt (URL without password, attempt number, next delay, error), then applies pending
 * migrations. Throws ValidationError for a bad URL or prefix, UnavailableError when the server stays unreachable,
 * MigrationError when a migration fails.
 */
export async function openObservationStore(url: string, opts: ObservationStoreOptions = {}): Promise<SqlObservationStore> {
  const target = parseDatabaseUrl(url);
  const prefix = opts.tablePrefix ?? '';
  if (!/^[A-Za-z0-9_]{0,32}$/.test(prefix) || /^[0-9]/.test(prefix)) {
    throw new ValidationError([{ path: 'tablePrefix', message: `${JSON.stringify(prefix)} must be at most 32 letters, digits or underscores, not starting with a digit` }]);
  }
  const logger = opts.logger ?? stderrLogger;
  const shown = target.kind === 'sqlite' ? `sqlite:${target.file}` : redactUrl(target.url);
  const tables = tableNames(prefix);
  const poolSize = opts.poolSize ?? 10;
  const backend: Backend =
    target.kind === 'sqlite'
      ? new SqliteBackend(target.file, tables)
      : target.kind === 'postgres'
        ? new PostgresBackend(target.url, tables, { poolSize, onIdleError: (e) => logger.warn(`${shown}: an idle connection was lost (${describeError(e)}); the next operation reconnects`) })
        : new MysqlBackend(target.url, tables, { poolSize });
  try {
    await waitForDatabase(backend, shown, opts, logger);
    const policy = opts.retry ?? DEFAULT_RETRY;
    const applied = await retryTransient('apply schema migrations', () => backend.migrate(), { backend, url: shown, policy, logger });
    if (applied.length > 0) logger.info(`${shown}: applied schema migration(s) ${applied.join(', ')}`);
    return new SqlObservationStoreImpl(backend, shown, applied, policy, logger);
  } catch (e) {
    await backend.close().catch(() => undefined);
    throw e;
  }
}

async function waitForDatabase(backend: Backend, shown: string, opts: ObservationStoreOptions, logger: ObservationLogger): Promise<void> {
  const timeoutMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const backoff = opts.connectBackoff ?? DEFAULT_CONNECT_BACKOFF;
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      await backend.ping();
      if (attempt > 1) logger.info(`${shown}: database reachable (attempt ${attempt})`);
      return;
    } catch (e) {
      const delay = backoffDelay(backoff, attempt);
      const elapsed = Date.now() - started;
      if (elapsed + delay > timeoutMs) {
        throw new UnavailableError(
          `${shown}: database not reachable after ${attempt} attempts in ${(elapsed / 1000).toFixed(1)} s: ${describeError(e)}; check the URL and credentials and that the server is running`,
          { cause: e },
        );
      }
      logger.warn(`${shown}: database not reachable (attempt ${attempt}), next attempt in ${delay} ms: ${describeError(e)}`);
      await sleep(delay, opts.signal);
    }
  }
}
