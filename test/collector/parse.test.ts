import { describe, expect, it } from 'vitest';
import { createLineParser, DEFAULT_METRICS_FORMAT, observationFromLogs, objectiveValue } from '../../src/collector/parse.js';

const now = () => new Date('2026-01-02T03:04:05.000Z');
const NOW = '2026-01-02T03:04:05.000Z';

describe('TEXT / StdOut parsing', () => {
  const parse = createLineParser({ metrics: ['loss', 'accuracy'], format: 'TEXT', now });
  it.each([
    { name: 'name=value pairs', line: 'epoch=3 loss=0.25 accuracy=0.9', want: [['loss', '0.25'], ['accuracy', '0.9']] },
    { name: 'spaces around =', line: 'loss = 1.5e-3', want: [['loss', '1.5e-3']] },
    { name: 'negative and signed', line: 'loss=-2 accuracy=+0.5', want: [['loss', '-2'], ['accuracy', '+0.5']] },
    { name: 'unrelated metrics ignored', line: 'epoch=3 lr=0.1', want: [] },
    { name: 'no metric on the line', line: 'starting training', want: [] },
    { name: 'repeated metric on a line', line: 'loss=1 loss=2', want: [['loss', '1'], ['loss', '2']] },
  ])('$name', ({ line, want }) => {
    expect(parse(line).map((e) => [e.name, e.value])).toEqual(want);
    for (const e of parse(line)) expect(e.timestamp).toBe(NOW);
  });

  it('takes a leading RFC3339 timestamp', () => {
    expect(parse('2024-05-06T07:08:09Z loss=0.5')).toEqual([{ timestamp: '2024-05-06T07:08:09Z', name: 'loss', value: '0.5' }]);
  });

  it('applies custom metricsFormat filters', () => {
    const p = createLineParser({ metrics: ['loss'], filters: [String.raw`([\w-]+):\s*(\d+\.\d+)`], format: 'TEXT', now });
    expect(p('loss: 0.75 (epoch 2)').map((e) => e.value)).toEqual(['0.75']);
    expect(p('loss=0.75')).toEqual([]);
  });

  it('exports Katib default filter', () => {
    expect(DEFAULT_METRICS_FORMAT).toBe(String.raw`([\w|-]+)\s*=\s*([+-]?\d*(\.\d+)?([Ee][+-]?\d+)?)`);
  });
});

describe('JSON parsing', () => {
  const parse = createLineParser({ metrics: ['loss', 'accuracy'], format: 'JSON', now });
  it.each([
    { name: 'string values as Katib', line: '{"loss": "0.5", "accuracy": "0.8"}', want: [['loss', '0.5'], ['accuracy', '0.8']] },
    { name: 'number values too', line: '{"loss": 0.5}', want: [['loss', '0.5']] },
    { name: 'not JSON', line: 'hello', want: [] },
    { name: 'broken JSON', line: '{"loss": ', want: [] },
  ])('$name', ({ line, want }) => {
    expect(parse(line).map((e) => [e.name, e.value])).toEqual(want);
  });
  it('reads the timestamp key (RFC3339 or unix seconds)', () => {
    expect(parse('{"loss": "1", "timestamp": "2024-01-01T00:00:00Z"}')[0]?.timestamp).toBe('2024-01-01T00:00:00Z');
    expect(parse('{"loss": "1", "timestamp": 1700000000.5}')[0]?.timestamp).toBe('2023-11-14T22:13:20.500Z');
  });
});

describe('observations and metric strategies', () => {
  const logs = [
    { timestamp: NOW, name: 'loss', value: '0.9' },
    { timestamp: NOW, name: 'loss', value: '0.2' },
    { timestamp: NOW, name: 'loss', value: '0.4' },
    { timestamp: NOW, name: 'accuracy', value: 'unavailable' },
  ];
  it('computes min, max and latest per metric', () => {
    expect(observationFromLogs(logs, ['loss', 'accuracy'])).toEqual({
      metrics: [
        { name: 'loss', min: '0.2', max: '0.9', latest: '0.4' },
        { name: 'accuracy', min: 'unavailable', max: 'unavailable', latest: 'unavailable' },
      ],
    });
  });
  it.each([
    { strategy: 'min' as const, want: 0.2 },
    { strategy: 'max' as const, want: 0.9 },
    { strategy: 'latest' as const, want: 0.4 },
  ])('objective by $strategy', ({ strategy, want }) => {
    expect(objectiveValue(observationFromLogs(logs, ['loss']), 'loss', strategy)).toBe(want);
  });
  it('is undefined when the metric never appeared', () => {
    expect(objectiveValue(observationFromLogs(logs, ['accuracy']), 'accuracy', 'max')).toBeUndefined();
  });
});
