/**
 * The SQLite observation back end (src/store/sqlite-driver.ts: better-sqlite3, or node:sqlite on Node 24): one
 * file in WAL mode, for embedded mode and single-node use.
 * The driver is synchronous, so every method runs to completion on the event loop; a 10,000-point batch takes a
 * few milliseconds. Another process writing the same file waits up to 5 s (busy_timeout) before SQLITE_BUSY, which
 * the store then retries.
 */
import fs from 'node:fs';
import path from 'node:path';
import { openDatabase, type SqliteDatabase, type SqliteStatement } from '../sqlite-driver.js';
import type { MetricLogEntry } from '../store.js';
import type { Backend, LogRow, RowQuery, TableNames } from './backend.js';
import { errorCode, whereClause } from './backend.js';
import { runMigrationsSync } from './migrations.js';

/** Rows per multi-row INSERT: 5 parameters each stays far below SQLite's 32,766 parameter limit. */
const ROWS_PER_INSERT = 200;

interface SelectedRow {
  time_stamp: string;
  metric_name: string;
  value: string;
}

export class SqliteBackend implements Backend {
  readonly kind = 'sqlite' as const;
  private readonly db: SqliteDatabase;
  /** Prepared multi-row INSERTs by row count (at most ROWS_PER_INSERT of them). */
  private readonly inserts = new Map<number, SqliteStatement>();
  /** Prepared on first use: the table exists only after migrate(). */
  private recordBatch: SqliteStatement | undefined;

  /** Opens (creating the folder and file if needed) `file`; `:memory:` for a private in-memory database. */
  constructor(
    readonly file: string,
    private readonly t: TableNames,
  ) {
    if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    this.db = openDatabase(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async migrate(): Promise<number[]> {
    // BEGIN IMMEDIATE takes the write lock, so a second process migrating the same file waits, then sees our rows.
    const migrateAll = this.db.transaction(() =>
      runMigrationsSync(this.t, {
        exec: (sql) => void this.db.exec(sql),
        appliedVersions: () => this.db.prepare(`SELECT version FROM ${this.t.migrations}`).pluck().all() as number[],
        // A nested transaction is a savepoint: a failed migration leaves nothing behind (SQLite has transactional DDL).
        apply: (statements, version, name) =>
          this.db.transaction(() => {
            for (const s of statements) this.db.exec(s);
            this.db.prepare(`INSERT INTO ${this.t.migrations} (version, name) VALUES (?, ?)`).run(version, name);
          })(),
      }),
    );
    return migrateAll.immediate();
  }

  async schemaVersion(): Promise<number> {
    const exists = this.db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(this.t.migrations);
    if (!exists) return 0;
    return (this.db.prepare(`SELECT COALESCE(MAX(version), 0) FROM ${this.t.migrations}`).pluck().get() as number) ?? 0;
  }

  private insertStatement(rows: number): SqliteStatement {
    let stmt = this.inserts.get(rows);
    if (!stmt) {
      const values = Array.from({ length: rows }, () => '(?, ?, ?, ?, ?)').join(', ');
      stmt = this.db.prepare(`INSERT INTO ${this.t.logs} (trial_name, metric_name, time_key, time_stamp, value) VALUES ${values}`);
      this.inserts.set(rows, stmt);
    }
    return stmt;
  }

  async insert(trialName: string, rows: readonly LogRow[], batchId: string): Promise<boolean> {
    this.recordBatch ??= this.db.prepare(`INSERT OR IGNORE INTO ${this.t.batches} (trial_name, batch_id, entries) VALUES (?, ?, ?)`);
    const recordBatch = this.recordBatch;
    const write = this.db.transaction((): boolean => {
      if (recordBatch.run(trialName, batchId, rows.length).changes === 0) return false;
      for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
        const chunk = rows.slice(i, i + ROWS_PER_INSERT);
        const params: string[] = [];
        for (const r of chunk) params.push(trialName, r.metricName, r.timeKey, r.timestamp, r.value);
        this.insertStatement(chunk.length).run(params);
      }
      return true;
    });
    return write.immediate();
  }

  async select(trialName: string, q: RowQuery): Promise<MetricLogEntry[]> {
    const { where, params } = whereClause(trialName, q);
    const rows = this.db.prepare(`SELECT time_stamp, metric_name, value FROM ${this.t.logs} WHERE ${where} ORDER BY time_key, id`).all(params) as SelectedRow[];
    return rows.map((r) => ({ timestamp: r.time_stamp, name: r.metric_name, value: r.value }));
  }

  async deleteTrial(trialName: string): Promise<void> {
    this.db.transaction(() => {
      this.db.prepare(`DELETE FROM ${this.t.logs} WHERE trial_name = ?`).run(trialName);
      this.db.prepare(`DELETE FROM ${this.t.batches} WHERE trial_name = ?`).run(trialName);
    }).immediate();
  }

  isTransient(err: unknown): boolean {
    const code = errorCode(err);
    return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' || (typeof code === 'string' && code.startsWith('SQLITE_BUSY_'));
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
