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
});
