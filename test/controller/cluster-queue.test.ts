/** The cluster manager's work queue: de-duplication, one pass per key at a time, delays and per-key backoff. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { backoffDelay, WorkQueue } from '../../src/controller/cluster.js';

describe('backoffDelay', () => {
  it.each([
    { name: 'first failure waits the base', failures: 1, want: 100 },
    { name: 'doubles per failure', failures: 4, want: 800 },
    { name: 'capped', failures: 20, want: 5000 },
    { name: 'huge counts stay capped', failures: 10_000, want: 5000 },
  ])('$name', ({ failures, want }) => {
    expect(backoffDelay(failures, 100, 5000)).toBe(want);
  });
});

describe('WorkQueue', () => {
  let q: WorkQueue;
  beforeEach(() => {
    vi.useFakeTimers();
    q = new WorkQueue({ baseMs: 100, maxMs: 1000 });
  });
  afterEach(() => {
    q.shutDown();
    vi.useRealTimers();
  });

  it('queues a key once however often it is added, in first-added order', async () => {
    q.add('a');
    q.add('b');
    q.add('a');
    expect(q.length).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
    expect(q.length).toBe(0);
  });

  it('holds a key added while it is processed until done, so passes of one key never overlap', async () => {
    q.add('a');
    const key = await q.get();
    q.add('a');
    expect(q.length).toBe(0);
    q.done(key as string);
    expect(q.length).toBe(1);
    expect(await q.get()).toBe('a');
  });

  it('hands a key to a waiting worker as soon as it is added', async () => {
    const next = q.get();
    q.add('late');
    expect(await next).toBe('late');
  });

  it('backs off per key, doubling, and forget resets the count', async () => {
    expect(q.addRateLimited('a')).toBe(100);
    expect(q.addRateLimited('a')).toBe(200);
    expect(q.addRateLimited('b')).toBe(100);
    expect(q.numRequeues('a')).toBe(2);
    q.forget('a');
    expect(q.numRequeues('a')).toBe(0);
    expect(q.addRateLimited('a')).toBe(100);
  });

  it('delays addAfter; the earliest pending delay of a key wins', async () => {
    q.addAfter('a', 500);
    q.addAfter('a', 200);
    q.addAfter('a', 900);
    vi.advanceTimersByTime(199);
    expect(q.length).toBe(0);
    vi.advanceTimersByTime(1);
    expect(q.length).toBe(1);
    vi.advanceTimersByTime(1000);
    expect(q.length).toBe(1);
  });

  it('on shutdown, stops handing out keys, wakes waiting workers and drops delayed keys', async () => {
    const waiting = q.get();
    q.addAfter('later', 100);
    q.shutDown();
    expect(await waiting).toBeUndefined();
    q.add('x');
    vi.advanceTimersByTime(1000);
    expect(await q.get()).toBeUndefined();
  });
});
