/**
 * Runs the Optuna side of a benchmark: Debian's python3-optuna at /usr/bin/python3 (another python3 may come first
 * on PATH without Optuna; override with KATIB_BENCH_PYTHON). A {@link PythonWorker} keeps one interpreter for many
 * jobs — Optuna takes about a second to import — speaking one JSON object per line each way.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import readline from 'node:readline';

export const PYTHON = process.env['KATIB_BENCH_PYTHON'] ?? '/usr/bin/python3';

/** Runs `script args…` to completion and parses the last line of its stdout as JSON; throws with its stderr. */
export function runPythonJson(script: string, args: readonly string[], timeoutMs = 600_000): unknown {
  const res = spawnSync(PYTHON, [script, ...args], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024 });
  if (res.error) throw new Error(`${PYTHON} ${script}: ${res.error.message}; install python3-optuna or set KATIB_BENCH_PYTHON`);
  if (res.status !== 0) throw new Error(`${PYTHON} ${script} ${args.join(' ')} exited with ${res.status}:\n${res.stderr.trim().split('\n').slice(-15).join('\n')}`);
  const last = res.stdout.trim().split('\n').slice(-1)[0] ?? '';
  return JSON.parse(last) as unknown;
}

/** One long-lived interpreter answering JSON requests in order (`script serve`). */
export class PythonWorker {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: { resolve: (v: unknown) => void; reject: (e: Error) => void }[] = [];
  private stderr = '';
  private exited: Error | undefined;

  constructor(readonly script: string) {
    this.child = spawn(PYTHON, [script, 'serve'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-8000);
    });
    const lines = readline.createInterface({ input: this.child.stdout });
    lines.on('line', (line) => {
      const next = this.waiting.shift();
      if (next === undefined) return;
      try {
        const reply = JSON.parse(line) as { error?: string };
        if (typeof reply === 'object' && reply !== null && typeof reply.error === 'string') next.reject(new Error(`${script}: ${reply.error}`));
        else next.resolve(reply);
      } catch {
        next.reject(new Error(`${script}: not JSON: ${line.slice(0, 200)}`));
      }
    });
    const fail = (e: Error): void => {
      this.exited = e;
      for (const w of this.waiting.splice(0)) w.reject(e);
    };
    this.child.on('error', (e) => fail(new Error(`${PYTHON} ${script}: ${e.message}; install python3-optuna or set KATIB_BENCH_PYTHON`)));
    this.child.on('exit', (code, signal) => fail(new Error(`${PYTHON} ${script} exited (code ${code}, signal ${signal}):\n${this.stderr.trim().split('\n').slice(-15).join('\n')}`)));
  }

  /** Sends one request and resolves with its reply; rejects when the script reports an error or dies. */
  request(req: unknown): Promise<unknown> {
    if (this.exited) return Promise.reject(this.exited);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.child.stdin.write(`${JSON.stringify(req)}\n`);
    });
  }

  /** Closes stdin (the script exits at end of input) and waits for the process to end. */
  close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.stdin.end();
    });
  }
}
