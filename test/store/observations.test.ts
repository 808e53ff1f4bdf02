/**
 * Runs the observation-store conformance suite over SQLite (always) and over the real PostgreSQL and MySQL/MariaDB
 * servers. A server that is down skips its suite with a console message (see test/dbmanager/databases.ts); in CI
 * nothing is skipped.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe } from 'vitest';
import { openObservationStore } from '../../src/store/observations/index.js';
import { MYSQL_URL, POSTGRES_URL, dropTables, skipReason } from '../dbmanager/databases.js';
import { observationStoreConformance } from './observations.conformance.js';

const quiet = { info: () => undefined, warn: () => undefined };

const sqliteDir = fs.mkdtempSync(path.join(os.tmpdir(), 'katib-observations-'));
afterAll(() => fs.rmSync(sqliteDir, { recursive: true, force: true }));

describe('SQLite observation store', () => {
  observationStoreConformance({
    // A nested folder that does not exist yet: opening creates it.
    open: (prefix) => openObservationStore(`sqlite:${path.join(sqliteDir, 'nested', 'katib.db')}`, { tablePrefix: prefix, logger: quiet }),
    drop: async () => undefined,
  });
});

const postgresSkip = await skipReason('postgres', 'PostgreSQL observation store tests');
describe.skipIf(postgresSkip !== undefined)(`PostgreSQL observation store${postgresSkip ? ` (skipped: ${postgresSkip})` : ''}`, () => {
  observationStoreConformance({
    open: (prefix) => openObservationStore(POSTGRES_URL, { tablePrefix: prefix, logger: quiet, connectTimeoutMs: 5_000 }),
    drop: (prefix) => dropTables('postgres', prefix),
  });
});

const mysqlSkip = await skipReason('mysql', 'MySQL/MariaDB observation store tests');
describe.skipIf(mysqlSkip !== undefined)(`MySQL/MariaDB observation store${mysqlSkip ? ` (skipped: ${mysqlSkip})` : ''}`, () => {
  observationStoreConformance({
    open: (prefix) => openObservationStore(MYSQL_URL, { tablePrefix: prefix, logger: quiet, connectTimeoutMs: 5_000 }),
    drop: (prefix) => dropTables('mysql', prefix),
  });
});
