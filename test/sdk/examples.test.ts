import { afterEach, describe, expect, it, vi } from 'vitest';

// The examples run on import (top-level await); these tests keep them working and quick.
describe('SDK examples', () => {
  afterEach(() => vi.restoreAllMocks());

  it.each([
    { name: 'quickstart', load: () => import('../../examples/sdk/quickstart.js'), expect: /^40 trials finished, reaching numTrials=40 \(40 succeeded\)/ },
    { name: 'early-stopping', load: () => import('../../examples/sdk/early-stopping.js'), expect: /^30 trials finished, reaching numTrials=30 \(\d+ succeeded, \d+ stopped early\)/ },
  ])('$name runs to the end within 10 s and prints its best trial', async ({ load, expect: first }) => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.join(' ')));
    const started = Date.now();
    await load();
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(lines[0]).toMatch(first);
    expect(lines.some((l) => /^\s*best: /.test(l))).toBe(true);
  });
});
