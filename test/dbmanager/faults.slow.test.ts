/**
 * Fault tests (slow): the DB-manager against PostgreSQL and MariaDB servers that really stop and start again.
 * PostgreSQL is stopped with pg_ctlcluster (fast shutdown: sessions are terminated); MariaDB's process is killed
 * with SIGKILL (a crash). Checked: a DB-manager started while its database is down waits with one log line per
 * attempt and then serves; reports sent while the database restarts are all stored, none twice; health follows the
 * database.
 *
 * They stop the shared servers, so they run only where asked (KATIB_SLOW_TESTS=1, or CI) and as root; afterAll
 * brings both servers back with .ci/databases.sh whatever happened.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { afterAll, describe, expect, it } from 'vitest';
import { DbManagerClient } from '../../src/dbmanager/client.js';
import type { DbManagerHandle } from '../../src/dbmanager/service.js';
import { startDbManager } from '../../src/dbmanager/service.js';
import { loadKatibProto } from '../../src/grpc/proto.js';
import { redactUrl } from '../../src/store/observations/index.js';
import type { MetricLogEntry } from '../../src/store/store.js';
import type { ServerKind } from './databases.js';
import { SERVER_LABEL, SERVER_URL, dropTables, probe, skipReason, uniquePrefix } from './databases.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function whySkip(): string | undefined {
  if (process.env['KATIB_SLOW_TESTS'] !== '1' && !process.env['CI']) return 'they stop and restart the shared database servers; set KATIB_SLOW_TESTS=1 to run them';
  if (process.getuid?.() !== 0) return 'stopping and starting the database servers needs root';
  return undefined;
}

const slowSkip = whySkip();
if (slowSkip) console.warn(`SKIPPED DB-manager fault tests (test/dbmanager/faults.slow.test.ts): ${slowSkip}`);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function run(cmd: string, args: readonly string[]): void {
  execFileSync(cmd, args, { stdio: 'pipe', timeout: 120_000 });
}

function postgresVersion(): string {
  const versions = fs.readdirSync('/etc/postgresql').sort((a, b) => Number(a) - Number(b));
  const v = versions[versions.length - 1];
  if (!v) throw new Error('no PostgreSQL cluster under /etc/postgresql');
  return v;
}

function mariadbPid(): number | undefined {
  try {
    const pid = Number(fs.readFileSync('/run/mysqld/mysqld.pid', 'utf8').trim());
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/** Takes the server away: PostgreSQL by a fast shutdown, MariaDB by SIGKILL. Returns once it is gone. */
async function stopServer(kind: ServerKind): Promise<void> {
  if (kind === 'postgres') {
    run('pg_ctlcluster', ['--skip-systemctl-redirect', postgresVersion(), 'main', 'stop', '-m', 'fast']);
  } else {
    const pid = mariadbPid();
    if (pid === undefined) throw new Error('MariaDB is not running (no live pid in /run/mysqld/mysqld.pid)');
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 100 && mariadbPid() === pid; i++) await sleep(100);
  }
  expect(await probe(kind)).toBeDefined();
}

/** Brings both servers back (idempotent) and waits until they accept connections. */
function restoreServers(): void {
  run(path.join(REPO, '.ci/databases.sh'), []);
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
}

function healthStatus(port: number): Promise<string> {
  const health = new (loadKatibProto().Health)(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const check = (health as unknown as Record<string, (req: unknown, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: { status: string }) => void) => void>)['Check'];
  return new Promise((resolve) => {
    check?.call(health, { service: 'manager.v1beta1.DBManager' }, { deadline: Date.now() + 2_000 }, (err, res) => {
      health.close();
      resolve(err ? `error ${grpc.status[err.code]}` : res.status);
    });
  });
}

function capture(): { lines: string[]; info(m: string): void; warn(m: string): void } {
  const lines: string[] = [];
  return { lines, info: (m) => void lines.push(m), warn: (m) => void lines.push(m) };
}

/** Batch `b` of reporter `r`: 100 points whose values (r*10^6 + b*10^3 + i) are unique, so a duplicate shows. */
function batch(r: number, b: number): MetricLogEntry[] {
  const base = Date.UTC(2024, 4, 1, 8, 0, 0) + b * 100_000;
  return Array.from({ length: 100 }, (_, i) => ({ timestamp: new Date(base + i * 1000).toISOString(), name: `m${r}`, value: String(r * 1_000_000 + b * 1_000 + i) }));
}

const kinds: ServerKind[] = ['postgres', 'mysql'];
const prefixes: { kind: ServerKind; prefix: string }[] = [];

afterAll(async () => {
  if (slowSkip) return;
  try {
    restoreServers();
  } finally {
    for (const { kind, prefix } of prefixes) await dropTables(kind, prefix).catch(() => undefined);
  }
}, 180_000);

describe.skipIf(slowSkip !== undefined)('DB-manager when the database goes away', () => {
  describe.each(kinds)('%s', async (kind) => {
    const unreachable = slowSkip ? undefined : await skipReason(kind, `${SERVER_LABEL[kind]} fault tests`);
    const url = SERVER_URL[kind];

    it.skipIf(unreachable !== undefined)(
      'starts while the database is down: one log line per attempt, then serves once it is up',
      async () => {
        const prefix = uniquePrefix('fault');
        prefixes.push({ kind, prefix });
        const log = capture();
        let manager: DbManagerHandle | undefined;
        try {
          await stopServer(kind);
          const starting = startDbManager({
            host: '127.0.0.1',
            port: 0,
            db: url,
            logger: log,
            store: { tablePrefix: prefix, connectTimeoutMs: 60_000, connectBackoff: { initialDelayMs: 200, maxDelayMs: 1_000 } },
          });
          await until('two start-up attempts were logged', async () => log.lines.length >= 2);
          restoreServers();
          manager = await starting;
          const attempts = log.lines.filter((l) => l.includes('database not reachable'));
          expect(attempts.length).toBeGreaterThanOrEqual(2);
          attempts.forEach((line, i) => {
            expect(line).toMatch(new RegExp(`^${redactUrl(url).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: database not reachable \\(attempt ${i + 1}\\), next attempt in (200|400|800|1000) ms: \\S`));
          });
          const client = new DbManagerClient(`127.0.0.1:${manager.port}`);
          try {
            await client.report('fault-start', batch(0, 0), 'b0');
            expect(await client.get('fault-start')).toEqual(batch(0, 0));
          } finally {
            await client.close();
          }
        } finally {
          restoreServers();
          await manager?.close();
        }
      },
      120_000,
    );

    it.skipIf(unreachable !== undefined)(
      'stores every report sent while the database restarts exactly once; health follows the database',
      async () => {
        const prefix = uniquePrefix('fault');
        prefixes.push({ kind, prefix });
        const log = capture();
        const manager = await startDbManager({
          host: '127.0.0.1',
          port: 0,
          db: url,
          logger: log,
          healthCheckIntervalMs: 200,
          store: { tablePrefix: prefix, retry: { attempts: 15, initialDelayMs: 200, maxDelayMs: 2_000 } },
        });
        const client = new DbManagerClient(`127.0.0.1:${manager.port}`, { timeoutMs: 60_000, attempts: 5 });
        const reporters = 3;
        const batches = 40;
        let sent = 0;
        try {
          const reporting = Promise.all(
            Array.from({ length: reporters }, async (_, r) => {
              for (let b = 0; b < batches; b++) {
                await client.report('fault-run', batch(r, b), `r${r}-b${b}`);
                sent++;
                await sleep(25);
              }
            }),
          );
          reporting.catch(() => undefined); // awaited below; a failure before then must not go unhandled
          await until('some batches were stored', async () => sent >= 10);
          await stopServer(kind);
          await until('health says NOT_SERVING', async () => (await healthStatus(manager.port)) === 'NOT_SERVING');
          await sleep(1_500); // reports pile up in the store's retries meanwhile
          const sentWhileDown = sent;
          restoreServers();
          await until('health says SERVING again', async () => (await healthStatus(manager.port)) === 'SERVING');
          await reporting;
          expect(sentWhileDown).toBeLessThan(reporters * batches);
          const got = await client.get('fault-run');
          const values = got.map((e) => e.value);
          expect(new Set(values).size).toBe(values.length); // nothing twice
          expect(got).toHaveLength(reporters * batches * 100); // nothing dropped
          for (let r = 0; r < reporters; r++) {
            expect(await client.get('fault-run', { metricName: `m${r}` })).toEqual(Array.from({ length: batches }, (_, b) => batch(r, b)).flat());
          }
          expect(log.lines.some((l) => /attempt \d+\/15 failed, retrying in \d+ ms/.test(l))).toBe(true);
        } finally {
          await client.close();
          await manager.close();
        }
      },
      180_000,
    );
  });
});
