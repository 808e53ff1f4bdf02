/**
 * Push metrics from inside a trial, the equivalent of Katib's push collector (`report_metrics`): the values go
 * straight to the DB-manager over Katib's ReportObservationLog, as observations of the trial named in the
 * environment the controller set (`KATIB_TRIAL_NAME`, `KATIB_DB_MANAGER_ADDRESS`). Works in embedded trials and in
 * pods alike; use it with `metricsCollectorSpec.collector.kind: Push` so no output is parsed as well.
 */
import { randomUUID } from 'node:crypto';
import { DbManagerClient } from '../dbmanager/client.js';
import { ValidationError } from '../errors.js';

export interface ReportMetricsOptions {
  /** The training step (epoch) the values belong to; recorded in the batch id, values are ordered by time. */
  readonly step?: number;
  /** Trial name; default `KATIB_TRIAL_NAME` from the environment. */
  readonly trialName?: string;
  /** DB-manager `host:port`; default `KATIB_DB_MANAGER_ADDRESS`, else Katib's `katib-db-manager.kubeflow:6789`. */
  readonly dbManagerAddress?: string;
  /** Per-call deadline in ms (retries included). Default 30 000. */
  readonly timeoutMs?: number;
}

const clients = new Map<string, DbManagerClient>();

/**
 * Reports `metrics` (name → finite number) for the current trial. Resolves once the DB-manager stored them;
 * retries with the same batch id, so a retried report is never stored twice. Throws ValidationError for a missing
 * trial name or a non-finite value, and the client's error when the DB-manager stays unreachable.
 */
export async function reportMetrics(metrics: Readonly<Record<string, number>>, opts: ReportMetricsOptions = {}): Promise<void> {
  const trialName = opts.trialName ?? process.env['KATIB_TRIAL_NAME'];
  const issues: { path: string; message: string }[] = [];
  if (!trialName) issues.push({ path: 'trialName', message: 'is not set; run inside a katib trial (KATIB_TRIAL_NAME) or pass { trialName }' });
  for (const [name, value] of Object.entries(metrics)) {
    if (typeof value !== 'number' || !Number.isFinite(value)) issues.push({ path: `metrics.${name}`, message: `must be a finite number (${name}=${String(value)})` });
  }
  if (opts.step !== undefined && !Number.isInteger(opts.step)) issues.push({ path: 'step', message: `must be an integer (step=${opts.step})` });
  if (issues.length > 0) throw new ValidationError(issues, 'reportMetrics');
  const address = opts.dbManagerAddress ?? process.env['KATIB_DB_MANAGER_ADDRESS'] ?? 'katib-db-manager.kubeflow:6789';
  let client = clients.get(address);
  if (!client) clients.set(address, (client = new DbManagerClient(address)));
  const timestamp = new Date().toISOString();
  const entries = Object.entries(metrics).map(([name, value]) => ({ timestamp, name, value: String(value) }));
  const batchId = `push:${opts.step ?? '-'}:${randomUUID()}`;
  const timer = opts.timeoutMs === undefined ? undefined : AbortSignal.timeout(opts.timeoutMs);
  await client.report(trialName as string, entries, batchId, timer ? { signal: timer } : {});
}

/** Closes the connections reportMetrics opened (lets a short script exit at once). */
export function closeReportMetrics(): void {
  for (const c of clients.values()) c.close();
  clients.clear();
}
