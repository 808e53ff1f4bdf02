import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { orphanedDir } from '../../src/runtime/launcher.js';
import { REPO, scratch, waitFor } from '../support/cli.js';

const LAUNCHER = path.join(REPO, 'dist/src/runtime/launcher.js');

describe('trial launcher', () => {
  it('records the end of a trial whose folder was handed to a newer trial in the folder it was moved to', async () => {
    const dir = path.join(scratch('katib-launcher-'), 'trial-1');
    fs.mkdirSync(dir);
    const run = (uid: string) => ({ command: process.execPath, args: ['-e', 'setTimeout(() => {}, 600)'], env: {}, cwd: dir, uid });
    fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify(run('old')));
    spawn(process.execPath, [LAUNCHER, dir], { detached: true, stdio: 'ignore' }).unref();
    await waitFor(() => fs.existsSync(path.join(dir, 'launcher.json')), 5000);
    // What the local runtime does when a new trial of the same name arrives while the old one still runs.
    const moved = orphanedDir(dir, 'old');
    fs.renameSync(dir, moved);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify(run('new')));
    await waitFor(() => fs.existsSync(path.join(moved, 'exit.json')), 5000);
    expect(JSON.parse(fs.readFileSync(path.join(moved, 'exit.json'), 'utf8'))).toMatchObject({ code: 0 });
    expect(fs.existsSync(path.join(dir, 'exit.json'))).toBe(false);
    expect(fs.existsSync(path.join(moved, 'launcher.lock'))).toBe(false);
  });

  /** A trial folder whose command appends a line to runs.log each time it starts. */
  function trialDir(): { dir: string; runs: () => number; launch: () => Promise<number | null> } {
    const dir = path.join(scratch('katib-launcher-'), 'trial-1');
    fs.mkdirSync(dir);
    const log = path.join(dir, 'runs.log');
    const run = { command: process.execPath, args: ['-e', `require('fs').appendFileSync(${JSON.stringify(log)}, 'run\\n')`], env: {}, cwd: dir, uid: 'u' };
    fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify(run));
    return {
      dir,
      runs: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n').length : 0),
      launch: () => new Promise((resolve) => spawn(process.execPath, [LAUNCHER, dir], { stdio: 'ignore' }).on('exit', resolve)),
    };
  }

  it('leaves a lock alone while its holder is alive, and takes one whose holder has died', async () => {
    const t = trialDir();
    fs.writeFileSync(path.join(t.dir, 'launcher.lock'), String(process.pid)); // this test process: alive
    await t.launch();
    expect(t.runs()).toBe(0);
    const dead = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => dead.on('exit', resolve));
    fs.writeFileSync(path.join(t.dir, 'launcher.lock'), String(dead.pid));
    await t.launch();
    expect(t.runs()).toBe(1);
    expect(JSON.parse(fs.readFileSync(path.join(t.dir, 'exit.json'), 'utf8'))).toMatchObject({ code: 0 });
    expect(fs.readdirSync(t.dir).filter((n) => n.startsWith('launcher.lock'))).toEqual([]);
  });

  it('takes a lock file it cannot read for one being written, not for a dead holder’s, until it is 10 s old', async () => {
    const t = trialDir();
    const lock = path.join(t.dir, 'launcher.lock');
    fs.writeFileSync(lock, '');
    await t.launch();
    expect(t.runs()).toBe(0);
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(lock, old, old);
    await t.launch();
    expect(t.runs()).toBe(1);
  });

  it('never runs a trial that has ended again, even when it gets the lock after the trial’s own launcher let go', async () => {
    const t = trialDir();
    await t.launch();
    expect(t.runs()).toBe(1);
    // The lock is free and exit.json is there: what a second launcher that lost the race finds.
    expect(fs.existsSync(path.join(t.dir, 'launcher.lock'))).toBe(false);
    await t.launch();
    await t.launch();
    expect(t.runs()).toBe(1);
  });
});
