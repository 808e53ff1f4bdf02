/**
 * Trials as local processes (embedded mode). Each trial gets a folder `<root>/<namespace>/<trial>/` holding
 * run.json (what to run), output.log (stdout and stderr), launcher.json, exit.json and stop.json. A detached
 * launcher (launcher.ts) runs the command without a shell, so the trial outlives a controller crash and its end is
 * still recorded. Until a launcher this process spawned has written launcher.json, the trial counts as running and
 * is not launched again; one stopped before then never runs its command (the launcher checks stop.json). While a
 * trial runs, its metrics are tailed from the output (StdOut collector) or the metrics file (File collector), stored
 * in the ObservationStore with offset-based batch ids (re-reading after a restart never duplicates), and checked
 * against the trial's early-stopping rules.
 *
 * A folder belongs to one trial: run.json records the trial's uid. A folder of the same name left by an earlier
 * trial (a store that was removed while its trials folder stayed, say) is moved aside to `<trial>.orphaned-<uid>`
 * instead of being adopted, so a new trial never inherits an old one's outcome. Deleting the experiment removes
 * those folders with the trial's own (removeLocalRuns).
 *
 * GPUs: given a list of device ids, a trial requesting `nvidia.com/gpu: N` gets N ids of its own through
 * CUDA_VISIBLE_DEVICES; trials that don't fit wait (phase `pending`).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Experiment, Trial } from '../api/types.js';
import { findPrimaryContainer } from '../api/template.js';
import { createLineParser, type LineParser } from '../collector/parse.js';
import { EarlyStoppingTracker } from '../collector/rules.js';
import { checkpointPlan } from '../../algorithms/pbt/index.js';
import type { MetricLogEntry, ObservationStore } from '../store/store.js';
import type { ExitFile, RunFile } from './launcher.js';
import { isAlive, orphanedDir } from './launcher.js';
import type { RunObservation, TrialRuntime } from './runtime.js';

export interface LocalRuntimeOptions {
  /** Folder for trial folders, e.g. ./.katib/trials. */
  readonly root: string;
  readonly observations: ObservationStore;
  /** Working directory of trials when the experiment names none (the experiment file's folder). */
  readonly defaultCwd: string;
  /** GPU device ids to hand out; undefined means GPUs are not managed. */
  readonly gpus?: readonly string[];
  /** Seconds between SIGTERM and SIGKILL when stopping a trial. Default 10. */
  readonly gracePeriodSeconds?: number;
  /** Extra environment for every trial (e.g. the DB-manager address for push metrics). */
  readonly env?: Readonly<Record<string, string>>;
  /** Poll interval of the metrics tail, ms. Default 200. */
  readonly pollMs?: number;
  /** Folder for PBT checkpoints; default `<root>/../checkpoints`. */
  readonly checkpointRoot?: string;
  /** Called when a trial is stopped by an early-stopping rule (Katib calls SetTrialStatus here). */
  readonly onEarlyStopped?: (trial: Trial) => void;
}

/** The annotation holding the experiment's working directory in embedded mode. */
export const WORKDIR_ANNOTATION = 'katib-ts.dev/working-dir';

interface StopFile {
  readonly reason: 'killed' | 'early-stopped';
  readonly message?: string;
}

interface Tail {
  readonly trial: Trial;
  readonly experiment: { namespace: string; name: string };
  readonly file: string;
  offset: number;
  partial: string;
  readonly parse: LineParser;
  readonly rules: EarlyStoppingTracker;
  /** A read batch whose report has not been confirmed yet. */
  unconfirmed: PendingBatch | undefined;
}

interface PendingBatch {
  readonly entries: readonly MetricLogEntry[];
  readonly batchId: string;
  /** Where the file is read up to once this batch is stored. */
  readonly offset: number;
  readonly partial: string;
}

function launcherPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const js = path.join(here, 'launcher.js');
  if (fs.existsSync(js)) return js;
  // Running from sources (tests): use the built launcher.
  const built = path.resolve(here, '../../dist/src/runtime/launcher.js');
  if (fs.existsSync(built)) return built;
  throw new Error(`trial launcher not found at ${js} or ${built}; run \`npm run build\``);
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** The last `n` lines of a file (reads at most 16 KiB). */
export function tailLines(file: string, n = 10): string[] {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const size = fs.fstatSync(fd).size;
    const len = Math.min(size, 16 * 1024);
    const buf = Buffer.alloc(len);
    fs.readSync(fd, buf, 0, len, size - len);
    const lines = buf.toString('utf8').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    return lines.slice(-n);
  } catch {
    return [];
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Where a LocalRuntime keeps its folders (trials under `<root>/<namespace>`); `checkpointRoot` defaults to `<root>/../checkpoints`. */
export interface LocalFolders {
  readonly root: string;
  readonly checkpointRoot?: string;
}

/**
 * A trial's PBT checkpoint folder (`<checkpointRoot>/<namespace>/<experiment>/<trial>`, so that experiments of one
 * name in two namespaces never share one) and the path its command names it by (`suggestion_trial_dir`); undefined
 * for experiments of other algorithms or without that setting.
 */
function checkpointOf(folders: LocalFolders, exp: Experiment, trial: Trial): { folder: string; mountPath: string; copyFrom: string | undefined } | undefined {
  if (exp.spec.algorithm?.algorithmName !== 'pbt') return undefined;
  const mountPath = exp.spec.algorithm.algorithmSettings?.find((s) => s.name === 'suggestion_trial_dir')?.value;
  if (!mountPath) return undefined;
  const root = path.join(folders.checkpointRoot ?? path.join(folders.root, '..', 'checkpoints'), exp.metadata.namespace ?? 'default');
  const plan = checkpointPlan(exp.metadata.name, { name: trial.metadata.name, labels: trial.spec.labels ?? trial.metadata.labels ?? {} });
  return { folder: path.join(root, plan.folder), mountPath: mountPath.replace(/\/+$/, ''), copyFrom: plan.copyFrom === undefined ? undefined : path.join(root, plan.copyFrom) };
}

/**
 * Removes `dir` and the folders moved aside from it (`orphanedDir(dir, tag)`). A sibling counts only when its name
 * is `dir`'s own followed at once by the orphaned suffix, so `exp-10.orphaned-…` is not taken for `exp-1`'s.
 */
function removeWithOrphans(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  const parent = path.dirname(dir);
  const prefix = orphanedDir(path.basename(dir), '');
  let names: string[];
  try {
    names = fs.readdirSync(parent);
  } catch {
    return;
  }
  for (const name of names) if (name.startsWith(prefix)) fs.rmSync(path.join(parent, name), { recursive: true, force: true });
}

/**
 * Removes what local runs of `trials` left on disk: each trial's folder, its PBT checkpoint folder, and the folders
 * of either that a later trial of the same name moved aside; then the experiment's checkpoint folder, if that left
 * it empty. Called when an experiment is deleted (`katib delete experiment`), after it left the store; missing
 * folders are skipped. Folders of other trials are never touched, even where one trial's name starts with another's.
 */
export function removeLocalRuns(folders: LocalFolders, exp: Experiment, trials: readonly Trial[]): void {
  const parents = new Set<string>();
  for (const trial of trials) {
    removeWithOrphans(path.join(folders.root, trial.metadata.namespace ?? exp.metadata.namespace ?? 'default', trial.metadata.name));
    const checkpoint = checkpointOf(folders, exp, trial);
    if (!checkpoint) continue;
    removeWithOrphans(checkpoint.folder);
    fs.rmSync(`${checkpoint.folder}.tmp`, { recursive: true, force: true }); // a copy from the parent cut short
    parents.add(path.dirname(checkpoint.folder));
  }
  for (const parent of parents) {
    try {
      fs.rmdirSync(parent); // only when empty: folders of trials no longer in the store stay
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOENT') throw e;
    }
  }
}

/** How long a launcher this process spawned is taken to be starting (see LocalRuntime.launcherStarting). */
const STARTING_TRUST_MS = 60_000;

/** How long stop() waits for a starting launcher to show whether it runs the trial. */
const STARTING_WAIT_MS = 10_000;

function gpuRequest(resources: unknown): number {
  const r = resources as { limits?: Record<string, unknown>; requests?: Record<string, unknown> } | undefined;
  const v = r?.limits?.['nvidia.com/gpu'] ?? r?.requests?.['nvidia.com/gpu'];
  const n = Number(v ?? 0);
  return Number.isFinite(n) && n > 0 ? Math.ceil(n) : 0;
}

export class LocalRuntime implements TrialRuntime {
  private readonly tails = new Map<string, Tail>();
  private readonly listeners = new Set<(e: { namespace: string; name: string }) => void>();
  private readonly gpuOwners = new Map<string, string>();
  /** Trials (by key and uid) whose folder was checked to be theirs in this process. */
  private readonly claimed = new Set<string>();
  /**
   * Launchers this process spawned that may not have written launcher.json yet (Node takes tens of milliseconds to
   * start, seconds on a loaded machine): trial key → their pid and when they were spawned.
   */
  private readonly starting = new Map<string, { pid: number; at: number }>();
  private readonly timer: NodeJS.Timeout;
  private polling = false;

  constructor(private readonly opts: LocalRuntimeOptions) {
    this.timer = setInterval(() => void this.poll(), opts.pollMs ?? 200);
    this.timer.unref();
  }

  /** The folder of a trial. */
  trialDir(trial: Trial): string {
    return path.join(this.opts.root, trial.metadata.namespace ?? 'default', trial.metadata.name);
  }

  /** The file holding the trial's stdout and stderr. */
  outputFile(trial: Trial): string {
    return path.join(this.trialDir(trial), 'output.log');
  }

  private key(trial: Trial): string {
    return `${trial.metadata.namespace ?? 'default'}/${trial.metadata.name}`;
  }

  /**
   * Returns the trial's folder after making sure it is this trial's: one whose run.json names another uid is moved
   * aside (see the module comment). A folder without a recorded uid, or a trial without one, is taken as it is.
   */
  private ownDir(trial: Trial): string {
    const dir = this.trialDir(trial);
    const uid = trial.metadata.uid;
    const claim = `${this.key(trial)}/${uid}`;
    if (!uid || this.claimed.has(claim)) return dir;
    const owner = readJson<RunFile>(path.join(dir, 'run.json'))?.uid;
    if (owner !== undefined && owner !== uid) fs.renameSync(dir, orphanedDir(dir, owner));
    this.claimed.add(claim);
    return dir;
  }

  private cwdOf(exp: Experiment): string {
    return exp.metadata.annotations?.[WORKDIR_ANNOTATION] ?? this.opts.defaultCwd;
  }

  private metricsFile(exp: Experiment, trial: Trial): { file: string; format: 'TEXT' | 'JSON' } {
    const mc = trial.spec.metricsCollector ?? exp.spec.metricsCollectorSpec;
    if (mc?.collector?.kind === 'File') {
      const p = mc.source?.fileSystemPath;
      return { file: path.resolve(this.cwdOf(exp), p?.path ?? '/var/log/katib/metrics.log'), format: p?.format === 'JSON' ? 'JSON' : 'TEXT' };
    }
    return { file: this.outputFile(trial), format: 'TEXT' };
  }

  private allocateGpus(trial: Trial, count: number): string[] | undefined {
    const all = this.opts.gpus ?? [];
    const owner = this.key(trial);
    const mine = all.filter((g) => this.gpuOwners.get(g) === owner);
    if (mine.length >= count) return mine.slice(0, count);
    const free = all.filter((g) => !this.gpuOwners.has(g));
    if (free.length < count - mine.length) return undefined;
    const picked = [...mine, ...free.slice(0, count - mine.length)];
    for (const g of picked) this.gpuOwners.set(g, owner);
    return picked;
  }

  /** A running trial adopted after a restart keeps the GPUs recorded in its run.json. */
  private adoptGpus(trial: Trial): void {
    if (this.opts.gpus === undefined) return;
    const owner = this.key(trial);
    if ([...this.gpuOwners.values()].includes(owner)) return;
    const ids = readJson<RunFile>(path.join(this.trialDir(trial), 'run.json'))?.env['CUDA_VISIBLE_DEVICES'];
    for (const g of (ids ?? '').split(',').filter(Boolean)) this.gpuOwners.set(g, owner);
  }

  private releaseGpus(trial: Trial): void {
    const owner = this.key(trial);
    for (const [g, o] of this.gpuOwners) if (o === owner) this.gpuOwners.delete(g);
  }

  async start(exp: Experiment, trial: Trial): Promise<void | 'pending'> {
    const dir = this.ownDir(trial);
    if (fs.existsSync(path.join(dir, 'exit.json'))) return;
    const launcher = readJson<{ pid: number }>(path.join(dir, 'launcher.json'));
    if ((launcher && isAlive(launcher.pid)) || this.launcherStarting(trial)) {
      this.ensureTail(exp, trial);
      return;
    }
    const container = findPrimaryContainer(trial.spec.runSpec ?? {}, trial.spec.primaryContainerName);
    fs.mkdirSync(dir, { recursive: true });
    const runFile = path.join(dir, 'run.json');
    let run = readJson<RunFile>(runFile);
    if (!run) {
      const gpus = gpuRequest(container.resources);
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
      Object.assign(env, this.opts.env ?? {});
      for (const e of container.env) env[e.name] = e.value;
      env['KATIB_TRIAL_NAME'] = trial.metadata.name;
      env['KATIB_EXPERIMENT_NAME'] = exp.metadata.name;
      env['KATIB_TRIAL_DIR'] = dir;
      if (this.opts.gpus !== undefined) {
        if (gpus > this.opts.gpus.length) {
          throw new Error(`the trial requests nvidia.com/gpu: ${gpus} but --gpus lists ${this.opts.gpus.length} (${this.opts.gpus.join(',') || 'none'}); lower the request or list more GPUs`);
        }
        const ids = gpus > 0 ? this.allocateGpus(trial, gpus) : [];
        if (ids === undefined) return 'pending'; // waits until enough GPUs are free
        env['CUDA_VISIBLE_DEVICES'] = ids.join(',');
      }
      const checkpoint = this.prepareCheckpoint(exp, trial);
      let argv = [...container.command, ...container.args];
      if (checkpoint) {
        // Katib mounts each PBT trial's own folder at suggestion_trial_dir; locally the path is rewritten instead.
        argv = argv.map((a) => a.split(checkpoint.mountPath).join(checkpoint.folder));
        env['KATIB_CHECKPOINT_DIR'] = checkpoint.folder;
      }
      const [command, ...args] = argv;
      if (command === undefined) throw new Error(`trial ${trial.metadata.name}: the primary container has no command or args to run`);
      run = { command, args, env, cwd: this.cwdOf(exp), ...(trial.metadata.uid ? { uid: trial.metadata.uid } : {}) };
      fs.writeFileSync(runFile, JSON.stringify(run, null, 2));
    }
    const { file } = this.metricsFile(exp, trial);
    if (file !== this.outputFile(trial) && !fs.existsSync(path.join(dir, 'metrics-offset'))) {
      // Only what this trial writes counts: skip what an earlier trial left in a shared metrics file.
      const size = fs.existsSync(file) ? fs.statSync(file).size : 0;
      fs.writeFileSync(path.join(dir, 'metrics-offset'), String(size));
    }
    const child = spawn(process.execPath, [launcherPath(), dir], { detached: true, stdio: 'ignore' });
    child.unref();
    if (child.pid !== undefined) this.starting.set(this.key(trial), { pid: child.pid, at: Date.now() });
    this.ensureTail(exp, trial);
  }

  /**
   * True while a launcher this process spawned for the trial is alive and launcher.json names no live launcher yet
   * (a folder relaunched after a machine restart still holds the dead one's): the trial is starting, and must be
   * neither started again nor taken for absent. Trusted for a minute at most (a pid can be reused); a launcher
   * writes launcher.json within its first milliseconds of running.
   */
  private launcherStarting(trial: Trial): boolean {
    const key = this.key(trial);
    const entry = this.starting.get(key);
    if (entry === undefined) return false;
    if (Date.now() - entry.at < STARTING_TRUST_MS && isAlive(entry.pid)) {
      const launcher = readJson<{ pid: number }>(path.join(this.trialDir(trial), 'launcher.json'));
      if (!launcher || !isAlive(launcher.pid)) return true;
    }
    this.starting.delete(key);
    return false;
  }

  /**
   * For PBT trials: the trial's checkpoint folder, created and seeded with a copy of its parent's folder. Called
   * only before the trial's first launch (run.json not yet written), so a folder already there is no checkpoint of
   * this trial: an earlier trial of the same name left it (its store was removed), or a start was interrupted right
   * after the copy. It is moved aside like an orphaned trial folder and the trial starts from its parent's.
   * Undefined for other algorithms.
   */
  private prepareCheckpoint(exp: Experiment, trial: Trial): { folder: string; mountPath: string } | undefined {
    const checkpoint = checkpointOf(this.opts, exp, trial);
    if (!checkpoint) return undefined;
    const { folder, mountPath, copyFrom: parent } = checkpoint;
    if (fs.existsSync(folder)) fs.renameSync(folder, orphanedDir(folder, `${Date.now()}`));
    fs.rmSync(`${folder}.tmp`, { recursive: true, force: true });
    if (parent !== undefined && fs.existsSync(parent)) fs.cpSync(parent, `${folder}.tmp`, { recursive: true });
    else fs.mkdirSync(`${folder}.tmp`, { recursive: true });
    fs.renameSync(`${folder}.tmp`, folder);
    return { folder, mountPath };
  }

  private ensureTail(exp: Experiment, trial: Trial): Tail {
    const k = this.key(trial);
    const existing = this.tails.get(k);
    if (existing) return existing;
    const { file, format } = this.metricsFile(exp, trial);
    const objective = trial.spec.objective ?? exp.spec.objective;
    const metrics = [objective?.objectiveMetricName ?? '', ...(objective?.additionalMetricNames ?? [])].filter(Boolean);
    const mc = trial.spec.metricsCollector ?? exp.spec.metricsCollectorSpec;
    // Push collector: the trial reports through the DBManager API itself; its output is not parsed.
    const push = mc?.collector?.kind === 'Push';
    const startOffset = Number(readJson<number>(path.join(this.trialDir(trial), 'metrics-offset')) ?? 0);
    const tail: Tail = {
      trial,
      experiment: { namespace: exp.metadata.namespace ?? 'default', name: exp.metadata.name },
      file,
      offset: Number.isFinite(startOffset) ? startOffset : 0,
      partial: '',
      parse: push ? () => [] : createLineParser({ metrics, filters: mc?.source?.filter?.metricsFormat, format, now: () => new Date() }),
      unconfirmed: undefined,
      rules: new EarlyStoppingTracker(trial.spec.earlyStoppingRules ?? [], { name: objective?.objectiveMetricName ?? '', maximize: objective?.type === 'maximize' }),
    };
    this.tails.set(k, tail);
    return tail;
  }

  /**
   * Reads what the trial wrote since the last read (`final` also parses an unterminated last line) and stores it.
   * A batch whose report failed is kept and resent first, with the same byte range and batch id, so a report that
   * was stored but whose answer was lost is never stored twice.
   */
  private async drain(tail: Tail, final: boolean): Promise<void> {
    if (tail.unconfirmed) {
      await this.commit(tail, tail.unconfirmed);
      tail.unconfirmed = undefined;
    }
    let fd: number;
    try {
      fd = fs.openSync(tail.file, 'r');
    } catch {
      return;
    }
    const entries: MetricLogEntry[] = [];
    let offset = tail.offset;
    let partial = tail.partial;
    try {
      const size = fs.fstatSync(fd).size;
      if (size > offset) {
        const buf = Buffer.alloc(size - offset);
        fs.readSync(fd, buf, 0, buf.length, offset);
        const lines = (partial + buf.toString('utf8')).split('\n');
        partial = lines.pop() ?? '';
        offset = size;
        for (const line of lines) entries.push(...tail.parse(line));
      }
      if (final && partial !== '') {
        entries.push(...tail.parse(partial));
        partial = '';
      }
    } finally {
      fs.closeSync(fd);
    }
    const batch: PendingBatch = { entries, batchId: `${path.basename(tail.file)}:${tail.offset}:${offset}`, offset, partial };
    try {
      await this.commit(tail, batch);
    } catch (e) {
      tail.unconfirmed = batch;
      throw e;
    }
  }

  private async commit(tail: Tail, batch: PendingBatch): Promise<void> {
    if (batch.entries.length > 0) await this.opts.observations.report(tail.trial.metadata.name, batch.entries, batch.batchId);
    tail.offset = batch.offset;
    tail.partial = batch.partial;
    if (batch.entries.length > 0) this.checkRules(tail, batch.entries);
  }

  private checkRules(tail: Tail, entries: readonly MetricLogEntry[]): void {
    const breach = tail.rules.observe(entries);
    if (!breach) return;
    const exp = { metadata: { name: tail.experiment.name, namespace: tail.experiment.namespace } } as Experiment;
    void this.stop(exp, tail.trial, 'early-stopped', breach.message).then(() => this.opts.onEarlyStopped?.(tail.trial));
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      for (const tail of [...this.tails.values()]) {
        try {
          await this.drain(tail, false);
        } catch {
          // The store is briefly unavailable: the offset did not move for a failed report, so the next poll retries.
        }
        if (fs.existsSync(path.join(this.trialDir(tail.trial), 'exit.json'))) {
          for (const l of this.listeners) l(tail.experiment);
        }
      }
    } finally {
      this.polling = false;
    }
  }

  async observe(exp: Experiment, trial: Trial): Promise<RunObservation> {
    const dir = this.ownDir(trial);
    const exit = readJson<ExitFile>(path.join(dir, 'exit.json'));
    const stop = readJson<StopFile>(path.join(dir, 'stop.json'));
    const launcher = readJson<{ pid: number; startedAt: string }>(path.join(dir, 'launcher.json'));
    const alive = launcher !== undefined && isAlive(launcher.pid);
    if (!exit && (alive || (!stop && this.launcherStarting(trial)))) {
      this.ensureTail(exp, trial);
      this.adoptGpus(trial);
      return { phase: 'running', startTime: launcher?.startedAt };
    }
    if (!exit && !stop) {
      // Never started, waiting for GPUs, or its launcher vanished (machine restart): start (again).
      return { phase: 'absent' };
    }
    const tail = this.ensureTail(exp, trial);
    await this.drain(tail, true);
    this.tails.delete(this.key(trial));
    this.releaseGpus(trial);
    const outputTail = tailLines(this.outputFile(trial));
    const completionTime = exit?.finishedAt ?? new Date().toISOString();
    const startTime = launcher?.startedAt;
    if (stop) return { phase: stop.reason, message: stop.message, startTime, completionTime, outputTail };
    if (!exit) return { phase: 'absent' };
    if (exit.error) {
      const hint = exit.error.code === 'ENOENT' ? 'check the command name and PATH' : exit.error.code === 'EACCES' ? 'make it executable' : 'check the command';
      const run = readJson<RunFile>(path.join(dir, 'run.json'));
      return {
        phase: 'failed',
        message: `could not start trial command ${JSON.stringify(run?.command ?? '?')} (${exit.error.code}: ${exit.error.message}); ${hint} in the trial template's primary container`,
        startTime,
        completionTime,
        outputTail,
      };
    }
    if (exit.code === 0) return { phase: 'succeeded', startTime, completionTime, outputTail };
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
    return { phase: 'failed', message: `trial command ${how}${outputTail.length ? `; last output:\n${outputTail.join('\n')}` : ''}`, startTime, completionTime, outputTail };
  }

  async stop(_exp: Experiment, trial: Trial, reason: 'killed' | 'early-stopped', message?: string): Promise<void> {
    const dir = this.ownDir(trial);
    if (!fs.existsSync(dir) || fs.existsSync(path.join(dir, 'exit.json'))) {
      if (fs.existsSync(dir) && !fs.existsSync(path.join(dir, 'stop.json')) && !fs.existsSync(path.join(dir, 'exit.json'))) {
        fs.writeFileSync(path.join(dir, 'stop.json'), JSON.stringify({ reason, message }));
      }
      return;
    }
    if (!fs.existsSync(path.join(dir, 'stop.json'))) fs.writeFileSync(path.join(dir, 'stop.json'), JSON.stringify({ reason, message }));
    // A launcher still starting either sees stop.json and runs nothing, or has taken the lock and runs the trial:
    // wait until it has shown which (launcher.json, or its exit), so that a trial it starts is stopped too.
    for (const until = Date.now() + STARTING_WAIT_MS; this.launcherStarting(trial) && Date.now() < until; ) await new Promise((r) => setTimeout(r, 20));
    const launcher = readJson<{ pid: number }>(path.join(dir, 'launcher.json'));
    if (!launcher || !isAlive(launcher.pid)) return;
    const group = -launcher.pid;
    try {
      process.kill(group, 'SIGTERM');
    } catch {
      return;
    }
    const deadline = Date.now() + (this.opts.gracePeriodSeconds ?? 10) * 1000;
    while (Date.now() < deadline) {
      if (fs.existsSync(path.join(dir, 'exit.json'))) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    try {
      process.kill(group, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  async remove(_exp: Experiment, trial: Trial): Promise<void> {
    this.tails.delete(this.key(trial));
    removeWithOrphans(this.trialDir(trial));
  }

  onChange(listener: (experiment: { namespace: string; name: string }) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    for (const tail of this.tails.values()) {
      try {
        await this.drain(tail, false);
      } catch {
        // best effort: a restarted controller re-reads from the start with the same batch ids
      }
    }
    this.tails.clear();
    this.listeners.clear();
  }
}
