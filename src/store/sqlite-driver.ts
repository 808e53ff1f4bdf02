/**
 * The SQLite driver every katib-ts store opens its files with: better-sqlite3 on Node 20 and 22, Node's built-in
 * `node:sqlite` on Node 24 and later. better-sqlite3 12 derives its statements from `node::ObjectWrap`, whose
 * destructor aborts the process on Node ≥ 24.19 when a garbage collection frees a statement outside a JavaScript
 * context (nodejs/node#65446, WiseLibs/better-sqlite3#1515); better-sqlite3 13, which avoids it, crashes on Node 20.
 *
 * Both sit behind the small synchronous surface the stores use (better-sqlite3's shape): prepare → run / get / all
 * / pluck, exec, pragma, transaction (nested ones are savepoints; `.immediate()` takes the write lock at BEGIN) and
 * close. Errors from either carry SQLite's result-code name in `code` (`SQLITE_BUSY`, `SQLITE_CONSTRAINT_UNIQUE`, …).
 */
import { createRequire } from 'node:module';

/** A value SQLite stores or returns. */
export type SqliteValue = string | number | bigint | Buffer | Uint8Array | null;
/** Positional values (arrays are spread), or one object of named values (`@name` / `$name` / `:name`). */
export type SqliteParams = readonly (SqliteValue | readonly SqliteValue[] | Readonly<Record<string, SqliteValue>>)[];

export interface SqliteRunResult {
  readonly changes: number | bigint;
  readonly lastInsertRowid: number | bigint;
}

export interface SqliteStatement {
  run(...params: SqliteParams): SqliteRunResult;
  get(...params: SqliteParams): unknown;
  all(...params: SqliteParams): unknown[];
  /** This statement returning the first column's value instead of the row. */
  pluck(): SqliteStatement;
}

/** A function run in a transaction: called as is (BEGIN DEFERRED), or `.immediate()` (BEGIN IMMEDIATE). */
export type SqliteTransaction<F extends (...args: never[]) => unknown> = F & { immediate: F };

export interface SqliteDatabase {
  readonly open: boolean;
  prepare(sql: string): SqliteStatement;
  exec(sql: string): void;
  /** Runs `PRAGMA <source>`; the setting form only (`journal_mode = WAL`). */
  pragma(source: string): void;
  transaction<F extends (...args: never[]) => unknown>(fn: F): SqliteTransaction<F>;
  close(): void;
}

const requireModule = createRequire(import.meta.url);

/** The driver this Node picks: `node:sqlite` from Node 24 on, better-sqlite3 before. */
export const SQLITE_DRIVER: 'node:sqlite' | 'better-sqlite3' = Number(process.versions.node.split('.')[0]) >= 24 ? 'node:sqlite' : 'better-sqlite3';

/** Opens (or creates) the database `file` (`:memory:` for a private one) with the driver this Node picks. */
export function openDatabase(file: string, driver: typeof SQLITE_DRIVER = SQLITE_DRIVER): SqliteDatabase {
  return driver === 'node:sqlite' ? new NodeSqliteDatabase(file) : openBetterSqlite(file);
}

// ---- better-sqlite3 ------------------------------------------------------------------------------------------

interface BetterSqliteModule {
  new (file: string): SqliteDatabase;
}

function openBetterSqlite(file: string): SqliteDatabase {
  // Loaded on first use, so Node 24 never loads the addon.
  const Database = requireModule('better-sqlite3') as BetterSqliteModule;
  return new Database(file);
}

// ---- node:sqlite ---------------------------------------------------------------------------------------------

interface NodeStatement {
  run(...params: unknown[]): SqliteRunResult;
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

interface NodeDatabaseSync {
  readonly isOpen: boolean;
  prepare(sql: string): NodeStatement;
  exec(sql: string): void;
  close(): void;
}

/** SQLite's primary result codes by number, for the names better-sqlite3 puts in `code`. */
const PRIMARY_CODES: Readonly<Record<number, string>> = {
  1: 'SQLITE_ERROR',
  2: 'SQLITE_INTERNAL',
  3: 'SQLITE_PERM',
  4: 'SQLITE_ABORT',
  5: 'SQLITE_BUSY',
  6: 'SQLITE_LOCKED',
  7: 'SQLITE_NOMEM',
  8: 'SQLITE_READONLY',
  9: 'SQLITE_INTERRUPT',
  10: 'SQLITE_IOERR',
  11: 'SQLITE_CORRUPT',
  13: 'SQLITE_FULL',
  14: 'SQLITE_CANTOPEN',
  17: 'SQLITE_SCHEMA',
  18: 'SQLITE_TOOBIG',
  19: 'SQLITE_CONSTRAINT',
  20: 'SQLITE_MISMATCH',
  21: 'SQLITE_MISUSE',
  26: 'SQLITE_NOTADB',
};
/** The extended codes the stores may meet, by number. */
const EXTENDED_CODES: Readonly<Record<number, string>> = {
  261: 'SQLITE_BUSY_RECOVERY',
  517: 'SQLITE_BUSY_SNAPSHOT',
  773: 'SQLITE_BUSY_TIMEOUT',
  1555: 'SQLITE_CONSTRAINT_PRIMARYKEY',
  2067: 'SQLITE_CONSTRAINT_UNIQUE',
  787: 'SQLITE_CONSTRAINT_FOREIGNKEY',
  1299: 'SQLITE_CONSTRAINT_NOTNULL',
};

/** Gives a node:sqlite error better-sqlite3's `code` (the result code's name), keeping the rest. */
function withCode<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof Error && typeof (e as { errcode?: unknown }).errcode === 'number') {
      const n = (e as unknown as { errcode: number }).errcode;
      Object.defineProperty(e, 'code', { value: EXTENDED_CODES[n] ?? PRIMARY_CODES[n & 0xff] ?? `SQLITE_${n}`, configurable: true, enumerable: true, writable: true });
    }
    throw e;
  }
}

/** Spreads array arguments, as better-sqlite3 binds them. */
function flatten(params: SqliteParams): unknown[] {
  return params.flatMap((p) => (Array.isArray(p) ? (p as unknown[]) : [p]));
}

class NodeSqliteStatement implements SqliteStatement {
  constructor(
    private readonly stmt: NodeStatement,
    private readonly plucked = false,
  ) {}

  run(...params: SqliteParams): SqliteRunResult {
    return withCode(() => this.stmt.run(...flatten(params)));
  }

  get(...params: SqliteParams): unknown {
    const row = withCode(() => this.stmt.get(...flatten(params)));
    return this.plucked ? firstColumn(row) : row;
  }

  all(...params: SqliteParams): unknown[] {
    const rows = withCode(() => this.stmt.all(...flatten(params)));
    return this.plucked ? rows.map(firstColumn) : rows;
  }

  pluck(): SqliteStatement {
    return new NodeSqliteStatement(this.stmt, true);
  }
}

function firstColumn(row: unknown): unknown {
  if (row === undefined || row === null || typeof row !== 'object') return row;
  for (const key in row) return (row as Record<string, unknown>)[key];
  return undefined;
}

class NodeSqliteDatabase implements SqliteDatabase {
  private readonly db: NodeDatabaseSync;
  private depth = 0;

  constructor(file: string) {
    const { DatabaseSync } = requireModule('node:sqlite') as { DatabaseSync: new (file: string) => NodeDatabaseSync };
    this.db = withCode(() => new DatabaseSync(file));
  }

  get open(): boolean {
    return this.db.isOpen;
  }

  prepare(sql: string): SqliteStatement {
    return new NodeSqliteStatement(withCode(() => this.db.prepare(sql)));
  }

  exec(sql: string): void {
    withCode(() => this.db.exec(sql));
  }

  pragma(source: string): void {
    this.exec(`PRAGMA ${source}`);
  }

  transaction<F extends (...args: never[]) => unknown>(fn: F): SqliteTransaction<F> {
    const run = (mode: 'DEFERRED' | 'IMMEDIATE', args: Parameters<F>): ReturnType<F> => {
      const savepoint = this.depth > 0 ? `katib_sp_${this.depth}` : undefined;
      this.exec(savepoint ? `SAVEPOINT ${savepoint}` : `BEGIN ${mode}`);
      this.depth++;
      try {
        const result = fn(...args) as ReturnType<F>;
        this.depth--;
        this.exec(savepoint ? `RELEASE ${savepoint}` : 'COMMIT');
        return result;
      } catch (e) {
        this.depth--;
        try {
          this.exec(savepoint ? `ROLLBACK TO ${savepoint}; RELEASE ${savepoint}` : 'ROLLBACK');
        } catch {
          // SQLite may have rolled back already (e.g. after SQLITE_FULL); the original error is the one to report.
        }
        throw e;
      }
    };
    const deferred = ((...args: Parameters<F>) => run('DEFERRED', args)) as F;
    const immediate = ((...args: Parameters<F>) => run('IMMEDIATE', args)) as F;
    return Object.assign(deferred, { immediate });
  }

  close(): void {
    this.db.close();
  }
}
