/**
 * RFC3339 sort keys (the stores' time column) and database URLs: the laws the range filter rests on, and the
 * redaction every log line relies on.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { parseDatabaseUrl, redactUrl, timeSortKey } from '../../src/store/observations/index.js';

/** An RFC3339 rendering of `ms` (plus extra sub-millisecond digits) in the offset `offsetMinutes`. */
function render(ms: number, subMs: string, offsetMinutes: number): string {
  const local = new Date(ms + offsetMinutes * 60_000).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  const offset = offsetMinutes === 0 ? 'Z' : `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return `${local.slice(0, 23)}${subMs}${offset}`;
}

const instant = fc.record({
  ms: fc.integer({ min: Date.UTC(1, 0, 2), max: Date.UTC(9999, 11, 30) }),
  subMs: fc.stringMatching(/^\d{0,6}$/),
  offset: fc.integer({ min: -23 * 60 - 59, max: 23 * 60 + 59 }),
});

describe('timeSortKey', () => {
  it.each([
    { name: 'seconds, Z', text: '2024-05-01T08:00:00Z', key: '2024-05-01T08:00:00.000000000Z' },
    { name: 'fraction', text: '2024-05-01T08:00:00.5Z', key: '2024-05-01T08:00:00.500000000Z' },
    { name: 'nanoseconds', text: '2024-05-01T08:00:00.123456789Z', key: '2024-05-01T08:00:00.123456789Z' },
    { name: 'digits past the ninth dropped', text: '2024-05-01T08:00:00.1234567899Z', key: '2024-05-01T08:00:00.123456789Z' },
    { name: 'positive offset across midnight', text: '2024-03-01T01:30:00+02:00', key: '2024-02-29T23:30:00.000000000Z' },
    { name: 'negative offset across a year', text: '2023-12-31T23:00:00-05:00', key: '2024-01-01T04:00:00.000000000Z' },
    { name: 'lower-case t and z', text: '2024-05-01t08:00:00z', key: '2024-05-01T08:00:00.000000000Z' },
    { name: 'Go zero time (Katib collector default)', text: '0001-01-01T00:00:00Z', key: '0001-01-01T00:00:00.000000000Z' },
  ])('$name: $text → $key', ({ text, key }) => {
    expect(timeSortKey(text)).toBe(key);
  });

  it.each([
    ['space instead of T', '2024-05-01 08:00:00Z'],
    ['no offset', '2024-05-01T08:00:00'],
    ['month 13', '2024-13-01T08:00:00Z'],
    ['February 30', '2024-02-30T08:00:00Z'],
    ['February 29 in 2023', '2023-02-29T08:00:00Z'],
    ['hour 24', '2024-05-01T24:00:00Z'],
    ['leap second', '2024-05-01T08:00:60Z'],
    ['offset hour 24', '2024-05-01T08:00:00+24:00'],
    ['empty fraction', '2024-05-01T08:00:00.Z'],
    ['date only', '2024-05-01'],
    ['epoch seconds', '1714550400'],
    ['empty', ''],
    ['before year 0 after the offset', '0000-01-01T00:00:00+01:00'],
  ])('rejects %s (%s)', (_name, text) => {
    expect(timeSortKey(text)).toBeUndefined();
  });

  it('names the same millisecond as Date.parse for any instant and offset (property)', () => {
    fc.assert(
      fc.property(instant, ({ ms, subMs, offset }) => {
        const text = render(ms, subMs, offset);
        const key = timeSortKey(text);
        expect(key).toBeDefined();
        expect(Date.parse(key ?? '')).toBe(ms);
        expect(key?.slice(20, 29)).toBe(`${String(((ms % 1000) + 1000) % 1000).padStart(3, '0')}${subMs}`.padEnd(9, '0'));
      }),
    );
  });

  it('orders keys as the instants they name (property)', () => {
    fc.assert(
      fc.property(instant, instant, (a, b) => {
        const [ka, kb] = [timeSortKey(render(a.ms, a.subMs, a.offset)) ?? '', timeSortKey(render(b.ms, b.subMs, b.offset)) ?? ''];
        const na = BigInt(a.ms) * 1_000_000n + BigInt(a.subMs.padEnd(6, '0'));
        const nb = BigInt(b.ms) * 1_000_000n + BigInt(b.subMs.padEnd(6, '0'));
        expect(ka < kb ? -1 : ka > kb ? 1 : 0).toBe(na < nb ? -1 : na > nb ? 1 : 0);
      }),
    );
  });

  it('never throws, whatever the text (property)', () => {
    fc.assert(fc.property(fc.string(), (s) => void timeSortKey(s)));
  });
});

describe('database URLs', () => {
  it.each([
    { name: 'sqlite path', url: 'sqlite:/var/lib/katib/obs.db', target: { kind: 'sqlite', file: '/var/lib/katib/obs.db' } },
    { name: 'sqlite default', url: 'sqlite:', target: { kind: 'sqlite', file: './.katib/katib.db' } },
    { name: 'sqlite triple slash', url: 'sqlite:///tmp/x.db', target: { kind: 'sqlite', file: '/tmp/x.db' } },
    { name: 'sqlite in memory', url: 'sqlite::memory:', target: { kind: 'sqlite', file: ':memory:' } },
    { name: 'postgres', url: 'postgres://katib:pw@db:5432/katib', target: { kind: 'postgres', url: 'postgres://katib:pw@db:5432/katib' } },
    { name: 'postgresql', url: 'postgresql://db/katib', target: { kind: 'postgres', url: 'postgresql://db/katib' } },
    { name: 'mysql', url: 'mysql://root:pw@katib-mysql:3306/katib', target: { kind: 'mysql', url: 'mysql://root:pw@katib-mysql:3306/katib' } },
    { name: 'mariadb becomes mysql', url: 'mariadb://root@db/katib', target: { kind: 'mysql', url: 'mysql://root@db/katib' } },
  ])('$name', ({ url, target }) => {
    expect(parseDatabaseUrl(url)).toEqual(target);
  });

  it.each([
    { name: 'unknown scheme', url: 'redis://db', message: 'unsupported database URL "redis://db"; use sqlite:PATH, postgres://USER:PASSWORD@HOST:5432/DATABASE or mysql://USER:PASSWORD@HOST:3306/DATABASE' },
    { name: 'mysql without database', url: 'mysql://root:pw@db:3306', message: '"mysql://root@db:3306" names no database; use sqlite:PATH, postgres://USER:PASSWORD@HOST:5432/DATABASE or mysql://USER:PASSWORD@HOST:3306/DATABASE' },
    { name: 'a bare path', url: '/tmp/katib.db', message: 'unsupported database URL "/tmp/katib.db"; use sqlite:PATH, postgres://USER:PASSWORD@HOST:5432/DATABASE or mysql://USER:PASSWORD@HOST:3306/DATABASE' },
  ])('rejects $name', ({ url, message }) => {
    const err = (() => {
      try {
        parseDatabaseUrl(url);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues).toEqual([{ path: 'db', message }]);
  });

  it.each([
    ['postgres://katib:s3cret@db:5432/katib', 'postgres://katib@db:5432/katib'],
    ['postgres://db/katib?password=s3cret&sslmode=require', 'postgres://db/katib?sslmode=require'],
    ['mysql://root:p%40ss@db:3306/katib', 'mysql://root@db:3306/katib'],
    ['sqlite:/tmp/x.db', 'sqlite:/tmp/x.db'],
  ])('redacts %s as %s', (url, shown) => {
    expect(redactUrl(url)).toBe(shown);
  });
});
