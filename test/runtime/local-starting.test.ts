import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { API_VERSION, type Experiment, type Trial } from '../../src/api/types.js';
import { LocalRuntime } from '../../src/runtime/local.js';
import { MemoryObservationStore } from '../../src/store/memory-observations.js';
import { scratch, waitFor } from '../support/cli.js';

/** A trial whose command appends a line to runs.log in `dir` each time it starts, then runs for `ms`. */
function setup(ms: number): { runtime: LocalRuntime; exp: Experiment; trial: Trial; runs: () => number; dir: string } {
  const dir = scratch('katib-local-starting-');
  const log = path.join(dir, 'runs.log');
  const script = `require('fs').appendFileSync(${JSON.stringify(log)}, 'run\\n'); setTimeout(() => {}, ${ms})`;
  const container = { name: 'training', image: 'local', command: [process.execPath, '-e', script] };
  const runSpec = { apiVersion: 'batch/v1', kind: 'Job', spec: { template: { spec: { containers: [container] } } } };
  const exp = { apiVersion: API_VERSION, kind: 'Experiment', metadata: { name: 'starting', namespace: 'default', uid: 'exp-uid' }, spec: {} } as Experiment;
  const trial: Trial = { apiVersion: API_VERSION, kind: 'Trial', metadata: { name: 'starting-1', namespace: 'default', uid: 'trial-uid' }, spec: { parameterAssignments: [], runSpec } };
  const runtime = new LocalRuntime({ root: path.join(dir, 'trials'), observations: new MemoryObservationStore(), defaultCwd: dir, gracePeriodSeconds: 1 });
  return { runtime, exp, trial, dir, runs: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n').length : 0) };
}

describe('local runtime: a trial whose launcher is still starting', () => {
  let runtime: LocalRuntime | undefined;
  afterEach(async () => {
    await runtime?.close();
    runtime = undefined;
  });

  it('is running, not absent, before its launcher has written launcher.json, and is not started twice', async () => {
    const t = setup(300);
    runtime = t.runtime;
    await t.runtime.start(t.exp, t.trial);
    expect(fs.existsSync(path.join(t.dir, 'trials/default/starting-1/launcher.json'))).toBe(false);
    expect((await t.runtime.observe(t.exp, t.trial)).phase).toBe('running');
    await t.runtime.start(t.exp, t.trial);
    await t.runtime.start(t.exp, t.trial);
    await waitFor(() => fs.existsSync(path.join(t.dir, 'trials/default/starting-1/exit.json')), 15_000, 'the trial to end');
    expect(t.runs()).toBe(1);
    expect((await t.runtime.observe(t.exp, t.trial)).phase).toBe('succeeded');
  });

  it('stopped before its launcher took the lock, never runs its command', async () => {
    const t = setup(5_000);
    runtime = t.runtime;
    await t.runtime.start(t.exp, t.trial);
    await t.runtime.stop(t.exp, t.trial, 'killed', 'stopped at once');
    // stop() returns once the launcher has shown what it does; give a launcher that ignored stop.json time to start.
    await new Promise((r) => setTimeout(r, 500));
    expect(t.runs()).toBe(0);
    expect(await t.runtime.observe(t.exp, t.trial)).toMatchObject({ phase: 'killed', message: 'stopped at once' });
  });
});
