/**
 * The DB-manager over real gRPC on a real (SQLite) store: the three RPCs, request validation with exact field
 * paths, idempotent retried reports, health, error mapping, and the start-up wait for a database that is down.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DbManagerClient } from '../../src/dbmanager/client.js';
import type { DbManagerHandle } from '../../src/dbmanager/service.js';
import { dbManagerHandlers, startDbManager } from '../../src/dbmanager/service.js';
import { BATCH_ID_METADATA_KEY } from '../../src/dbmanager/wire.js';
import { UnavailableError, ValidationError } from '../../src/errors.js';
import { bindServer } from '../../src/grpc/server.js';
import { loadKatibProto } from '../../src/grpc/proto.js';
import type { MetricLogEntry, ObservationStore } from '../../src/store/store.js';

const quiet = { info: () => undefined, warn: () => undefined };

/** A logger that keeps its lines. */
function capture(): { lines: string[]; info(m: string): void; warn(m: string): void } {
  const lines: string[] = [];
  return { lines, info: (m) => void lines.push(m), warn: (m) => void lines.push(m) };
}

type Raw = (req: unknown, meta: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;

/** Calls `method` with a raw request; resolves to the reply or to the error's code and details. */
function rawCall(client: grpc.Client, method: string, req: unknown, meta = new grpc.Metadata()): Promise<{ code: grpc.status; details: string; reply: unknown }> {
  const fn = (client as unknown as Record<string, Raw>)[method] as Raw;
  return new Promise((resolve) => {
    fn.call(client, req, meta, { deadline: Date.now() + 10_000 }, (err, reply) =>
      resolve(err ? { code: err.code, details: err.details, reply: undefined } : { code: grpc.status.OK, details: '', reply }),
    );
  });
}

const at = (s: number): string => `2024-05-01T08:00:0${s}Z`;
const entry = (s: number, name = 'loss', value = `0.${s}`): MetricLogEntry => ({ timestamp: at(s), name, value });

let dir: string;
let manager: DbManagerHandle;
let client: DbManagerClient;
let raw: grpc.Client;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'katib-dbm-'));
  manager = await startDbManager({ host: '127.0.0.1', port: 0, db: `sqlite:${path.join(dir, 'obs.db')}`, logger: quiet });
  client = new DbManagerClient(`127.0.0.1:${manager.port}`, { timeoutMs: 5_000 });
  raw = new (loadKatibProto().DBManager)(`127.0.0.1:${manager.port}`, grpc.credentials.createInsecure());
});

afterAll(async () => {
  raw?.close();
  await client?.close();
  await manager?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('DBManager RPCs', () => {
  it('reports, reads with filters, and deletes a trial log', async () => {
    const trial = 'rpc-trial';
    await client.report(trial, [entry(0), entry(1, 'accuracy'), entry(2), entry(3, 'accuracy', '0.75')]);
    expect(await client.get(trial)).toEqual([entry(0), entry(1, 'accuracy'), entry(2), entry(3, 'accuracy', '0.75')]);
    expect(await client.get(trial, { metricName: 'accuracy' })).toEqual([entry(1, 'accuracy'), entry(3, 'accuracy', '0.75')]);
    expect(await client.get(trial, { startTime: at(1), endTime: at(2) })).toEqual([entry(1, 'accuracy'), entry(2)]);
    await client.delete(trial);
    expect(await client.get(trial)).toEqual([]);
  });

  it('stores a report retried with the same batch id once', async () => {
    const trial = 'retried';
    await client.report(trial, [entry(0), entry(1)], 'batch-7');
    await client.report(trial, [entry(0), entry(1)], 'batch-7');
    expect(await client.get(trial)).toHaveLength(2);
  });

  it("keeps Katib's behaviour for clients that send no batch id: every report is stored", async () => {
    const req = { trial_name: 'katib-collector', observation_log: { metric_logs: [{ time_stamp: at(0), metric: { name: 'loss', value: '0.5' } }] } };
    expect((await rawCall(raw, 'ReportObservationLog', req)).code).toBe(grpc.status.OK);
    expect((await rawCall(raw, 'ReportObservationLog', req)).code).toBe(grpc.status.OK);
    expect(await client.get('katib-collector')).toHaveLength(2);
  });

  it('reads a batch id from the katib-batch-id metadata of a raw request', async () => {
    const meta = new grpc.Metadata();
    meta.set(BATCH_ID_METADATA_KEY, 'from-metadata');
    const req = { trial_name: 'meta-trial', observation_log: { metric_logs: [{ time_stamp: at(0), metric: { name: 'loss', value: '1' } }] } };
    await rawCall(raw, 'ReportObservationLog', req, meta);
    await rawCall(raw, 'ReportObservationLog', req, meta);
    expect(await client.get('meta-trial')).toHaveLength(1);
  });
});

describe('request validation', () => {
  const log = (time_stamp: string, name: string, value: string): unknown => ({ time_stamp, metric: { name, value } });
  it.each([
    { name: 'empty trial_name (report)', method: 'ReportObservationLog', req: { trial_name: '', observation_log: { metric_logs: [log(at(0), 'loss', '1')] } }, details: 'trial_name: trial_name must not be empty' },
    {
      name: 'unparsable time_stamp',
      method: 'ReportObservationLog',
      req: { trial_name: 't', observation_log: { metric_logs: [log(at(0), 'loss', '1'), log('2024-05-01 08:00:00', 'loss', '1')] } },
      details: 'observation_log.metric_logs[1].time_stamp: "2024-05-01 08:00:00" is not an RFC3339 timestamp (e.g. 2024-05-01T08:00:00Z)',
    },
    {
      name: 'NaN value',
      method: 'ReportObservationLog',
      req: { trial_name: 't', observation_log: { metric_logs: [log(at(0), 'loss', 'NaN')] } },
      details: 'observation_log.metric_logs[0].metric.value: "NaN" is not a number; report a decimal number such as 0.95 or 1e-3 (or ±Inf)',
    },
    {
      name: 'unparsable value',
      method: 'ReportObservationLog',
      req: { trial_name: 't', observation_log: { metric_logs: [log(at(0), 'loss', '0.9 (best)')] } },
      details: 'observation_log.metric_logs[0].metric.value: "0.9 (best)" is not a number; report a decimal number such as 0.95 or 1e-3 (or ±Inf)',
    },
    { name: 'empty metric name', method: 'ReportObservationLog', req: { trial_name: 't', observation_log: { metric_logs: [log(at(0), '', '1')] } }, details: 'observation_log.metric_logs[0].metric.name: metric name must not be empty' },
    {
      name: 'missing metric, every problem listed',
      method: 'ReportObservationLog',
      req: { trial_name: '', observation_log: { metric_logs: [{ time_stamp: 'now' }] } },
      details: [
        'trial_name: trial_name must not be empty',
        'observation_log.metric_logs[0].time_stamp: "now" is not an RFC3339 timestamp (e.g. 2024-05-01T08:00:00Z)',
        'observation_log.metric_logs[0].metric.name: metric name must not be empty',
        'observation_log.metric_logs[0].metric.value: "" is not a number; report a decimal number such as 0.95 or 1e-3 (or ±Inf)',
      ].join('\n'),
    },
    { name: 'empty trial_name (get)', method: 'GetObservationLog', req: { trial_name: '' }, details: 'trial_name: trial_name must not be empty' },
    { name: 'unparsable start_time', method: 'GetObservationLog', req: { trial_name: 't', start_time: '2024-13-01T00:00:00Z' }, details: 'start_time: "2024-13-01T00:00:00Z" is not an RFC3339 timestamp (e.g. 2024-05-01T08:00:00Z)' },
    { name: 'unparsable end_time', method: 'GetObservationLog', req: { trial_name: 't', end_time: '1714550400' }, details: 'end_time: "1714550400" is not an RFC3339 timestamp (e.g. 2024-05-01T08:00:00Z)' },
    {
      name: 'start_time after end_time',
      method: 'GetObservationLog',
      req: { trial_name: 't', start_time: at(5), end_time: at(1) },
      details: `start_time: start_time ${at(5)} is after end_time ${at(1)}; swap them`,
    },
    { name: 'empty trial_name (delete)', method: 'DeleteObservationLog', req: { trial_name: '' }, details: 'trial_name: trial_name must not be empty' },
  ])('$name → INVALID_ARGUMENT', async ({ method, req, details }) => {
    const res = await rawCall(raw, method, req);
    expect(res.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(res.details).toBe(details);
  });

  it('stores nothing of a report with one bad entry', async () => {
    const err = await client.report('half-bad', [entry(0), { timestamp: at(1), name: 'loss', value: 'NaN' }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues.map((i) => i.path)).toEqual(['observation_log.metric_logs[1].metric.value']);
    expect(await client.get('half-bad')).toEqual([]);
  });

  it.each(['0', '-1.5', '+2.', '.5', '1e-3', '6.02E+23', 'Inf', '-Infinity', '+inf', 'unavailable'])('accepts the value %s', async (value) => {
    const trial = `value-${value}`;
    await client.report(trial, [{ timestamp: at(0), name: 'm', value }]);
    expect((await client.get(trial))[0]?.value).toBe(value);
  });

  it('lists at most 20 problems and counts the rest', async () => {
    const entries = Array.from({ length: 50 }, () => ({ timestamp: 'bad', name: 'loss', value: '1' }));
    const err = (await client.report('many-bad', entries).catch((e: unknown) => e)) as ValidationError;
    expect(err.issues).toHaveLength(21);
    expect(err.issues[20]).toEqual({ path: '...', message: 'and 30 more problems' });
  });
});

describe('health', () => {
  it('answers SERVING for manager.v1beta1.DBManager and NOT_FOUND for other services', async () => {
    await client.waitReady(5_000);
    const health = new (loadKatibProto().Health)(`127.0.0.1:${manager.port}`, grpc.credentials.createInsecure());
    try {
      expect((await rawCall(health, 'Check', { service: 'manager.v1beta1.DBManager' })).reply).toEqual({ status: 'SERVING' });
      expect((await rawCall(health, 'Check', { service: 'manager.v1beta1.Suggestion' })).code).toBe(grpc.status.NOT_FOUND);
    } finally {
      health.close();
    }
  });
});

describe('failures', () => {
  /** A store whose database is gone for good (what the SQL stores throw once their retries are spent). */
  const downStore: ObservationStore = {
    report: () => Promise.reject(new UnavailableError('postgres://katib@db:5432/katib: report failed after 8 attempts: connect ECONNREFUSED')),
    get: () => Promise.reject(new Error('relation "observation_logs" does not exist')),
    delete: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };

  it('answers UNAVAILABLE when the store stays unreachable and INTERNAL for other failures, logging each once', async () => {
    const server = new grpc.Server();
    const log = capture();
    server.addService(loadKatibProto().DBManager.service, dbManagerHandlers(downStore, log));
    const port = await bindServer(server, '127.0.0.1', 0);
    const c = new DbManagerClient(`127.0.0.1:${port}`, { attempts: 2, initialDelayMs: 10 });
    try {
      const reportErr = await c.report('t', [entry(0)]).catch((e: unknown) => e);
      expect(reportErr).toBeInstanceOf(UnavailableError);
      expect((reportErr as Error).message).toMatch(/UNAVAILABLE: .*report failed after 8 attempts.*\(after 2 attempts\); check that the DB-manager at 127\.0\.0\.1:\d+ is running$/);
      const getErr = await c.get('t').catch((e: unknown) => e);
      expect(getErr).not.toBeInstanceOf(UnavailableError);
      expect((getErr as Error).message).toContain('INTERNAL: relation "observation_logs" does not exist');
      expect(log.lines).toHaveLength(3); // two UNAVAILABLE attempts, one INTERNAL
    } finally {
      await c.close();
      server.forceShutdown();
    }
  });

  it('retries a report until a DB-manager that starts late answers', async () => {
    const port = await freePort();
    const c = new DbManagerClient(`127.0.0.1:${port}`, { attempts: 10, initialDelayMs: 100, maxDelayMs: 1_000 });
    const late = new Promise<DbManagerHandle>((resolve, reject) => {
      setTimeout(() => startDbManager({ host: '127.0.0.1', port, db: `sqlite:${path.join(dir, 'late.db')}`, logger: quiet }).then(resolve, reject), 500);
    });
    try {
      await c.report('late-trial', [entry(0)], 'late-batch');
      expect(await c.get('late-trial')).toEqual([entry(0)]);
    } finally {
      await c.close();
      await (await late).close();
    }
  });

  it('waits for a database that is down, one log line per attempt without the password, then gives up', async () => {
    const log = capture();
    const port = await freePort();
    const started = Date.now();
    const err = await startDbManager({
      port: 0,
      host: '127.0.0.1',
      db: `postgres://katib:s3cret@127.0.0.1:${port}/katib`,
      logger: log,
      store: { connectTimeoutMs: 1_500, connectBackoff: { initialDelayMs: 100, maxDelayMs: 400 } },
    }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as Error).message).toMatch(new RegExp(`^postgres://katib@127\\.0\\.0\\.1:${port}/katib: database not reachable after \\d+ attempts in [\\d.]+ s: connect ECONNREFUSED`));
    expect(log.lines.length).toBeGreaterThanOrEqual(3);
    log.lines.forEach((line, i) => {
      expect(line).toMatch(new RegExp(`^postgres://katib@127\\.0\\.0\\.1:${port}/katib: database not reachable \\(attempt ${i + 1}\\), next attempt in (100|200|400) ms: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}$`));
    });
    expect(log.lines.join('\n')).not.toContain('s3cret');
  });

  it('rejects an unsupported database URL, naming the accepted forms', async () => {
    const err = await startDbManager({ port: 0, db: 'mongodb://root:pw@db/katib', logger: quiet }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues).toEqual([
      { path: 'db', message: 'unsupported database URL "mongodb://root@db/katib"; use sqlite:PATH, postgres://USER:PASSWORD@HOST:5432/DATABASE or mysql://USER:PASSWORD@HOST:3306/DATABASE' },
    ]);
  });

  it('closes idempotently', async () => {
    const m = await startDbManager({ host: '127.0.0.1', port: 0, db: `sqlite:${path.join(dir, 'close.db')}`, logger: quiet });
    await Promise.all([m.close(), m.close()]);
    await m.close();
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}
