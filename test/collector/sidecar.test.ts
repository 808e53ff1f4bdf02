/**
 * The metrics collector (`katib collect`) against a real DB-manager on SQLite, with a fake training process run the
 * way a trial pod runs it: under the wrapper script the Kubernetes runtime puts around the primary container's
 * command (pid file, exit marker, output copy, stop file). Also wrap mode, where the collector is the parent.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EarlyStoppingRule } from '../../src/api/types.js';
import { watchProcess } from '../../src/collector/main-process.js';
import { runCollector, STATE_FILE, UNAVAILABLE_TIMESTAMP, type CollectorOptions } from '../../src/collector/sidecar.js';
import { parseOutcome } from '../../src/collector/termination.js';
import { runWrapped } from '../../src/collector/wrap.js';
import { DbManagerClient } from '../../src/dbmanager/client.js';
import { startDbManager, type DbManagerHandle } from '../../src/dbmanager/service.js';
import { UnavailableError } from '../../src/errors.js';
import { ControlFiles, MAIN_MARKER, WRAPPER_SCRIPT } from '../../src/runtime/kubernetes-inject.js';
import { MemoryObservationStore } from '../../src/store/memory-observations.js';
import type { MetricLogEntry, ObservationQuery, ObservationStore } from '../../src/store/store.js';

const quiet = { info: () => undefined, warn: () => undefined };

/**
 * A training program: prints its arguments as JSON, then `epoch=i loss=... accuracy=...` lines. Options through
 * env: EPOCHS, SLEEP_MS, STEP (accuracy gain per epoch), EXIT (exit code), IGNORE_TERM, JSON_FILE (write JSON lines
 * there instead), OUT_FILE (write TEXT lines there instead of stdout).
 */
const TRAINING = `
const fs = require('node:fs');
const env = process.env;
console.log('argv=' + JSON.stringify(process.argv.slice(1)));
if (env.IGNORE_TERM) process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
const epochs = Number(env.EPOCHS || 5), sleep = Number(env.SLEEP_MS || 20), step = Number(env.STEP || 0.1);
let i = 0;
const tick = () => {
  i++;
  const acc = (step * i).toFixed(4), loss = (1 / i).toFixed(4);
  if (env.JSON_FILE) fs.appendFileSync(env.JSON_FILE, JSON.stringify({ accuracy: acc, loss, epoch: String(i) }) + '\\n');
  else if (env.OUT_FILE) fs.appendFileSync(env.OUT_FILE, 'epoch ' + i + ' | accuracy: ' + acc + ' | loss: ' + loss + '\\n');
  else console.log('epoch=' + i + ' loss=' + loss + ' accuracy=' + acc);
  if (i < epochs) setTimeout(tick, sleep); else process.exit(Number(env.EXIT || 0));
};
tick();
`;

let tmp: string;
let manager: DbManagerHandle;
let client: DbManagerClient;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'katib-collect-'));
  manager = await startDbManager({ host: '127.0.0.1', port: 0, db: `sqlite:${path.join(tmp, 'obs.db')}`, logger: quiet });
  client = new DbManagerClient(`127.0.0.1:${manager.port}`, { timeoutMs: 5_000, initialDelayMs: 20 });
});

afterAll(async () => {
  await client?.close();
  await manager?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

let counter = 0;
/** A fresh metrics folder and trial name. */
function fresh(): { dir: string; trial: string } {
  counter++;
  const dir = path.join(tmp, `pod-${counter}`);
  fs.mkdirSync(dir);
  return { dir, trial: `trial-${counter}` };
}

/** Runs `argv` under the wrapper script, as the primary container does; `out` is '' for the File collector. */
function startWrapped(dir: string, out: string, argv: readonly string[], env: Record<string, string> = {}, grace = 1): { child: ChildProcess; exited: Promise<number | null> } {
  const child = spawn('sh', ['-c', WRAPPER_SCRIPT, MAIN_MARKER, out, dir, String(grace), ...argv], { env: { ...process.env, ...env }, stdio: 'ignore', detached: true });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited };
}

function sidecarOptions(dir: string, trial: string, over: Partial<CollectorOptions> = {}): CollectorOptions {
  return {
    trial,
    metricNames: ['accuracy', 'loss'],
    objectiveType: 'maximize',
    file: path.join(dir, 'metrics.log'),
    format: 'TEXT',
    store: client,
    main: watchProcess({ waitPidOf: path.join(dir, ControlFiles.pid), exitMarker: path.join(dir, ControlFiles.exit), settleMs: 500 }),
    runId: `pod-of-${trial}`,
    stopFile: path.join(dir, ControlFiles.stop),
    stateFile: path.join(dir, STATE_FILE),
    terminationLog: path.join(dir, 'termination-log'),
    pollMs: 30,
    ...over,
  };
}

const sortEntries = (entries: readonly MetricLogEntry[]): string[] => entries.map((e) => `${e.name}=${e.value}`).sort();

function expected(epochs: number, step = 0.1): string[] {
  const out: string[] = [];
  for (let i = 1; i <= epochs; i++) out.push(`accuracy=${(step * i).toFixed(4)}`, `loss=${(1 / i).toFixed(4)}`);
  return out.sort();
}

describe('katib collect as a sidecar of the wrapped training', () => {
  it('stores every metric once, keeps the arguments byte for byte and copies the output', async () => {
    const { dir, trial } = fresh();
    const args = ['two words', 'quote"d', "it's", '$HOME', '$(POD_NAME)', '*', 'a\nb', '', '--lr=0.1'];
    const run = startWrapped(dir, path.join(dir, 'metrics.log'), [process.execPath, '-e', TRAINING, ...args], { EPOCHS: '6' });
    const result = await runCollector(sidecarOptions(dir, trial));
    expect(await run.exited).toBe(0);
    expect(result).toMatchObject({ phase: 'completed', metrics: 12, objectiveFound: true, exitCode: 0 });
    expect(sortEntries(await client.get(trial))).toEqual(expected(6));
    const output = fs.readFileSync(path.join(dir, 'metrics.log'), 'utf8');
    const argvLine = output.split('\n').find((l) => l.startsWith('argv='));
    expect(JSON.parse(argvLine?.slice('argv='.length) ?? 'null')).toEqual([...args]);
    expect(fs.readFileSync(path.join(dir, ControlFiles.exit), 'utf8').trim()).toBe('0');
    expect(parseOutcome(fs.readFileSync(path.join(dir, 'termination-log'), 'utf8'))).toEqual({ phase: 'completed', metrics: 12 });
  });

  it('passes a failing exit code through the exit marker and still stores what was printed', async () => {
    const { dir, trial } = fresh();
    const run = startWrapped(dir, path.join(dir, 'metrics.log'), [process.execPath, '-e', TRAINING], { EPOCHS: '3', EXIT: '3' });
    const result = await runCollector(sidecarOptions(dir, trial));
    expect(await run.exited).toBe(3);
    expect(result).toMatchObject({ phase: 'completed', metrics: 6, exitCode: 3 });
    expect(sortEntries(await client.get(trial))).toEqual(expected(3));
  });

  it('retries failed and lost reports with the same batch ids: nothing dropped, nothing stored twice', async () => {
    const { dir, trial } = fresh();
    let calls = 0;
    const batchIds: string[] = [];
    const flaky: ObservationStore = {
      async report(name, entries, batchId) {
        calls++;
        batchIds.push(batchId ?? '');
        if (calls % 3 === 1) throw new UnavailableError('injected: the DB-manager is unreachable');
        await client.report(name, entries, batchId);
        if (calls % 3 === 2) throw new UnavailableError('injected: the answer was lost');
      },
      get: (name: string, q?: ObservationQuery) => client.get(name, q),
      delete: (name: string) => client.delete(name),
      close: async () => undefined,
    };
    const run = startWrapped(dir, path.join(dir, 'metrics.log'), [process.execPath, '-e', TRAINING], { EPOCHS: '8', SLEEP_MS: '15' });
    const result = await runCollector(sidecarOptions(dir, trial, { store: flaky }));
    await run.exited;
    expect(result.metrics).toBe(16);
    expect(sortEntries(await client.get(trial))).toEqual(expected(8));
    expect(calls).toBeGreaterThan(new Set(batchIds).size);
    expect(batchIds.every((id) => id.startsWith(`pod-of-${trial}:metrics.log:0:`))).toBe(true);
  });

  it('a restarted collector resumes where it stopped and stores nothing twice', async () => {
    const { dir, trial } = fresh();
    const run = startWrapped(dir, path.join(dir, 'metrics.log'), [process.execPath, '-e', TRAINING], { EPOCHS: '4' });
    await runCollector(sidecarOptions(dir, trial));
    await run.exited;
    // A restarted sidecar container finds the same emptyDir: the state file says everything is stored.
    const again = await runCollector(sidecarOptions(dir, trial));
    expect(again).toMatchObject({ phase: 'completed', metrics: 8, objectiveFound: true });
    expect(sortEntries(await client.get(trial))).toEqual(expected(4));
  });

  it('a collector restarted after a lost answer re-sends that range with its batch id', async () => {
    const { dir, trial } = fresh();
    const ids: string[] = [];
    const losing: ObservationStore = {
      async report(name, entries, batchId) {
        ids.push(batchId ?? '');
        await client.report(name, entries, batchId);
        throw new UnavailableError('injected: the answer was lost');
      },
      get: (name: string, q?: ObservationQuery) => client.get(name, q),
      delete: (name: string) => client.delete(name),
      close: async () => undefined,
    };
    const run = startWrapped(dir, path.join(dir, 'metrics.log'), [process.execPath, '-e', TRAINING], { EPOCHS: '5' });
    await expect(runCollector(sidecarOptions(dir, trial, { store: losing, finalReportTimeoutMs: 100 }))).rejects.toThrow(UnavailableError);
    await run.exited;
    // Every attempt re-sent the same first range: the answer was never confirmed.
    expect(new Set(ids).size).toBe(1);
    const result = await runCollector(sidecarOptions(dir, trial));
    expect(result).toMatchObject({ phase: 'completed', metrics: 10 });
    expect(sortEntries(await client.get(trial))).toEqual(expected(5));
  });

  it('stops the training when a rule holds, marks the outcome and calls SetTrialStatus', async () => {
    const { dir, trial } = fresh();
    const rules: EarlyStoppingRule[] = [{ name: 'accuracy', value: '0.55', comparison: 'less', startStep: 3 }];
    const told: string[] = [];
    const run = startWrapped(dir, path.join(dir, 'metrics.log'), [process.execPath, '-e', TRAINING], { EPOCHS: '200', SLEEP_MS: '50' });
    const result = await runCollector(sidecarOptions(dir, trial, { rules, earlyStopping: { setTrialStatus: async (t) => void told.push(t) } }));
    expect(await run.exited).toBe(0);
    expect(result).toMatchObject({ phase: 'early-stopped', message: 'stopped early at step 3: best accuracy so far (0.3) is less than 0.55', exitCode: 0 });
    expect(told).toEqual([trial]);
    const accuracy = (await client.get(trial, { metricName: 'accuracy' })).length;
    expect(accuracy).toBeGreaterThanOrEqual(3);
    expect(accuracy).toBeLessThan(50);
    expect(fs.readFileSync(path.join(dir, ControlFiles.stop), 'utf8')).toBe('stopped early at step 3: best accuracy so far (0.3) is less than 0.55\n');
    expect(parseOutcome(fs.readFileSync(path.join(dir, 'termination-log'), 'utf8'))).toEqual({ phase: 'early-stopped', message: result.message, metrics: result.metrics });
  });

  it('kills a training that ignores SIGTERM after the grace period', async () => {
    const { dir, trial } = fresh();
    const rules: EarlyStoppingRule[] = [{ name: 'loss', value: '0.3', comparison: 'less' }];
    const started = Date.now();
    const run = startWrapped(dir, path.join(dir, 'metrics.log'), [process.execPath, '-e', TRAINING], { EPOCHS: '2000', SLEEP_MS: '20', IGNORE_TERM: '1' }, 1);
    const result = await runCollector(sidecarOptions(dir, trial, { rules, gracePeriodMs: 1000 }));
    expect(await run.exited).toBe(0);
    expect(result.phase).toBe('early-stopped');
    expect(result.message).toBe('stopped early at step 4: loss=0.2500 is less than 0.3');
    expect(fs.readFileSync(path.join(dir, 'metrics.log'), 'utf8')).toContain('ignoring SIGTERM');
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('ends after the settle time when the training dies with its container (no exit marker)', async () => {
    const { dir, trial } = fresh();
    const run = startWrapped(dir, path.join(dir, 'metrics.log'), [process.execPath, '-e', TRAINING], { EPOCHS: '100000', SLEEP_MS: '20' });
    const collecting = runCollector(sidecarOptions(dir, trial));
    await waitFor(() => fs.existsSync(path.join(dir, ControlFiles.pid)) && fs.existsSync(path.join(dir, 'metrics.log')) && fs.readFileSync(path.join(dir, 'metrics.log'), 'utf8').includes('epoch=3 '));
    process.kill(-(run.child.pid ?? 0), 'SIGKILL');
    const result = await collecting;
    expect(fs.existsSync(path.join(dir, ControlFiles.exit))).toBe(false);
    expect(result.phase).toBe('completed');
    expect(result.exitCode).toBeUndefined();
    expect((await client.get(trial, { metricName: 'loss' })).length).toBeGreaterThanOrEqual(3);
  });

  it('reports unavailable for an objective it never saw (a store that takes it)', async () => {
    const { dir, trial } = fresh();
    const store = new MemoryObservationStore();
    const run = startWrapped(dir, path.join(dir, 'metrics.log'), [process.execPath, '-e', 'console.log("no metrics here, loss=")']);
    const result = await runCollector(sidecarOptions(dir, trial, { store }));
    await run.exited;
    expect(result).toMatchObject({ phase: 'completed', metrics: 0, objectiveFound: false });
    expect(await store.get(trial)).toEqual([{ timestamp: UNAVAILABLE_TIMESTAMP, name: 'accuracy', value: 'unavailable' }]);
  });

  it("reports 'unavailable' for an objective it never saw, as Katib's collectors do", async () => {
    const { dir, trial } = fresh();
    const run = startWrapped(dir, path.join(dir, 'metrics.log'), [process.execPath, '-e', 'console.log("nothing")']);
    const result = await runCollector(sidecarOptions(dir, trial));
    await run.exited;
    expect(result.objectiveFound).toBe(false);
    expect((await client.get(trial)).map((e) => [e.name, e.value])).toEqual([['accuracy', 'unavailable']]);
  });

  it('reads a JSON metrics file the training writes itself (File collector)', async () => {
    const { dir, trial } = fresh();
    const file = path.join(dir, 'metrics.json');
    const run = startWrapped(dir, '', [process.execPath, '-e', TRAINING], { EPOCHS: '5', JSON_FILE: file });
    const result = await runCollector(sidecarOptions(dir, trial, { file, format: 'JSON' }));
    await run.exited;
    expect(result.metrics).toBe(10);
    expect(sortEntries(await client.get(trial))).toEqual(expected(5));
  });

  it('applies custom metricsFormat filters to TEXT', async () => {
    const { dir, trial } = fresh();
    const file = path.join(dir, 'train.log');
    const run = startWrapped(dir, '', [process.execPath, '-e', TRAINING], { EPOCHS: '4', OUT_FILE: file });
    const result = await runCollector(sidecarOptions(dir, trial, { file, metricsFormat: [String.raw`(\w+):\s*([\d.]+)`] }));
    await run.exited;
    expect(result.metrics).toBe(8);
    expect(sortEntries(await client.get(trial))).toEqual(expected(4));
  });
});

describe('katib collect in wrap mode', () => {
  const io = () => {
    let out = '';
    let err = '';
    return {
      stdout: { write: (d: string | Uint8Array) => ((out += d.toString()), true) } as unknown as NodeJS.WritableStream,
      stderr: { write: (d: string | Uint8Array) => ((err += d.toString()), true) } as unknown as NodeJS.WritableStream,
      text: () => ({ out, err }),
    };
  };

  it('runs the command with its exact arguments, copies its output and exits with its code', async () => {
    const { dir, trial } = fresh();
    const streams = io();
    const args = ['a b', '"q"', '$X', ''];
    const { result, exitCode } = await runWrapped({
      ...sidecarOptions(dir, trial),
      command: process.execPath,
      args: ['-e', TRAINING, ...args],
      copyOutput: true,
      stdout: streams.stdout,
      stderr: streams.stderr,
      env: { ...process.env, EPOCHS: '4', EXIT: '3' },
    });
    expect(exitCode).toBe(3);
    expect(result).toMatchObject({ phase: 'completed', metrics: 8, exitCode: 3 });
    expect(sortEntries(await client.get(trial))).toEqual(expected(4));
    expect(streams.text().out).toContain(`argv=${JSON.stringify(args)}`);
    expect(fs.readFileSync(path.join(dir, 'metrics.log'), 'utf8')).toBe(streams.text().out);
  });

  it('stops its child on a rule breach and exits 0', async () => {
    const { dir, trial } = fresh();
    const streams = io();
    const { result, exitCode } = await runWrapped({
      ...sidecarOptions(dir, trial, { rules: [{ name: 'accuracy', value: '0.25', comparison: 'less', startStep: 2 }] }),
      command: process.execPath,
      args: ['-e', TRAINING],
      copyOutput: true,
      stdout: streams.stdout,
      stderr: streams.stderr,
      env: { ...process.env, EPOCHS: '500', SLEEP_MS: '30' },
    });
    expect(exitCode).toBe(0);
    expect(result).toMatchObject({ phase: 'early-stopped', message: 'stopped early at step 2: best accuracy so far (0.2) is less than 0.25' });
    expect(result?.exitCode).toBe(128 + os.constants.signals.SIGTERM);
  });

  it('ends with 127 for a command that does not exist', async () => {
    const { dir, trial } = fresh();
    const streams = io();
    const { exitCode } = await runWrapped({ ...sidecarOptions(dir, trial), command: 'no-such-command-katib', args: [], copyOutput: true, stdout: streams.stdout, stderr: streams.stderr });
    expect(exitCode).toBe(127);
    expect(streams.text().err).toContain('katib collect: cannot run "no-such-command-katib"');
  });
});

async function waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
