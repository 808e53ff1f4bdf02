/**
 * The Experiment reconciler, shared by embedded and cluster mode. Level-based and idempotent: each pass reads the
 * experiment, its trials and its suggestion, advances every active trial from what its run shows, computes the
 * status, asks the suggestion service for as many new trials as the budget allows, and writes the difference.
 * Trial names are deterministic (`<experiment>-<n>`, or the name the service chose), and suggestions are stored
 * before trials are created, so a crash at any point neither loses nor duplicates a trial.
 */
import type { Experiment, SuggestionResource, Trial, TrialAssignment, UnstructuredObject } from '../api/types.js';
import { API_VERSION, Labels, TrialReason } from '../api/types.js';
import { observationFromLogs } from '../collector/parse.js';
import { AlreadyExistsError, KatibError, TerminalError, ValidationError } from '../errors.js';
import type { RunObservation, TrialRuntime } from '../runtime/runtime.js';
import type { ObjectKey, ObservationStore, Store } from '../store/store.js';
import type { EarlyStoppingClient, SuggestionClient } from '../suggestion/client.js';
import { conditionOf, experimentCompleted, isTrialActive, markTerminal, setCondition, trialPhase } from './conditions.js';
import { computeStatus, trialsToAdd } from './status.js';

export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
}

export interface ControllerDeps {
  readonly store: Store;
  readonly observations: ObservationStore;
  readonly runtime: TrialRuntime;
  /** The Suggestion client serving an algorithm name. */
  readonly suggestionClient: (algorithm: string) => SuggestionClient;
  /** The EarlyStopping client for an early-stopping algorithm name, when one is configured. */
  readonly earlyStoppingClient?: (algorithm: string) => EarlyStoppingClient | undefined;
  /** Address trials and early-stopping services use to reach the DB-manager. */
  readonly dbManagerAddress?: string;
  /** Renders a trial's run object from the template (Katib's substitutions). */
  readonly renderRun: (exp: Experiment, trial: { name: string; namespace: string; assignments: readonly { name: string; value: string }[]; labels: Record<string, string> }) => UnstructuredObject;
  readonly now?: () => Date;
  readonly logger?: Logger;
}

export interface ReconcileResult {
  /** True once the experiment is completed (or gone) and no trial is left running. */
  readonly done: boolean;
}

const EXHAUSTED = 'Exhausted';

/** A trial's key in ExperimentController.cleared: a later trial of the same name has another uid. */
function clearKey(t: Trial): string {
  return `${keyOf(t).namespace}/${t.metadata.name}/${t.metadata.uid ?? ''}`;
}

function keyOf(o: { metadata: { namespace?: string; name: string } }): ObjectKey {
  return { namespace: o.metadata.namespace ?? 'default', name: o.metadata.name };
}

function metricNames(exp: Experiment): string[] {
  const o = exp.spec.objective;
  return [o?.objectiveMetricName ?? '', ...(o?.additionalMetricNames ?? [])].filter(Boolean);
}

export class ExperimentController {
  private readonly now: () => Date;
  /** Fingerprint of the trial set at the last empty reply, to avoid asking again before anything changed. */
  private readonly lastEmpty = new Map<string, string>();
  /** Trials (namespace/name/uid) whose name's observation logs were cleared before their first start; until they end. */
  private readonly cleared = new Set<string>();

  constructor(private readonly deps: ControllerDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  private stamp(): string {
    return this.now().toISOString().replace(/\.\d+Z$/, 'Z');
  }

  /** One reconcile pass for the experiment at `key`. Throws on conflicts and unavailable services (requeue). */
  async reconcile(key: ObjectKey): Promise<ReconcileResult> {
    const { store } = this.deps;
    const exp = await store.getExperiment(key);
    if (!exp) return { done: true };
    let trials = await store.listTrials(key);
    if (experimentCompleted(exp) && !trials.some(isTrialActive)) return { done: true };
    for (const t of trials) if (isTrialActive(t)) await this.advanceTrial(exp, t);
    trials = await store.listTrials(key);
    let sug = await this.ensureSuggestion(exp);
    let status = computeStatus(exp, trials, { exhausted: this.isExhausted(sug), now: this.stamp() });
    const completion = experimentCompleted({ ...exp, status });
    if (completion) {
      // Trials still running are killed before the completed status is written, so that whoever sees the
      // experiment Succeeded or Failed also sees its final trial counts. A crash in between only repeats this pass.
      const active = trials.filter(isTrialActive);
      if (active.length > 0) {
        const reason = conditionOf(status.conditions, completion)?.reason ?? 'ExperimentCompleted';
        for (const t of active) await this.killTrial(exp, t, `the experiment completed (${reason})`);
        trials = await store.listTrials(key);
        status = computeStatus(exp, trials, { exhausted: true, now: this.stamp() });
      }
      await this.writeStatus(exp, status);
      this.lastEmpty.delete(`${key.namespace}/${key.name}`);
      return { done: true };
    }
    let current = await this.writeStatus(exp, status);
    const add = trialsToAdd(current, status);
    if (add > 0) {
      sug = await this.addTrials(current, sug, trials, add);
      if (this.isExhausted(sug)) {
        trials = await store.listTrials(key);
        status = computeStatus(current, trials, { exhausted: true, now: this.stamp() });
        current = await this.writeStatus(current, status);
        if (experimentCompleted(current)) return { done: true };
      }
    }
    return { done: false };
  }

  /** Stops every active trial of the experiment and marks it Killed (SIGINT in `katib run`). */
  async killActiveTrials(key: ObjectKey, why: string): Promise<number> {
    const exp = await this.deps.store.getExperiment(key);
    if (!exp) return 0;
    const active = (await this.deps.store.listTrials(key)).filter(isTrialActive);
    for (const t of active) await this.killTrial(exp, t, why);
    const trials = await this.deps.store.listTrials(key);
    const fresh = (await this.deps.store.getExperiment(key)) ?? exp;
    const sug = await this.deps.store.getSuggestion(key);
    await this.writeStatus(fresh, computeStatus(fresh, trials, { exhausted: sug ? this.isExhausted(sug) : false, now: this.stamp() }));
    return active.length;
  }

  /** Marks the experiment Failed with `message` (a terminal error such as invalid algorithm settings). */
  async failExperiment(key: ObjectKey, message: string): Promise<void> {
    const exp = await this.deps.store.getExperiment(key);
    if (!exp || experimentCompleted(exp)) return;
    const now = this.stamp();
    const status = { ...(exp.status ?? {}), conditions: markTerminal(exp.status?.conditions, 'Running', 'Failed', 'ExperimentFailed', message, now), completionTime: now };
    await this.deps.store.updateExperimentStatus({ ...exp, status });
    await this.killActiveTrials(key, `the experiment failed: ${message}`);
  }

  private async writeStatus(exp: Experiment, status: NonNullable<Experiment['status']>): Promise<Experiment> {
    const strip = (s: Experiment['status']) => JSON.stringify({ ...(s ?? {}), lastReconcileTime: undefined });
    if (strip(exp.status) === strip(status)) return exp;
    return this.deps.store.updateExperimentStatus({ ...exp, status });
  }

  private isExhausted(sug: SuggestionResource): boolean {
    return (sug.status?.conditions ?? []).some((c) => c.type === EXHAUSTED && c.status === 'True');
  }

  private async ensureSuggestion(exp: Experiment): Promise<SuggestionResource> {
    const key = keyOf(exp);
    const found = await this.deps.store.getSuggestion(key);
    if (found) return found;
    try {
      return await this.deps.store.createSuggestion({
        apiVersion: API_VERSION,
        kind: 'Suggestion',
        metadata: {
          name: exp.metadata.name,
          namespace: key.namespace,
          labels: { [Labels.experimentName]: exp.metadata.name },
          ownerReferences: exp.metadata.uid ? [{ apiVersion: API_VERSION, kind: 'Experiment', name: exp.metadata.name, uid: exp.metadata.uid, controller: true, blockOwnerDeletion: true }] : undefined,
        },
        spec: { algorithm: exp.spec.algorithm, earlyStopping: exp.spec.earlyStopping, requests: 0, resumePolicy: exp.spec.resumePolicy },
        status: { suggestionCount: 0, suggestions: [], algorithmSettings: exp.spec.algorithm?.algorithmSettings ?? [] },
      });
    } catch (e) {
      if (e instanceof AlreadyExistsError) return (await this.deps.store.getSuggestion(key)) as SuggestionResource;
      throw e;
    }
  }

  /** Creates `add` trials: first from stored suggestions, then from the service; suggestions are stored first. */
  private async addTrials(exp: Experiment, sug: SuggestionResource, trials: readonly Trial[], add: number): Promise<SuggestionResource> {
    const existing = new Set(trials.map((t) => t.metadata.name));
    let pending = (sug.status?.suggestions ?? []).filter((s) => !existing.has(s.name));
    const fingerprint = trials.map((t) => `${t.metadata.name}:${trialPhase(t)}`).join(',');
    const memo = `${keyOf(exp).namespace}/${exp.metadata.name}`;
    if (pending.length < add && !this.isExhausted(sug) && this.lastEmpty.get(memo) !== fingerprint) {
      const n = add - pending.length;
      const algorithm = exp.spec.algorithm?.algorithmName ?? '';
      const base = sug.status?.suggestionCount ?? 0;
      const settings = sug.status?.algorithmSettings ?? exp.spec.algorithm?.algorithmSettings ?? [];
      let reply;
      try {
        reply = await this.deps.suggestionClient(algorithm).getSuggestions(exp, trials, n, base + n, settings);
      } catch (e) {
        if (e instanceof ValidationError) throw new TerminalError(`the suggestion service rejected the experiment:\n${e.message}`, { cause: e });
        throw e;
      }
      let rules = reply.earlyStoppingRules;
      const es = exp.spec.earlyStopping?.algorithmName;
      if (es && reply.suggestions.length > 0) {
        const client = this.deps.earlyStoppingClient?.(es);
        if (client) rules = await client.getRules(exp, trials, this.deps.dbManagerAddress ?? '');
      }
      const fresh: TrialAssignment[] = reply.suggestions.map((s, i) => ({
        name: s.trialName ?? `${exp.metadata.name}-${base + i + 1}`,
        parameterAssignments: s.assignments,
        labels: Object.keys(s.labels).length > 0 ? s.labels : undefined,
        earlyStoppingRules: rules.length > 0 ? rules : undefined,
      }));
      const activeLeft = trials.some(isTrialActive);
      const exhausted = reply.exhausted || (fresh.length === 0 && pending.length === 0 && !activeLeft);
      if (fresh.length === 0 && !exhausted) this.lastEmpty.set(memo, fingerprint);
      else this.lastEmpty.delete(memo);
      const now = this.stamp();
      const conditions = exhausted
        ? setCondition(sug.status?.conditions, EXHAUSTED as 'Exhausted', 'True', 'SuggestionExhausted', reply.exhausted ? 'The algorithm has no more suggestions' : 'The suggestion service returned no suggestions and no trial is running', now)
        : sug.status?.conditions;
      pending = [...pending, ...fresh];
      sug = await this.deps.store.updateSuggestion({
        ...sug,
        spec: { ...sug.spec, requests: base + fresh.length },
        status: { ...(sug.status ?? {}), suggestionCount: base + fresh.length, suggestions: pending, algorithmSettings: reply.algorithmSettings ?? settings, conditions, lastReconcileTime: now },
      });
      if (fresh.length > 0) this.deps.logger?.info(`${exp.metadata.name}: got ${fresh.length} suggestion(s): ${fresh.map((f) => f.name).join(', ')}`);
    }
    const toCreate = pending.slice(0, add);
    if (toCreate.length === 0) return sug;
    for (const a of toCreate) {
      try {
        await this.deps.store.createTrial(this.buildTrial(exp, a));
      } catch (e) {
        if (!(e instanceof AlreadyExistsError)) throw e;
      }
    }
    return this.deps.store.updateSuggestion({ ...sug, status: { ...(sug.status ?? {}), suggestions: pending.slice(toCreate.length) } });
  }

  private buildTrial(exp: Experiment, a: TrialAssignment): Trial {
    const namespace = keyOf(exp).namespace;
    const labels = { [Labels.experimentName]: exp.metadata.name, ...(a.labels ?? {}) };
    const t = exp.spec.trialTemplate ?? {};
    return {
      apiVersion: API_VERSION,
      kind: 'Trial',
      metadata: {
        name: a.name,
        namespace,
        labels,
        ownerReferences: exp.metadata.uid ? [{ apiVersion: API_VERSION, kind: 'Experiment', name: exp.metadata.name, uid: exp.metadata.uid, controller: true, blockOwnerDeletion: true }] : undefined,
      },
      spec: {
        objective: exp.spec.objective,
        parameterAssignments: a.parameterAssignments.map((p) => ({ name: p.name, value: p.value })),
        earlyStoppingRules: a.earlyStoppingRules,
        runSpec: this.deps.renderRun(exp, { name: a.name, namespace, assignments: a.parameterAssignments, labels }),
        retainRun: t.retain,
        metricsCollector: exp.spec.metricsCollectorSpec,
        primaryPodLabels: t.primaryPodLabels,
        primaryContainerName: t.primaryContainerName,
        successCondition: t.successCondition,
        failureCondition: t.failureCondition,
        labels,
      },
    };
  }

  private async killTrial(exp: Experiment, t: Trial, why: string): Promise<void> {
    await this.deps.runtime.stop(exp, t, 'killed', why);
    const fresh = (await this.deps.store.getTrial(keyOf(t))) ?? t;
    if (!isTrialActive(fresh)) return;
    const obs = observationFromLogs(await this.deps.observations.get(t.metadata.name), metricNames(exp));
    await this.writeTrial(fresh, { phase: 'killed', message: `Trial was killed: ${why}` }, obs);
  }

  /** Moves one active trial forward from what its run shows. */
  private async advanceTrial(exp: Experiment, t: Trial): Promise<void> {
    const { runtime } = this.deps;
    let run: RunObservation = await runtime.observe(exp, t);
    if (run.phase === 'absent') {
      // Observation logs are keyed by trial name, as Katib's are. A trial that never ran has none of its own: any
      // under its name were left by an earlier trial of that name (an experiment deleted and created again with the
      // logs in the DB-manager's database, a removed store with --db elsewhere) and would be read as its own. They
      // are removed before its first start; an error here is retried by the next pass.
      if (t.status?.startTime === undefined && !this.cleared.has(clearKey(t))) {
        await this.deps.observations.delete(t.metadata.name);
        this.cleared.add(clearKey(t));
      }
      try {
        if ((await runtime.start(exp, t)) === 'pending') return;
      } catch (e) {
        // An unreachable API server or database is retried by the next pass; anything else is the trial's fault.
        if (e instanceof KatibError && e.retryable) throw e;
        const message = e instanceof Error ? e.message : String(e);
        await this.writeTrial(t, { phase: 'failed', message: `could not start the trial: ${message}` }, undefined);
        return;
      }
      run = await runtime.observe(exp, t);
      if (run.phase === 'absent') run = { phase: 'running' };
    }
    if (run.phase === 'pending') return;
    if (run.phase === 'running') {
      if (trialPhase(t) !== 'Running') await this.writeTrial(t, run, undefined);
      return;
    }
    const obs = observationFromLogs(await this.deps.observations.get(t.metadata.name), metricNames(exp));
    await this.writeTrial(t, run, obs);
  }

  private async writeTrial(t: Trial, run: RunObservation, observation: ReturnType<typeof observationFromLogs> | undefined): Promise<void> {
    if (run.phase !== 'running' && run.phase !== 'pending') this.cleared.delete(clearKey(t));
    const now = this.stamp();
    const status = { ...(t.status ?? {}) };
    let conds = status.conditions ?? [];
    if (!conds.some((c) => c.type === 'Created')) conds = setCondition(conds, 'Created', 'True', TrialReason.Created, 'Trial is created', now);
    const objective = t.spec.objective?.objectiveMetricName ?? '';
    switch (run.phase) {
      case 'running':
        status.startTime = status.startTime ?? run.startTime ?? now;
        conds = setCondition(conds, 'Running', 'True', TrialReason.Running, 'Trial is running', now);
        break;
      case 'succeeded': {
        const m = observation?.metrics?.find((x) => x.name === objective);
        if (!m || m.latest === 'unavailable') {
          const tail = run.outputTail?.length ? `; last output lines:\n${run.outputTail.join('\n')}` : '; the trial printed nothing';
          conds = markTerminal(conds, 'Running', 'MetricsUnavailable', TrialReason.MetricsUnavailable, `the trial exited 0 but reported no value for the objective metric ${JSON.stringify(objective)}; print it as ${objective}=VALUE (or set metricsCollectorSpec)${tail}`, now);
        } else {
          conds = markTerminal(conds, 'Running', 'Succeeded', TrialReason.Succeeded, 'Trial has succeeded', now);
        }
        break;
      }
      case 'failed':
        conds = markTerminal(conds, 'Running', 'Failed', TrialReason.Failed, run.message ?? 'Trial has failed', now);
        break;
      case 'early-stopped':
        conds = markTerminal(conds, 'Running', 'EarlyStopped', TrialReason.EarlyStopped, run.message ?? 'Trial is early stopped', now);
        break;
      case 'killed':
        conds = markTerminal(conds, 'Running', 'Killed', TrialReason.Killed, run.message ?? 'Trial was killed', now);
        break;
      default:
        return;
    }
    status.conditions = conds;
    if (run.phase !== 'running') {
      status.startTime = status.startTime ?? run.startTime ?? now;
      status.completionTime = run.completionTime ?? now;
      if (observation) status.observation = observation;
    }
    await this.deps.store.updateTrialStatus({ ...t, status });
  }
}
