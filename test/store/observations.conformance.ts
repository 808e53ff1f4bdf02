/**
 * The contract every SQL observation store keeps (SQLite, PostgreSQL, MySQL/MariaDB), run unchanged over each by
 * observations.test.ts against real databases. Each suite works in its own table prefix; every test uses its own
 * trial names, so tests and suites never see each other's rows.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import type { SqlObservationStore } from '../../src/store/observations/index.js';
import type { MetricLogEntry } from '../../src/store/store.js';

export interface ObservationStoreHarness {
  /** Opens a store on the harness's database using tables named with `tablePrefix`. */
  open(tablePrefix: string): Promise<SqlObservationStore>;
  /** Removes the tables with `tablePrefix` (after the suite). */
  drop(tablePrefix: string): Promise<void>;
}

const LATEST_SCHEMA_VERSION = 2;

function trialName(tag: string): string {
  return `trial-${tag}-${randomBytes(3).toString('hex')}`;
}

/** `n` entries one second apart from 2024-05-01T08:00:00Z, cycling through `metrics`. */
function series(n: number, metrics: readonly string[] = ['loss'], startSecond = 0): MetricLogEntry[] {
  const base = Date.UTC(2024, 4, 1, 8, 0, 0);
  return Array.from({ length: n }, (_, i) => ({
    timestamp: new Date(base + (startSecond + i) * 1000).toISOString().replace('.000Z', 'Z'),
    name: metrics[i % metrics.length] ?? 'loss',
    value: String((1 / (i + 1)).toPrecision(6)),
  }));
}

/** Nanoseconds since the epoch of an RFC3339 timestamp, computed independently of the store (Date.parse + digits). */
function epochNanos(ts: string): bigint {
  const frac = /\.(\d+)/.exec(ts)?.[1] ?? '';
  const whole = ts.replace(/\.\d+/, '');
  return BigInt(Date.parse(whole)) * 1_000_000n + BigInt(frac.slice(0, 9).padEnd(9, '0'));
}

export function observationStoreConformance(harness: ObservationStoreHarness): void {
  const prefixes: string[] = [];
  let store: SqlObservationStore;
  const newPrefix = (): string => {
    const p = `kt_${randomBytes(4).toString('hex')}_`;
    prefixes.push(p);
    return p;
  };

  beforeAll(async () => {
    store = await harness.open(newPrefix());
  });

  afterAll(async () => {
    await store?.close();
    for (const p of prefixes) await harness.drop(p);
  });

  describe('migrations', () => {
    it('applies every migration on an empty database, and none when opened again (data kept)', async () => {
      expect(store.migrationsApplied).toEqual([1, 2]);
      const trial = trialName('migr');
      await store.report(trial, series(3));
      const again = await harness.open(prefixes[0] ?? '');
      try {
        expect(again.migrationsApplied).toEqual([]);
        expect(await again.schemaVersion()).toBe(LATEST_SCHEMA_VERSION);
        expect(await again.get(trial)).toEqual(series(3));
      } finally {
        await again.close();
      }
    });

    it('applies each migration once when several stores open a fresh database at the same time', async () => {
      const prefix = newPrefix();
      const stores = await Promise.all([1, 2, 3].map(() => harness.open(prefix)));
      try {
        expect(stores.flatMap((s) => s.migrationsApplied).sort()).toEqual([1, 2]);
        for (const s of stores) expect(await s.schemaVersion()).toBe(LATEST_SCHEMA_VERSION);
      } finally {
        for (const s of stores) await s.close();
      }
    });
  });

  describe('round trip', () => {
    it('returns timestamps and values exactly as reported', async () => {
      const trial = trialName('rt');
      const entries: MetricLogEntry[] = [
        { timestamp: '2024-05-01T08:00:00Z', name: 'loss', value: '0.9500' },
        { timestamp: '2024-05-01T08:00:00.5Z', name: 'loss', value: '1e-3' },
        { timestamp: '2024-05-01T08:00:01.123456789Z', name: 'accuracy', value: '-0' },
        { timestamp: '2024-05-01T10:00:02+02:00', name: 'Accuracy', value: '12345678901234567890.123456789' },
        { timestamp: '2024-05-01t08:00:03.000z', name: 'métrique/précision ✓', value: 'Infinity' },
        { timestamp: '2024-05-01T03:30:04-04:30', name: 'loss', value: '' },
      ];
      await store.report(trial, entries);
      expect(await store.get(trial)).toEqual(entries);
    });

    it('returns nothing for a trial that reported nothing', async () => {
      expect(await store.get(trialName('none'))).toEqual([]);
    });

    it('stores an empty report as nothing', async () => {
      const trial = trialName('empty');
      await store.report(trial, []);
      expect(await store.get(trial)).toEqual([]);
    });
  });

  describe('ordering', () => {
    it('orders by time across reports, whatever the offset; equal instants keep report order', async () => {
      const trial = trialName('order');
      await store.report(trial, [
        { timestamp: '2024-05-01T08:00:03Z', name: 'loss', value: 'c' },
        { timestamp: '2024-05-01T08:00:01Z', name: 'loss', value: 'a' },
      ]);
      await store.report(trial, [
        { timestamp: '2024-05-01T09:00:02+01:00', name: 'loss', value: 'b' },
        { timestamp: '2024-05-01T08:00:01.000Z', name: 'loss', value: 'a2' },
        { timestamp: '2024-05-01T08:00:00.999999999Z', name: 'loss', value: 'z' },
      ]);
      expect((await store.get(trial)).map((e) => e.value)).toEqual(['z', 'a', 'a2', 'b', 'c']);
    });
  });

  describe('metric filter', () => {
    it('returns only the named metric, compared exactly (case matters)', async () => {
      const trial = trialName('metric');
      await store.report(trial, series(9, ['loss', 'Loss', 'accuracy']));
      const loss = await store.get(trial, { metricName: 'loss' });
      expect(loss).toEqual(series(9, ['loss', 'Loss', 'accuracy']).filter((e) => e.name === 'loss'));
      expect(loss).toHaveLength(3);
      expect(await store.get(trial, { metricName: 'LOSS' })).toEqual([]);
      expect(await store.get(trial, { metricName: '' })).toHaveLength(9);
    });
  });

  describe('time range', () => {
    it.each([
      { name: 'both bounds, inclusive', q: { startTime: '2024-05-01T08:00:01Z', endTime: '2024-05-01T08:00:03Z' }, seconds: [1, 2, 3] },
      { name: 'start only', q: { startTime: '2024-05-01T08:00:03Z' }, seconds: [3, 4] },
      { name: 'end only', q: { endTime: '2024-05-01T08:00:00Z' }, seconds: [0] },
      { name: 'bounds in another offset', q: { startTime: '2024-05-01T10:00:01+02:00', endTime: '2024-05-01T07:00:02-01:00' }, seconds: [1, 2] },
      { name: 'fractional bounds just inside', q: { startTime: '2024-05-01T08:00:00.999999999Z', endTime: '2024-05-01T08:00:02.000000001Z' }, seconds: [1, 2] },
      { name: 'fractional bounds just outside', q: { startTime: '2024-05-01T08:00:01.000000001Z', endTime: '2024-05-01T08:00:02.999999999Z' }, seconds: [2] },
      { name: 'equal bounds', q: { startTime: '2024-05-01T08:00:04Z', endTime: '2024-05-01T08:00:04.000Z' }, seconds: [4] },
      { name: 'empty range', q: { startTime: '2024-05-01T08:00:05Z', endTime: '2024-05-01T09:00:00Z' }, seconds: [] },
      { name: 'with a metric name', q: { metricName: 'loss', startTime: '2024-05-01T08:00:01Z' }, seconds: [2, 4] },
    ])('$name', async ({ q, seconds }) => {
      const trial = trialName('range');
      const entries = series(5, ['loss', 'accuracy']);
      await store.report(trial, entries);
      expect(await store.get(trial, q)).toEqual(seconds.map((s) => entries[s]));
    });

    it('agrees with an independent model for random timestamps and bounds (property)', async () => {
      const instant = fc.record({
        second: fc.integer({ min: 0, max: 5 }),
        frac: fc.constantFrom('', '.5', '.000000001', '.999', '.123456789'),
        offset: fc.constantFrom('Z', '+00:00', '+01:00', '-02:30'),
      });
      const render = ({ second, frac, offset }: { second: number; frac: string; offset: string }): string => {
        const shiftMinutes = offset === 'Z' || offset === '+00:00' ? 0 : offset === '+01:00' ? 60 : -150;
        const local = new Date(Date.UTC(2024, 4, 1, 8, 0, second) + shiftMinutes * 60_000).toISOString().slice(0, 19);
        return `${local}${frac}${offset}`;
      };
      await fc.assert(
        fc.asyncProperty(fc.array(instant, { minLength: 1, maxLength: 12 }), instant, instant, async (points, lo, hi) => {
          const trial = trialName('prop');
          const entries = points.map((p, i) => ({ timestamp: render(p), name: 'm', value: String(i) }));
          await store.report(trial, entries);
          const [start, end] = [render(lo), render(hi)];
          const got = await store.get(trial, { startTime: start, endTime: end });
          const expected = entries
            .map((e, i) => ({ e, i, t: epochNanos(e.timestamp) }))
            .filter(({ t }) => t >= epochNanos(start) && t <= epochNanos(end))
            .sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : a.i - b.i))
            .map(({ e }) => e);
          expect(got).toEqual(expected);
          await store.delete(trial);
        }),
        { numRuns: 15 },
      );
    });
  });

  describe('delete', () => {
    it("removes the trial's entries and batch records, and nothing of other trials", async () => {
      const [a, b] = [trialName('del'), trialName('keep')];
      await store.report(a, series(4), 'batch-1');
      await store.report(b, series(2), 'batch-1');
      await store.delete(a);
      expect(await store.get(a)).toEqual([]);
      expect(await store.get(b)).toEqual(series(2));
      // The batch record went too: the same batch id is a new batch for the trial now.
      await store.report(a, series(1), 'batch-1');
      expect(await store.get(a)).toEqual(series(1));
    });

    it('deleting a trial that has nothing is not an error', async () => {
      await expect(store.delete(trialName('ghost'))).resolves.toBeUndefined();
    });
  });

  describe('idempotent batches', () => {
    it('stores a retried batch once', async () => {
      const trial = trialName('idem');
      await store.report(trial, series(3), 'b-1');
      await store.report(trial, series(3), 'b-1');
      await store.report(trial, series(2, ['loss'], 10), 'b-2');
      expect(await store.get(trial)).toEqual([...series(3), ...series(2, ['loss'], 10)]);
    });

    it('stores a batch once when its retries race each other', async () => {
      const trial = trialName('race');
      await Promise.all(Array.from({ length: 6 }, () => store.report(trial, series(50), 'racing')));
      expect(await store.get(trial)).toHaveLength(50);
    });

    it('keys batches by trial: the same id in two trials is two batches', async () => {
      const [a, b] = [trialName('ka'), trialName('kb')];
      await store.report(a, series(2), 'same');
      await store.report(b, series(2), 'same');
      expect(await store.get(a)).toHaveLength(2);
      expect(await store.get(b)).toHaveLength(2);
    });

    it('stores every report that has no batch id, even identical ones', async () => {
      const trial = trialName('nobatch');
      await store.report(trial, series(2));
      await store.report(trial, series(2));
      expect(await store.get(trial)).toHaveLength(4);
    });
  });

  describe('volume and concurrency', () => {
    it('stores a 10,000-entry batch in one report, in order, values exact', async () => {
      const trial = trialName('large');
      const entries = series(10_000, ['loss', 'accuracy']);
      await store.report(trial, entries, 'large');
      const got = await store.get(trial);
      expect(got).toHaveLength(10_000);
      expect(got).toEqual(entries);
      expect(await store.get(trial, { metricName: 'accuracy' })).toHaveLength(5_000);
    });

    it('keeps every entry of concurrent reporters, none twice', async () => {
      const trials = [trialName('conc-a'), trialName('conc-b')];
      const reporters = 8;
      const batches = 10;
      const perBatch = 40;
      await Promise.all(
        Array.from({ length: reporters }, async (_, r) => {
          for (let b = 0; b < batches; b++) {
            const entries = series(perBatch, [`m${r}`], b * perBatch);
            const trial = trials[r % 2] ?? '';
            await store.report(trial, entries, `r${r}-b${b}`);
            if (b % 3 === 0) await store.report(trial, entries, `r${r}-b${b}`); // a retry mixed in
          }
        }),
      );
      for (const [i, trial] of trials.entries()) {
        const got = await store.get(trial);
        expect(got).toHaveLength((reporters / 2) * batches * perBatch);
        for (let r = i; r < reporters; r += 2) {
          const expected = Array.from({ length: batches }, (_, b) => series(perBatch, [`m${r}`], b * perBatch)).flat();
          expect(await store.get(trial, { metricName: `m${r}` })).toEqual(expected);
        }
      }
    });
  });

  describe('validation', () => {
    it.each([
      { name: 'empty trial name', trial: '', entries: series(1), batch: undefined, path: 'trialName', message: 'trial name must not be empty' },
      { name: 'over-long trial name', trial: 'x'.repeat(256), entries: series(1), batch: undefined, path: 'trialName', message: 'trial name is 256 characters long; at most 255 are stored' },
      { name: 'empty metric name', trial: 't', entries: [{ timestamp: '2024-05-01T08:00:00Z', name: '', value: '1' }], batch: undefined, path: 'entries[0].name', message: 'metric name must not be empty' },
      {
        name: 'unparsable timestamp',
        trial: 't',
        entries: [...series(1), { timestamp: '2024-02-30T08:00:00Z', name: 'loss', value: '1' }],
        batch: undefined,
        path: 'entries[1].timestamp',
        message: '"2024-02-30T08:00:00Z" is not an RFC3339 timestamp (e.g. 2024-05-01T08:00:00Z)',
      },
      { name: 'NUL in a value', trial: 't', entries: [{ timestamp: '2024-05-01T08:00:00Z', name: 'loss', value: '1\u0000' }], batch: undefined, path: 'entries[0].value', message: 'value "1\\u0000" contains a NUL character, which databases cannot store' },
      { name: 'empty batch id', trial: 't', entries: series(1), batch: '', path: 'batchId', message: 'batch id must not be empty' },
    ])('rejects $name, storing nothing', async ({ trial, entries, batch, path, message }) => {
      const name = trial === 't' ? trialName('invalid') : trial;
      const err = await store.report(name, entries, batch).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).issues).toEqual([{ path, message }]);
      if (name !== '' && name.length <= 255) expect(await store.get(name)).toEqual([]);
    });

    it('rejects a NUL character in a read, which no database can compare', async () => {
      const err = await store.get(trialName('nul'), { metricName: 'lo\u0000ss' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).issues).toEqual([{ path: 'metricName', message: 'metric name "lo\\u0000ss" contains a NUL character' }]);
    });

    it('rejects unparsable range bounds, naming each', async () => {
      const err = await store.get(trialName('q'), { startTime: 'yesterday', endTime: '2024-05-01 08:00:00Z' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).issues.map((i) => i.path)).toEqual(['startTime', 'endTime']);
    });
  });
}
