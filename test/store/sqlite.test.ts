import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite.js';
import { experimentFixture, storeConformance } from './conformance.js';

storeConformance('embedded SQLite', async () => new SqliteStore(':memory:'));

describe('embedded SQLite store file', () => {
  it('survives reopening: what was written is read back by a new process-level handle', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'katib-store-'));
    const file = path.join(dir, 'nested', 'katib.db');
    const a = new SqliteStore(file);
    await a.createExperiment(experimentFixture('persisted'));
    await a.close();
    const b = new SqliteStore(file);
    expect((await b.getExperiment({ namespace: 'default', name: 'persisted' }))?.metadata.name).toBe('persisted');
    await b.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
