/** Text output for the CLI: aligned tables, durations, and the trial table of `katib run` and `katib get`. */
import YAML from 'yaml';
import type { Experiment, Trial } from '../api/types.js';
import { conditionOf, experimentCompleted, trialPhase } from '../controller/conditions.js';
import { trialObjective } from '../controller/status.js';

/** Renders rows as an aligned table with a header. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

export type OutputFormat = 'table' | 'json' | 'yaml';

export function printObject(obj: unknown, format: OutputFormat): string {
  return format === 'yaml' ? YAML.stringify(obj) : JSON.stringify(obj, null, 2);
}

/** The experiment's state: its terminal condition, else Running/Created. */
export function experimentState(exp: Experiment): string {
  const done = experimentCompleted(exp);
  if (done) return done;
  const running = conditionOf(exp.status?.conditions, 'Running');
  return running?.status === 'True' ? 'Running' : 'Created';
}

export function formatValue(v: number | undefined): string {
  if (v === undefined) return '-';
  return Math.abs(v) >= 1e-3 && Math.abs(v) < 1e6 ? String(Number(v.toPrecision(6))) : v.toExponential(4);
}

function duration(t: Trial): string {
  const s = t.status?.startTime ? Date.parse(t.status.startTime) : NaN;
  const e = t.status?.completionTime ? Date.parse(t.status.completionTime) : Date.now();
  if (!Number.isFinite(s)) return '-';
  const sec = Math.max(0, Math.round((e - s) / 1000));
  return sec < 60 ? `${sec}s` : `${Math.floor(sec / 60)}m${String(sec % 60).padStart(2, '0')}s`;
}

/** Trials sorted best first by the objective (trials without a value last), as a table. */
export function trialTable(exp: Experiment, trials: readonly Trial[]): string {
  const maximize = exp.spec.objective?.type === 'maximize';
  const metric = exp.spec.objective?.objectiveMetricName ?? 'objective';
  const params = (exp.spec.parameters ?? []).map((p) => p.name);
  const sorted = [...trials].sort((a, b) => {
    const va = trialObjective(exp, a);
    const vb = trialObjective(exp, b);
    if (va === undefined && vb === undefined) return 0;
    if (va === undefined) return 1;
    if (vb === undefined) return -1;
    return maximize ? vb - va : va - vb;
  });
  const rows = sorted.map((t) => {
    const byName = new Map(t.spec.parameterAssignments.map((a) => [a.name, a.value]));
    const phase = trialPhase(t);
    return [t.metadata.name, phase === 'EarlyStopped' ? 'EarlyStopped*' : phase, formatValue(trialObjective(exp, t)), ...params.map((p) => byName.get(p) ?? ''), duration(t)];
  });
  return table(['TRIAL', 'STATUS', metric.toUpperCase(), ...params, 'DURATION'], rows);
}
