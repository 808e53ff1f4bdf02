/**
 * The seam between the observation store's shared logic (validation, idempotent batches, retries, start-up backoff)
 * and one database's SQL. A back end is one of these three; it never retries by itself.
 */
import type { MetricLogEntry } from '../store.js';

export const BACKEND_KINDS = ['sqlite', 'postgres', 'mysql'] as const;
export type BackendKind = (typeof BACKEND_KINDS)[number];

/** One row as written: the reported text plus its UTC sort key (see time.ts). */
export interface LogRow {
  readonly metricName: string;
  readonly timeKey: string;
  readonly timestamp: string;
  readonly value: string;
}

/** A read, with the time bounds already turned into sort keys. */
export interface RowQuery {
  readonly metricName?: string;
  readonly startKey?: string;
  readonly endKey?: string;
}

/** The table names one store uses; a prefix lets several stores (or test runs) share a database. */
export interface TableNames {
  readonly logs: string;
  readonly batches: string;
  readonly migrations: string;
}

/** Table names for `prefix` (validated by the caller). */
export function tableNames(prefix: string): TableNames {
  return { logs: `${prefix}observation_logs`, batches: `${prefix}observation_batches`, migrations: `${prefix}schema_migrations` };
}

export interface Backend {
  readonly kind: BackendKind;
  /** Opens a connection and runs `SELECT 1`; throws the driver's error when the server cannot be reached. */
  ping(): Promise<void>;
  /** Applies the migrations not yet recorded, each once; returns the versions this call applied. */
  migrate(): Promise<number[]>;
  /** The highest applied migration version (0 for an empty database). */
  schemaVersion(): Promise<number>;
  /**
   * In ONE transaction: records (trial, batchId) and inserts `rows` with multi-row INSERTs. Returns false, inserting
   * nothing, when that batch was recorded before.
   */
  insert(trialName: string, rows: readonly LogRow[], batchId: string): Promise<boolean>;
  /** The trial's entries matching `query`, ordered by time, then by insertion. */
  select(trialName: string, query: RowQuery): Promise<MetricLogEntry[]>;
  /** Removes the trial's entries and batch records in one transaction. */
  deleteTrial(trialName: string): Promise<void>;
  /** True when `err` is a lost connection, a server restart, a deadlock or lock timeout: the same call may succeed. */
  isTransient(err: unknown): boolean;
  close(): Promise<void>;
}

/** `err.code` of a Node or driver error, when it has one. */
export function errorCode(err: unknown): string | number | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  const code = (err as { code: unknown }).code;
  return typeof code === 'string' || typeof code === 'number' ? code : undefined;
}

/** Socket-level codes that mean "the server is not there right now". */
export const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** `trial_name = ? [AND metric_name = ?] [AND time_key >= ?] [AND time_key <= ?]` with `?` placeholders. */
export function whereClause(trialName: string, q: RowQuery, placeholder: (n: number) => string = () => '?'): { where: string; params: string[] } {
  const params = [trialName];
  const parts = [`trial_name = ${placeholder(1)}`];
  if (q.metricName !== undefined) {
    params.push(q.metricName);
    parts.push(`metric_name = ${placeholder(params.length)}`);
  }
  if (q.startKey !== undefined) {
    params.push(q.startKey);
    parts.push(`time_key >= ${placeholder(params.length)}`);
  }
  if (q.endKey !== undefined) {
    params.push(q.endKey);
    parts.push(`time_key <= ${placeholder(params.length)}`);
  }
  return { where: parts.join(' AND '), params };
}
