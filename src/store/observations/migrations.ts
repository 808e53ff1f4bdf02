/**
 * Versioned schema migrations for the observation stores. Each migration has a version, a name and the statements
 * for each back end; the runner records applied versions in `<prefix>schema_migrations` and applies each missing one
 * exactly once, in its own transaction where the database has transactional DDL (SQLite, PostgreSQL; MySQL commits
 * DDL implicitly). A database-wide lock (SQLite write lock, PostgreSQL advisory lock, MySQL GET_LOCK) makes DB-manager
 * replicas that start together apply each migration once. Never edit a released migration: append a new one.
 */
import { KatibError } from '../../errors.js';
import type { BackendKind, TableNames } from './backend.js';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: Readonly<Record<BackendKind, readonly string[]>>;
}

/** The migration table itself, created (if missing) under the lock before anything else. */
export function migrationsTableDdl(kind: BackendKind, t: TableNames): string {
  switch (kind) {
    case 'sqlite':
      return `CREATE TABLE IF NOT EXISTS ${t.migrations} (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))`;
    case 'postgres':
      return `CREATE TABLE IF NOT EXISTS ${t.migrations} (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`;
    case 'mysql':
      return `CREATE TABLE IF NOT EXISTS ${t.migrations} (version INT NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL, applied_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;
  }
}

// MySQL: utf8mb4_bin so that names compare case- and accent-sensitively, as they do in Kubernetes and on the other
// back ends. The time key is ASCII; every indexed column stays within InnoDB's 3072-byte key limit.
const MYSQL_NAME = 'VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL';
const MYSQL_TEXT = 'TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL';

/** Every migration, in version order. */
export function observationMigrations(t: TableNames): readonly Migration[] {
  const index = `${t.logs}_by_trial_metric_time`;
  return [
    {
      version: 1,
      name: `create ${t.logs}`,
      statements: {
        sqlite: [
          `CREATE TABLE ${t.logs} (id INTEGER PRIMARY KEY, trial_name TEXT NOT NULL, metric_name TEXT NOT NULL, time_key TEXT NOT NULL, time_stamp TEXT NOT NULL, value TEXT NOT NULL)`,
          `CREATE INDEX ${index} ON ${t.logs} (trial_name, metric_name, time_key, id)`,
        ],
        postgres: [
          // COLLATE "C": the time key must compare byte-wise; names compare exactly either way.
          `CREATE TABLE ${t.logs} (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, trial_name VARCHAR(255) NOT NULL, metric_name VARCHAR(255) NOT NULL, time_key VARCHAR(30) COLLATE "C" NOT NULL, time_stamp TEXT NOT NULL, value TEXT NOT NULL)`,
          `CREATE INDEX ${index} ON ${t.logs} (trial_name, metric_name, time_key, id)`,
        ],
        mysql: [
          `CREATE TABLE ${t.logs} (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, trial_name ${MYSQL_NAME}, metric_name ${MYSQL_NAME}, time_key CHAR(30) CHARACTER SET ascii COLLATE ascii_bin NOT NULL, time_stamp ${MYSQL_TEXT}, value ${MYSQL_TEXT}, INDEX ${index} (trial_name, metric_name, time_key, id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
        ],
      },
    },
    {
      version: 2,
      name: `create ${t.batches}`,
      statements: {
        sqlite: [`CREATE TABLE ${t.batches} (trial_name TEXT NOT NULL, batch_id TEXT NOT NULL, entries INTEGER NOT NULL, PRIMARY KEY (trial_name, batch_id)) WITHOUT ROWID`],
        postgres: [`CREATE TABLE ${t.batches} (trial_name VARCHAR(255) NOT NULL, batch_id VARCHAR(255) NOT NULL, entries INTEGER NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (trial_name, batch_id))`],
        mysql: [
          `CREATE TABLE ${t.batches} (trial_name ${MYSQL_NAME}, batch_id ${MYSQL_NAME}, entries INT NOT NULL, created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), PRIMARY KEY (trial_name, batch_id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
        ],
      },
    },
  ];
}

/** What a back end offers the runner while it holds the migration lock. */
export interface MigrationSession {
  /** Runs one statement outside any explicit transaction. */
  exec(sql: string): Promise<void>;
  appliedVersions(): Promise<number[]>;
  /** Runs `statements` and records (version, name), atomically where the database allows. */
  apply(statements: readonly string[], version: number, name: string): Promise<void>;
}

/** Applies the missing migrations in order; returns the versions applied. Called with the lock held. */
export async function runMigrations(kind: BackendKind, t: TableNames, session: MigrationSession): Promise<number[]> {
  await session.exec(migrationsTableDdl(kind, t));
  const done = new Set(await session.appliedVersions());
  const applied: number[] = [];
  for (const m of observationMigrations(t)) {
    if (done.has(m.version)) continue;
    try {
      await session.apply(m.statements[kind], m.version, m.name);
    } catch (e) {
      throw new MigrationError(m.version, m.name, e);
    }
    applied.push(m.version);
  }
  return applied;
}

/** What SQLite offers: the same as MigrationSession, synchronously. */
export interface SyncMigrationSession {
  exec(sql: string): void;
  appliedVersions(): number[];
  apply(statements: readonly string[], version: number, name: string): void;
}

/**
 * runMigrations for the synchronous SQLite driver, without a single await: connections in one process share the thread, so a
 * migration that yielded inside its transaction would make a second connection block on the write lock while the
 * first cannot finish.
 */
export function runMigrationsSync(t: TableNames, session: SyncMigrationSession): number[] {
  session.exec(migrationsTableDdl('sqlite', t));
  const done = new Set(session.appliedVersions());
  const applied: number[] = [];
  for (const m of observationMigrations(t)) {
    if (done.has(m.version)) continue;
    try {
      session.apply(m.statements.sqlite, m.version, m.name);
    } catch (e) {
      throw new MigrationError(m.version, m.name, e);
    }
    applied.push(m.version);
  }
  return applied;
}

/** A migration's statements failed; `cause` is the database's error. */
export class MigrationError extends KatibError {
  constructor(
    readonly version: number,
    readonly migration: string,
    cause: unknown,
  ) {
    super(
      `schema migration ${version} (${migration}) failed: ${cause instanceof Error ? cause.message : String(cause)}; if a table of that name exists from another installation, drop it or choose another table prefix`,
      { cause },
    );
  }
}

/** A 31-bit lock key derived from the migration table's name (FNV-1a), so stores with different prefixes do not wait on each other. */
export function migrationLockKey(t: TableNames): number {
  let h = 0x811c9dc5;
  for (const ch of `katib-ts:${t.migrations}`) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h & 0x7fffffff;
}
