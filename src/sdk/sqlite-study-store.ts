/**
 * The durable study store: SQLite (src/store/sqlite-driver.ts) on one file, used directly rather than through the
 * embedded Store (src/store/sqlite.ts), whose JSON bodies, resourceVersion bumps and one-transaction-per-object
 * writes cost several times more per trial than a study needs. Three tables, `katib_sdk_studies`, `katib_sdk_trials` and
 * `katib_sdk_reports`, so the file may also hold the embedded Store's tables.
 *
 * Throughput: WAL journal, `synchronous = NORMAL`, statements prepared once, and one transaction per loop turn
 * (every trial that finished in that turn, the trials it started, the algorithm state).
 *
 * Durability: a trial counts as finished only once its transaction has committed; onTrialComplete runs after. With
 * `synchronous = NORMAL` a committed trial survives a crash of the process (SQLite's WAL holds it); a power loss
 * or OS crash may lose the last commits since the WAL was last synced — those trials, then, are run again on
 * resume, never half-recorded. `synchronous: 'full'` syncs each commit and survives those too.
 */
import { type SqliteDatabase, type SqliteStatement, type SqliteTransaction } from '../store/sqlite-driver.js';
import type { Issue } from '../../algorithms/core/issues.js';
import { setOwn } from '../api/guards.js';
import { ConflictError, ValidationError } from '../errors.js';
import { openSqliteFile } from '../store/sqlite.js';
import type { LoadedStudy, StoredTrial, StudyBatch, StudyFingerprint, StudyStore } from './study-store.js';
import type { TrialReport, TrialStatus } from './types.js';

/** Schema version of the SDK tables; a file written by a newer version is refused rather than misread. */
export const SDK_SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS katib_sdk_studies (
  name TEXT PRIMARY KEY,
  schema_version INTEGER NOT NULL,
  fingerprint TEXT NOT NULL,
  algorithm_state TEXT,
  suggestion_count INTEGER NOT NULL,
  version INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS katib_sdk_trials (
  study TEXT NOT NULL,
  number INTEGER NOT NULL,
  name TEXT NOT NULL,
  status TEXT NOT NULL,
  assignments TEXT NOT NULL,
  labels TEXT,
  value REAL,
  metrics TEXT,
  message TEXT,
  start_time INTEGER NOT NULL,
  completion_time INTEGER,
  PRIMARY KEY (study, number)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS katib_sdk_reports (
  study TEXT NOT NULL,
  trial INTEGER NOT NULL,
  report INTEGER NOT NULL,
  metric TEXT NOT NULL,
  step REAL NOT NULL,
  value REAL,
  time INTEGER NOT NULL,
  PRIMARY KEY (study, trial, report, metric)
) WITHOUT ROWID;
`;

interface TrialRow {
  number: number;
  name: string;
  status: string;
  assignments: string;
  labels: string | null;
  value: number | null;
  metrics: string | null;
  message: string | null;
  start_time: number;
  completion_time: number | null;
}

interface ReportRow {
  trial: number;
  report: number;
  metric: string;
  step: number;
  value: number | null;
  time: number;
}

const describe = (v: unknown): string => JSON.stringify(v);

/**
 * One study in one SQLite file. Created by optimize() for `store: { sqlite, studyName }`; the constructor opens the
 * file and creates the tables, `open` loads or creates the study, `commit` writes one loop turn in one
 * transaction. Throws what the SQLite driver throws for an unusable file.
 */
export class SqliteStudyStore implements StudyStore {
  readonly location: string;
  private readonly db: SqliteDatabase;
  private version = 0;
  private readonly insertTrial: SqliteStatement;
  private readonly finishTrial: SqliteStatement;
  private readonly restartTrial: SqliteStatement;
  private readonly insertReport: SqliteStatement;
  private readonly deleteReports: SqliteStatement;
  private readonly updateStudy: SqliteStatement;
  private readonly writeBatch: SqliteTransaction<(batch: StudyBatch) => void>;

  /** Opens (creating file, folder and tables when missing) `file` for study `studyName`. */
  constructor(
    readonly file: string,
    readonly studyName: string,
    synchronous: 'normal' | 'full' = 'normal',
  ) {
    this.location = `${file} (study ${JSON.stringify(studyName)})`;
    this.db = openSqliteFile(file);
    if (synchronous === 'full') this.db.pragma('synchronous = FULL');
    this.db.exec(SCHEMA);
    this.insertTrial = this.db.prepare(
      'INSERT INTO katib_sdk_trials (study, number, name, status, assignments, labels, value, metrics, message, start_time, completion_time) VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, NULL, ?, NULL)',
    );
    this.finishTrial = this.db.prepare('UPDATE katib_sdk_trials SET status = ?, value = ?, metrics = ?, message = ?, completion_time = ? WHERE study = ? AND number = ?');
    this.restartTrial = this.db.prepare('UPDATE katib_sdk_trials SET status = ?, value = NULL, metrics = NULL, message = NULL, start_time = ?, completion_time = NULL WHERE study = ? AND number = ?');
    this.insertReport = this.db.prepare('INSERT INTO katib_sdk_reports (study, trial, report, metric, step, value, time) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.deleteReports = this.db.prepare('DELETE FROM katib_sdk_reports WHERE study = ? AND trial = ?');
    this.updateStudy = this.db.prepare('UPDATE katib_sdk_studies SET algorithm_state = ?, suggestion_count = ?, version = version + 1, updated_at = ? WHERE name = ? AND version = ?');
    this.writeBatch = this.db.transaction((batch: StudyBatch) => {
      const study = this.studyName;
      // First, so a second writer fails on the version and not on whichever row it collides with.
      const changed = this.updateStudy.run(batch.stateText ?? null, batch.suggestionCount, Date.now(), study, this.version).changes;
      if (changed === 0) {
        const now = this.db.prepare('SELECT version FROM katib_sdk_studies WHERE name = ?').pluck().get(study) as number | undefined;
        throw new ConflictError('study', `${this.file}#${study}`, String(this.version), now === undefined ? 'deleted' : String(now));
      }
      for (const t of batch.restarted) {
        this.restartTrial.run('Running', t.startTime, study, t.number);
        this.deleteReports.run(study, t.number);
      }
      for (const t of batch.started) {
        this.insertTrial.run(study, t.number, t.name, t.status, JSON.stringify(t.assignments), Object.keys(t.labels).length > 0 ? JSON.stringify(t.labels) : null, t.startTime);
      }
      for (const t of batch.finished) {
        this.finishTrial.run(t.status, t.value ?? null, JSON.stringify(t.metrics), t.message ?? null, t.completionTime ?? null, study, t.number);
        // Killed trials run again on resume: their partial reports are not kept.
        if (t.status === 'Killed') continue;
        t.reports.forEach((r, i) => {
          const time = r.time.getTime();
          for (const [metric, value] of Object.entries(r.metrics)) this.insertReport.run(study, t.number, i, metric, r.step, Number.isNaN(value) ? null : value, time);
        });
      }
    });
  }

  open(fingerprint: StudyFingerprint): LoadedStudy {
    const load = this.db.transaction((): LoadedStudy => {
      const row = this.db.prepare('SELECT schema_version, fingerprint, algorithm_state, suggestion_count, version FROM katib_sdk_studies WHERE name = ?').get(this.studyName) as
        | { schema_version: number; fingerprint: string; algorithm_state: string | null; suggestion_count: number; version: number }
        | undefined;
      if (!row) {
        const now = Date.now();
        this.db
          .prepare('INSERT INTO katib_sdk_studies (name, schema_version, fingerprint, algorithm_state, suggestion_count, version, created_at, updated_at) VALUES (?, ?, ?, NULL, 0, 0, ?, ?)')
          .run(this.studyName, SDK_SCHEMA_VERSION, JSON.stringify(fingerprint), now, now);
        this.version = 0;
        return { trials: [], stateText: undefined, suggestionCount: 0 };
      }
      if (row.schema_version > SDK_SCHEMA_VERSION) {
        throw new ValidationError(
          [{ path: 'store.studyName', message: `study ${JSON.stringify(this.studyName)} in ${this.file} was written by a newer katib-ts (schema ${row.schema_version} > ${SDK_SCHEMA_VERSION}); upgrade katib-ts or use another studyName` }],
          'optimize',
        );
      }
      this.checkFingerprint(JSON.parse(row.fingerprint) as Record<string, unknown>, fingerprint);
      this.version = row.version;
      return { trials: this.loadTrials(), stateText: row.algorithm_state ?? undefined, suggestionCount: row.suggestion_count };
    });
    return load.immediate();
  }

  private checkFingerprint(stored: Record<string, unknown>, now: StudyFingerprint): void {
    const issues: Issue[] = [];
    for (const [key, value] of Object.entries(now)) {
      const before = describe(stored[key]);
      const after = describe(value);
      if (before !== after) {
        issues.push({
          path: 'store.studyName',
          message: `study ${JSON.stringify(this.studyName)} in ${this.file} was created with ${key}=${before}, this call has ${key}=${after}; resume with the original ${key} or use another studyName`,
        });
      }
    }
    if (issues.length > 0) throw new ValidationError(issues, 'optimize');
  }

  private loadTrials(): StoredTrial[] {
    const rows = this.db.prepare('SELECT number, name, status, assignments, labels, value, metrics, message, start_time, completion_time FROM katib_sdk_trials WHERE study = ? ORDER BY number').all(this.studyName) as TrialRow[];
    const reportRows = this.db.prepare('SELECT trial, report, metric, step, value, time FROM katib_sdk_reports WHERE study = ? ORDER BY trial, report').all(this.studyName) as ReportRow[];
    const reports = new Map<number, TrialReport[]>();
    let current: { trial: number; report: number; metrics: Record<string, number> } | undefined;
    for (const r of reportRows) {
      if (!current || current.trial !== r.trial || current.report !== r.report) {
        current = { trial: r.trial, report: r.report, metrics: {} };
        let list = reports.get(r.trial);
        if (!list) reports.set(r.trial, (list = []));
        list.push({ step: r.step, metrics: current.metrics, time: new Date(r.time) });
      }
      setOwn(current.metrics, r.metric, r.value ?? Number.NaN);
    }
    return rows.map((r) => ({
      number: r.number,
      name: r.name,
      status: r.status as TrialStatus,
      assignments: JSON.parse(r.assignments) as Record<string, string>,
      labels: r.labels ? (JSON.parse(r.labels) as Record<string, string>) : {},
      value: r.value ?? undefined,
      metrics: r.metrics ? (JSON.parse(r.metrics) as Record<string, number>) : {},
      reports: reports.get(r.number) ?? [],
      message: r.message ?? undefined,
      startTime: r.start_time,
      completionTime: r.completion_time ?? undefined,
    }));
  }

  commit(batch: StudyBatch): void {
    this.writeBatch.immediate(batch);
    this.version++;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
