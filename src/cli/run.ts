/**
 * `katib run FILE`: loads, defaults and validates an Experiment, then runs it with the embedded controller until it
 * completes, showing live progress. Running the same file again resumes the experiment stored under its name.
 * Exit codes: 0 Succeeded, 1 Failed, 2 bad input, 130 interrupted (trials were stopped and marked Killed).
 */
import path from 'node:path';
import type { Experiment } from '../api/types.js';
import { loadExperimentFile } from '../api/load.js';
import { applyDefaults } from '../api/defaults.js';
import { validateExperiment } from '../api/validate.js';
import { openEmbedded, type EmbeddedOptions } from '../controller/embedded.js';
import { experimentCompleted, trialPhase } from '../controller/conditions.js';
import { runUntilDone } from '../controller/loop.js';
import { trialObjective } from '../controller/status.js';
import { ValidationError } from '../errors.js';
import { WORKDIR_ANNOTATION } from '../runtime/local.js';
import { experimentState, formatValue, printObject, trialTable, type OutputFormat } from './format.js';

export interface RunOptions extends EmbeddedOptions {
  readonly output: OutputFormat;
  readonly namespace?: string;
  readonly quiet?: boolean;
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream;
}

const specOf = (e: Experiment) => JSON.stringify(e.spec);

export async function runExperiment(file: string, opts: RunOptions): Promise<number> {
  const out = (s: string) => opts.stdout.write(`${s}\n`);
  const err = (s: string) => opts.stderr.write(`${s}\n`);
  const loaded = await loadExperimentFile(file);
  if (opts.namespace) loaded.metadata.namespace = opts.namespace;
  const exp = applyDefaults(loaded);
  exp.metadata.annotations = { ...(exp.metadata.annotations ?? {}), [WORKDIR_ANNOTATION]: path.dirname(path.resolve(file)) };
  const engine = await openEmbedded({ ...opts, cwd: path.dirname(path.resolve(file)), logger: opts.quiet ? undefined : { info: () => undefined, warn: (m) => err(`warning: ${m}`) } });
  const key = { namespace: exp.metadata.namespace ?? 'default', name: exp.metadata.name };
  const ac = new AbortController();
  const onSigint = () => ac.abort();
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigint);
  try {
    const issues = validateExperiment(exp, { knownAlgorithms: engine.algorithms, knownEarlyStopping: engine.earlyStoppingAlgorithms });
    if (issues.length > 0) throw new ValidationError(issues, file);
    let stored = await engine.store.getExperiment(key);
    if (stored && specOf({ ...stored, spec: applyDefaults(stored).spec }) !== specOf(exp)) {
      // The stored spec wins only when unchanged: a different spec under the same name is a user error.
      throw new ValidationError([{ path: 'metadata.name', message: `an experiment named ${JSON.stringify(key.name)} with a different spec exists in the store; run \`katib delete experiment ${key.name}\` to start over, or rename it` }], file);
    }
    if (stored && experimentCompleted(stored)) {
      if (!opts.quiet) err(`experiment ${key.name} already ${experimentCompleted(stored)}; showing its results (run \`katib delete experiment ${key.name}\` to run it again)`);
    } else {
      if (!stored) {
        await engine.suggestionClient(exp.spec.algorithm?.algorithmName ?? '').validate(exp);
        stored = await engine.store.createExperiment(exp);
        if (!opts.quiet) err(`experiment ${key.name} created (${exp.spec.algorithm?.algorithmName}, up to ${exp.spec.maxTrialCount ?? '∞'} trials, ${exp.spec.parallelTrialCount} in parallel)`);
      } else if (!opts.quiet) {
        err(`resuming experiment ${key.name} (${stored.status?.trials ?? 0} trials so far)`);
      }
      const progress = createProgress(engine, key, opts);
      const done = await runUntilDone(engine.controller, key, {
        wake: (cb) => {
          const a = engine.runtime.onChange((e) => e.name === key.name && cb());
          const b = engine.store.watch((e) => e.kind === 'Trial' && e.experiment.name === key.name && cb());
          return () => {
            a();
            b();
          };
        },
        signal: ac.signal,
        resyncMs: 500,
        onPass: progress.update,
        logger: { info: () => undefined, warn: (m) => err(`warning: ${m}`) },
      });
      progress.end();
      if (!done) {
        const n = await engine.controller.killActiveTrials(key, 'katib run was interrupted');
        err(`interrupted: stopped ${n} running trial(s) and marked them Killed; run the same command again to resume`);
        return 130;
      }
    }
    const final = (await engine.store.getExperiment(key)) as Experiment;
    const trials = await engine.store.listTrials(key);
    if (opts.output !== 'table') {
      out(printObject(final, opts.output));
    } else {
      out(trialTable(final, trials));
      const cond = final.status?.conditions?.find((c) => c.type === experimentCompleted(final));
      const best = final.status?.currentOptimalTrial;
      out('');
      out(`Experiment ${key.name} ${experimentState(final)}: ${cond?.reason ?? ''}${cond?.message ? ` (${cond.message})` : ''}`);
      if (best?.bestTrialName) {
        const t = trials.find((x) => x.metadata.name === best.bestTrialName);
        out(`Best trial ${best.bestTrialName}: ${final.spec.objective?.objectiveMetricName}=${formatValue(t ? trialObjective(final, t) : undefined)} with ${(best.parameterAssignments ?? []).map((a) => `${a.name}=${a.value}`).join(', ')}`);
      }
    }
    return experimentCompleted(final) === 'Succeeded' ? 0 : 1;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    await engine.close();
  }
}

function createProgress(engine: Awaited<ReturnType<typeof openEmbedded>>, key: { namespace: string; name: string }, opts: RunOptions) {
  const tty = Boolean((opts.stderr as { isTTY?: boolean }).isTTY);
  const seen = new Map<string, string>();
  let last = '';
  return {
    update: async () => {
      if (opts.quiet) return;
      const exp = await engine.store.getExperiment(key);
      if (!exp) return;
      const trials = await engine.store.listTrials(key);
      const s = exp.status ?? {};
      const best = s.currentOptimalTrial?.bestTrialName ? trials.find((t) => t.metadata.name === s.currentOptimalTrial?.bestTrialName) : undefined;
      const done = (s.trialsSucceeded ?? 0) + (s.trialMetricsUnavailable ?? 0);
      const line = `[${key.name}] done ${done}/${exp.spec.maxTrialCount ?? '∞'}  running ${s.trialsRunning ?? 0}  failed ${s.trialsFailed ?? 0}  early-stopped ${s.trialsEarlyStopped ?? 0}  best ${exp.spec.objective?.objectiveMetricName}=${formatValue(best ? trialObjective(exp, best) : undefined)}${best ? ` (${best.metadata.name})` : ''}`;
      if (tty) {
        if (line !== last) opts.stderr.write(`\r\x1b[2K${line}`);
      } else {
        for (const t of trials) {
          const phase = trialPhase(t);
          if (seen.get(t.metadata.name) === phase) continue;
          seen.set(t.metadata.name, phase);
          const v = trialObjective(exp, t);
          const params = t.spec.parameterAssignments.map((a) => `${a.name}=${a.value}`).join(' ');
          const tag = phase === 'EarlyStopped' ? 'EarlyStopped (stopped early by rule)' : phase;
          opts.stderr.write(`${t.metadata.name} ${tag}${v !== undefined && phase !== 'Running' && phase !== 'Created' ? ` ${exp.spec.objective?.objectiveMetricName}=${formatValue(v)}` : ''}${phase === 'Running' ? ` ${params}` : ''}\n`);
          const failMsg = t.status?.conditions?.find((c) => c.type === phase && c.status === 'True' && (phase === 'Failed' || phase === 'MetricsUnavailable'))?.message;
          if (failMsg) opts.stderr.write(`  ${failMsg.split('\n').join('\n  ')}\n`);
        }
        if (line !== last) opts.stderr.write(`${line}\n`);
      }
      last = line;
    },
    end: () => {
      if (tty && !opts.quiet && last) opts.stderr.write('\n');
    },
  };
}
