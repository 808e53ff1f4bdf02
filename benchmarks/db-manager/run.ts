/**
 * DB-manager benchmark: ReportObservationLog throughput and GetObservationLog latency over real gRPC, per back end.
 *
 * For each back end (SQLite file, PostgreSQL, MySQL/MariaDB) it starts the DB-manager with startDbManager on a free
 * port and, through DbManagerClient:
 *   1. reports `--points` points (default 100,000) in requests of `--batch` points (default 100, as a metrics
 *      sidecar sends them), from `--reporters` concurrent trials (default 4), each reporting sequentially;
 *   2. reports one `--trial-points` trial (default 10,000) and reads it back `--reads` times (default 50), giving
 *      the median and p95 GetObservationLog latency.
 * Prints a table and writes benchmarks/results/db-manager.json. A server that cannot be reached is listed as skipped.
 *
 * Run from the repository root (with PostgreSQL and MariaDB up: .ci/databases.sh):
 *   npm run build && node dist/benchmarks/db-manager/run.js [--points N] [--batch N] [--reporters N] [--backends sqlite,postgres,mysql]
 * Database URLs: KATIB_BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test) and KATIB_BENCH_MYSQL_URL
 * (default mysql://root@127.0.0.1:3306/test). Tables get a fresh prefix and are dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { DbManagerClient } from '../../src/dbmanager/client.js';
import { startDbManager } from '../../src/dbmanager/service.js';
import type { BackendKind } from '../../src/store/observations/index.js';
import { redactUrl } from '../../src/store/observations/index.js';
import type { MetricLogEntry } from '../../src/store/store.js';

interface Settings {
  readonly points: number;
  readonly batch: number;
  readonly reporters: number;
  readonly trialPoints: number;
  readonly reads: number;
  readonly backends: readonly BackendKind[];
}

interface Result {
  readonly backend: BackendKind;
  readonly url: string;
  readonly server?: string;
  readonly skipped?: string;
  readonly report?: { readonly points: number; readonly requests: number; readonly seconds: number; readonly pointsPerSecond: number };
  readonly get?: { readonly points: number; readonly reads: number; readonly medianMs: number; readonly p95Ms: number; readonly minMs: number; readonly maxMs: number };
}

const USAGE = 'usage: node dist/benchmarks/db-manager/run.js [--points N] [--batch N] [--reporters N] [--trial-points N] [--reads N] [--backends sqlite,postgres,mysql]';

function parseArgs(argv: readonly string[]): Settings {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i] ?? '';
    const value = argv[i + 1];
    if (!key.startsWith('--') || value === undefined) throw new Error(`${USAGE}\nunexpected argument ${JSON.stringify(key)}`);
    values.set(key.slice(2), value);
  }
  const int = (name: string, fallback: number): number => {
    const raw = values.get(name);
    values.delete(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer (got ${JSON.stringify(raw)})`);
    return n;
  };
  const settings = {
    points: int('points', 100_000),
    batch: int('batch', 100),
    reporters: int('reporters', 4),
    trialPoints: int('trial-points', 10_000),
    reads: int('reads', 50),
  };
  const backendsRaw = values.get('backends') ?? 'sqlite,postgres,mysql';
  values.delete('backends');
  const backends = backendsRaw.split(',').map((b) => b.trim());
  for (const b of backends) if (b !== 'sqlite' && b !== 'postgres' && b !== 'mysql') throw new Error(`--backends: unknown back end ${JSON.stringify(b)}; use sqlite, postgres, mysql`);
  if (values.size > 0) throw new Error(`${USAGE}\nunknown option(s): ${[...values.keys()].map((k) => `--${k}`).join(', ')}`);
  return { ...settings, backends: backends as BackendKind[] };
}

/** The repository root: the nearest folder above this module holding package.json (works from src and dist). */
function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
}

/** `count` points of metric `name`, one second apart from `startSecond`, values as a collector would print them. */
function points(name: string, startSecond: number, count: number): MetricLogEntry[] {
  const base = Date.UTC(2024, 4, 1, 0, 0, 0);
  return Array.from({ length: count }, (_, i) => ({
    timestamp: new Date(base + (startSecond + i) * 1000).toISOString().replace('.000Z', 'Z'),
    name,
    value: (1 / (startSecond + i + 1)).toFixed(6),
  }));
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

const round = (x: number, digits = 2): number => Number(x.toFixed(digits));

async function serverVersion(kind: BackendKind, url: string): Promise<string> {
  if (kind === 'sqlite') return 'better-sqlite3';
  if (kind === 'postgres') {
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
    c.on('error', () => undefined);
    await c.connect();
    try {
      return String((await c.query<{ v: string }>('SELECT version() AS v')).rows[0]?.v ?? '').split(' on ')[0] ?? '';
    } finally {
      await c.end();
    }
  }
  const c = await mysql.createConnection({ uri: url, connectTimeout: 3000 });
  try {
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT VERSION() AS v');
    return String(rows[0]?.['v'] ?? '');
  } finally {
    await c.end();
  }
}

async function dropTables(kind: BackendKind, url: string, prefix: string): Promise<void> {
  const sql = `DROP TABLE IF EXISTS ${prefix}observation_logs, ${prefix}observation_batches, ${prefix}schema_migrations`;
  if (kind === 'postgres') {
    const c = new pg.Client({ connectionString: url });
    c.on('error', () => undefined);
    await c.connect();
    await c.query(sql).finally(() => c.end());
  } else if (kind === 'mysql') {
    const c = await mysql.createConnection({ uri: url });
    await c.query(sql).finally(() => c.end());
  }
}

async function benchmark(kind: BackendKind, url: string, s: Settings): Promise<Result> {
  const shown = kind === 'sqlite' ? url : redactUrl(url);
  let server: string;
  try {
    server = await serverVersion(kind, url);
  } catch (e) {
    return { backend: kind, url: shown, skipped: `unreachable: ${e instanceof Error ? e.message : String(e)}` };
  }
  const prefix = `bench_${randomBytes(3).toString('hex')}_`;
  const quiet = { info: () => undefined, warn: (m: string) => process.stderr.write(`${m}\n`) };
  const manager = await startDbManager({ host: '127.0.0.1', port: 0, db: url, logger: quiet, store: { tablePrefix: prefix, connectTimeoutMs: 5_000 } });
  const client = new DbManagerClient(`127.0.0.1:${manager.port}`, { timeoutMs: 60_000 });
  try {
    await client.waitReady(10_000);
    // Warm-up: connections, prepared statements, JIT.
    for (let i = 0; i < 20; i++) await client.report('warmup', points('loss', i * s.batch, s.batch));

    const perReporter = Math.ceil(s.points / s.reporters);
    let requests = 0;
    const started = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: s.reporters }, async (_, r) => {
        for (let done = 0; done < perReporter; done += s.batch) {
          await client.report(`bench-trial-${r}`, points('loss', done, Math.min(s.batch, perReporter - done)));
          requests++;
        }
      }),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const reported = perReporter * s.reporters;

    const readTrial = 'bench-read';
    for (let done = 0; done < s.trialPoints; done += 1000) await client.report(readTrial, points('accuracy', done, Math.min(1000, s.trialPoints - done)));
    const check = await client.get(readTrial);
    if (check.length !== s.trialPoints) throw new Error(`read ${check.length} points of ${readTrial}, expected ${s.trialPoints}`);
    const latencies: number[] = [];
    for (let i = 0; i < s.reads; i++) {
      const t0 = process.hrtime.bigint();
      await client.get(readTrial);
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    latencies.sort((a, b) => a - b);
    return {
      backend: kind,
      url: shown,
      server,
      report: { points: reported, requests, seconds: round(seconds, 3), pointsPerSecond: Math.round(reported / seconds) },
      get: {
        points: s.trialPoints,
        reads: s.reads,
        medianMs: round(percentile(latencies, 50)),
        p95Ms: round(percentile(latencies, 95)),
        minMs: round(latencies[0] ?? Number.NaN),
        maxMs: round(latencies[latencies.length - 1] ?? Number.NaN),
      },
    };
  } finally {
    await client.close();
    await manager.close();
    await dropTables(kind, url, prefix).catch((e: unknown) => process.stderr.write(`could not drop ${prefix}* tables: ${String(e)}\n`));
  }
}

function table(results: readonly Result[], s: Settings): string {
  const header = ['back end', 'server', `report points/s (${s.reporters}×, ${s.batch}/req)`, 'report s', `get ${s.trialPoints} p50 ms`, 'get p95 ms'];
  const rows = results.map((r) =>
    r.skipped
      ? [r.backend, `skipped: ${r.skipped}`, '', '', '', '']
      : [r.backend, r.server ?? '', String(r.report?.pointsPerSecond ?? ''), String(r.report?.seconds ?? ''), String(r.get?.medianMs ?? ''), String(r.get?.p95Ms ?? '')],
  );
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const s = parseArgs(process.argv.slice(2));
  // Other work on the machine skews every number; the load average at the start is kept with the results.
  const loadAtStart = os.loadavg().map((l) => round(l));
  const sqliteDir = fs.mkdtempSync(path.join(os.tmpdir(), 'katib-bench-'));
  const urls: Record<BackendKind, string> = {
    sqlite: `sqlite:${path.join(sqliteDir, 'bench.db')}`,
    postgres: process.env['KATIB_BENCH_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test',
    mysql: process.env['KATIB_BENCH_MYSQL_URL'] ?? 'mysql://root@127.0.0.1:3306/test',
  };
  const results: Result[] = [];
  try {
    for (const kind of s.backends) {
      process.stderr.write(`benchmarking ${kind}...\n`);
      results.push(await benchmark(kind, urls[kind], s));
    }
  } finally {
    fs.rmSync(sqliteDir, { recursive: true, force: true });
  }
  console.log(table(results, s));
  const out = path.join(repoRoot(), 'benchmarks', 'results', 'db-manager.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const cpus = os.cpus();
  const report = {
    benchmark: 'db-manager',
    date: new Date().toISOString(),
    settings: s,
    machine: { node: process.version, platform: `${os.platform()} ${os.release()}`, cpu: cpus[0]?.model ?? 'unknown', cores: cpus.length, memoryGiB: round(os.totalmem() / 2 ** 30, 1), loadAverage1m5m15m: loadAtStart },
    results,
  };
  fs.writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nwrote ${path.relative(process.cwd(), out)}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
