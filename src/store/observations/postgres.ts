/**
 * The PostgreSQL observation back end (pg Pool). A batch is one transaction: the batch record
 * (`ON CONFLICT DO NOTHING`) and one INSERT ... SELECT FROM unnest(...) carrying every row in four array
 * parameters, so a 10,000-point batch is a single statement with no parameter-count limit.
 */
import pg from 'pg';
import type { MetricLogEntry } from '../store.js';
import type { Backend, LogRow, RowQuery, TableNames } from './backend.js';
import { NETWORK_ERROR_CODES, errorCode, whereClause } from './backend.js';
import { migrationLockKey, runMigrations } from './migrations.js';

/** SQLSTATEs after which the same statement may succeed: connection exceptions (class 08), shutdown/startup, too many connections, serialization failure, deadlock. */
const TRANSIENT_SQLSTATES: ReadonlySet<string> = new Set(['57P01', '57P02', '57P03', '53300', '40001', '40P01']);
/** pg reports a dropped socket with these messages and no code. */
const TRANSIENT_MESSAGES = /connection terminated|connection ended unexpectedly|timeout exceeded when trying to connect|connection timeout|query read timeout|client has encountered a connection error|the database system is (starting up|shutting down|in recovery mode)|not queryable/i;

export interface PostgresBackendOptions {
  readonly poolSize: number;
  /** Called when an idle pooled connection dies (the server went away between requests). */
  readonly onIdleError: (err: Error) => void;
}

export class PostgresBackend implements Backend {
  readonly kind = 'postgres' as const;
  private readonly pool: pg.Pool;
  /** Clients whose connection reported an error; they are destroyed on release instead of being reused. */
  private readonly broken = new WeakMap<pg.PoolClient, Error>();

  constructor(
    connectionString: string,
    private readonly t: TableNames,
    opts: PostgresBackendOptions,
  ) {
    this.pool = new pg.Pool({
      connectionString,
      max: opts.poolSize,
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 10_000,
      // A server that vanishes without closing the socket must not hang a report forever.
      query_timeout: 60_000,
      keepAlive: true,
    });
    // Without a listener an idle client's error would crash the process (pg emits it on the pool).
    this.pool.on('error', opts.onIdleError);
    // A checked-out client has no pool listener, and pg hands a new client out from inside its socket handler:
    // a FATAL that arrives in the same read (a server shutting down) would be emitted with no listener at all.
    // So every client gets one listener for its whole life that only notes the error.
    this.pool.on('connect', (client) => {
      client.on('error', (e: Error) => this.broken.set(client, e));
    });
  }

  /** Runs `fn` on one pooled client. A client whose connection broke is destroyed rather than returned. */
  private async withClient<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      const result = await fn(client);
      client.release(this.broken.get(client));
      return result;
    } catch (e) {
      client.release(e instanceof Error && this.isTransient(e) ? e : this.broken.get(client));
      throw e;
    }
  }

  private transaction<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.withClient(async (c) => {
      await c.query('BEGIN');
      try {
        const result = await fn(c);
        await c.query('COMMIT');
        return result;
      } catch (e) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw e;
      }
    });
  }

  async ping(): Promise<void> {
    await this.withClient((c) => c.query('SELECT 1'));
  }

  async migrate(): Promise<number[]> {
    return this.withClient(async (c) => {
      const key = migrationLockKey(this.t);
      await c.query('SELECT pg_advisory_lock($1)', [key]);
      try {
        return await runMigrations('postgres', this.t, {
          exec: async (sql) => void (await c.query(sql)),
          appliedVersions: async () => (await c.query<{ version: number }>(`SELECT version FROM ${this.t.migrations}`)).rows.map((r) => r.version),
          apply: async (statements, version, name) => {
            await c.query('BEGIN');
            try {
              for (const s of statements) await c.query(s);
              await c.query(`INSERT INTO ${this.t.migrations} (version, name) VALUES ($1, $2)`, [version, name]);
              await c.query('COMMIT');
            } catch (e) {
              await c.query('ROLLBACK').catch(() => undefined);
              throw e;
            }
          },
        });
      } finally {
        await c.query('SELECT pg_advisory_unlock($1)', [key]).catch(() => undefined);
      }
    });
  }

  async schemaVersion(): Promise<number> {
    return this.withClient(async (c) => {
      const exists = await c.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [this.t.migrations]);
      if (!exists.rows[0]?.t) return 0;
      const res = await c.query<{ v: number }>(`SELECT COALESCE(MAX(version), 0)::int AS v FROM ${this.t.migrations}`);
      return res.rows[0]?.v ?? 0;
    });
  }

  async insert(trialName: string, rows: readonly LogRow[], batchId: string): Promise<boolean> {
    return this.transaction(async (c) => {
      const recorded = await c.query(`INSERT INTO ${this.t.batches} (trial_name, batch_id, entries) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [
        trialName,
        batchId,
        rows.length,
      ]);
      if (recorded.rowCount === 0) return false;
      if (rows.length === 0) return true;
      await c.query(
        `INSERT INTO ${this.t.logs} (trial_name, metric_name, time_key, time_stamp, value)
         SELECT $1, u.m, u.k, u.s, u.v FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS u(m, k, s, v, n) ORDER BY u.n`,
        [trialName, rows.map((r) => r.metricName), rows.map((r) => r.timeKey), rows.map((r) => r.timestamp), rows.map((r) => r.value)],
      );
      return true;
    });
  }

  async select(trialName: string, q: RowQuery): Promise<MetricLogEntry[]> {
    const { where, params } = whereClause(trialName, q, (n) => `$${n}`);
    const res = await this.pool.query<{ time_stamp: string; metric_name: string; value: string }>(
      `SELECT time_stamp, metric_name, value FROM ${this.t.logs} WHERE ${where} ORDER BY time_key, id`,
      params,
    );
    return res.rows.map((r) => ({ timestamp: r.time_stamp, name: r.metric_name, value: r.value }));
  }

  async deleteTrial(trialName: string): Promise<void> {
    await this.transaction(async (c) => {
      await c.query(`DELETE FROM ${this.t.logs} WHERE trial_name = $1`, [trialName]);
      await c.query(`DELETE FROM ${this.t.batches} WHERE trial_name = $1`, [trialName]);
    });
  }

  isTransient(err: unknown): boolean {
    const code = errorCode(err);
    if (typeof code === 'string' && (NETWORK_ERROR_CODES.has(code) || TRANSIENT_SQLSTATES.has(code) || /^08[0-9A-Z]{3}$/.test(code))) return true;
    if (err instanceof AggregateError) return err.errors.some((e) => this.isTransient(e));
    return err instanceof Error && TRANSIENT_MESSAGES.test(err.message);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
