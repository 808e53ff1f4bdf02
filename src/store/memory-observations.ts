/**
 * An ObservationStore in memory: for the SDK's in-memory studies and for tests. Same semantics as the database
 * back ends, including idempotent batches.
 */
import type { MetricLogEntry, ObservationQuery, ObservationStore } from './store.js';

export class MemoryObservationStore implements ObservationStore {
  private readonly logs = new Map<string, MetricLogEntry[]>();
  private readonly batches = new Set<string>();

  async report(trialName: string, entries: readonly MetricLogEntry[], batchId?: string): Promise<void> {
    if (batchId !== undefined) {
      const key = `${trialName}\u0000${batchId}`;
      if (this.batches.has(key)) return;
      this.batches.add(key);
    }
    let list = this.logs.get(trialName);
    if (!list) this.logs.set(trialName, (list = []));
    for (const e of entries) list.push({ timestamp: e.timestamp, name: e.name, value: e.value });
  }

  async get(trialName: string, query: ObservationQuery = {}): Promise<MetricLogEntry[]> {
    const start = query.startTime ? Date.parse(query.startTime) : Number.NEGATIVE_INFINITY;
    const end = query.endTime ? Date.parse(query.endTime) : Number.POSITIVE_INFINITY;
    return (this.logs.get(trialName) ?? []).filter((e) => {
      if (query.metricName && e.name !== query.metricName) return false;
      const t = Date.parse(e.timestamp);
      return t >= start && t <= end;
    });
  }

  async delete(trialName: string): Promise<void> {
    this.logs.delete(trialName);
    for (const k of [...this.batches]) if (k.startsWith(`${trialName}\u0000`)) this.batches.delete(k);
  }

  async close(): Promise<void> {
    this.logs.clear();
  }
}
