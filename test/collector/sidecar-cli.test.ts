/**
 * `katib collect` as the pod runs it: the built binary (bin/katib.js; `npm run build` first) beside a training run
 * under the runtime's wrapper script, reporting to a real DB-manager; stopped by SIGTERM; in wrap mode on the first
 * and on a further node; and its usage errors.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOutcome } from '../../src/collector/termination.js';
import { DbManagerClient } from '../../src/dbmanager/client.js';
import { startDbManager, type DbManagerHandle } from '../../src/dbmanager/service.js';
import { startEarlyStoppingServer } from '../../src/earlystopping/service.js';
import { ControlFiles, MAIN_MARKER, WRAPPER_SCRIPT } from '../../src/runtime/kubernetes-inject.js';
import type { RunningServer } from '../../src/suggestion/adapter.js';
import { REPO, runKatib, startKatib } from '../support/cli.js';

const quiet = { info: () => undefined, warn: () => undefined };

const TRAINING = `
const env = process.env;
console.log('argv=' + JSON.stringify(process.argv.slice(1)));
const epochs = Number(env.EPOCHS || 4), sleep = Number(env.SLEEP_MS || 20);
let i = 0;
const tick = () => {
  i++;
  console.log('epoch=' + i + ' loss=' + (1 / i).toFixed(4) + ' accuracy=' + (0.1 * i).toFixed(4));
  if (i < epochs) setTimeout(tick, sleep); else process.exit(Number(env.EXIT || 0));
};
tick();
`;

let tmp: string;
let manager: DbManagerHandle;
let client: DbManagerClient;
let earlyStopping: RunningServer;
let address: string;

beforeAll(async () => {
  if (!fs.existsSync(path.join(REPO, 'dist', 'src', 'cli', 'collect.js'))) throw new Error('dist/ is missing katib collect: run `npm run build` first');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'katib-collect-cli-'));
  manager = await startDbManager({ host: '127.0.0.1', port: 0, db: `sqlite:${path.join(tmp, 'obs.db')}`, logger: quiet });
  address = `127.0.0.1:${manager.port}`;
  client = new DbManagerClient(address, { timeoutMs: 5_000 });
  earlyStopping = await startEarlyStoppingServer({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await earlyStopping?.close();
  await client?.close();
  await manager?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

let n = 0;
function fresh(): { dir: string; trial: string } {
  n++;
  const dir = path.join(tmp, `pod-${n}`);
  fs.mkdirSync(dir);
  return { dir, trial: `cli-trial-${n}` };
}

function wrapped(dir: string, env: Record<string, string>): ChildProcess {
  return spawn('sh', ['-c', WRAPPER_SCRIPT, MAIN_MARKER, path.join(dir, 'metrics.log'), dir, '1', process.execPath, '-e', TRAINING, '--', 'x y'], {
    env: { ...process.env, ...env },
    stdio: 'ignore',
    detached: true,
  });
}

const sidecarFlags = (dir: string, trial: string): string[] => [
  'collect',
  '--trial',
  trial,
  '--db-manager-address',
  address,
  '--metric-names',
  'accuracy,loss',
  '--objective-type',
  'maximize',
  '--file',
  path.join(dir, 'metrics.log'),
  '--wait-pid-of',
  path.join(dir, ControlFiles.pid),
  '--exit-marker',
  path.join(dir, ControlFiles.exit),
  '--stop-file',
  path.join(dir, ControlFiles.stop),
  '--termination-log',
  path.join(dir, 'termination-log'),
  '--poll-interval',
  '50',
  '--run-id',
  `pod-${trial}`,
];

describe('katib collect (sidecar mode)', { timeout: 60_000 }, () => {
  it('stores every metric of the wrapped training and exits 0 after it', async () => {
    const { dir, trial } = fresh();
    const training = wrapped(dir, { EPOCHS: '5' });
    const result = await runKatib(sidecarFlags(dir, trial), tmp);
    expect(result.code).toBe(0);
    expect(training.exitCode ?? (await new Promise((r) => training.once('exit', r)))).toBe(0);
    expect((await client.get(trial)).length).toBe(10);
    expect(parseOutcome(fs.readFileSync(path.join(dir, 'termination-log'), 'utf8'))).toEqual({ phase: 'completed', metrics: 10 });
    expect(result.stderr).toContain(`katib collect: trial ${trial}: completed, 10 metric values stored, training exit code 0`);
  });

  it('stops the training on a rule, tells the EarlyStopping service and says so in its termination message', async () => {
    const { dir, trial } = fresh();
    const training = wrapped(dir, { EPOCHS: '500', SLEEP_MS: '50' });
    const exited = new Promise((r) => training.once('exit', r));
    const rules = JSON.stringify([{ name: 'loss', value: '0.3', comparison: 'less' }]);
    const result = await runKatib([...sidecarFlags(dir, trial), '--early-stopping-rules', rules, '--early-stopping-address', earlyStopping.address, '--grace-period', '1'], tmp);
    expect(result.code).toBe(0);
    expect(await exited).toBe(0);
    expect(parseOutcome(fs.readFileSync(path.join(dir, 'termination-log'), 'utf8'))).toMatchObject({ phase: 'early-stopped', message: 'stopped early at step 4: loss=0.2500 is less than 0.3' });
    expect(result.stderr).not.toContain('SetTrialStatus');
  });

  it('on SIGTERM stores what was written so far and exits 0', async () => {
    const { dir, trial } = fresh();
    const training = wrapped(dir, { EPOCHS: '100000', SLEEP_MS: '20' });
    try {
      const collector = startKatib(sidecarFlags(dir, trial), tmp);
      await waitFor(async () => (await client.get(trial)).length >= 6);
      collector.child.kill('SIGTERM');
      const result = await collector.done;
      expect(result.code).toBe(0);
      expect(result.stderr).toContain('katib collect: asked to stop: reporting what was collected');
    } finally {
      process.kill(-(training.pid ?? 0), 'SIGKILL');
    }
  });
});

describe('katib collect (wrap mode)', { timeout: 60_000 }, () => {
  it('runs the command with its arguments, collects, and exits with its code', async () => {
    const trial = fresh().trial;
    const result = await runKatib(['collect', '--trial', trial, '--db-manager-address', address, '--metric-names', 'accuracy,loss', '--copy-output', '--', process.execPath, '-e', TRAINING, '--', 'a b', '"c"'], tmp, { EPOCHS: '3', EXIT: '4', POD_NAME: 'pod-a' });
    expect(result.code).toBe(4);
    expect(result.stdout).toContain(`argv=${JSON.stringify(['a b', '"c"'])}`);
    expect(result.stdout).toContain('epoch=3 loss=0.3333 accuracy=0.3000');
    expect((await client.get(trial)).length).toBe(6);
  });

  it('runs the command without collecting on a further node', async () => {
    const trial = fresh().trial;
    const result = await runKatib(['collect', '--trial', trial, '--db-manager-address', address, '--metric-names', 'accuracy', '--copy-output', '--', process.execPath, '-e', TRAINING], tmp, { EPOCHS: '2', EXIT: '5', PET_NODE_RANK: '1' });
    expect(result.code).toBe(5);
    expect(result.stderr).toContain('katib collect: not the first node (JOB_COMPLETION_INDEX=, PET_NODE_RANK=1): running');
    expect(result.stdout).toContain('epoch=2');
    expect(await client.get(trial)).toEqual([]);
  });

  it('a second run in the same pod (a restarted container) is stored as a new run', async () => {
    const trial = fresh().trial;
    const args = ['collect', '--trial', trial, '--db-manager-address', address, '--metric-names', 'accuracy,loss', '--copy-output', '--', process.execPath, '-e', TRAINING];
    expect((await runKatib(args, tmp, { EPOCHS: '2', POD_NAME: 'same-pod' })).code).toBe(0);
    expect((await runKatib(args, tmp, { EPOCHS: '2', POD_NAME: 'same-pod' })).code).toBe(0);
    expect((await client.get(trial)).length).toBe(8);
  });
});

describe('katib collect usage', { timeout: 60_000 }, () => {
  it.each([
    { name: 'no training to wait for', args: ['--trial', 't', '--db-manager-address', 'x:1', '--metric-names', 'a'], message: 'katib: katib collect: invalid\n--wait-pid-of: is required in sidecar mode' },
    { name: 'rules that are no JSON', args: ['--trial', 't', '--db-manager-address', 'x:1', '--metric-names', 'a', '--early-stopping-rules', '{'], message: "error: option '--early-stopping-rules <json>' argument '{' is invalid. must be a JSON list of rules" },
    { name: 'a metricsFormat with one group', args: ['--trial', 't', '--db-manager-address', 'x:1', '--metric-names', 'a', '--metrics-format', '(a)=1'], message: 'must have exactly two top-level capture groups' },
    { name: 'no metric names', args: ['--trial', 't', '--db-manager-address', 'x:1', '--metric-names', ','], message: 'must list metric names separated by commas, the objective first' },
  ])('$name', async ({ args, message }) => {
    const result = await runKatib(['collect', ...args], tmp);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

