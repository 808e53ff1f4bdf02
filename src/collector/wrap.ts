/**
 * Wrap mode of the collector (`katib collect [flags] -- CMD ARGS...`): the collector is the training's parent
 * instead of a sidecar, for run objects to which no container can be added (a Kubeflow Trainer TrainJob: its pod
 * template comes from the training runtime, and its overrides can only patch containers the runtime defines).
 * It runs CMD with ARGS exactly as given (no shell), copies its stdout and stderr to its own and, for the StdOut
 * collector, to the metrics file, collects as the sidecar does, forwards SIGTERM and SIGINT to the child, and exits
 * with the child's exit code (0 when the collector stopped it early; 128+n when signal n ended it).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { constants } from 'node:os';
import { childProcess } from './main-process.js';
import { runCollector, type CollectorOptions, type CollectorResult } from './sidecar.js';

export interface WrapOptions extends Omit<CollectorOptions, 'main' | 'stopFile'> {
  readonly command: string;
  readonly args: readonly string[];
  /** True for the StdOut collector: the child's output is the metrics file. False: the child writes the file. */
  readonly copyOutput: boolean;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly env?: NodeJS.ProcessEnv;
}

function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const n = signal === null ? undefined : constants.signals[signal];
  return 128 + (n ?? 1);
}

/** Opens the metrics file for appending, creating its folder; falls back to a temporary file. */
function openOutput(file: string, log: (line: string) => void): { stream: fs.WriteStream; file: string } {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.closeSync(fs.openSync(file, 'a'));
    return { stream: fs.createWriteStream(file, { flags: 'a' }), file };
  } catch (e) {
    const fallback = path.join(os.tmpdir(), `katib-metrics-${process.pid}.log`);
    log(`cannot write ${file} (${e instanceof Error ? e.message : String(e)}); copying the output to ${fallback} instead`);
    return { stream: fs.createWriteStream(fallback, { flags: 'a' }), file: fallback };
  }
}

/**
 * Runs the command as a child and collects its metrics; resolves with the collector's result and the exit code the
 * process should end with. A command that cannot be started ends with 127 (ENOENT) or 126, as a shell's would.
 */
export async function runWrapped(opts: WrapOptions): Promise<{ result: CollectorResult | undefined; exitCode: number }> {
  const log = opts.log ?? (() => undefined);
  const output = opts.copyOutput ? openOutput(opts.file, log) : undefined;
  const child = spawn(opts.command, [...opts.args], {
    stdio: ['inherit', opts.copyOutput ? 'pipe' : 'inherit', opts.copyOutput ? 'pipe' : 'inherit'],
    env: opts.env ?? process.env,
  });
  const forward = (signal: NodeJS.Signals) => (): void => {
    child.kill(signal);
  };
  const onTerm = forward('SIGTERM');
  const onInt = forward('SIGINT');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  const copy = (to: NodeJS.WritableStream) => (chunk: Buffer): void => {
    to.write(chunk);
    output?.stream.write(chunk);
  };
  child.stdout?.on('data', copy(opts.stdout));
  child.stderr?.on('data', copy(opts.stderr));
  let spawnError: NodeJS.ErrnoException | undefined;
  const done = new Promise<number>((resolve) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      spawnError = err;
      const code = err.code === 'ENOENT' ? 127 : 126;
      if (output === undefined) resolve(code);
      else output.stream.end(() => resolve(code));
    });
    // 'close' comes after the child's stdout and stderr have ended; then the copy is flushed.
    child.once('close', (code, signal) => {
      const exit = exitCodeOf(code, signal);
      if (output === undefined) resolve(exit);
      else output.stream.end(() => resolve(exit));
    });
  });
  try {
    const result = await runCollector({ ...opts, file: output?.file ?? opts.file, main: childProcess(child, done) });
    const code = await done;
    if (spawnError !== undefined) {
      opts.stderr.write(`katib collect: cannot run ${JSON.stringify(opts.command)}: ${spawnError.message}\n`);
      return { result, exitCode: code };
    }
    return { result, exitCode: result.phase === 'early-stopped' ? 0 : code };
  } finally {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
  }
}

/** Runs the command without collecting (a non-primary node of a multi-node job); resolves with its exit code. */
export function runPlain(command: string, args: readonly string[], stderr: NodeJS.WritableStream): Promise<number> {
  const child = spawn(command, [...args], { stdio: 'inherit' });
  const onTerm = (): void => void child.kill('SIGTERM');
  const onInt = (): void => void child.kill('SIGINT');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  return new Promise<number>((resolve) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      stderr.write(`katib collect: cannot run ${JSON.stringify(command)}: ${err.message}\n`);
      resolve(err.code === 'ENOENT' ? 127 : 126);
    });
    child.once('close', (code, signal) => resolve(exitCodeOf(code, signal)));
  }).finally(() => {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
  });
}
