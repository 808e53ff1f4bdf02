/**
 * The metrics collector of a trial on Kubernetes (`katib collect`): Katib's file metrics collector, written again.
 * It runs next to the training process (a sidecar in the trial's pod, or its parent in wrap mode), and
 * - tails the metrics file (the training's stdout and stderr copied there by the wrapped command, or the file the
 *   training writes itself) while the training runs, parsing lines as TEXT (metricsFormat regexes) or JSON;
 * - reports what it parsed to the DB-manager in batches whose ids are the byte ranges they came from (prefixed by
 *   the run id, the pod's name), so a report retried after a lost answer or re-sent after a collector restart is
 *   stored once: a batch is marked read only after the DB-manager stored it, so nothing is dropped either;
 * - enforces the trial's early-stopping rules (src/collector/rules.ts, the embedded runtime's semantics): on a
 *   breach it writes the stop file (which the wrapped command watches), sends SIGTERM to the training process and
 *   SIGKILL after the grace period, then calls EarlyStopping.SetTrialStatus;
 * - when the training process has ended (exit marker, pid gone, or child exit) reads the rest, reports it, reports
 *   `unavailable` for the objective metric if it never saw it (as Katib's collector does), and writes how it ended
 *   to its termination message (src/collector/termination.ts), which the Kubernetes runtime reads.
 * It exits 0 once everything is stored, whatever the training's exit code (the training container reports that);
 * it fails only when the DB-manager stays unreachable, so the pod fails rather than losing metrics.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { EarlyStoppingRule, ObjectiveType } from '../api/types.js';
import { UNAVAILABLE_METRIC_VALUE } from '../api/types.js';
import { UnavailableError, ValidationError } from '../errors.js';
import type { MetricLogEntry, ObservationStore } from '../store/store.js';
import type { MainProcess } from './main-process.js';
import { createLineParser, type LineParser } from './parse.js';
import { EarlyStoppingTracker, type RuleBreach } from './rules.js';
import { writeOutcome, type CollectorOutcome } from './termination.js';

/** Katib's timestamp for an `unavailable` value: Go's zero time. */
export const UNAVAILABLE_TIMESTAMP = '0001-01-01T00:00:00Z';

/** The collector's state file name, beside the metrics file by default. */
export const STATE_FILE = '.katib-collector.state';

/** Bytes read from the metrics file per poll at most; the rest is read on the next poll. */
const MAX_READ_BYTES = 4 * 1024 * 1024;

export interface CollectorOptions {
  readonly trial: string;
  /** Metric names to collect, the objective metric first. */
  readonly metricNames: readonly string[];
  /** The objective's direction: rules on the objective compare the best value so far. Default minimize. */
  readonly objectiveType?: ObjectiveType;
  /** The metrics file to tail. */
  readonly file: string;
  readonly format: 'TEXT' | 'JSON';
  /** metricsFormat regexes for TEXT (default Katib's `name=value`). */
  readonly metricsFormat?: readonly string[];
  readonly rules?: readonly EarlyStoppingRule[];
  /** Where metrics go: a DbManagerClient in a pod. */
  readonly store: ObservationStore;
  /** Told when the collector stopped the trial (Katib's EarlyStopping.SetTrialStatus). */
  readonly earlyStopping?: { setTrialStatus(trialName: string): Promise<void> };
  readonly main: MainProcess;
  /** Prefix of batch ids, unique per run of the training (the pod's name): a retried pod's batches are new ones. */
  readonly runId: string;
  /** Written (with the reason) before the training process is signalled; the wrapped command exits 0 when it exists. */
  readonly stopFile?: string;
  /**
   * Where to keep how far the file was stored (in the metrics folder, which outlives a restart of the collector's
   * container): a restarted collector resumes there and re-sends an unconfirmed range with its batch id.
   */
  readonly stateFile?: string;
  /** Where to write the outcome (the container's terminationMessagePath). */
  readonly terminationLog?: string;
  /** Poll interval, ms. Default 500. */
  readonly pollMs?: number;
  /** Time between SIGTERM and SIGKILL when stopping the training, ms. Default 10,000. */
  readonly gracePeriodMs?: number;
  /** How long to keep retrying the final report before giving up (the pod then fails), ms. Default 300,000. */
  readonly finalReportTimeoutMs?: number;
  /** Stops waiting for the training (e.g. SIGTERM to the collector): what was written so far is reported. */
  readonly signal?: AbortSignal;
  readonly now?: () => Date;
  readonly log?: (line: string) => void;
}

export interface CollectorResult extends CollectorOutcome {
  /** True when the objective metric was seen at least once. */
  readonly objectiveFound: boolean;
  /** The training's exit code when known. */
  readonly exitCode?: number;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** What the collector has stored, kept in a file so that a restarted collector resumes without duplicates. */
interface TailState {
  /** Bumped when the file shrinks (truncated and rewritten): batch ids of the new content must differ. */
  generation: number;
  /** Bytes consumed: the end of the last complete line parsed and stored. */
  offset: number;
  /** The byte range being reported: re-sent exactly (same id) after a failure or a restart. */
  pending?: { start: number; end: number };
}

/** Reads the metrics file by byte ranges, complete lines only (the last, unterminated one on the final read). */
class FileTail {
  state: TailState = { generation: 0, offset: 0 };

  constructor(
    readonly file: string,
    private readonly stateFile: string | undefined,
  ) {
    if (stateFile === undefined) return;
    try {
      const saved: unknown = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
      const r = saved as Partial<TailState>;
      if (Number.isInteger(r.generation) && Number.isInteger(r.offset)) {
        this.state = { generation: r.generation as number, offset: r.offset as number };
        const p = r.pending;
        if (p !== undefined && Number.isInteger(p.start) && Number.isInteger(p.end) && p.end > p.start) this.state.pending = { start: p.start, end: p.end };
      }
    } catch {
      // no state yet
    }
  }

  /** Writes the state atomically; best effort (without it a restart may re-send what follows the last save). */
  save(): void {
    if (this.stateFile === undefined) return;
    try {
      const tmp = `${this.stateFile}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify(this.state));
      fs.renameSync(tmp, this.stateFile);
    } catch {
      // a read-only folder: collection goes on without resumption
    }
  }

  /** The bytes [start, end) of the file (fewer when they are not all there). */
  bytes(start: number, end: number): Buffer {
    let fd: number;
    try {
      fd = fs.openSync(this.file, 'r');
    } catch {
      return Buffer.alloc(0);
    }
    try {
      const buf = Buffer.alloc(end - start);
      const got = fs.readSync(fd, buf, 0, buf.length, start);
      return buf.subarray(0, got);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** The next range of complete lines after the offset, or undefined when there is none. */
  next(final: boolean): { start: number; end: number } | undefined {
    let size: number;
    try {
      size = fs.statSync(this.file).size;
    } catch {
      return undefined;
    }
    if (size < this.state.offset) {
      this.state = { generation: this.state.generation + 1, offset: 0 };
      this.save();
    }
    const start = this.state.offset;
    if (size === start) return undefined;
    const length = Math.min(size - start, MAX_READ_BYTES);
    const data = this.bytes(start, start + length);
    if (data.length === 0) return undefined;
    // Cut after the last newline: a newline byte never occurs inside a multi-byte UTF-8 character. A line longer
    // than a whole chunk is taken as it is rather than waited for forever.
    const last = data.lastIndexOf(0x0a);
    const whole = (final && start + data.length >= size) || (last < 0 && length === MAX_READ_BYTES) ? data.length : last + 1;
    return whole <= 0 ? undefined : { start, end: start + whole };
  }
}

/**
 * Collects the trial's metrics until the training process has ended; see the module comment. Resolves with how it
 * ended once every metric is stored. Throws UnavailableError when the final report still fails after
 * `finalReportTimeoutMs`, ValidationError when the DB-manager rejects a batch.
 */
export async function runCollector(opts: CollectorOptions): Promise<CollectorResult> {
  const log = opts.log ?? (() => undefined);
  const now = opts.now ?? (() => new Date());
  const pollMs = opts.pollMs ?? 500;
  const objective = opts.metricNames[0] ?? '';
  const parse: LineParser = createLineParser({ metrics: opts.metricNames, filters: opts.metricsFormat, format: opts.format, now });
  const tracker = new EarlyStoppingTracker(opts.rules ?? [], { name: objective, maximize: opts.objectiveType === 'maximize' });
  const tail = new FileTail(opts.file, opts.stateFile);
  const base = path.basename(opts.file);
  let reported = 0;
  let objectiveFound = false;
  let breach: RuleBreach | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  /** The range being reported with its parsed entries (kept, so a retry sends the same entries). */
  let pending: { start: number; end: number; entries: MetricLogEntry[] } | undefined;

  const parseRange = (start: number, end: number): MetricLogEntry[] => {
    const entries: MetricLogEntry[] = [];
    for (const line of tail.bytes(start, end).toString('utf8').split('\n')) if (line !== '') entries.push(...parse(line.replace(/\r$/, '')));
    return entries;
  };

  const account = (entries: readonly MetricLogEntry[]): void => {
    reported += entries.length;
    if (!objectiveFound && entries.some((e) => e.name === objective && e.value !== UNAVAILABLE_METRIC_VALUE)) objectiveFound = true;
    const hit = tracker.observe(entries);
    if (hit !== undefined && breach === undefined) stopTraining(hit);
  };

  /** Parses and stores the next range of lines; true when there was one. Throws when the report fails. */
  const drainOnce = async (final: boolean): Promise<boolean> => {
    if (pending === undefined) {
      const range = tail.next(final);
      if (range === undefined) return false;
      pending = { ...range, entries: parseRange(range.start, range.end) };
      // Recorded before sending: a collector restarted after a lost answer re-sends this very range.
      tail.state.pending = { start: range.start, end: range.end };
      tail.save();
    }
    const { start, end, entries } = pending;
    if (entries.length > 0) await opts.store.report(opts.trial, entries, `${opts.runId}:${base}:${tail.state.generation}:${start}-${end}`);
    pending = undefined;
    tail.state = { generation: tail.state.generation, offset: end };
    tail.save();
    account(entries);
    return true;
  };

  const drain = async (final: boolean): Promise<void> => {
    while (await drainOnce(final)) {
      // keep reading: a range is capped at MAX_READ_BYTES
    }
  };

  const stopTraining = (hit: RuleBreach): void => {
    breach = hit;
    log(`trial ${opts.trial}: ${hit.message}; stopping the training process (${opts.main.describe()})`);
    if (opts.stopFile !== undefined) {
      try {
        fs.writeFileSync(opts.stopFile, `${hit.message}\n`);
      } catch (e) {
        log(`cannot write the stop file ${opts.stopFile} (${errorText(e)}); signalling the training process only`);
      }
    }
    opts.main.signal('SIGTERM');
    killTimer = setTimeout(() => {
      if (opts.main.state() !== 'exited' && opts.main.signal('SIGKILL')) log(`the training process outlived the ${(opts.gracePeriodMs ?? 10_000) / 1000} s grace period: SIGKILL`);
    }, opts.gracePeriodMs ?? 10_000);
    killTimer.unref();
  };

  // A restarted collector: what was stored already only feeds the rules again; an unconfirmed range is re-sent.
  if (tail.state.offset > 0) account(parseRange(0, tail.state.offset));
  if (tail.state.pending !== undefined) pending = { ...tail.state.pending, entries: parseRange(tail.state.pending.start, tail.state.pending.end) };

  log(`collecting ${opts.metricNames.join(', ')} of trial ${opts.trial} from ${opts.file} (${opts.format}) while ${opts.main.describe()} runs`);
  try {
    while (opts.main.state() !== 'exited' && !opts.signal?.aborted) {
      try {
        await drain(false);
      } catch (e) {
        if (e instanceof ValidationError) throw e;
        // Nothing moved: the same bytes are read and sent with the same batch id next time.
        log(`report failed, retrying: ${errorText(e)}`);
      }
      await sleep(pollMs, opts.signal);
    }
  } finally {
    if (killTimer !== undefined) clearTimeout(killTimer);
  }

  const deadline = Date.now() + (opts.finalReportTimeoutMs ?? 300_000);
  for (;;) {
    try {
      await drain(true);
      break;
    } catch (e) {
      if (e instanceof ValidationError) throw e;
      if (Date.now() >= deadline) {
        throw new UnavailableError(`trial ${opts.trial}: could not store the last metrics (from byte ${tail.state.offset} of ${opts.file}): ${errorText(e)}`, { cause: e });
      }
      log(`final report failed, retrying: ${errorText(e)}`);
      await sleep(Math.max(pollMs, 1000));
    }
  }

  if (!objectiveFound && objective !== '') {
    try {
      await opts.store.report(opts.trial, [{ timestamp: UNAVAILABLE_TIMESTAMP, name: objective, value: UNAVAILABLE_METRIC_VALUE }], `${opts.runId}:unavailable`);
      log(`trial ${opts.trial}: no value of ${objective} found; reported ${UNAVAILABLE_METRIC_VALUE}`);
    } catch (e) {
      // katib-ts's DB-manager stores numbers only; the controller marks the trial MetricsUnavailable from the
      // empty log all the same.
      log(`trial ${opts.trial}: no value of ${objective} found; the DB-manager did not take ${JSON.stringify(UNAVAILABLE_METRIC_VALUE)} (${errorText(e)})`);
    }
  }

  if (breach !== undefined && opts.earlyStopping !== undefined) {
    try {
      await opts.earlyStopping.setTrialStatus(opts.trial);
    } catch (e) {
      // The runtime learns of the early stop from the termination message; the service call is Katib's courtesy.
      log(`SetTrialStatus for trial ${opts.trial} failed: ${errorText(e)}`);
    }
  }

  const exitCode = opts.main.exitCode();
  const outcome: CollectorOutcome = breach !== undefined ? { phase: 'early-stopped', message: breach.message, metrics: reported } : { phase: 'completed', metrics: reported };
  if (opts.terminationLog !== undefined && !writeOutcome(opts.terminationLog, outcome)) log(`cannot write the outcome to ${opts.terminationLog}`);
  log(`trial ${opts.trial}: ${outcome.phase}, ${reported} metric values stored${exitCode !== undefined ? `, training exit code ${exitCode}` : ''}`);
  return { ...outcome, objectiveFound, ...(exitCode !== undefined ? { exitCode } : {}) };
}
