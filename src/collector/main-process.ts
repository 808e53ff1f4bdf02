/**
 * The training ("main") process a metrics collector waits for. In a pod the collector is a sidecar sharing the
 * pod's process namespace (`shareProcessNamespace: true`, as Katib's): it learns the training process's pid from
 * the pid file the wrapped command writes, or by finding a process whose command line contains a marker in /proc
 * (Katib's pns.go does the latter), and knows the process has ended when the wrapper's exit marker appears or the
 * pid is gone. In wrap mode (`katib collect -- CMD`) the collector is the parent and watches its child directly.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export type MainState = 'starting' | 'running' | 'exited';

export interface MainProcess {
  /** Where the process is now; `exited` is final. */
  state(): MainState;
  /** The exit code when known (the wrapper's marker, or the child's code; 128+n for signal n). */
  exitCode(): number | undefined;
  /** Sends `signal` to the training process; false when there is none yet, it is gone or we may not signal it. */
  signal(signal: NodeJS.Signals): boolean;
  /** For log lines: `pid 42 (from /var/log/katib/.katib-main.pid)`. */
  describe(): string;
}

/** True when a process with this pid exists (on Linux through /proc, which works across users). */
export function processExists(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (fs.existsSync('/proc/self')) return fs.existsSync(`/proc/${pid}`);
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The pid of the oldest process (lowest pid) whose command line contains `pattern`, this process excluded; what a
 * sidecar sees of the other containers with a shared process namespace. Undefined when none (or no /proc).
 */
export function findProcess(pattern: string, procRoot = '/proc'): number | undefined {
  let entries: string[];
  try {
    entries = fs.readdirSync(procRoot);
  } catch {
    return undefined;
  }
  const pids = entries
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((pid) => pid !== process.pid)
    .sort((a, b) => a - b);
  for (const pid of pids) {
    try {
      const cmdline = fs.readFileSync(path.join(procRoot, String(pid), 'cmdline'), 'utf8').split('\0').join(' ');
      if (cmdline.includes(pattern)) return pid;
    } catch {
      // gone meanwhile, or not readable
    }
  }
  return undefined;
}

export interface WatchedProcessOptions {
  /** A pid file the wrapped command writes (an absolute path), or a command-line pattern to look for in /proc. */
  readonly waitPidOf: string;
  /** The file the wrapped command writes its exit code to when it ends. */
  readonly exitMarker?: string;
  /**
   * How long a vanished pid without an exit marker counts as still finishing (the wrapper copies the last output
   * and writes the marker after the process ends), ms. Default 3000. Then it counts as exited (killed with its
   * container, e.g. out of memory).
   */
  readonly settleMs?: number;
  readonly now?: () => number;
}

function readPid(file: string): number | undefined {
  try {
    const n = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

function readExitCode(file: string | undefined): number | undefined {
  if (file === undefined) return undefined;
  try {
    const n = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/** A training process in another container (or started by someone else), found by pid file or pattern. */
export function watchProcess(opts: WatchedProcessOptions): MainProcess {
  const byFile = path.isAbsolute(opts.waitPidOf);
  const now = opts.now ?? Date.now;
  let pid: number | undefined;
  let goneSince: number | undefined;
  let exited = false;
  const resolvePid = (): number | undefined => {
    // A pid file is re-read: a restarted container writes a new pid.
    const found = byFile ? readPid(opts.waitPidOf) : (pid ?? findProcess(opts.waitPidOf));
    if (found !== undefined) pid = found;
    return pid;
  };
  const markerExists = (): boolean => opts.exitMarker !== undefined && fs.existsSync(opts.exitMarker);
  return {
    state() {
      if (exited) return 'exited';
      if (markerExists()) {
        exited = true;
        return 'exited';
      }
      const p = resolvePid();
      if (p === undefined) return 'starting';
      if (processExists(p)) {
        goneSince = undefined;
        return 'running';
      }
      goneSince ??= now();
      if (now() - goneSince >= (opts.settleMs ?? 3000)) {
        exited = true;
        return 'exited';
      }
      return 'running';
    },
    exitCode: () => readExitCode(opts.exitMarker),
    signal(signal) {
      const p = resolvePid();
      if (p === undefined || !processExists(p)) return false;
      try {
        process.kill(p, signal);
        return true;
      } catch {
        return false;
      }
    },
    describe: () => `${pid === undefined ? 'pid unknown yet' : `pid ${pid}`} (${byFile ? `from ${opts.waitPidOf}` : `command line containing ${JSON.stringify(opts.waitPidOf)}`})`,
  };
}

/** A child this process started (wrap mode). `done` must resolve once its output is fully copied. */
export function childProcess(child: ChildProcess, done: Promise<number>): MainProcess {
  let code: number | undefined;
  void done.then((c) => {
    code = c;
  });
  return {
    state: () => (code !== undefined ? 'exited' : 'running'),
    exitCode: () => code,
    signal(signal) {
      if (code !== undefined || child.exitCode !== null || child.signalCode !== null) return false;
      return child.kill(signal);
    },
    describe: () => `child pid ${child.pid ?? '?'}`,
  };
}
