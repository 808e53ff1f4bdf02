import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Experiment, Trial } from '../../src/api/types.js';
import { REPO, runKatib, scratch, startKatib, waitFor, writeExperiment } from '../support/cli.js';

type List<T> = { items: T[] };
const phaseOf = (t: Trial) => (t.status?.conditions ?? []).filter((c) => c.status === 'True').map((c) => c.type).pop();

describe('katib run (the CLI binary, end to end)', () => {
  it('runs an experiment to maxTrialCount with parallel trials and prints trials best first', async () => {
    const dir = scratch();
    const file = writeExperiment(dir, { maxTrialCount: 5, parallelTrialCount: 2 });
    const res = await runKatib(['run', file], dir);
    expect(res.stderr).toContain('experiment cli-test created');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^TRIAL\s+STATUS\s+LOSS\s+x\s+y\s+DURATION/m);
    expect(res.stdout).toContain('Experiment cli-test Succeeded: ExperimentMaxTrialsReached');
    const rows = res.stdout.split('\n').filter((l) => /^cli-test-\d+ /.test(l));
    expect(rows).toHaveLength(5);
    const losses = rows.map((r) => Number(r.split(/\s+/)[2]));
    expect([...losses].sort((a, b) => a - b)).toEqual(losses);

    const json = await runKatib(['get', 'trials', 'cli-test', '-o', 'json'], dir);
    const trials = (JSON.parse(json.stdout) as List<Trial>).items;
    expect(trials.map((t) => t.metadata.name).sort()).toEqual(['cli-test-1', 'cli-test-2', 'cli-test-3', 'cli-test-4', 'cli-test-5']);
    for (const t of trials) {
      expect(phaseOf(t)).toBe('Succeeded');
      const x = t.spec.parameterAssignments.find((a) => a.name === 'x')?.value ?? '';
      // The trial received the value byte-for-byte as the service sent it.
      expect(fs.readFileSync(path.join(dir, '.katib/trials/default', t.metadata.name, 'run.json'), 'utf8')).toContain(`"--x=${x}"`);
      const loss = t.status?.observation?.metrics?.find((m) => m.name === 'loss');
      expect(Number(loss?.min)).toBeLessThanOrEqual(Number(loss?.latest));
      expect(fs.readFileSync(path.join(dir, '.katib/trials/default', t.metadata.name, 'output.log'), 'utf8')).toContain('epoch=3');
    }
    const exp = JSON.parse((await runKatib(['describe', 'experiment', 'cli-test', '-o', 'json'], dir)).stdout) as Experiment;
    expect(exp.status).toMatchObject({ trials: 5, trialsSucceeded: 5 });
    expect(exp.status?.currentOptimalTrial?.bestTrialName).toBe(rows[0]?.split(/\s+/)[0]);
  });

  it('ends with ExperimentSuggestionEndReached when the grid is exhausted, and -o json prints the experiment', async () => {
    const dir = scratch();
    const file = writeExperiment(dir, {
      algorithm: 'grid',
      settings: {},
      maxTrialCount: 50,
      parameters: [
        { name: 'x', parameterType: 'double', feasibleSpace: { min: '0.1', max: '0.3', step: '0.1' } },
        { name: 'y', parameterType: 'discrete', feasibleSpace: { list: ['1', '2'] } },
      ],
    });
    const res = await runKatib(['run', file, '-o', 'json', '--quiet'], dir);
    expect(res.code).toBe(0);
    const exp = JSON.parse(res.stdout) as Experiment;
    expect(exp.status?.conditions?.find((c) => c.type === 'Succeeded')?.reason).toBe('ExperimentSuggestionEndReached');
    expect(exp.status?.trials).toBe(6);
  });

  it('fails the experiment at maxFailedTrialCount, naming the exit code and the last output', async () => {
    const dir = scratch();
    const file = writeExperiment(dir, { maxFailedTrialCount: 2, command: ['node', 'trial.js', '--x=${trialParameters.x}', '--y=${trialParameters.y}', '--fail=3'] });
    const res = await runKatib(['run', file], dir);
    expect(res.code).toBe(1);
    expect(res.stdout).toContain('Experiment cli-test Failed: ExperimentFailed');
    expect(res.stderr).toContain('trial command exited with code 3; last output:');
    expect(res.stderr).toMatch(/epoch=3 loss=/);
  });

  it('runs a trial afresh when a removed store left a folder of its name, and moves that folder aside', async () => {
    const dir = scratch();
    const failing = writeExperiment(dir, { maxTrialCount: 2, parallelTrialCount: 1, maxFailedTrialCount: 1, command: ['node', 'trial.js', '--x=${trialParameters.x}', '--y=${trialParameters.y}', '--fail=3'] });
    expect((await runKatib(['run', failing, '--quiet'], dir)).code).toBe(1);
    const old = JSON.parse(fs.readFileSync(path.join(dir, '.katib/trials/default/cli-test-1/run.json'), 'utf8')) as { uid: string };
    fs.rmSync(path.join(dir, '.katib/katib.db'));
    const passing = writeExperiment(dir, { maxTrialCount: 2, parallelTrialCount: 1, maxFailedTrialCount: 1 });
    const res = await runKatib(['run', passing, '--quiet'], dir);
    expect(res.stdout).toContain('Experiment cli-test Succeeded: ExperimentMaxTrialsReached');
    expect(res.code).toBe(0);
    const moved = path.join(dir, `.katib/trials/default/cli-test-1.orphaned-${old.uid}`);
    expect(JSON.parse(fs.readFileSync(path.join(moved, 'exit.json'), 'utf8'))).toMatchObject({ code: 3 });
    expect(fs.readFileSync(path.join(dir, '.katib/trials/default/cli-test-1/run.json'), 'utf8')).not.toContain(old.uid);
  });

  it('marks a trial MetricsUnavailable when it exits 0 without the objective metric', async () => {
    const dir = scratch();
    const file = writeExperiment(dir, { metric: 'val_loss', maxTrialCount: 1, parallelTrialCount: 1, maxFailedTrialCount: 1 });
    const res = await runKatib(['run', file], dir);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('the trial exited 0 but reported no value for the objective metric "val_loss"');
    expect(res.stderr).toContain('last output lines:');
  });

  it('marks a trial Failed with a clear message when its command does not exist', async () => {
    const dir = scratch();
    const file = writeExperiment(dir, { command: ['no-such-trainer-binary', '--x=${trialParameters.x}', '--y=${trialParameters.y}'], maxTrialCount: 1, parallelTrialCount: 1, maxFailedTrialCount: 1 });
    const res = await runKatib(['run', file], dir);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('could not start trial command "no-such-trainer-binary" (ENOENT');
  });

  it.each([
    { name: 'invalid YAML', content: 'apiVersion: kubeflow.org/v1beta1\nkind: Experiment\nspec: [\n  a: b\n', want: /experiment\.yaml.*line \d+/s },
    { name: 'unknown algorithm', content: null, algorithm: 'nosuch', want: /spec\.algorithm\.algorithmName.*"nosuch"/ },
  ])('rejects bad input with exit 2: $name', async ({ content, algorithm, want }) => {
    const dir = scratch();
    const file = writeExperiment(dir, { algorithm });
    if (content !== null) fs.writeFileSync(file, content);
    const res = await runKatib(['run', file], dir);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(want);
    expect(res.stderr).not.toContain('    at ');
  });

  it('names a missing experiment file', async () => {
    const dir = scratch();
    const res = await runKatib(['run', 'missing.yaml'], dir);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('missing.yaml');
  });

  it('resumes after SIGKILL: no trial lost, none duplicated, final count equals maxTrialCount', async () => {
    const dir = scratch();
    const file = writeExperiment(dir, { maxTrialCount: 6, parallelTrialCount: 2, command: ['node', 'trial.js', '--x=${trialParameters.x}', '--y=${trialParameters.y}', '--epochs=4', '--sleep=150'] });
    const first = startKatib(['run', file], dir);
    const runs = () => (fs.existsSync(path.join(dir, 'runs.log')) ? fs.readFileSync(path.join(dir, 'runs.log'), 'utf8').trim().split('\n') : []);
    await waitFor(() => runs().length >= 3, 30_000, 'three trials to start');
    first.child.kill('SIGKILL');
    await first.done;
    const second = await runKatib(['run', file], dir);
    expect(second.stderr).toContain('resuming experiment cli-test');
    expect(second.code).toBe(0);
    const names = runs();
    expect(names.sort()).toEqual(['cli-test-1', 'cli-test-2', 'cli-test-3', 'cli-test-4', 'cli-test-5', 'cli-test-6']);
    const trials = (JSON.parse((await runKatib(['get', 'trials', 'cli-test', '-o', 'json'], dir)).stdout) as List<Trial>).items;
    expect(trials).toHaveLength(6);
    expect(trials.every((t) => phaseOf(t) === 'Succeeded')).toBe(true);
  });

  it('on SIGINT stops running trials, marks them Killed and leaves the store consistent', async () => {
    const dir = scratch();
    const file = writeExperiment(dir, { maxTrialCount: 4, parallelTrialCount: 2, command: ['node', 'trial.js', '--x=${trialParameters.x}', '--y=${trialParameters.y}', '--epochs=100', '--sleep=200'] });
    const run = startKatib(['run', file], dir);
    await waitFor(() => (fs.existsSync(path.join(dir, 'runs.log')) ? fs.readFileSync(path.join(dir, 'runs.log'), 'utf8').trim().split('\n').length >= 2 : false), 30_000, 'two trials to start');
    await waitFor(() => run.output().includes('running 2'), 10_000, 'progress to show two running trials');
    run.child.kill('SIGINT');
    const res = await run.done;
    expect(res.code).toBe(130);
    expect(res.stderr).toContain('interrupted: stopped 2 running trial(s) and marked them Killed');
    const trials = (JSON.parse((await runKatib(['get', 'trials', 'cli-test', '-o', 'json'], dir)).stdout) as List<Trial>).items;
    expect(trials.map(phaseOf)).toEqual(['Killed', 'Killed']);
    for (const t of trials) {
      const launcher = JSON.parse(fs.readFileSync(path.join(dir, '.katib/trials/default', t.metadata.name, 'launcher.json'), 'utf8')) as { pid: number };
      await waitFor(() => {
        try {
          process.kill(launcher.pid, 0);
          return false;
        } catch {
          return true;
        }
      }, 15_000, 'the trial process to exit');
    }
    const listing = await runKatib(['get', 'experiments'], dir);
    expect(listing.stdout).toMatch(/default\s+cli-test\s+Running\s+random/);
  });

  it('stops a bad trial early with medianstop, keeps its metrics and shows it distinctly', async () => {
    const dir = scratch();
    const file = writeExperiment(dir, {
      algorithm: 'grid',
      settings: {},
      maxTrialCount: 4,
      parallelTrialCount: 1,
      maxFailedTrialCount: 1,
      parameters: [
        { name: 'x', parameterType: 'discrete', feasibleSpace: { list: ['0.3', '0.31', '1.0', '1.1'] } },
        { name: 'y', parameterType: 'discrete', feasibleSpace: { list: ['2'] } },
      ],
      command: ['node', 'trial.js', '--x=${trialParameters.x}', '--y=${trialParameters.y}', '--epochs=8', '--sleep=100'],
      extraSpec: { earlyStopping: { algorithmName: 'medianstop', algorithmSettings: [{ name: 'min_trials_required', value: '2' }, { name: 'start_step', value: '2' }] } },
    });
    const res = await runKatib(['run', file], dir);
    expect(res.code).toBe(0);
    expect(res.stderr).toContain('cli-test-3 EarlyStopped (stopped early by rule)');
    expect(res.stdout).toMatch(/cli-test-3\s+EarlyStopped\*/);
    const trials = (JSON.parse((await runKatib(['get', 'trials', 'cli-test', '-o', 'json'], dir)).stdout) as List<Trial>).items;
    expect(trials.map(phaseOf)).toEqual(['Succeeded', 'Succeeded', 'EarlyStopped', 'EarlyStopped']);
    const stopped = trials[2] as Trial;
    expect(stopped.spec.earlyStoppingRules?.[0]).toMatchObject({ name: 'loss', comparison: 'greater', startStep: 2 });
    expect(stopped.status?.conditions?.find((c) => c.type === 'EarlyStopped')?.message).toMatch(/stopped early at step 2: best loss so far \(.*\) is greater than/);
    const loss = stopped.status?.observation?.metrics?.find((m) => m.name === 'loss');
    expect(loss?.latest).not.toBe('unavailable');
    const epochs = fs.readFileSync(path.join(dir, '.katib/trials/default/cli-test-3/output.log'), 'utf8').trim().split('\n').length;
    expect(epochs).toBeLessThan(8);
  });

  it('runs PBT: children resume from a copy of their parent\'s checkpoint, with Katib\'s lineage labels', async () => {
    const dir = scratch();
    fs.copyFileSync(path.join(REPO, 'examples', 'pbt-toy.mjs'), path.join(dir, 'pbt-toy.mjs'));
    const text = fs.readFileSync(path.join(REPO, 'examples', 'pbt.yaml'), 'utf8').replace('maxTrialCount: 36', 'maxTrialCount: 12');
    fs.writeFileSync(path.join(dir, 'pbt.yaml'), text);
    const res = await runKatib(['run', 'pbt.yaml', '--quiet'], dir);
    expect(res.code).toBe(0);
    const trials = (JSON.parse((await runKatib(['get', 'trials', 'pbt-toy', '-o', 'json'], dir)).stdout) as List<Trial>).items;
    expect(trials).toHaveLength(12);
    const byName = new Map(trials.map((t) => [t.metadata.name, t]));
    const children = trials.filter((t) => t.spec.labels?.['pbt.suggestion.katib.kubeflow.org/generation'] === '1');
    expect(children.length).toBeGreaterThan(0);
    for (const child of children) {
      const parentName = child.spec.labels?.['pbt.suggestion.katib.kubeflow.org/parent'] ?? '';
      const parent = byName.get(parentName);
      expect(parent?.spec.labels?.['pbt.suggestion.katib.kubeflow.org/generation']).toBe('0');
      const out = fs.readFileSync(path.join(dir, '.katib/trials/default', child.metadata.name, 'output.log'), 'utf8');
      // The parent ran 4 steps; the child starts where the parent's checkpoint ended.
      expect(out).toContain('resumed from checkpoint at step 4');
      expect(out).toContain('step=5 ');
    }

    // The store removed, the same experiment again: its first generation starts from scratch, not from the
    // checkpoints the earlier trials of the same names left.
    fs.rmSync(path.join(dir, '.katib/katib.db'));
    fs.writeFileSync(path.join(dir, 'pbt.yaml'), text.replace('maxTrialCount: 12', 'maxTrialCount: 4'));
    expect((await runKatib(['run', 'pbt.yaml', '--quiet'], dir)).code).toBe(0);
    const again = (JSON.parse((await runKatib(['get', 'trials', 'pbt-toy', '-o', 'json'], dir)).stdout) as List<Trial>).items;
    expect(again).toHaveLength(4);
    for (const t of again) {
      expect(t.spec.labels?.['pbt.suggestion.katib.kubeflow.org/generation']).toBe('0');
      expect(fs.readFileSync(path.join(dir, '.katib/trials/default', t.metadata.name, 'output.log'), 'utf8')).not.toContain('resumed from checkpoint');
    }

    // Deleting it removes its trials' checkpoint folders and those moved aside, and nothing of the earlier trials
    // that are no longer in the store (pbt-toy-10 starts with pbt-toy-1, but is not this experiment's).
    const checkpoints = path.join(dir, '.katib/checkpoints/default/pbt-toy');
    const mine = new Set(again.map((t) => t.metadata.name));
    const before = fs.readdirSync(checkpoints);
    expect(before.filter((n) => n.includes('.orphaned-'))).toHaveLength(again.length);
    expect(before).toContain('pbt-toy-10');
    expect((await runKatib(['delete', 'experiment', 'pbt-toy'], dir)).code).toBe(0);
    expect(fs.readdirSync(checkpoints).sort()).toEqual(before.filter((n) => !mine.has(n.replace(/\.orphaned-.*$/, ''))).sort());
  });

  it('get, describe and delete', async () => {
    const dir = scratch();
    const file = writeExperiment(dir, { maxTrialCount: 2, maxFailedTrialCount: 1 });
    expect((await runKatib(['run', file, '--quiet'], dir)).code).toBe(0);
    const yaml = await runKatib(['get', 'experiments', '-o', 'yaml'], dir);
    expect(yaml.stdout).toContain('name: cli-test');
    const describe = await runKatib(['describe', 'experiment', 'cli-test'], dir);
    expect(describe.stdout).toContain('Status:       Succeeded');
    expect(describe.stdout).toContain('ExperimentMaxTrialsReached');
    // Folders a removed store's trials of the same names left, moved aside (one of them, as the runtime does), and
    // folders of other trials whose names merely start with this experiment's trial names.
    const trials = path.join(dir, '.katib/trials');
    const planted = ['default/cli-test-1.orphaned-old-uid', 'default/cli-test-2.orphaned-1700000000000', 'default/cli-test-10.orphaned-x', 'default/cli-test-1-1.orphaned-y', 'default/cli-test-10', 'other/cli-test-1.orphaned-z'];
    for (const p of planted) fs.mkdirSync(path.join(trials, p), { recursive: true });
    const del = await runKatib(['delete', 'experiment', 'cli-test'], dir);
    expect(del.stdout).toContain('experiment cli-test deleted (2 trials)');
    expect(fs.readdirSync(path.join(trials, 'default')).sort()).toEqual(['cli-test-1-1.orphaned-y', 'cli-test-10', 'cli-test-10.orphaned-x']);
    expect(fs.readdirSync(path.join(trials, 'other'))).toEqual(['cli-test-1.orphaned-z']);
    const gone = await runKatib(['describe', 'experiment', 'cli-test'], dir);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toContain('experiment "default/cli-test" not found');
  });
});

describe('katib run --gpus', () => {
  it('gives each trial its own GPUs through CUDA_VISIBLE_DEVICES and queues trials that do not fit', async () => {
    const dir = scratch();
    fs.writeFileSync(
      path.join(dir, 'gpu-trial.js'),
      `const fs = require('node:fs');
const start = Date.now();
setTimeout(() => {
  fs.appendFileSync('gpus.log', JSON.stringify({ trial: process.env.KATIB_TRIAL_NAME, gpus: process.env.CUDA_VISIBLE_DEVICES, start, end: Date.now() }) + '\\n');
  console.log('loss=' + Math.random());
}, 400);`,
    );
    const file = writeExperiment(dir, {
      maxTrialCount: 5,
      parallelTrialCount: 3,
      command: ['node', 'gpu-trial.js', '--x=${trialParameters.x}', '--y=${trialParameters.y}'],
      container: { resources: { limits: { 'nvidia.com/gpu': 1 } } },
    });
    const res = await runKatib(['run', file, '--gpus', '0,1'], dir);
    expect(res.stderr).toContain('experiment cli-test created');
    expect(res.code).toBe(0);
    const runs = fs.readFileSync(path.join(dir, 'gpus.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { trial: string; gpus: string; start: number; end: number });
    expect(runs).toHaveLength(5);
    for (const r of runs) expect(['0', '1']).toContain(r.gpus);
    for (const a of runs) {
      // Never two trials on the same GPU at once, and never more trials at once than GPUs. The most trials at
      // once is reached at some trial's start; a slow trial may overlap two short ones that ran one after the other.
      const overlapping = runs.filter((b) => b !== a && b.start < a.end && a.start < b.end);
      expect(overlapping.filter((b) => b.gpus === a.gpus)).toEqual([]);
      expect(runs.filter((b) => b.start <= a.start && a.start < b.end).length).toBeLessThanOrEqual(2);
    }
  });

  it('fails a trial that asks for more GPUs than --gpus lists, saying so', async () => {
    const dir = scratch();
    const file = writeExperiment(dir, { maxTrialCount: 1, parallelTrialCount: 1, maxFailedTrialCount: 1, container: { resources: { limits: { 'nvidia.com/gpu': 4 } } } });
    const res = await runKatib(['run', file, '--gpus', '0,1'], dir);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('the trial requests nvidia.com/gpu: 4 but --gpus lists 2 (0,1); lower the request or list more GPUs');
  });
});

describe('katib serve suggestion as an external service', () => {
  it('serves a `katib run` that names it with --suggestion-address, over real gRPC between processes', async () => {
    const dir = scratch();
    const server = startKatib(['serve', 'suggestion', '--port', '0', '--host', '127.0.0.1', '--algorithm', 'grid'], dir);
    try {
      await waitFor(() => /listening on 127\.0\.0\.1:\d+/.test(server.output()), 15_000, 'the suggestion service to listen');
      const port = /listening on 127\.0\.0\.1:(\d+)/.exec(server.output())?.[1];
      const file = writeExperiment(dir, {
        algorithm: 'grid',
        settings: {},
        maxTrialCount: 10,
        parameters: [
          { name: 'x', parameterType: 'discrete', feasibleSpace: { list: ['0.1', '0.2'] } },
          { name: 'y', parameterType: 'int', feasibleSpace: { min: '1', max: '2' } },
        ],
      });
      const res = await runKatib(['run', file, '--suggestion-address', `grid=127.0.0.1:${port}`, '-o', 'json', '--quiet'], dir);
      expect(res.code).toBe(0);
      const exp = JSON.parse(res.stdout) as Experiment;
      expect(exp.status?.trials).toBe(4);
      expect(exp.status?.conditions?.find((c) => c.type === 'Succeeded')?.reason).toBe('ExperimentSuggestionEndReached');
      // The external service refuses algorithms it was not started for.
      const other = writeExperiment(scratch(), { algorithm: 'random' });
      const refused = await runKatib(['run', other, '--suggestion-address', `random=127.0.0.1:${port}`], path.dirname(other));
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('unknown algorithm "random"; this service offers grid');
    } finally {
      server.child.kill('SIGTERM');
      expect((await server.done).code).toBe(0);
    }
  });
});

describe('push metrics (Push collector)', () => {
  it('a trial reports with reportMetrics through the DB-manager; its output is not parsed', async () => {
    const dir = scratch();
    fs.writeFileSync(
      path.join(dir, 'push-trial.mjs'),
      `import { reportMetrics, closeReportMetrics } from ${JSON.stringify(path.join(REPO, 'dist/src/index.js'))};
const x = Number(process.argv[2]);
for (let step = 1; step <= 3; step++) await reportMetrics({ loss: (x - 0.5) ** 2 + 1 / step, accuracy: 0.5 }, { step });
// Printed but not collected: the collector kind is Push.
console.log('loss=1000');
closeReportMetrics();`,
    );
    const file = writeExperiment(dir, {
      maxTrialCount: 2,
      maxFailedTrialCount: 1,
      command: ['node', 'push-trial.mjs', '${trialParameters.x}', '${trialParameters.y}'],
      extraSpec: { metricsCollectorSpec: { collector: { kind: 'Push' } } },
    });
    const res = await runKatib(['run', file, '--quiet'], dir);
    expect(res.code).toBe(0);
    const trials = (JSON.parse((await runKatib(['get', 'trials', 'cli-test', '-o', 'json'], dir)).stdout) as List<Trial>).items;
    for (const t of trials) {
      const x = Number(t.spec.parameterAssignments.find((a) => a.name === 'x')?.value);
      const loss = t.status?.observation?.metrics?.find((m) => m.name === 'loss');
      expect(Number(loss?.latest)).toBeCloseTo((x - 0.5) ** 2 + 1 / 3, 10);
      expect(Number(loss?.max)).toBeCloseTo((x - 0.5) ** 2 + 1, 10);
    }
  });
});
