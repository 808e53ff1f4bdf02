/**
 * `optimize()`: a study run in process with the algorithms the gRPC services run, the objective a plain async
 * function. The runner is a loop over turns, each turn level-based like a reconcile:
 *
 * 1. take the trials whose objective settled since the last turn and decide their status and value;
 * 2. if the study should end (goal reached, maxFailedTrials, numTrials, algorithm exhausted), start nothing more;
 *    else fill the free slots: interrupted trials of a resumed study first, then as many suggestions as slots
 *    remain, asked of the algorithm with the whole history (running trials included), as the adapter would;
 * 3. write it all in one store transaction, then report the finished trials to `onTrialComplete` and start the
 *    new objectives;
 * 4. wait for the next objective to settle (or the signal), and turn again. With nothing running, the study ends.
 *
 * Concurrency is a Promise pool bounded by `parallelTrials`: nothing runs on other threads; objectives overlap
 * while they await. Cancellation rejects at once (objectives that ignore their signal are not waited for); the other
 * ends wait for running trials to finish, so their results are kept.
 */
import type { TrialRecord, TrialState } from '../../algorithms/core/algorithm.js';
import type { StopRule } from '../../algorithms/earlystopping/index.js';
import { ownValue, setOwn } from '../api/guards.js';
import { ValidationError } from '../errors.js';
import { optimizeOnCluster } from './cluster/client.js';
import type { ClusterOptimizeOptions, ClusterStudyResult, ExperimentRef } from './cluster/types.js';
import { RuleChecker } from './early-stopping.js';
import { OptimizeError, StudyAbortedError, StudyFailedError, TrialStoppedError } from './errors.js';
import { resolveOptions, type ResolvedOptions } from './options.js';
import { paramsDecoder, toParameterSpecs, type ParamsOf, type SearchSpaceMap } from './search.js';
import { SqliteStudyStore } from './sqlite-study-store.js';
import { MemoryStudyStore, type StoredTrial, type StudyFingerprint, type StudyStore } from './study-store.js';
import { callSuggest, type StateText, type SuggestCall } from './suggester.js';
import type { Metrics, OptimizeOptions, StudyEndReason, StudyResult, Trial, TrialReport, TrialResult, TrialStatus, UntypedParams } from './types.js';

const STATE_OF: Record<TrialStatus, TrialState> = {
  Running: 'running',
  Succeeded: 'succeeded',
  Failed: 'failed',
  EarlyStopped: 'early-stopped',
  MetricsUnavailable: 'metrics-unavailable',
  Killed: 'killed',
};

/** How an objective call ended. */
type Outcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

/** A trial while the runner owns it. */
interface Entry {
  readonly number: number;
  readonly name: string;
  readonly assignments: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly params: UntypedParams;
  status: TrialStatus;
  value: number | undefined;
  metrics: Readonly<Record<string, number>>;
  reports: TrialReport[];
  message: string | undefined;
  startTime: number;
  completionTime: number | undefined;
  /** Bumped on every launch, so a settle from an abandoned run is ignored. */
  run: number;
  outcome: Outcome | undefined;
  /** Set when an early-stopping rule fired or the study is ending: the objective should stop. */
  stop: TrialStoppedError | undefined;
  /** The rule that fired, in words, for the trial's message. */
  stopMessage: string | undefined;
  controller: AbortController | undefined;
  checker: RuleChecker | undefined;
  result: TrialResult | undefined;
}

function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  return typeof e === 'string' ? e : `a non-Error value was thrown (${String(e)})`;
}

const isPlainRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The fingerprint a stored study must match to be resumed; keys sorted so the JSON compares stably. */
function fingerprintOf(o: ResolvedOptions): StudyFingerprint {
  const sorted = <V>(r: Readonly<Record<string, V>>): Record<string, V> => Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return {
    parameters: toParameterSpecs(o.parameters),
    metric: o.metric,
    mode: o.goal,
    additionalMetrics: o.additionalMetrics,
    metricStrategies: sorted(o.strategies),
    algorithm: o.algorithmName,
    algorithmSettings: sorted(o.raw),
  };
}

class StudyRunner {
  private readonly o: ResolvedOptions;
  private readonly store: StudyStore;
  private readonly call: SuggestCall;
  private readonly decode: (a: Readonly<Record<string, string>>) => UntypedParams;
  private readonly maximize: boolean;

  private readonly entries: Entry[] = [];
  /** Entry i's record as algorithms see it; replaced (never mutated) when the entry changes. */
  private readonly records: TrialRecord[] = [];
  private requeue: Entry[] = [];
  private done: Entry[] = [];
  private running = 0;
  private stateText: StateText;
  private suggestionCount = 0;
  private exhausted = false;

  private finished = 0;
  private succeeded = 0;
  private failed = 0;
  private earlyStopped = 0;
  private best: Entry | undefined;
  private lastFailure: Entry | undefined;

  /** Each Succeeded trial's objective values in report order: the early-stopping algorithm's input. */
  private readonly succeededLogs: number[][] = [];
  private rules: { readonly forSucceeded: number; readonly rules: readonly StopRule[] } | undefined;

  /** Why the study must stop now: the signal's reason or what a callback or the algorithm threw. */
  private stopCause: { readonly kind: 'signal' | 'callback' | 'algorithm' | 'store'; readonly error: unknown } | undefined;
  private callbacks: Promise<void> = Promise.resolve();
  private waiter: (() => void) | undefined;
  private woken = false;

  constructor(o: ResolvedOptions) {
    this.o = o;
    this.store = o.store.kind === 'sqlite' ? new SqliteStudyStore(o.store.file, o.store.studyName, o.store.synchronous) : new MemoryStudyStore();
    this.call = { algorithm: o.algorithm, settings: o.settings, raw: o.raw, space: o.space, goal: o.goal, objectiveMetric: o.metric };
    this.decode = paramsDecoder(o.parameters) as (a: Readonly<Record<string, string>>) => UntypedParams;
    this.maximize = o.goal === 'maximize';
  }

  async run(): Promise<StudyResult> {
    const onAbort = (): void => {
      this.stopCause ??= { kind: 'signal', error: this.o.signal?.reason };
      this.wake();
    };
    try {
      const loaded = this.store.open(fingerprintOf(this.o));
      this.stateText = loaded.stateText;
      this.suggestionCount = loaded.suggestionCount;
      for (const t of loaded.trials) {
        const e = this.entryOf(t);
        if (t.status === 'Running' || t.status === 'Killed') {
          // Waiting for a slot to run again: in flight as far as the algorithm is concerned.
          this.requeue.push(e);
          this.records[e.number - 1] = { ...this.recordOf(e), status: 'pending' };
        } else this.count(e);
      }
      if (this.o.signal?.aborted) onAbort();
      this.o.signal?.addEventListener('abort', onAbort, { once: true });
      return await this.loop();
    } finally {
      this.o.signal?.removeEventListener('abort', onAbort);
      this.store.close();
    }
  }

  private entryOf(t: StoredTrial): Entry {
    const e: Entry = {
      number: t.number,
      name: t.name,
      assignments: t.assignments,
      labels: t.labels,
      params: this.decode(t.assignments),
      status: t.status,
      value: t.value,
      metrics: t.metrics,
      reports: [...t.reports],
      message: t.message,
      startTime: t.startTime,
      completionTime: t.completionTime,
      run: 0,
      outcome: undefined,
      stop: undefined,
      stopMessage: undefined,
      controller: undefined,
      checker: undefined,
      result: undefined,
    };
    this.entries.push(e);
    this.records.push(this.recordOf(e));
    return e;
  }

  private recordOf(e: Entry): TrialRecord {
    return { name: e.name, assignments: e.assignments, status: STATE_OF[e.status], objective: ownValue(e.metrics, this.o.metric), metrics: e.metrics, labels: e.labels };
  }

  /** Adds a finished entry to the counts, the best trial and the early-stopping input. */
  private count(e: Entry): void {
    this.records[e.number - 1] = this.recordOf(e);
    switch (e.status) {
      case 'Running':
      case 'Killed':
        return;
      case 'Succeeded': {
        this.succeeded++;
        const log: number[] = [];
        for (const r of e.reports) {
          const v = ownValue(r.metrics, this.o.metric);
          if (v !== undefined) log.push(v);
        }
        this.succeededLogs.push(log);
        break;
      }
      case 'EarlyStopped':
        this.earlyStopped++;
        break;
      case 'Failed':
      case 'MetricsUnavailable':
        this.failed++;
        this.lastFailure = e;
        break;
    }
    this.finished++;
    if ((e.status === 'Succeeded' || e.status === 'EarlyStopped') && e.value !== undefined && Number.isFinite(e.value)) {
      if (!this.best || (this.maximize ? e.value > (this.best.value as number) : e.value < (this.best.value as number))) this.best = e;
    }
  }

  private wake(): void {
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      w();
    } else this.woken = true;
  }

  private nextEvent(): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => (this.waiter = resolve));
  }

  private async loop(): Promise<StudyResult> {
    for (;;) {
      const finished = this.drain();
      if (this.stopCause) return this.abortStudy(finished);
      const end = this.endReason();
      const restarted: Entry[] = [];
      const started: Entry[] = [];
      if (end === undefined) {
        let free = Math.min(this.o.parallelTrials - this.running, this.o.numTrials - this.finished - this.running);
        while (free > 0 && this.requeue.length > 0) {
          restarted.push(this.restart(this.requeue.shift() as Entry));
          free--;
        }
        if (free > 0 && !this.exhausted) {
          let reply;
          try {
            reply = callSuggest(this.call, this.records, free, this.stateText, this.suggestionCount);
          } catch (error) {
            this.stopCause = { kind: 'algorithm', error };
            return this.abortStudy(finished);
          }
          this.stateText = reply.stateText;
          const now = Date.now();
          for (const s of reply.suggestions) {
            this.suggestionCount++;
            const number = this.entries.length + 1;
            const assignments: Record<string, string> = {};
            for (const a of s.assignments) setOwn(assignments, a.name, a.value);
            started.push(
              this.entryOf({
                number,
                name: s.trialName ?? `${this.o.store.studyName}-${number}`,
                assignments,
                labels: { ...(s.labels ?? {}) },
                status: 'Running',
                value: undefined,
                metrics: {},
                reports: [],
                message: undefined,
                startTime: now,
                completionTime: undefined,
              }),
            );
          }
          // As the controller: an empty reply with nothing in flight means the algorithm has nothing left to give.
          if (reply.exhausted || (started.length === 0 && this.running === 0 && restarted.length === 0)) this.exhausted = true;
        }
      }
      try {
        this.store.commit({ finished, started, restarted, stateText: this.stateText, suggestionCount: this.suggestionCount });
      } catch (error) {
        // Nothing of this turn is stored: its finished trials will run again on resume, the new ones never started.
        for (const e of [...started, ...restarted]) e.status = 'Killed';
        this.stopCause = { kind: 'store', error };
        return this.abortStudy([]);
      }
      this.notify(finished);
      for (const e of restarted) this.launch(e);
      for (const e of started) this.launch(e);
      if (this.running === 0) return this.finish(this.endReason() ?? 'SuggestionEndReached');
      await this.nextEvent();
    }
  }

  /** Resets an interrupted trial of a resumed study to run again, before the algorithm sees the history. */
  private restart(e: Entry): Entry {
    e.status = 'Running';
    e.value = undefined;
    e.metrics = {};
    e.reports = [];
    e.message = undefined;
    e.startTime = Date.now();
    e.completionTime = undefined;
    this.records[e.number - 1] = this.recordOf(e);
    return e;
  }

  /** Why the study ends now, in Katib's order of precedence; undefined while it goes on. */
  private endReason(): Exclude<StudyEndReason, 'Aborted'> | undefined {
    const goal = this.o.goalValue;
    if (goal !== undefined && this.best?.value !== undefined && (this.maximize ? this.best.value >= goal : this.best.value <= goal)) return 'GoalReached';
    const maxFailed = this.o.maxFailedTrials;
    if (maxFailed !== undefined && this.failed > 0 && this.failed >= maxFailed) return 'MaxFailedTrialsReached';
    if (this.finished >= this.o.numTrials) return 'MaxTrialsReached';
    if (this.exhausted && this.running === 0 && this.requeue.length === 0) return 'SuggestionEndReached';
    return undefined;
  }

  /** The rules for a trial starting now; recomputed only when another trial has succeeded. */
  private currentRules(): readonly StopRule[] {
    const plan = this.o.earlyStopping;
    if (!plan) return [];
    if (this.rules?.forSucceeded !== this.succeededLogs.length) this.rules = { forSucceeded: this.succeededLogs.length, rules: plan.rules(this.succeededLogs) };
    return this.rules.rules;
  }

  private launch(e: Entry): void {
    const run = ++e.run;
    e.outcome = undefined;
    e.stop = undefined;
    e.stopMessage = undefined;
    e.controller = undefined;
    const rules = this.currentRules();
    e.checker = rules.length > 0 ? new RuleChecker(rules, this.o.metric, this.maximize) : undefined;
    this.running++;
    const settle = (outcome: Outcome): void => {
      if (e.run !== run || e.status !== 'Running' || e.outcome !== undefined) return;
      e.outcome = outcome;
      this.running--;
      this.done.push(e);
      this.wake();
    };
    let out: unknown;
    try {
      out = this.o.objective(e.params, this.handle(e, run));
    } catch (error) {
      settle({ ok: false, error });
      return;
    }
    Promise.resolve(out).then(
      (value) => settle({ ok: true, value }),
      (error: unknown) => settle({ ok: false, error }),
    );
  }

  /** The objective's view of a trial. The AbortController is made on first use of `signal`: most objectives never read it. */
  private handle(e: Entry, run: number): Trial<UntypedParams> {
    const live = (): boolean => e.run === run && e.outcome === undefined && e.status === 'Running';
    return {
      name: e.name,
      number: e.number,
      params: e.params,
      get signal(): AbortSignal {
        if (e.run !== run) return AbortSignal.abort(new TrialStoppedError(e.name, 'cancelled', `trial ${e.name} is no longer running`));
        if (!e.controller) {
          e.controller = new AbortController();
          if (e.stop) e.controller.abort(e.stop);
        }
        return e.controller.signal;
      },
      shouldStop: () => e.run !== run || e.stop !== undefined,
      report: (metrics: Metrics, step?: number): void => {
        const values = this.reportValues(metrics, step);
        if (!live() || e.stop) return;
        const last = e.reports[e.reports.length - 1];
        e.reports.push({ step: step ?? (last ? last.step + 1 : 1), metrics: values, time: new Date() });
        const stopped = e.checker?.check(values);
        if (stopped !== undefined) {
          e.stopMessage = stopped;
          this.stopTrial(e, new TrialStoppedError(e.name, 'early-stopped', `trial ${e.name} ${stopped}`));
        }
      },
    };
  }

  private reportValues(metrics: Metrics, step: number | undefined): Readonly<Record<string, number>> {
    if (step !== undefined && (typeof step !== 'number' || !Number.isFinite(step))) {
      throw new ValidationError([{ path: 'trial.report', message: `step must be a finite number (step=${String(step)})` }]);
    }
    if (typeof metrics === 'number') return { [this.o.metric]: metrics };
    if (!isPlainRecord(metrics)) {
      throw new ValidationError([{ path: 'trial.report', message: `metrics must be a number (the ${this.o.metric} value) or a record of metric name to number (metrics=${String(metrics)})` }]);
    }
    const bad = Object.entries(metrics).filter(([, v]) => typeof v !== 'number');
    if (bad.length > 0) throw new ValidationError(bad.map(([k, v]) => ({ path: 'trial.report', message: `metrics.${k} must be a number (${k}=${JSON.stringify(v)})` })));
    return { ...metrics };
  }

  private stopTrial(e: Entry, reason: TrialStoppedError): void {
    if (e.stop) return;
    e.stop = reason;
    e.controller?.abort(reason);
  }

  /** Settled entries since the last turn, with their final status, value and metrics. */
  private drain(): Entry[] {
    if (this.done.length === 0) return [];
    const finished = this.done;
    this.done = [];
    const now = Date.now();
    for (const e of finished) {
      this.conclude(e, e.outcome as Outcome);
      e.completionTime = now;
      e.controller = undefined;
      e.checker = undefined;
      this.count(e);
    }
    return finished;
  }

  /**
   * Each metric reduced over the reports by its strategy; non-finite values are skipped, as Katib's collector does.
   * Metric names are the user's: they are read and set as own keys (see ownValue), here and in conclude().
   */
  private reduceReports(reports: readonly TrialReport[]): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of reports) {
      for (const [name, v] of Object.entries(r.metrics)) {
        if (!Number.isFinite(v)) continue;
        const prev = ownValue(out, name);
        const strategy = this.o.strategyOf(name);
        if (prev === undefined || strategy === 'latest' || (strategy === 'min' ? v < prev : v > prev)) setOwn(out, name, v);
      }
    }
    return out;
  }

  private conclude(e: Entry, outcome: Outcome): void {
    const metric = this.o.metric;
    const metrics = this.reduceReports(e.reports);
    if (e.stop) {
      e.status = 'EarlyStopped';
      e.message = e.stopMessage ?? e.stop.message;
    } else if (!outcome.ok) {
      e.status = 'Failed';
      e.message = errorMessage(outcome.error);
    } else {
      const returned = outcome.value;
      let problem: string | undefined;
      if (typeof returned === 'number') {
        if (Number.isFinite(returned)) setOwn(metrics, metric, returned);
        else problem = `the objective returned ${returned} for ${metric}`;
      } else if (isPlainRecord(returned)) {
        for (const [name, v] of Object.entries(returned)) {
          if (typeof v !== 'number') {
            e.status = 'Failed';
            e.message = `the objective returned a non-number for metric ${JSON.stringify(name)} (${name}=${JSON.stringify(v)}); return numbers only`;
            e.metrics = metrics;
            e.value = ownValue(metrics, metric);
            return;
          }
          if (Number.isFinite(v)) setOwn(metrics, name, v);
          else if (name === metric) problem = `the objective returned ${v} for ${metric}`;
        }
      } else if (returned !== undefined) {
        e.status = 'Failed';
        e.message = `the objective returned ${typeof returned === 'string' ? JSON.stringify(returned) : `a ${typeof returned}`}; return a number, a record of metrics, or nothing after trial.report()`;
        e.metrics = metrics;
        e.value = ownValue(metrics, metric);
        return;
      }
      if (ownValue(metrics, metric) === undefined) {
        e.status = 'MetricsUnavailable';
        e.message =
          problem ??
          (e.reports.length > 0
            ? `no finite ${metric} among the ${e.reports.length} reports and none returned; report or return ${metric}`
            : `the objective returned no ${metric} and reported none; return a number or call trial.report({ ${metric}: value })`);
      } else {
        e.status = 'Succeeded';
        e.message = undefined;
      }
    }
    e.metrics = metrics;
    e.value = ownValue(metrics, metric);
  }

  private resultOf(e: Entry): TrialResult {
    if (e.result && e.result.status === e.status && e.status !== 'Running') return e.result;
    const r: TrialResult = Object.freeze({
      name: e.name,
      number: e.number,
      params: e.params,
      assignments: e.assignments,
      status: e.status,
      value: e.value,
      metrics: e.metrics,
      reports: e.reports,
      message: e.message,
      labels: e.labels,
      startTime: new Date(e.startTime),
      completionTime: e.completionTime === undefined ? undefined : new Date(e.completionTime),
    });
    e.result = r;
    return r;
  }

  /** Queues the finished trials for onTrialComplete, in order, each awaited before the next. */
  private notify(finished: readonly Entry[]): void {
    const cb = this.o.onTrialComplete;
    if (!cb || finished.length === 0) return;
    const results = finished.map((e) => this.resultOf(e));
    this.callbacks = this.callbacks.then(async () => {
      for (const r of results) {
        if (this.stopCause) return;
        try {
          await cb(r);
        } catch (error) {
          this.stopCause ??= { kind: 'callback', error };
          this.wake();
          return;
        }
      }
    });
  }

  private result(reason: StudyEndReason, message: string): StudyResult {
    return Object.freeze({
      studyName: this.o.store.studyName,
      best: this.best ? this.resultOf(this.best) : undefined,
      trials: Object.freeze(this.entries.map((e) => this.resultOf(e))),
      reason,
      message,
    });
  }

  private counts(): string {
    const parts = [`${this.succeeded} succeeded`];
    if (this.earlyStopped > 0) parts.push(`${this.earlyStopped} stopped early`);
    if (this.failed > 0) parts.push(`${this.failed} failed`);
    return parts.join(', ');
  }

  private async finish(reason: Exclude<StudyEndReason, 'Aborted'>): Promise<StudyResult> {
    await this.callbacks;
    if (this.stopCause) return this.abortStudy([]);
    const o = this.o;
    switch (reason) {
      case 'GoalReached': {
        const b = this.best as Entry;
        return this.result(reason, `trial ${b.name} reached the goal: ${o.metric}=${b.value} ${this.maximize ? '>=' : '<='} goal=${o.goalValue} (${this.finished} trials: ${this.counts()})`);
      }
      case 'MaxFailedTrialsReached': {
        const last = this.lastFailure;
        const message = `${this.failed} trials failed, reaching maxFailedTrials=${o.maxFailedTrials}${last ? `; the last, ${last.name}: ${last.message ?? ''}` : ''}`;
        throw new StudyFailedError(message, this.result(reason, message), this.failed);
      }
      case 'MaxTrialsReached':
        return this.result(reason, `${this.finished} trials finished, reaching numTrials=${o.numTrials} (${this.counts()})`);
      case 'SuggestionEndReached':
        return this.result(
          reason,
          `algorithm ${o.algorithmName} has no more suggestions after ${this.finished} of numTrials=${o.numTrials} trials (${this.counts()})`,
        );
    }
  }

  /**
   * Kills the running trials, stores them as Killed with the trials just finished (unless the store is what
   * failed), and rejects: StudyAbortedError for the signal or a callback, OptimizeError with the cause otherwise.
   */
  private abortStudy(finished: readonly Entry[]): never {
    const cause = this.stopCause ?? { kind: 'signal' as const, error: undefined };
    const why = {
      signal: `the study was cancelled${cause.error instanceof Error && cause.error.name !== 'AbortError' ? `: ${cause.error.message}` : ''}`,
      callback: `onTrialComplete threw: ${errorMessage(cause.error)}`,
      algorithm: `algorithm ${this.o.algorithmName} failed to suggest: ${errorMessage(cause.error)}`,
      store: `storing the study in ${this.store.location} failed: ${errorMessage(cause.error)}`,
    }[cause.kind];
    const killed: Entry[] = [];
    const now = Date.now();
    for (const e of this.entries) {
      // Interrupted trials of a resumed study that had not started again are Killed too: a resume runs them.
      if (e.status !== 'Running') continue;
      this.stopTrial(e, new TrialStoppedError(e.name, 'cancelled', `trial ${e.name} was killed: ${why}`));
      e.run++;
      e.status = 'Killed';
      e.message = `killed: ${why}`;
      e.completionTime = now;
      killed.push(e);
    }
    this.running = 0;
    let writeError: unknown;
    if (cause.kind !== 'store') {
      try {
        this.store.commit({ finished: [...finished, ...killed], started: [], restarted: [], stateText: this.stateText, suggestionCount: this.suggestionCount });
      } catch (error) {
        writeError = error;
      }
    }
    const message = `${why} after ${this.finished} of numTrials=${this.o.numTrials} trials (${this.counts()}); ${killed.length} running trial${killed.length === 1 ? ' was' : 's were'} killed${
      writeError ? `; storing them failed: ${errorMessage(writeError)}` : ''
    }`;
    const result = this.result('Aborted', message);
    if (cause.kind === 'algorithm' || cause.kind === 'store') throw new OptimizeError(message, result, { cause: cause.error });
    throw new StudyAbortedError(message, result, { cause: cause.error });
  }
}

/**
 * Runs a study, in this process (`objective`) or on a Kubernetes cluster (`trainJob`).
 *
 * **In process** (`objective`): asks the algorithm for parameters, calls `objective` with them (up to
 * `parallelTrials` at once) and records the results, until `numTrials` trials have finished, the goal is reached,
 * or the algorithm runs out of suggestions. Uses the same algorithm code, settings parsing, state handling and
 * seeding as the gRPC Suggestion service, so `algorithmSettings: { random_state: 7 }` reproduces a study.
 *
 * With `store: { sqlite, studyName }` every finished trial is stored before it counts and before
 * `onTrialComplete` sees it; calling optimize() again with the same study name resumes: finished trials are kept,
 * trials that were running are run again with their parameters, and the study continues to `numTrials`.
 *
 * Resolves with the best trial and every trial. Rejects with ValidationError for bad options (every problem listed,
 * before anything runs, or when a stored study of that name has other options), StudyAbortedError when `signal`
 * aborts or `onTrialComplete` throws, StudyFailedError when `maxFailedTrials` trials failed, and OptimizeError when
 * the algorithm throws or the store fails (its `cause` then is the store's error, e.g. a ConflictError when another
 * process writes the same study). Every error but ValidationError carries the partial result.
 *
 * **On a cluster** (`trainJob`): creates a Katib Experiment (`kubeflow.org/v1beta1`) in `namespace` whose trials
 * are Kubeflow Trainer TrainJobs on `trainJob.runtime`; the controller on the cluster runs them. Each parameter
 * reaches the trainer as `${trialParameters.NAME}` wherever the trainer's strings hold it, and as the environment
 * variable `KUBEFLOW_TRAINER_OPT_<NAME>`. Then waits for the experiment (see waitForExperiment) and resolves with
 * its trials and the best one; with `wait: false` resolves with its name and namespace once it is created.
 * Rejects with ValidationError for bad options (checked, with the Experiment they describe, before the cluster is
 * contacted; also when no cluster is configured), ExperimentExistsError when the name is taken,
 * ExperimentFailedError (with the trials) when the experiment ends Failed, WaitTimeoutError and WaitAbortedError
 * (the experiment keeps running), UnavailableError when the API server cannot be reached.
 *
 * Giving both `objective` and `trainJob`, or neither, is a ValidationError naming both.
 */
export function optimize<const M extends SearchSpaceMap>(options: ClusterOptimizeOptions<M> & { readonly wait: false }): Promise<ExperimentRef>;
export function optimize<const M extends SearchSpaceMap>(options: ClusterOptimizeOptions<M>): Promise<ClusterStudyResult<ParamsOf<M>>>;
// The in-process overload is last: `Parameters<typeof optimize>` (used by callers to type option helpers) reads it.
export function optimize<const M extends SearchSpaceMap>(options: OptimizeOptions<M>): Promise<StudyResult<ParamsOf<M>>>;
export async function optimize(options: unknown): Promise<StudyResult | ClusterStudyResult | ExperimentRef> {
  const hasObjective = isPlainRecord(options) && options.objective !== undefined;
  const hasTrainJob = isPlainRecord(options) && options.trainJob !== undefined;
  if (hasObjective && hasTrainJob) {
    throw new ValidationError(
      [{ path: 'objective', message: 'cannot be given together with trainJob: give objective to run the study in this process, or trainJob to run it as TrainJobs on a cluster' }],
      'optimize',
    );
  }
  if (isPlainRecord(options) && !hasObjective && !hasTrainJob) {
    throw new ValidationError(
      [{ path: 'objective', message: 'or trainJob is required: objective (a function (params, trial) => value) runs the study in this process, trainJob ({ runtime, trainer }) runs it on a cluster' }],
      'optimize',
    );
  }
  if (hasTrainJob) return optimizeOnCluster(options);
  const resolved = resolveOptions(options);
  return new StudyRunner(resolved).run();
}
