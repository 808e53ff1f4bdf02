/**
 * The collector's parts on their own: early-stopping rule semantics (those of the embedded runtime), the
 * termination message it leaves for the runtime, and how it finds and watches the training process.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EarlyStoppingRule } from '../../src/api/types.js';
import { findProcess, processExists, watchProcess } from '../../src/collector/main-process.js';
import { EarlyStoppingTracker, ruleHolds } from '../../src/collector/rules.js';
import { formatOutcome, parseOutcome, TERMINATION_MESSAGE_LIMIT } from '../../src/collector/termination.js';
import type { MetricLogEntry } from '../../src/store/store.js';

const at = (name: string, value: string): MetricLogEntry => ({ timestamp: '2024-05-01T08:00:00Z', name, value });

describe('ruleHolds', () => {
  it.each([
    { name: 'less holds', rule: { name: 'a', value: '0.5', comparison: 'less' as const }, value: 0.4, want: true },
    { name: 'less at the threshold', rule: { name: 'a', value: '0.5', comparison: 'less' as const }, value: 0.5, want: false },
    { name: 'greater holds', rule: { name: 'a', value: '2', comparison: 'greater' as const }, value: 2.5, want: true },
    { name: 'greater fails', rule: { name: 'a', value: '2', comparison: 'greater' as const }, value: 1, want: false },
    { name: 'equal', rule: { name: 'a', value: '1e-3', comparison: 'equal' as const }, value: 0.001, want: true },
    { name: 'a threshold that is no number never holds', rule: { name: 'a', value: 'x', comparison: 'less' as const }, value: -1e9, want: false },
  ])('$name', ({ rule, value, want }) => {
    expect(ruleHolds(rule, value)).toBe(want);
  });
});

describe('EarlyStoppingTracker', () => {
  const feed = (tracker: EarlyStoppingTracker, entries: MetricLogEntry[]) => entries.map((e) => tracker.observe([e])).find((b) => b !== undefined);

  it.each([
    {
      name: 'objective (maximize): the best so far is compared, from startStep on',
      rules: [{ name: 'accuracy', value: '0.6', comparison: 'less' as const, startStep: 3 }],
      maximize: true,
      values: ['0.7', '0.1', '0.2', '0.3'],
      want: undefined,
    },
    {
      name: 'objective (maximize): breach at startStep',
      rules: [{ name: 'accuracy', value: '0.6', comparison: 'less' as const, startStep: 3 }],
      maximize: true,
      values: ['0.1', '0.5', '0.2', '0.9'],
      want: 'stopped early at step 3: best accuracy so far (0.5) is less than 0.6',
    },
    {
      name: 'objective (minimize): the lowest so far',
      rules: [{ name: 'accuracy', value: '0.3', comparison: 'greater' as const }],
      maximize: false,
      values: ['0.2', '0.5'],
      want: undefined,
    },
    {
      name: 'startStep 0 applies from the first value',
      rules: [{ name: 'accuracy', value: '0.3', comparison: 'greater' as const, startStep: 0 }],
      maximize: false,
      values: ['0.5'],
      want: 'stopped early at step 1: best accuracy so far (0.5) is greater than 0.3',
    },
    {
      name: 'another metric: its own value, counted separately',
      rules: [{ name: 'loss', value: '2', comparison: 'greater' as const, startStep: 2 }],
      maximize: true,
      values: ['0.1'],
      lossValues: ['5', '3'],
      want: 'stopped early at step 2: loss=3 is greater than 2',
    },
    {
      name: 'equal',
      rules: [{ name: 'accuracy', value: '0.5', comparison: 'equal' as const }],
      maximize: true,
      values: ['0.2', '0.5'],
      want: 'stopped early at step 2: best accuracy so far (0.5) is equal to 0.5',
    },
  ])('$name', ({ rules, maximize, values, lossValues, want }) => {
    const tracker = new EarlyStoppingTracker(rules as EarlyStoppingRule[], { name: 'accuracy', maximize });
    const entries = [...values.map((v) => at('accuracy', v)), ...(lossValues ?? []).map((v) => at('loss', v))];
    expect(feed(tracker, entries)?.message).toBe(want);
  });

  it('reports one breach only, and skips values that are no numbers', () => {
    const tracker = new EarlyStoppingTracker([{ name: 'loss', value: '1', comparison: 'greater' }], { name: 'accuracy', maximize: true });
    expect(tracker.observe([at('loss', 'NaN'), at('loss', 'unavailable')])).toBeUndefined();
    expect(tracker.observe([at('loss', '2')])?.step).toBe(3);
    expect(tracker.observe([at('loss', '3')])).toBeUndefined();
  });
});

describe('termination message', () => {
  it('round-trips and is found among other lines', () => {
    const text = formatOutcome({ phase: 'early-stopped', message: 'stopped early at step 3: x', metrics: 6 });
    expect(text).toBe('{"collector":"katib-ts","phase":"early-stopped","message":"stopped early at step 3: x","metrics":6}');
    expect(parseOutcome(`something else\n${text}\n`)).toEqual({ phase: 'early-stopped', message: 'stopped early at step 3: x', metrics: 6 });
  });

  it.each([
    { name: 'not a string', message: undefined },
    { name: 'plain text', message: 'Training Container was Early Stopped' },
    { name: 'JSON of something else', message: '{"phase":"early-stopped"}' },
    { name: 'an unknown phase', message: '{"collector":"katib-ts","phase":"other","metrics":1}' },
  ])('ignores $name', ({ message }) => {
    expect(parseOutcome(message)).toBeUndefined();
  });

  it('stays within the 4096 bytes Kubernetes keeps, shortening the message', () => {
    const text = formatOutcome({ phase: 'early-stopped', message: 'é'.repeat(5000), metrics: 1 });
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(TERMINATION_MESSAGE_LIMIT);
    const parsed = parseOutcome(text);
    expect(parsed?.phase).toBe('early-stopped');
    expect(parsed?.message?.endsWith('...')).toBe(true);
    // Two bytes a character: about 2000 of them fit.
    expect(parsed?.message?.length).toBeGreaterThan(1900);
  });
});

describe('the training process', () => {
  it('is found in /proc by a marker in its command line, not in this process', async () => {
    const marker = `katib-marker-${process.pid}-${Date.now()}`;
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)', marker], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 200));
      expect(findProcess(marker)).toBe(child.pid);
      const watched = watchProcess({ waitPidOf: marker, settleMs: 0 });
      expect(watched.state()).toBe('running');
      expect(watched.signal('SIGTERM')).toBe(true);
      await new Promise((r) => child.once('exit', r));
      expect(watched.state()).toBe('exited');
      expect(watched.signal('SIGTERM')).toBe(false);
    } finally {
      child.kill('SIGKILL');
    }
    expect(findProcess('no-process-has-this-in-its-command-line-7f3a')).toBeUndefined();
  });

  it('is found by pid file: starting until the file appears, exited with the marker, settled when killed', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'katib-main-'));
    const pidFile = path.join(dir, 'main.pid');
    const marker = path.join(dir, 'main.exit');
    let clock = 0;
    const watched = watchProcess({ waitPidOf: pidFile, exitMarker: marker, settleMs: 1000, now: () => clock });
    expect(watched.state()).toBe('starting');
    expect(watched.signal('SIGTERM')).toBe(false);
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)'], { stdio: 'ignore' });
    fs.writeFileSync(pidFile, `${child.pid}\n`);
    expect(watched.state()).toBe('running');
    expect(watched.describe()).toBe(`pid ${child.pid} (from ${pidFile})`);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(processExists(child.pid ?? 0)).toBe(false);
    // Gone without a marker: still finishing (the wrapper copies the last output) until the settle time passed.
    expect(watched.state()).toBe('running');
    clock = 999;
    expect(watched.state()).toBe('running');
    clock = 1000;
    expect(watched.state()).toBe('exited');
    expect(watched.exitCode()).toBeUndefined();

    const again = watchProcess({ waitPidOf: pidFile, exitMarker: marker });
    fs.writeFileSync(marker, '3\n');
    expect(again.state()).toBe('exited');
    expect(again.exitCode()).toBe(3);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
