/**
 * The suggestion service as it is deployed: `katib serve suggestion` in a process of its own, started from the
 * compiled CLI (bin/katib.js), reached over gRPC on the loopback address. Its memory is read from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { SuggestionClient } from '../../src/suggestion/client.js';
import { PYTHON } from './python.js';
import { repoRoot } from './repo-root.js';

export interface ServiceProcess {
  readonly pid: number;
  readonly address: string;
  readonly client: SuggestionClient;
  /** Peak resident set size so far (VmHWM), in MiB; undefined where /proc is unavailable. */
  peakRssMiB(): number | undefined;
  /** Current resident set size (VmRSS), in MiB. */
  rssMiB(): number | undefined;
  stop(): Promise<void>;
}

function procStatus(pid: number, field: string): number | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `cli`: the deployed command, bin/katib.js; `bare`: startSuggestionServer alone (bare-suggestion-server.ts); `noop`:
 * a grpc-js server that does nothing with a request (noop-suggestion-server.ts), the latency benchmark's reference;
 * `noop-c`: the same on gRPC's C-core server (noop_suggestion_server.py, run with Debian's python3-grpcio).
 */
export type ServiceEntry = 'cli' | 'bare' | 'noop' | 'noop-c';

/** The program and arguments that start `entry`. */
function commandOf(entry: ServiceEntry, algorithm: string | undefined): [string, string[]] {
  switch (entry) {
    case 'cli':
      return [process.execPath, [path.join(repoRoot(), 'bin', 'katib.js'), 'serve', 'suggestion', '--host', '127.0.0.1', '--port', '0', ...(algorithm ? ['--algorithm', algorithm] : [])]];
    case 'bare':
      return [process.execPath, [path.join(repoRoot(), 'dist', 'benchmarks', 'common', 'bare-suggestion-server.js'), ...(algorithm ? [algorithm] : [])]];
    case 'noop':
      return [process.execPath, [path.join(repoRoot(), 'dist', 'benchmarks', 'common', 'noop-suggestion-server.js')]];
    case 'noop-c':
      return [PYTHON, [path.join(repoRoot(), 'benchmarks', 'common', 'noop_suggestion_server.py')]];
  }
}

/**
 * Starts `node bin/katib.js serve suggestion --host 127.0.0.1 --port 0 [--algorithm NAME]` (or another entry) and waits for its
 * "suggestion service listening on HOST:PORT" line and for the health service to report SERVING. Throws with the
 * service's stderr when it exits first or does not start within 30 s (run `npm run build` first).
 */
export async function startService(algorithm?: string, entry: ServiceEntry = 'cli'): Promise<ServiceProcess> {
  const [command, args] = commandOf(entry, algorithm);
  const shown = [command, ...args].join(' ');
  // The C-core server needs Debian's python3-grpcio; the others a build.
  const hint = entry === 'noop-c' ? `is python3-grpcio installed for ${PYTHON}?` : 'did `npm run build` run?';
  const child: ChildProcess = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${shown} did not report its port within 30 s:\n${stderr}`)), 30_000);
    const lines = readline.createInterface({ input: child.stderr as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      stderr += `${line}\n`;
      const m = /suggestion service listening on [^\s]+:(\d+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${shown} exited with ${code} before listening (${hint}):\n${stderr}`));
    });
  });
  const address = `127.0.0.1:${port}`;
  const client = new SuggestionClient(address, 600_000);
  await client.waitReady(30_000);
  const pid = child.pid as number;
  return {
    pid,
    address,
    client,
    peakRssMiB: () => procStatus(pid, 'VmHWM'),
    rssMiB: () => procStatus(pid, 'VmRSS'),
    stop: () =>
      new Promise<void>((resolve) => {
        client.close();
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
