/**
 * Parsing of trial output into metric log entries, as Katib's StdOut and File collectors do:
 * - TEXT (and StdOut): every match of each `metricsFormat` regex (default Katib's `name=value` filter) whose first
 *   group names a collected metric; a line that starts with an RFC3339 timestamp carries that time.
 * - JSON: one object per line; the metric names are keys, `timestamp` (RFC3339 or Unix seconds) carries the time.
 *   Katib accepts only string values; we also accept numbers.
 * A line without a timestamp gets the time it was read (Katib writes the zero time, which loses the order).
 */
import type { MetricLogEntry } from '../store/store.js';
import type { Metric, Observation } from '../api/types.js';
import { UNAVAILABLE_METRIC_VALUE } from '../api/types.js';

/** Katib's default metrics filter: `name=value`. */
export const DEFAULT_METRICS_FORMAT = String.raw`([\w|-]+)\s*=\s*([+-]?\d*(\.\d+)?([Ee][+-]?\d+)?)`;

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

export interface ParserOptions {
  /** Metric names to collect; the objective metric first. */
  readonly metrics: readonly string[];
  /** Regexes with two groups (name, value); default Katib's filter. */
  readonly filters?: readonly string[];
  readonly format: 'TEXT' | 'JSON';
  /** The time to stamp lines that carry none. */
  readonly now: () => Date;
}

export type LineParser = (line: string) => MetricLogEntry[];

/** Builds a parser for one line of trial output. */
export function createLineParser(opts: ParserOptions): LineParser {
  const wanted = new Set(opts.metrics);
  if (opts.format === 'JSON') {
    return (line) => {
      const text = line.trim();
      if (!text.startsWith('{')) return [];
      let obj: unknown;
      try {
        obj = JSON.parse(text);
      } catch {
        return [];
      }
      if (typeof obj !== 'object' || obj === null) return [];
      const rec = obj as Record<string, unknown>;
      const ts = parseTimestamp(rec['timestamp']) ?? stamp(opts.now());
      const out: MetricLogEntry[] = [];
      for (const name of opts.metrics) {
        const v = rec[name];
        if (typeof v === 'string' || typeof v === 'number') out.push({ timestamp: ts, name, value: String(v) });
      }
      return out;
    };
  }
  const regexes = (opts.filters && opts.filters.length > 0 ? opts.filters : [DEFAULT_METRICS_FORMAT]).map((f) => new RegExp(f, 'g'));
  return (line) => {
    if (!opts.metrics.some((m) => line.includes(m))) return [];
    const space = line.indexOf(' ');
    const head = space > 0 ? line.slice(0, space) : '';
    const ts = RFC3339.test(head) ? head : stamp(opts.now());
    const out: MetricLogEntry[] = [];
    for (const re of regexes) {
      re.lastIndex = 0;
      for (const m of line.matchAll(re)) {
        const name = (m[1] ?? '').trim();
        const value = (m[2] ?? '').trim();
        if (wanted.has(name) && value !== '') out.push({ timestamp: ts, name, value });
      }
    }
    return out;
  };
}

function parseTimestamp(v: unknown): string | undefined {
  if (typeof v === 'string' && RFC3339.test(v)) return v;
  if (typeof v === 'number' && Number.isFinite(v)) return stamp(new Date(v * 1000));
  return undefined;
}

/** RFC3339 with milliseconds, UTC. */
export function stamp(d: Date): string {
  return d.toISOString();
}

/**
 * Katib's observation: for each metric its min, max and latest value over the log ('unavailable' when none).
 * `latest` is the last entry in report order.
 */
export function observationFromLogs(entries: readonly MetricLogEntry[], metricNames: readonly string[]): Observation {
  const metrics: Metric[] = [];
  for (const name of metricNames) {
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    let latest: string | undefined;
    for (const e of entries) {
      if (e.name !== name || e.value === UNAVAILABLE_METRIC_VALUE) continue;
      const v = Number(e.value);
      if (!Number.isFinite(v)) continue;
      if (v < min) min = v;
      if (v > max) max = v;
      latest = e.value;
    }
    metrics.push(
      latest === undefined
        ? { name, min: UNAVAILABLE_METRIC_VALUE, max: UNAVAILABLE_METRIC_VALUE, latest: UNAVAILABLE_METRIC_VALUE }
        : { name, min: String(min), max: String(max), latest },
    );
  }
  return { metrics };
}

/** The objective value of an observation per the metric strategy, or undefined when unavailable. */
export function objectiveValue(obs: Observation | undefined, metric: string, strategy: 'min' | 'max' | 'latest'): number | undefined {
  const m = obs?.metrics?.find((x) => x.name === metric);
  if (!m) return undefined;
  const raw = strategy === 'min' ? m.min : strategy === 'max' ? m.max : m.latest;
  const text = raw === UNAVAILABLE_METRIC_VALUE ? m.latest : raw;
  if (text === UNAVAILABLE_METRIC_VALUE) return undefined;
  const v = Number(text);
  return Number.isFinite(v) ? v : undefined;
}
