/**
 * The DBManager messages as @grpc/proto-loader hands them over (snake_case fields, defaults filled in, absent
 * sub-messages as null), the validation of incoming requests, and the conversions to and from MetricLogEntry.
 */
import type { Issue } from '../../algorithms/core/issues.js';
import { MAX_NAME_LENGTH, timeSortKey } from '../store/observations/index.js';
import type { MetricLogEntry } from '../store/store.js';

export interface PbMetric {
  name: string;
  value: string;
}

export interface PbMetricLog {
  time_stamp: string;
  metric: PbMetric | null;
}

export interface PbObservationLog {
  metric_logs: PbMetricLog[];
}

export interface PbReportObservationLogRequest {
  trial_name: string;
  observation_log: PbObservationLog | null;
}

export interface PbGetObservationLogRequest {
  trial_name: string;
  metric_name: string;
  start_time: string;
  end_time: string;
}

export interface PbGetObservationLogReply {
  observation_log: PbObservationLog;
}

export interface PbDeleteObservationLogRequest {
  trial_name: string;
}

/**
 * gRPC metadata key carrying a report's batch id. Katib's proto has no field for it; clients that send it (our
 * DbManagerClient) get idempotent retries, clients that do not (Katib's own collectors) get Katib's behaviour.
 */
export const BATCH_ID_METADATA_KEY = 'katib-batch-id';

/** Issues listed at most in one INVALID_ARGUMENT; the rest are counted. */
const MAX_ISSUES = 20;

/** Katib's value for a metric a collector did not find. */
const UNAVAILABLE_METRIC_VALUE = 'unavailable';

const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
/** Go's strconv.ParseFloat (Katib's parser) accepts these too; a diverging loss may well be reported as +Inf. */
const INFINITE = /^[+-]?(?:inf|infinity)$/i;

/**
 * True for a value Katib can compare — a decimal number or ±Inf — or Katib's `unavailable` marker, which its
 * collectors report for an objective they never saw. NaN, empty and anything else are not.
 */
export function isMetricValue(value: string): boolean {
  return DECIMAL.test(value) || INFINITE.test(value) || value === UNAVAILABLE_METRIC_VALUE;
}

const EXAMPLE_TIME = '2024-05-01T08:00:00Z';

function checkName(issues: Issue[], path: string, value: string, what: string): void {
  if (value === '') issues.push({ path, message: `${what} must not be empty` });
  else if (value.length > MAX_NAME_LENGTH) issues.push({ path, message: `${what} is ${value.length} characters long; at most ${MAX_NAME_LENGTH} are allowed` });
  else if (value.includes('\u0000')) issues.push({ path, message: `${what} ${JSON.stringify(value)} contains a NUL character` });
}

function checkTime(issues: Issue[], path: string, value: string): string | undefined {
  const key = timeSortKey(value);
  if (key === undefined) issues.push({ path, message: `${JSON.stringify(value)} is not an RFC3339 timestamp (e.g. ${EXAMPLE_TIME})` });
  return key;
}

/** Caps a long list of issues, saying how many were left out. */
export function capIssues(issues: readonly Issue[]): Issue[] {
  if (issues.length <= MAX_ISSUES) return [...issues];
  return [...issues.slice(0, MAX_ISSUES), { path: '...', message: `and ${issues.length - MAX_ISSUES} more problems` }];
}

/** Every problem of a ReportObservationLog request (field paths as on the wire). */
export function reportIssues(req: PbReportObservationLogRequest, batchId: string | undefined): Issue[] {
  const issues: Issue[] = [];
  checkName(issues, 'trial_name', req.trial_name, 'trial_name');
  if (batchId !== undefined) checkName(issues, `metadata ${BATCH_ID_METADATA_KEY}`, batchId, 'batch id');
  (req.observation_log?.metric_logs ?? []).forEach((log, i) => {
    const at = `observation_log.metric_logs[${i}]`;
    checkTime(issues, `${at}.time_stamp`, log.time_stamp);
    checkName(issues, `${at}.metric.name`, log.metric?.name ?? '', 'metric name');
    const value = log.metric?.value ?? '';
    if (!isMetricValue(value)) issues.push({ path: `${at}.metric.value`, message: `${JSON.stringify(value)} is not a number; report a decimal number such as 0.95 or 1e-3 (or ±Inf)` });
  });
  return issues;
}

/** Every problem of a GetObservationLog request, an inverted time range included. */
export function getIssues(req: PbGetObservationLogRequest): Issue[] {
  const issues: Issue[] = [];
  checkName(issues, 'trial_name', req.trial_name, 'trial_name');
  if (req.metric_name.includes('\u0000')) issues.push({ path: 'metric_name', message: `metric name ${JSON.stringify(req.metric_name)} contains a NUL character` });
  const start = req.start_time ? checkTime(issues, 'start_time', req.start_time) : undefined;
  const end = req.end_time ? checkTime(issues, 'end_time', req.end_time) : undefined;
  if (start !== undefined && end !== undefined && start > end) {
    issues.push({ path: 'start_time', message: `start_time ${req.start_time} is after end_time ${req.end_time}; swap them` });
  }
  return issues;
}

/** Every problem of a DeleteObservationLog request. */
export function deleteIssues(req: PbDeleteObservationLogRequest): Issue[] {
  const issues: Issue[] = [];
  checkName(issues, 'trial_name', req.trial_name, 'trial_name');
  return issues;
}

export function entriesFromPb(log: PbObservationLog | null): MetricLogEntry[] {
  return (log?.metric_logs ?? []).map((l) => ({ timestamp: l.time_stamp, name: l.metric?.name ?? '', value: l.metric?.value ?? '' }));
}

export function entriesToPb(entries: readonly MetricLogEntry[]): PbObservationLog {
  return { metric_logs: entries.map((e) => ({ time_stamp: e.timestamp, metric: { name: e.name, value: e.value } })) };
}
