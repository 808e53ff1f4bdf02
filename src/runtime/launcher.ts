/**
 * The trial launcher: a tiny process that runs one trial's command and records how it ended. It is started
 * detached, so a crash or SIGKILL of the controller does not take the trial down; a restarted controller finds
 * `exit.json` (or a live launcher) in the trial folder and carries on. It is idempotent: a second launcher for the
 * same folder exits at once while the first is alive.
 *
 * Usage: node launcher.js TRIAL_DIR   (reads TRIAL_DIR/run.json, writes launcher.json, output.log, exit.json)
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface RunFile {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  /** The uid of the trial the folder belongs to (absent in folders written before it was recorded). */
  readonly uid?: string;
}

export interface ExitFile {
  readonly code: number | null;
  readonly signal: string | null;
  /** Set when the command could not be started (e.g. ENOENT). */
  readonly error?: { readonly code: string; readonly message: string };
  readonly finishedAt: string;
}

function writeAtomic(file: string, data: unknown): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(data));
  fs.renameSync(tmp, file);
}

/**
 * Where a trial's folder (or PBT checkpoint folder) is moved once a later trial of the same name takes its place
 * (see local.ts); `tag` is the earlier trial's uid, or a time stamp where it is not known.
 */
export function orphanedDir(dir: string, tag: string): string {
  return `${dir}.orphaned-${tag}`;
}

/**
 * The folder the trial now lives in: `dir` while its run.json still names the trial's uid, else where it was moved
 * aside, so that a launcher that outlived its trial's store never writes into a newer trial's folder.
 */
function currentDir(dir: string, uid: string | undefined): string {
  if (uid === undefined) return dir;
  try {
    const now = (JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')) as RunFile).uid;
    return now === uid ? dir : orphanedDir(dir, uid);
  } catch {
    return orphanedDir(dir, uid);
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A lock file whose holder cannot be read counts as held until it is this old (a launcher killed while taking it). */
const UNREADABLE_LOCK_MS = 10_000;

/**
 * Takes the folder's lock; false when another launcher holds it. The lock file appears with the holder's pid
 * already in it (written aside, then hard-linked into place), so a launcher racing for it never reads an empty file
 * and takes it for a dead holder's. A lock whose holder has died is removed and taken.
 */
function takeLock(dir: string): boolean {
  const lock = path.join(dir, 'launcher.lock');
  const mine = `${lock}.${process.pid}`;
  fs.writeFileSync(mine, String(process.pid));
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        fs.linkSync(mine, lock);
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      let holder: number;
      let age: number;
      try {
        holder = Number(fs.readFileSync(lock, 'utf8'));
        age = Date.now() - fs.statSync(lock).mtimeMs;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile: try again
        throw e;
      }
      const readable = Number.isInteger(holder) && holder > 0;
      if (readable ? isAlive(holder) : age < UNREADABLE_LOCK_MS) return false;
      fs.rmSync(lock, { force: true });
    }
    return false;
  } finally {
    fs.rmSync(mine, { force: true });
  }
}

function main(dir: string): void {
  if (!takeLock(dir)) return;
  // Checked only under the lock: a launcher that finished writes exit.json before it lets the lock go, so a trial
  // that has ended is never run again by a launcher that raced with it; and a trial stopped before its launcher got
  // this far (stop.json) is not started at all.
  if (fs.existsSync(path.join(dir, 'exit.json')) || fs.existsSync(path.join(dir, 'stop.json'))) {
    fs.rmSync(path.join(dir, 'launcher.lock'), { force: true });
    return;
  }
  const run = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')) as RunFile;
  writeAtomic(path.join(dir, 'launcher.json'), { pid: process.pid, startedAt: new Date().toISOString() });
  const out = fs.openSync(path.join(dir, 'output.log'), 'a');
  let done = false;
  const finish = (exit: Omit<ExitFile, 'finishedAt'>): void => {
    if (done) return;
    done = true;
    const home = currentDir(dir, run.uid);
    writeAtomic(path.join(home, 'exit.json'), { ...exit, finishedAt: new Date().toISOString() });
    fs.rmSync(path.join(home, 'launcher.lock'), { force: true });
    process.exit(0);
  };
  const child = spawn(run.command, [...run.args], { cwd: run.cwd, env: { ...run.env }, stdio: ['ignore', out, out] });
  child.on('error', (err: NodeJS.ErrnoException) => finish({ code: null, signal: null, error: { code: err.code ?? 'ERROR', message: err.message } }));
  child.on('exit', (code, signal) => finish({ code, signal }));
  // The controller signals the whole process group; the launcher stays to record the child's end.
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => undefined);
}

const dir = process.argv[2];
if (dir && process.argv[1] && path.basename(process.argv[1]).startsWith('launcher')) main(path.resolve(dir));
