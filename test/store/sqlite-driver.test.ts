/**
 * The SQLite driver surface the stores rely on, run over every driver this Node can load: better-sqlite3 (Node 20
 * and 22) and node:sqlite (Node ≥ 22.5; the stores pick it from Node 24 on). The store suites then run on the driver
 * the current Node picks.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, SQLITE_DRIVER, type SqliteDatabase } from '../../src/store/sqlite-driver.js';

function loads(driver: typeof SQLITE_DRIVER): boolean {
  try {
    openDatabase(':memory:', driver).close();
    return true;
  } catch {
    return false;
  }
}

const drivers = (['better-sqlite3', 'node:sqlite'] as const).filter((d) => {
  // better-sqlite3 12 aborts the process on Node ≥ 24 when a statement is garbage-collected: not exercised there.
  if (d === 'better-sqlite3' && SQLITE_DRIVER === 'node:sqlite') return false;
  const ok = loads(d);
  if (!ok) console.warn(`SKIPPED the ${d} driver tests: this Node (${process.version}) cannot load it`);
  return ok;
});

describe('openDatabase picks', () => {
  it('node:sqlite from Node 24 on, better-sqlite3 before', () => {
    expect(SQLITE_DRIVER).toBe(Number(process.versions.node.split('.')[0]) >= 24 ? 'node:sqlite' : 'better-sqlite3');
  });
});

describe.each(drivers)('the %s driver', (driver) => {
  const open: SqliteDatabase[] = [];
  const db = (file = ':memory:'): SqliteDatabase => {
    const d = openDatabase(file, driver);
    open.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of open.splice(0)) if (d.open) d.close();
  });

  it('runs, gets, lists and plucks with positional, array and named parameters', () => {
    const d = db();
    d.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, v REAL)');
    const ins = d.prepare('INSERT INTO t (name, v) VALUES (?, ?)');
    expect(ins.run('a', 1.5)).toMatchObject({ changes: 1, lastInsertRowid: 1 });
    expect(ins.run(['b', 2.5]).changes).toBe(1);
    d.prepare('INSERT INTO t (name, v) VALUES (@name, @v)').run({ name: 'c', v: null });
    expect({ ...(d.prepare('SELECT name, v FROM t WHERE id = ?').get(1) as object) }).toEqual({ name: 'a', v: 1.5 });
    expect(d.prepare('SELECT name FROM t WHERE id = ?').get(99)).toBeUndefined();
    expect(d.prepare('SELECT name FROM t ORDER BY id').pluck().all()).toEqual(['a', 'b', 'c']);
    expect(d.prepare('SELECT COUNT(*) FROM t').pluck().get()).toBe(3);
    expect(d.prepare('SELECT v FROM t WHERE name = ?').pluck().get('c')).toBeNull();
  });

  it('commits a transaction, rolls back one that throws, and makes a nested one a savepoint', () => {
    const d = db();
    d.exec('CREATE TABLE t (n INTEGER)');
    const add = (n: number): void => void d.prepare('INSERT INTO t (n) VALUES (?)').run(n);
    d.transaction(() => add(1))();
    expect(() =>
      d.transaction(() => {
        add(2);
        throw new Error('boom');
      })(),
    ).toThrow('boom');
    const outer = d.transaction((): number => {
      add(3);
      expect(() =>
        d.transaction(() => {
          add(4);
          throw new Error('inner');
        })(),
      ).toThrow('inner');
      d.transaction(() => add(5))();
      return 7;
    });
    expect(outer.immediate()).toBe(7);
    expect(d.prepare('SELECT n FROM t ORDER BY n').pluck().all()).toEqual([1, 3, 5]);
  });

  it("names SQLite's result code in `code`: a unique violation, and a write lock another connection holds", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'katib-sqlite-'));
    const file = path.join(dir, 'x.db');
    const a = db(file);
    a.pragma('journal_mode = WAL');
    a.exec('CREATE TABLE t (k TEXT PRIMARY KEY)');
    a.prepare('INSERT INTO t (k) VALUES (?)').run('x');
    let unique: unknown;
    try {
      a.prepare('INSERT INTO t (k) VALUES (?)').run('x');
    } catch (e) {
      unique = e;
    }
    expect((unique as { code?: string }).code).toMatch(/^SQLITE_CONSTRAINT/);

    const b = db(file);
    b.pragma('busy_timeout = 0');
    let busy: unknown;
    a.transaction(() => {
      a.prepare('INSERT INTO t (k) VALUES (?)').run('y');
      try {
        b.transaction(() => b.prepare('INSERT INTO t (k) VALUES (?)').run('z')).immediate();
      } catch (e) {
        busy = e;
      }
    }).immediate();
    expect((busy as { code?: string }).code).toMatch(/^SQLITE_BUSY/);
    expect(a.prepare('SELECT k FROM t ORDER BY k').pluck().all()).toEqual(['x', 'y']);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reports whether it is open', () => {
    const d = db();
    expect(d.open).toBe(true);
    d.close();
    expect(d.open).toBe(false);
  });
});
