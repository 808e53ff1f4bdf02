/**
 * The embedded Store: Experiments, Trials and Suggestions in one SQLite file (default ./.katib/katib.db), with
 * the Kubernetes semantics of the Store interface (resourceVersions, conflicts, status-only updates, owner
 * cascade). Every write is one SQLite transaction, so a killed process never leaves half an update behind.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { openDatabase, type SqliteDatabase } from './sqlite-driver.js';
import type { Experiment, SuggestionResource, Trial } from '../api/types.js';
import { Labels } from '../api/types.js';
import { AlreadyExistsError, ConflictError, NotFoundError } from '../errors.js';
import type { ObjectKey, Store, StoreEvent } from './store.js';

type Kind = StoreEvent['kind'];
type AnyObject = Experiment | Trial | SuggestionResource;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS katib_objects (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  experiment TEXT NOT NULL,
  resource_version INTEGER NOT NULL,
  body TEXT NOT NULL,
  UNIQUE (kind, namespace, name)
);
CREATE INDEX IF NOT EXISTS katib_objects_by_experiment ON katib_objects (kind, namespace, experiment, seq);
CREATE TABLE IF NOT EXISTS katib_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO katib_meta (key, value) VALUES ('resource_version', '0');
`;

/** Opens (creating if needed) an SQLite database file with the settings every katib-ts connection uses. */
export function openSqliteFile(file: string): SqliteDatabase {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = openDatabase(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  return db;
}

function experimentOf(kind: Kind, obj: AnyObject): string {
  if (kind === 'Experiment') return obj.metadata.name;
  if (kind === 'Suggestion') return obj.metadata.name;
  return obj.metadata.labels?.[Labels.experimentName] ?? '';
}

export class SqliteStore implements Store {
  private readonly db: SqliteDatabase;
  private readonly listeners = new Set<(e: StoreEvent) => void>();

  /** Opens the store at `file` (`:memory:` for tests) and creates the schema. */
  constructor(readonly file: string) {
    this.db = openSqliteFile(file);
    this.db.exec(SCHEMA);
  }

  private nextVersion(): number {
    const row = this.db.prepare(`UPDATE katib_meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'resource_version' RETURNING value`).get() as { value: string | number };
    return Number(row.value);
  }

  private emit(kind: Kind, type: StoreEvent['type'], obj: AnyObject): void {
    const key = { namespace: obj.metadata.namespace ?? 'default', name: obj.metadata.name };
    const event: StoreEvent = { kind, type, key, experiment: { namespace: key.namespace, name: experimentOf(kind, obj) } };
    for (const l of this.listeners) l(event);
  }

  private create<T extends AnyObject>(kind: Kind, obj: T): T {
    const ns = obj.metadata.namespace ?? 'default';
    const stored = this.db.transaction(() => {
      const exists = this.db.prepare('SELECT 1 FROM katib_objects WHERE kind = ? AND namespace = ? AND name = ?').get(kind, ns, obj.metadata.name);
      if (exists) throw new AlreadyExistsError(kind, `${ns}/${obj.metadata.name}`);
      const rv = this.nextVersion();
      const copy = structuredClone(obj);
      copy.metadata = {
        ...copy.metadata,
        namespace: ns,
        uid: copy.metadata.uid ?? randomUUID(),
        resourceVersion: String(rv),
        creationTimestamp: copy.metadata.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        generation: 1,
      };
      this.db
        .prepare('INSERT INTO katib_objects (kind, namespace, name, experiment, resource_version, body) VALUES (?, ?, ?, ?, ?, ?)')
        .run(kind, ns, obj.metadata.name, experimentOf(kind, copy), rv, JSON.stringify(copy));
      return copy;
    })();
    this.emit(kind, 'ADDED', stored);
    return structuredClone(stored);
  }

  private get<T extends AnyObject>(kind: Kind, key: ObjectKey): T | undefined {
    const row = this.db.prepare('SELECT body FROM katib_objects WHERE kind = ? AND namespace = ? AND name = ?').get(kind, key.namespace, key.name) as { body: string } | undefined;
    return row ? (JSON.parse(row.body) as T) : undefined;
  }

  /** Replaces the parts named by `parts` after checking the resourceVersion. */
  private update<T extends AnyObject>(kind: Kind, obj: T, parts: readonly ('spec' | 'status')[]): T {
    const ns = obj.metadata.namespace ?? 'default';
    const key = `${ns}/${obj.metadata.name}`;
    const stored = this.db.transaction(() => {
      const row = this.db.prepare('SELECT resource_version, body FROM katib_objects WHERE kind = ? AND namespace = ? AND name = ?').get(kind, ns, obj.metadata.name) as
        | { resource_version: number; body: string }
        | undefined;
      if (!row) throw new NotFoundError(kind, key);
      if (obj.metadata.resourceVersion !== undefined && obj.metadata.resourceVersion !== String(row.resource_version)) {
        throw new ConflictError(kind, key, obj.metadata.resourceVersion, String(row.resource_version));
      }
      const current = JSON.parse(row.body) as Record<string, unknown> & { metadata: Record<string, unknown> };
      const next: Record<string, unknown> & { metadata: Record<string, unknown> } = { ...current };
      for (const part of parts) next[part] = structuredClone((obj as unknown as Record<string, unknown>)[part]);
      const rv = this.nextVersion();
      next.metadata = { ...current.metadata, resourceVersion: String(rv) };
      this.db
        .prepare('UPDATE katib_objects SET resource_version = ?, body = ? WHERE kind = ? AND namespace = ? AND name = ?')
        .run(rv, JSON.stringify(next), kind, ns, obj.metadata.name);
      return next as unknown as T;
    })();
    this.emit(kind, 'MODIFIED', stored);
    return structuredClone(stored);
  }

  async createExperiment(exp: Experiment): Promise<Experiment> {
    return this.create('Experiment', exp);
  }
  async getExperiment(key: ObjectKey): Promise<Experiment | undefined> {
    return this.get<Experiment>('Experiment', key);
  }
  async listExperiments(namespace?: string): Promise<Experiment[]> {
    const rows = (
      namespace === undefined
        ? this.db.prepare(`SELECT body FROM katib_objects WHERE kind = 'Experiment' ORDER BY seq`).all()
        : this.db.prepare(`SELECT body FROM katib_objects WHERE kind = 'Experiment' AND namespace = ? ORDER BY seq`).all(namespace)
    ) as { body: string }[];
    return rows.map((r) => JSON.parse(r.body) as Experiment);
  }
  async updateExperimentStatus(exp: Experiment): Promise<Experiment> {
    return this.update('Experiment', exp, ['status']);
  }
  async deleteExperiment(key: ObjectKey): Promise<boolean> {
    const exp = this.get<Experiment>('Experiment', key);
    if (!exp) return false;
    const trials = await this.listTrials(key);
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM katib_objects WHERE namespace = ? AND experiment = ?').run(key.namespace, key.name);
    })();
    for (const t of trials) this.emit('Trial', 'DELETED', t);
    this.emit('Experiment', 'DELETED', exp);
    return true;
  }

  async createTrial(trial: Trial): Promise<Trial> {
    return this.create('Trial', trial);
  }
  async getTrial(key: ObjectKey): Promise<Trial | undefined> {
    return this.get<Trial>('Trial', key);
  }
  async listTrials(experiment: ObjectKey): Promise<Trial[]> {
    const rows = this.db
      .prepare(`SELECT body FROM katib_objects WHERE kind = 'Trial' AND namespace = ? AND experiment = ? ORDER BY seq`)
      .all(experiment.namespace, experiment.name) as { body: string }[];
    return rows.map((r) => JSON.parse(r.body) as Trial);
  }
  async updateTrialStatus(trial: Trial): Promise<Trial> {
    return this.update('Trial', trial, ['status']);
  }

  async createSuggestion(s: SuggestionResource): Promise<SuggestionResource> {
    return this.create('Suggestion', s);
  }
  async getSuggestion(key: ObjectKey): Promise<SuggestionResource | undefined> {
    return this.get<SuggestionResource>('Suggestion', key);
  }
  async updateSuggestion(s: SuggestionResource): Promise<SuggestionResource> {
    return this.update('Suggestion', s, ['spec', 'status']);
  }

  watch(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    if (this.db.open) this.db.close();
  }
}
