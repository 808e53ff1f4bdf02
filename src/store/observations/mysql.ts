/**
 * The MySQL / MariaDB observation back end (mysql2/promise pool), for Katib's usual database. A batch is one
 * transaction: `INSERT IGNORE` of the batch record (0 affected rows: a retry of a stored batch), then multi-row
 * INSERTs of up to 1,000 rows each, which keeps every statement well under max_allowed_packet.
 */
import mysql from 'mysql2/promise';
import type { MetricLogEntry } from '../store.js';
import type { Backend, LogRow, RowQuery, TableNames } from './backend.js';
import { NETWORK_ERROR_CODES, errorCode, whereClause } from './backend.js';
import { migrationLockKey, runMigrations } from './migrations.js';

const ROWS_PER_INSERT = 1000;
/** Client-side limit per statement: a server that stops answering must not hang a report forever. */
const QUERY_TIMEOUT_MS = 60_000;

const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  'PROTOCOL_ENQUEUE_AFTER_QUIT',
  'ER_SERVER_SHUTDOWN',
  'ER_CONNECTION_KILLED',
  'ER_CON_COUNT_ERROR',
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_NET_READ_ERROR',
  'ER_NET_READ_INTERRUPTED',
  'ER_NET_WRITE_INTERRUPTED',
  'ER_CLIENT_INTERACTION_TIMEOUT',
]);
const TRANSIENT_MESSAGES = /closed state|connection lost|server has gone away|lost connection|server shutdown in progress|connection is in closed state/i;

type Param = string | number;

export class MysqlBackend implements Backend {
  readonly kind = 'mysql' as const;
  private readonly pool: mysql.Pool;

  constructor(
    uri: string,
    private readonly t: TableNames,
    opts: { readonly poolSize: number },
  ) {
    this.pool = mysql.createPool({
      uri,
      connectionLimit: opts.poolSize,
      connectTimeout: 5_000,
      waitForConnections: true,
      enableKeepAlive: true,
      charset: 'utf8mb4',
    });
  }

  private async withConnection<T>(fn: (c: mysql.PoolConnection) => Promise<T>): Promise<T> {
    const conn = await this.pool.getConnection();
    try {
      const result = await fn(conn);
      conn.release();
      return result;
    } catch (e) {
      // A broken connection leaves the pool; a healthy one goes back.
      if (this.isTransient(e)) conn.destroy();
      else conn.release();
      throw e;
    }
  }

  private async query<R extends mysql.RowDataPacket[] | mysql.ResultSetHeader>(c: mysql.PoolConnection | mysql.Pool, sql: string, params: readonly Param[] = []): Promise<R> {
    const [result] = await c.query<R>({ sql, timeout: QUERY_TIMEOUT_MS }, [...params]);
    return result;
  }

  private transaction<T>(fn: (c: mysql.PoolConnection) => Promise<T>): Promise<T> {
    return this.withConnection(async (c) => {
      await c.beginTransaction();
      try {
        const result = await fn(c);
        await c.commit();
        return result;
      } catch (e) {
        await c.rollback().catch(() => undefined);
        throw e;
      }
    });
  }

  async ping(): Promise<void> {
    await this.withConnection((c) => this.query(c, 'SELECT 1'));
  }

  async migrate(): Promise<number[]> {
    return this.withConnection(async (c) => {
      const lock = `katib-ts:migrate:${migrationLockKey(this.t)}`;
      const got = await this.query<mysql.RowDataPacket[]>(c, 'SELECT GET_LOCK(?, 120) AS got', [lock]);
      if (got[0]?.['got'] !== 1) throw new Error(`could not take the migration lock ${lock} within 120 s; another DB-manager may be stuck migrating`);
      try {
        return await runMigrations('mysql', this.t, {
          exec: async (sql) => void (await this.query(c, sql)),
          appliedVersions: async () => (await this.query<mysql.RowDataPacket[]>(c, `SELECT version FROM ${this.t.migrations}`)).map((r) => Number(r['version'])),
          apply: async (statements, version, name) => {
            // MySQL commits DDL implicitly; the version row follows the DDL, and the lock keeps replicas out meanwhile.
            for (const s of statements) await this.query(c, s);
            await this.query(c, `INSERT INTO ${this.t.migrations} (version, name) VALUES (?, ?)`, [version, name]);
          },
        });
      } finally {
        await this.query(c, 'SELECT RELEASE_LOCK(?)', [lock]).catch(() => undefined);
      }
    });
  }

  async schemaVersion(): Promise<number> {
    const exists = await this.query<mysql.RowDataPacket[]>(this.pool, 'SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?', [
      this.t.migrations,
    ]);
    if (Number(exists[0]?.['n'] ?? 0) === 0) return 0;
    const rows = await this.query<mysql.RowDataPacket[]>(this.pool, `SELECT COALESCE(MAX(version), 0) AS v FROM ${this.t.migrations}`);
    return Number(rows[0]?.['v'] ?? 0);
  }

  async insert(trialName: string, rows: readonly LogRow[], batchId: string): Promise<boolean> {
    return this.transaction(async (c) => {
      // IGNORE only turns the duplicate key into "0 rows"; the store has checked lengths, so nothing is truncated.
      const recorded = await this.query<mysql.ResultSetHeader>(c, `INSERT IGNORE INTO ${this.t.batches} (trial_name, batch_id, entries) VALUES (?, ?, ?)`, [
        trialName,
        batchId,
        rows.length,
      ]);
      if (recorded.affectedRows === 0) return false;
      for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
        const chunk = rows.slice(i, i + ROWS_PER_INSERT);
        const params: string[] = [];
        for (const r of chunk) params.push(trialName, r.metricName, r.timeKey, r.timestamp, r.value);
        const values = chunk.map(() => '(?, ?, ?, ?, ?)').join(', ');
        await this.query(c, `INSERT INTO ${this.t.logs} (trial_name, metric_name, time_key, time_stamp, value) VALUES ${values}`, params);
      }
      return true;
    });
  }

  async select(trialName: string, q: RowQuery): Promise<MetricLogEntry[]> {
    const { where, params } = whereClause(trialName, q);
    const rows = await this.query<mysql.RowDataPacket[]>(this.pool, `SELECT time_stamp, metric_name, value FROM ${this.t.logs} WHERE ${where} ORDER BY time_key, id`, params);
    return rows.map((r) => ({ timestamp: String(r['time_stamp']), name: String(r['metric_name']), value: String(r['value']) }));
  }

  async deleteTrial(trialName: string): Promise<void> {
    await this.transaction(async (c) => {
      await this.query(c, `DELETE FROM ${this.t.logs} WHERE trial_name = ?`, [trialName]);
      await this.query(c, `DELETE FROM ${this.t.batches} WHERE trial_name = ?`, [trialName]);
    });
  }

  isTransient(err: unknown): boolean {
    const code = errorCode(err);
    if (typeof code === 'string' && (NETWORK_ERROR_CODES.has(code) || TRANSIENT_CODES.has(code))) return true;
    if (err instanceof AggregateError) return err.errors.some((e) => this.isTransient(e));
    return err instanceof Error && TRANSIENT_MESSAGES.test(err.message);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
