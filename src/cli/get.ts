/** `katib get experiments`, `katib get trials`, `katib describe experiment`, `katib delete experiment`. */
import fs from 'node:fs';
import path from 'node:path';
import { SqliteStore } from '../store/sqlite.js';
import { openObservationStore } from '../store/observations/index.js';
import { NotFoundError } from '../errors.js';
import { sqlitePath } from '../controller/embedded.js';
import { experimentState, formatValue, printObject, table, trialTable, type OutputFormat } from './format.js';
import { trialObjective } from '../controller/status.js';
import { removeLocalRuns } from '../runtime/local.js';
import YAML from 'yaml';

function openStore(url: string): SqliteStore {
  const file = path.resolve(sqlitePath(url));
  if (!fs.existsSync(file)) throw new NotFoundError('store', file);
  return new SqliteStore(file);
}

function age(ts: string | undefined): string {
  if (!ts) return '-';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(ts)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

export async function getExperiments(o: { store: string; namespace?: string; output: OutputFormat }, out: NodeJS.WritableStream): Promise<number> {
  const store = openStore(o.store);
  try {
    const exps = await store.listExperiments(o.namespace);
    if (o.output !== 'table') {
      out.write(`${printObject({ apiVersion: 'v1', kind: 'List', items: exps }, o.output)}\n`);
      return 0;
    }
    const rows = exps.map((e) => [e.metadata.namespace ?? 'default', e.metadata.name, experimentState(e), e.spec.algorithm?.algorithmName ?? '', `${e.status?.trialsSucceeded ?? 0}/${e.spec.maxTrialCount ?? '∞'}`, e.status?.currentOptimalTrial?.bestTrialName ?? '-', age(e.metadata.creationTimestamp)]);
    out.write(`${table(['NAMESPACE', 'NAME', 'STATUS', 'ALGORITHM', 'SUCCEEDED', 'BEST TRIAL', 'AGE'], rows)}\n`);
    return 0;
  } finally {
    await store.close();
  }
}

export async function getTrials(name: string, o: { store: string; namespace: string; output: OutputFormat }, out: NodeJS.WritableStream): Promise<number> {
  const store = openStore(o.store);
  try {
    const key = { namespace: o.namespace, name };
    const exp = await store.getExperiment(key);
    if (!exp) throw new NotFoundError('experiment', `${o.namespace}/${name}`);
    const trials = await store.listTrials(key);
    out.write(o.output === 'table' ? `${trialTable(exp, trials)}\n` : `${printObject({ apiVersion: 'v1', kind: 'List', items: trials }, o.output)}\n`);
    return 0;
  } finally {
    await store.close();
  }
}

export async function describeExperiment(name: string, o: { store: string; namespace: string; output: OutputFormat }, out: NodeJS.WritableStream): Promise<number> {
  const store = openStore(o.store);
  try {
    const key = { namespace: o.namespace, name };
    const exp = await store.getExperiment(key);
    if (!exp) throw new NotFoundError('experiment', `${o.namespace}/${name}`);
    if (o.output !== 'table') {
      out.write(`${printObject(exp, o.output)}\n`);
      return 0;
    }
    const trials = await store.listTrials(key);
    const s = exp.status ?? {};
    const best = trials.find((t) => t.metadata.name === s.currentOptimalTrial?.bestTrialName);
    const lines = [
      `Name:         ${exp.metadata.name}`,
      `Namespace:    ${exp.metadata.namespace ?? 'default'}`,
      `Status:       ${experimentState(exp)}`,
      `Algorithm:    ${exp.spec.algorithm?.algorithmName ?? ''} ${(exp.spec.algorithm?.algorithmSettings ?? []).filter((x) => !x.name.startsWith('katib-ts.')).map((x) => `${x.name}=${x.value}`).join(' ')}`,
      `Objective:    ${exp.spec.objective?.type} ${exp.spec.objective?.objectiveMetricName}${exp.spec.objective?.goal !== undefined ? ` (goal ${exp.spec.objective.goal})` : ''}`,
      `Trials:       ${s.trials ?? 0} (succeeded ${s.trialsSucceeded ?? 0}, running ${s.trialsRunning ?? 0}, pending ${s.trialsPending ?? 0}, failed ${s.trialsFailed ?? 0}, killed ${s.trialsKilled ?? 0}, early-stopped ${s.trialsEarlyStopped ?? 0}, metrics unavailable ${s.trialMetricsUnavailable ?? 0})`,
      `Budget:       maxTrialCount=${exp.spec.maxTrialCount ?? '-'} parallelTrialCount=${exp.spec.parallelTrialCount ?? '-'} maxFailedTrialCount=${exp.spec.maxFailedTrialCount ?? '-'}`,
      `Best trial:   ${best ? `${best.metadata.name} ${exp.spec.objective?.objectiveMetricName}=${formatValue(trialObjective(exp, best))} ${best.spec.parameterAssignments.map((a) => `${a.name}=${a.value}`).join(' ')}` : '-'}`,
      `Started:      ${s.startTime ?? '-'}`,
      `Completed:    ${s.completionTime ?? '-'}`,
      'Conditions:',
      YAML.stringify(s.conditions ?? []).trimEnd().replace(/^/gm, '  '),
      'Trials:',
      trialTable(exp, trials).replace(/^/gm, '  '),
    ];
    out.write(`${lines.join('\n')}\n`);
    return 0;
  } finally {
    await store.close();
  }
}

export async function deleteExperiment(name: string, o: { store: string; db?: string; namespace: string }, out: NodeJS.WritableStream): Promise<number> {
  const store = openStore(o.store);
  const file = path.resolve(sqlitePath(o.store));
  const observations = await openObservationStore(o.db ?? `sqlite:${file}`);
  try {
    const key = { namespace: o.namespace, name };
    const exp = await store.getExperiment(key);
    const trials = await store.listTrials(key);
    const existed = await store.deleteExperiment(key);
    if (!exp || !existed) throw new NotFoundError('experiment', `${o.namespace}/${name}`);
    for (const t of trials) await observations.delete(t.metadata.name);
    // The folders openEmbedded's LocalRuntime keeps beside the store file.
    removeLocalRuns({ root: path.join(path.dirname(file), 'trials') }, exp, trials);
    out.write(`experiment ${name} deleted (${trials.length} trials)\n`);
    return 0;
  } finally {
    await observations.close();
    await store.close();
  }
}
