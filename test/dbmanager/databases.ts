/**
 * The real database servers the observation-store and DB-manager tests run against, and how to tell whether they
 * are up. Locally a server that is down skips its back end's tests with a message saying why; in CI (`CI` set) or
 * with KATIB_REQUIRE_DATABASES=1 nothing is skipped, so a missing server fails the run.
 */
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { redactUrl } from '../../src/store/observations/index.js';
import { tableNames } from '../../src/store/observations/backend.js';

export const POSTGRES_URL = process.env['KATIB_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
export const MYSQL_URL = process.env['KATIB_TEST_MYSQL_URL'] ?? 'mysql://root@127.0.0.1:3306/test';

/** True where skipping is not allowed: CI, or KATIB_REQUIRE_DATABASES=1. */
export const DATABASES_REQUIRED = Boolean(process.env['CI']) || process.env['KATIB_REQUIRE_DATABASES'] === '1';

export type ServerKind = 'postgres' | 'mysql';

export const SERVER_LABEL: Record<ServerKind, string> = { postgres: 'PostgreSQL', mysql: 'MySQL/MariaDB' };
export const SERVER_URL: Record<ServerKind, string> = { postgres: POSTGRES_URL, mysql: MYSQL_URL };

function message(e: unknown): string {
  if (e instanceof AggregateError && e.errors.length > 0) return e.errors.map(message).join('; ');
  return e instanceof Error ? e.message || String((e as { code?: unknown }).code) : String(e);
}

/** Connects once (2 s timeout) and runs SELECT 1; returns undefined when that works, else why not. */
export async function probe(kind: ServerKind): Promise<string | undefined> {
  try {
    if (kind === 'postgres') {
      const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2000 });
      client.on('error', () => undefined);
      try {
        await client.connect();
        await client.query('SELECT 1');
      } finally {
        await client.end().catch(() => undefined);
      }
    } else {
      const conn = await mysql.createConnection({ uri: MYSQL_URL, connectTimeout: 2000 });
      try {
        await conn.query('SELECT 1');
      } finally {
        await conn.end().catch(() => undefined);
      }
    }
    return undefined;
  } catch (e) {
    return message(e);
  }
}

/**
 * Why `kind`'s tests must be skipped, or undefined when they run. Says so on the console: `npm test` shows which
 * server was missing and how to start it.
 */
export async function skipReason(kind: ServerKind, what: string): Promise<string | undefined> {
  const why = await probe(kind);
  if (why === undefined) return undefined;
  if (DATABASES_REQUIRED) {
    console.error(`${SERVER_LABEL[kind]} at ${redactUrl(SERVER_URL[kind])} is unreachable (${why}) but databases are required here (CI or KATIB_REQUIRE_DATABASES=1): ${what} will fail`);
    return undefined;
  }
  const reason = `${SERVER_LABEL[kind]} at ${redactUrl(SERVER_URL[kind])} is unreachable (${why})`;
  console.warn(`SKIPPED ${what}: ${reason}. Start it with .ci/databases.sh, or point KATIB_TEST_${kind === 'postgres' ? 'POSTGRES' : 'MYSQL'}_URL at a server.`);
  return reason;
}

/** A fresh table prefix, so tests never touch other tables in the shared `test` database. */
export function uniquePrefix(tag: string): string {
  return `kt_${tag}_${randomBytes(4).toString('hex')}_`;
}

/** Drops the observation tables with `prefix` (all of them, created or not). */
export async function dropTables(kind: ServerKind, prefix: string): Promise<void> {
  const t = tableNames(prefix);
  const sql = `DROP TABLE IF EXISTS ${t.logs}, ${t.batches}, ${t.migrations}`;
  if (kind === 'postgres') {
    const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 5000 });
    client.on('error', () => undefined);
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  } else {
    const conn = await mysql.createConnection({ uri: MYSQL_URL, connectTimeout: 5000 });
    try {
      await conn.query(sql);
    } finally {
      await conn.end();
    }
  }
}
