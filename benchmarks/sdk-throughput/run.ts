/**
 * SDK throughput: trials per second of `optimize()` with a trivial objective, side by side with Optuna's
 * `study.optimize` on the same objective and search space (two floats in [-10, 10]), one trial at a time on both
 * sides (`parallelTrials: 1`, `n_jobs=1`).
 *
 * Cases (trial counts can be scaled with KATIB_BENCH_SCALE, e.g. 0.1 for a quick look):
 * - random search, in memory: 10,000 trials, ours vs Optuna's InMemoryStorage;
 * - random search, durable: ours on SQLite with 10,000 trials vs Optuna's RDB storage on SQLite with 1,000 (Optuna
 *   commits several statements per trial through SQLAlchemy and would take minutes at 10,000; trials/s are compared);
 *   and ours with `synchronous: 'full'` (an fsync per commit, as Optuna's SQLite default does) at 1,000 trials;
 * - TPE, in memory: 1,000 trials each (skipped while `tpe` is not in the registry).
 *
 * Run: `npm run build && node dist/benchmarks/sdk-throughput/run.js` (about 6 minutes). Needs Debian's
 * python3-optuna at /usr/bin/python3 (override with KATIB_BENCH_PYTHON); without it the Optuna columns are empty.
 * Prints a table (ratios by wall clock, which the targets judge, and by CPU time, steadier on a busy machine) and
 * writes benchmarks/results/sdk-throughput.json.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findAlgorithm } from '../../algorithms/index.js';
import { optimize, search } from '../../src/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The repository root: this file runs from dist/benchmarks/sdk-throughput/. */
const root = path.resolve(here, '..', '..', '..');
const scale = Number(process.env['KATIB_BENCH_SCALE'] ?? '1');
const python = process.env['KATIB_BENCH_PYTHON'] ?? '/usr/bin/python3';
const n = (trials: number): number => Math.max(10, Math.round(trials * scale));

interface Measured {
  readonly trials: number;
  /** Wall-clock seconds: what the targets are judged on. */
  readonly seconds: number;
  readonly trialsPerSecond: number;
  /** CPU seconds of the process: less disturbed than wall clock on a busy machine (but blind to I/O waits). */
  readonly cpuSeconds: number;
  readonly trialsPerCpuSecond: number;
}

const parameters = { x: search.uniform(-10, 10), y: search.uniform(-10, 10) };

async function ours(algorithm: string, trials: number, sqlite: string | undefined, synchronous: 'normal' | 'full' = 'normal'): Promise<Measured> {
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const result = await optimize({
    objective: async ({ x, y }) => (x - 2) ** 2 + (y + 1) ** 2,
    parameters,
    metric: 'loss',
    mode: 'minimize',
    algorithm,
    algorithmSettings: { random_state: 1 },
    numTrials: trials,
    ...(sqlite ? { store: { sqlite, studyName: `bench-${algorithm}`, synchronous } } : {}),
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  if (result.trials.length !== trials) throw new Error(`expected ${trials} trials, got ${result.trials.length}`);
  return { trials, seconds, trialsPerSecond: trials / seconds, cpuSeconds, trialsPerCpuSecond: trials / cpuSeconds };
}

function optuna(kind: string, trials: number, file?: string): Measured | undefined {
  const script = path.join(root, 'benchmarks', 'sdk-throughput', 'optuna_throughput.py');
  const res = spawnSync(python, [script, kind, String(trials), ...(file ? [file] : [])], { encoding: 'utf8', timeout: 900_000 });
  if (res.status !== 0) {
    process.stderr.write(`optuna ${kind}: ${res.error?.message ?? res.stderr.trim().split('\n').slice(-1)[0] ?? 'failed'}\n`);
    return undefined;
  }
  const out = JSON.parse(res.stdout.trim().split('\n').slice(-1)[0] ?? '{}') as { trials: number; seconds: number; cpu_seconds: number; trials_per_s: number; optuna: string };
  optunaVersion = out.optuna;
  return { trials: out.trials, seconds: out.seconds, trialsPerSecond: out.trials_per_s, cpuSeconds: out.cpu_seconds, trialsPerCpuSecond: out.trials / out.cpu_seconds };
}

let optunaVersion: string | undefined;

interface Row {
  readonly case: string;
  readonly ours: Measured | undefined;
  readonly optuna: Measured | undefined;
  readonly target: number;
  /** Ours over Optuna in trials/s by wall clock. */
  readonly ratio: number | undefined;
  /** The same by CPU time. */
  readonly cpuRatio: number | undefined;
  readonly met: boolean | undefined;
}

function row(name: string, o: Measured | undefined, p: Measured | undefined, target: number): Row {
  const ratio = o && p ? o.trialsPerSecond / p.trialsPerSecond : undefined;
  const cpuRatio = o && p ? o.trialsPerCpuSecond / p.trialsPerCpuSecond : undefined;
  return { case: name, ours: o, optuna: p, target, ratio, cpuRatio, met: ratio === undefined ? undefined : ratio >= target };
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'katib-sdk-bench-'));
  const rows: Row[] = [];
  try {
    // Warm up the JIT on both code paths so neither measured run pays for compilation.
    await ours('random', 500, undefined);
    await ours('random', 200, path.join(tmp, 'warm.db'));

    const memOurs = await ours('random', n(10_000), undefined);
    const memOptuna = optuna('random-memory', n(10_000));
    rows.push(row(`random, in memory (${n(10_000)} trials each)`, memOurs, memOptuna, 1));

    const sqlOurs = await ours('random', n(10_000), path.join(tmp, 'ours.db'));
    const sqlOptuna = optuna('random-sqlite', n(1_000), path.join(tmp, 'optuna.db'));
    rows.push(row(`random, SQLite (ours ${n(10_000)}, Optuna ${n(1_000)} trials)`, sqlOurs, sqlOptuna, 10));
    // Optuna's SQLite storage syncs every commit (rollback journal, synchronous=FULL): compare like with like too.
    const fullOurs = await ours('random', n(1_000), path.join(tmp, 'ours-full.db'), 'full');
    rows.push(row(`random, SQLite synchronous=full (${n(1_000)} each)`, fullOurs, sqlOptuna, 10));

    if (findAlgorithm('tpe')) {
      await ours('tpe', 100, undefined);
      const tpeOurs = await ours('tpe', n(1_000), undefined);
      const tpeOptuna = optuna('tpe-memory', n(1_000));
      rows.push(row(`TPE, in memory (${n(1_000)} trials each)`, tpeOurs, tpeOptuna, 3));
    } else {
      process.stderr.write('tpe is not in the algorithm registry: the TPE case is skipped\n');
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  const fmt = (m: Measured | undefined): string => (m ? `${m.trialsPerSecond.toFixed(0).padStart(7)} /s (${m.seconds.toFixed(2)} s)` : '       n/a');
  const x = (r: number | undefined): string => (r === undefined ? '   n/a' : `${r.toFixed(1).padStart(5)}x`);
  const lines = [
    `${'case'.padEnd(46)} ${'katib-ts'.padEnd(22)} ${'Optuna'.padEnd(22)} ${'ratio'.padEnd(6)} ${'by CPU'.padEnd(6)} target`,
    ...rows.map(
      (r) =>
        `${r.case.padEnd(46)} ${fmt(r.ours).padEnd(22)} ${fmt(r.optuna).padEnd(22)} ${x(r.ratio)} ${x(r.cpuRatio)} >= ${r.target}x ${r.met === undefined ? '' : r.met ? 'met' : 'MISSED'}`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);

  const out = path.join(root, 'benchmarks', 'results', 'sdk-throughput.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const report = {
    benchmark: 'sdk-throughput',
    date: new Date().toISOString(),
    node: process.version,
    optuna: optunaVersion ?? null,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? null,
    loadAverage: os.loadavg(),
    scale,
    objective: '(x - 2)^2 + (y + 1)^2, x and y uniform in [-10, 10], one trial at a time',
    rows,
  };
  fs.writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`wrote ${path.relative(process.cwd(), out)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
