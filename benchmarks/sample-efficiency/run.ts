/**
 * Sample efficiency: the median simple regret (best value found minus the known optimum) after 25, 50 and 100
 * trials (one at a time; K at once with --parallel K), for our algorithms driven through the gRPC suggestion service exactly as the controller drives
 * them, side by side with Optuna's samplers on the same functions and seeds, in one run.
 *
 * Functions (benchmarks/common/problems.json; formulas in problems.ts / problems.py, checked equal at the start of
 * every run): Branin, Hartmann-6, Rosenbrock-4, Ackley-5, Levy-4 and a mixed space (log-scale float, int,
 * categorical, float).
 *
 * Ours: `katib serve suggestion` runs in its own process (one per worker); for each seed an experiment with
 * `random_state=<seed>` asks for one trial at a time, sending every earlier trial (its objective in the observation
 * metrics) and the algorithm settings of the previous reply (the state). Optuna: optuna_runner.py, each sampler
 * seeded with the same seed, study.optimize one trial at a time. Neither side reads the budget, so one run of the
 * largest budget gives every smaller budget as its prefix.
 *
 *   npm run build && node dist/benchmarks/sample-efficiency/run.js            # full: 20 seeds, budgets 25,50,100
 *   node dist/benchmarks/sample-efficiency/run.js --quick                     # 5 seeds, budgets 25,50
 *   options: --seeds N  --budgets 25,50,100  --functions branin,mixed  --algorithms tpe,cmaes
 *            --samplers tpe,cmaes  --workers 1|2  --out FILE  --check (only compare the two implementations)
 *            --parallel K (K trials at once, as a controller with parallelTrialCount K runs them; see runKatib;
 *            Optuna's side asks and tells in the same order, its TPE samplers with constant_liar; the results go
 *            to sample-efficiency-parallel-K.json, and the targets, set for one trial at a time, are not judged)
 *
 * Prints, per budget, a table (rows: functions; columns: algorithms; median [IQR] of the regret over seeds, `*` on
 * the lowest median of the row, and the ratio best-of-ours / best-of-Optuna), the seconds per run, and the targets
 * at 50 and 100 trials with PASS/FAIL. Writes benchmarks/results/sample-efficiency.json.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { intListOption, intOption, listOption, parseArgs } from '../common/cli-args.js';
import { benchmarkExperiment, pointOf, BenchmarkController } from '../common/controller.js';
import { startService, type ServiceProcess } from '../common/katib-service.js';
import { checkPointsOf, checkProblems, evaluate, loadProblems, type Problem } from '../common/problems.js';
import { provenance } from '../common/provenance.js';
import { PYTHON, PythonWorker, runPythonJson } from '../common/python.js';
import { repoRoot } from '../common/repo-root.js';
import { mannWhitneyP, summarize, type Summary } from '../common/stats.js';
import { fmt, fmtRatio, renderTable } from '../common/table.js';

const OUR_ALGORITHMS = ['random', 'tpe', 'multivariate-tpe', 'bayesianoptimization', 'cmaes', 'sobol'] as const;
const OPTUNA_SAMPLERS = ['random', 'tpe', 'multivariate-tpe', 'cmaes', 'qmc'] as const;
type Side = 'katib' | 'optuna';

/** Short column labels; Optuna's carry an `O.` prefix. */
const LABELS: Record<string, string> = {
  'katib:random': 'random',
  'katib:tpe': 'tpe',
  'katib:multivariate-tpe': 'mv-tpe',
  'katib:bayesianoptimization': 'bo',
  'katib:cmaes': 'cmaes',
  'katib:sobol': 'sobol',
  'optuna:random': 'O.random',
  'optuna:tpe': 'O.tpe',
  'optuna:multivariate-tpe': 'O.mv-tpe',
  'optuna:cmaes': 'O.cmaes',
  'optuna:qmc': 'O.qmc',
};

/** Rough relative cost of one run, to start the slowest jobs first (longest-processing-time scheduling). */
const COST: Record<string, number> = {
  'katib:bayesianoptimization': 100,
  'optuna:multivariate-tpe': 12,
  'optuna:tpe': 10,
  'katib:multivariate-tpe': 8,
  'katib:tpe': 6,
  'optuna:cmaes': 4,
  'katib:cmaes': 3,
  'optuna:qmc': 3,
  'katib:sobol': 2,
  'katib:random': 2,
  'optuna:random': 1,
};

const USAGE =
  'usage: node dist/benchmarks/sample-efficiency/run.js [--quick] [--check] [--seeds N] [--budgets 25,50,100] [--functions a,b] [--algorithms a,b] [--samplers a,b] [--parallel K] [--workers 1|2] [--out FILE]';

interface Settings {
  readonly mode: 'quick' | 'full' | 'custom';
  readonly seeds: number;
  readonly budgets: readonly number[];
  readonly functions: readonly string[];
  readonly algorithms: readonly string[];
  readonly samplers: readonly string[];
  readonly workers: number;
  /** Trials running at once (1: sequential). */
  readonly parallel: number;
  readonly out: string;
  readonly checkOnly: boolean;
}

interface Job {
  readonly side: Side;
  readonly algorithm: string;
  readonly problem: Problem;
}

interface Run {
  readonly seed: number;
  /** Best value after each trial. */
  readonly trace: readonly number[];
  readonly seconds: number;
}

interface JobResult {
  readonly job: Job;
  readonly runs: readonly Run[];
}

const columnId = (side: Side, algorithm: string): string => `${side}:${algorithm}`;

function parseSettings(argv: readonly string[], functionNames: readonly string[]): Settings {
  const args = parseArgs(argv, ['quick', 'check'], ['seeds', 'budgets', 'functions', 'algorithms', 'samplers', 'parallel', 'workers', 'out'], USAGE);
  const quick = args.flags.has('quick');
  const custom = ['seeds', 'budgets', 'functions', 'algorithms', 'samplers', 'parallel'].some((k) => args.values.has(k));
  const parallel = intOption(args, 'parallel', 1, 1, 64);
  const results = path.join(repoRoot(), 'benchmarks', 'results');
  return {
    mode: custom ? 'custom' : quick ? 'quick' : 'full',
    seeds: intOption(args, 'seeds', quick ? 5 : 20),
    budgets: intListOption(args, 'budgets', quick ? [25, 50] : [25, 50, 100]),
    functions: listOption(args, 'functions', functionNames, functionNames),
    algorithms: listOption(args, 'algorithms', OUR_ALGORITHMS, OUR_ALGORITHMS),
    samplers: listOption(args, 'samplers', OPTUNA_SAMPLERS, OPTUNA_SAMPLERS),
    workers: intOption(args, 'workers', 2, 1, 2),
    parallel,
    out: args.values.get('out') ?? path.join(results, parallel === 1 ? 'sample-efficiency.json' : `sample-efficiency-parallel-${parallel}.json`),
    checkOnly: args.flags.has('check'),
  };
}

/** Compares our implementation of every function with the Python one; throws listing each disagreement. */
function checkImplementations(problems: readonly Problem[], script: string): number {
  const python = runPythonJson(script, ['check']);
  if (!Array.isArray(python)) throw new Error(`${script} check: expected a JSON list, got ${JSON.stringify(python).slice(0, 200)}`);
  const errors = checkProblems(problems, python as number[]);
  if (errors.length > 0) throw new Error(`the TypeScript and Python test functions disagree:\n${errors.join('\n')}`);
  return checkPointsOf(problems).length;
}

/**
 * Runs every seed of one of our algorithms on one function through the service. With `parallel` 1, one trial at a
 * time. With more, as the controller runs `parallel` trials at once: it asks for `parallel` suggestions in one
 * request, then, each time a trial finishes, for one more with the others still running in the history, until
 * `trials` have been started. Trials finish in the order they started (every trial takes as long), so a run is
 * deterministic; the trace follows the order of completion.
 */
async function runKatib(service: ServiceProcess, job: Job, seeds: number, trials: number, parallel: number): Promise<Run[]> {
  const runs: Run[] = [];
  for (let seed = 0; seed < seeds; seed++) {
    const experiment = benchmarkExperiment({
      name: `se-${job.problem.name}-${job.algorithm}-${seed}`,
      parameters: job.problem.parameters,
      algorithm: job.algorithm,
      settings: { random_state: String(seed) },
      maxTrialCount: trials,
      parallelTrialCount: parallel,
    });
    const controller = new BenchmarkController(service.client, experiment);
    const trace: number[] = [];
    let best = Number.POSITIVE_INFINITY;
    const record = (value: number): void => {
      best = Math.min(best, value);
      trace.push(best);
    };
    const nothing = (i: number, exhausted: boolean): Error =>
      new Error(`${job.algorithm} on ${job.problem.name} (seed ${seed}) suggested nothing for trial ${i + 1}${exhausted ? ' and reported itself exhausted' : ''}`);
    const start = process.hrtime.bigint();
    if (parallel === 1) {
      for (let i = 0; i < trials; i++) {
        const asked = await controller.ask();
        if (asked.assignments.length === 0) throw nothing(i, asked.exhausted);
        const value = evaluate(job.problem, pointOf(asked.assignments));
        controller.complete(asked, value);
        record(value);
      }
    } else {
      const running = await controller.start(Math.min(parallel, trials));
      if (running.length === 0) throw nothing(0, false);
      let started = running.length;
      for (let first = running.shift(); first !== undefined; first = running.shift()) {
        const value = evaluate(job.problem, pointOf(first.asked.assignments));
        controller.finish(first.index, first.asked, value);
        record(value);
        if (started < trials) {
          const next = await controller.start(1);
          if (next.length === 0) throw nothing(started, false);
          running.push(...next);
          started += next.length;
        }
      }
    }
    runs.push({ seed, trace, seconds: Number(process.hrtime.bigint() - start) / 1e9 });
  }
  return runs;
}

async function runOptuna(worker: PythonWorker, job: Job, seeds: number, trials: number, parallel: number): Promise<{ runs: Run[]; version: string }> {
  const reply = (await worker.request({ sampler: job.algorithm, function: job.problem.name, seeds: Array.from({ length: seeds }, (_, i) => i), trials, parallel })) as {
    runs: Run[];
    optuna: string;
  };
  return { runs: reply.runs, version: reply.optuna };
}

/** Runs `jobs` on `workers` lanes; each lane owns one suggestion service process and one Python interpreter. */
async function runJobs(jobs: readonly Job[], s: Settings, script: string): Promise<{ results: JobResult[]; optunaVersion: string | undefined; serviceRssMiB: number[] }> {
  const queue = [...jobs].sort((a, b) => (COST[columnId(b.side, b.algorithm)] ?? 1) - (COST[columnId(a.side, a.algorithm)] ?? 1));
  const trials = Math.max(...s.budgets);
  const results: JobResult[] = [];
  const serviceRssMiB: number[] = [];
  let optunaVersion: string | undefined;
  let done = 0;
  const began = Date.now();
  const lane = async (): Promise<void> => {
    let service: ServiceProcess | undefined;
    let worker: PythonWorker | undefined;
    try {
      for (let job = queue.shift(); job !== undefined; job = queue.shift()) {
        const start = Date.now();
        let runs: Run[];
        if (job.side === 'katib') {
          service ??= await startService();
          runs = await runKatib(service, job, s.seeds, trials, s.parallel);
        } else {
          worker ??= new PythonWorker(script);
          const r = await runOptuna(worker, job, s.seeds, trials, s.parallel);
          runs = r.runs;
          optunaVersion = r.version;
        }
        results.push({ job, runs });
        done++;
        process.stderr.write(
          `[${String(done).padStart(2)}/${jobs.length}] ${job.side === 'katib' ? 'ours  ' : 'optuna'} ${job.algorithm.padEnd(20)} ${job.problem.name.padEnd(11)} ${s.seeds} runs in ${((Date.now() - start) / 1000).toFixed(1)} s (elapsed ${((Date.now() - began) / 1000).toFixed(0)} s)\n`,
        );
      }
    } catch (e) {
      queue.length = 0; // the other lane stops after its current job
      throw e;
    } finally {
      if (service) {
        const rss = service.peakRssMiB();
        if (rss !== undefined) serviceRssMiB.push(rss);
        await service.stop();
      }
      await worker?.close();
    }
  };
  await Promise.all(Array.from({ length: Math.min(s.workers, jobs.length) }, lane));
  return { results, optunaVersion, serviceRssMiB };
}

interface Cell {
  readonly regrets: readonly number[];
  readonly summary: Summary;
}

type Cells = Map<string, Map<string, Map<number, Cell>>>; // function → column → budget → cell

function tabulate(results: readonly JobResult[], budgets: readonly number[]): { cells: Cells; seconds: Map<string, Map<string, number>> } {
  const cells: Cells = new Map();
  const seconds = new Map<string, Map<string, number>>();
  for (const { job, runs } of results) {
    const col = columnId(job.side, job.algorithm);
    const byColumn = cells.get(job.problem.name) ?? new Map<string, Map<number, Cell>>();
    cells.set(job.problem.name, byColumn);
    const byBudget = new Map<number, Cell>();
    for (const b of budgets) {
      // Regret cannot be negative; a value a rounding error below the optimum counts as 0.
      const regrets = runs.map((r) => Math.max(0, (r.trace[b - 1] ?? Number.NaN) - job.problem.optimum));
      byBudget.set(b, { regrets, summary: summarize(regrets) });
    }
    byColumn.set(col, byBudget);
    const sec = seconds.get(job.problem.name) ?? new Map<string, number>();
    seconds.set(job.problem.name, sec);
    sec.set(col, summarize(runs.map((r) => r.seconds)).median);
  }
  return { cells, seconds };
}

interface TargetCheck {
  readonly id: string;
  readonly description: string;
  readonly budget: number;
  readonly status: 'PASS' | 'FAIL' | 'SKIP';
  readonly reason?: string;
  readonly details: readonly {
    readonly function: string;
    readonly ours: string;
    readonly oursMedian: number;
    readonly versus: string;
    readonly theirsMedian: number;
    readonly ratio: number;
    readonly pValue: number;
    readonly met: boolean;
  }[];
}

function cellOf(cells: Cells, fn: string, col: string, budget: number): Cell | undefined {
  return cells.get(fn)?.get(col)?.get(budget);
}

/**
 * One comparison target: for each function, `ours` against each of `versus` (strictly lower when `strict`, else at
 * or below); passes when at least `need` functions meet it against every opponent.
 */
function target(
  cells: Cells,
  o: { id: string; description: string; budget: number; ours: string; versus: readonly string[]; functions: readonly string[]; strict: boolean; need: number },
): TargetCheck {
  const skip = (reason: string): TargetCheck => ({ id: o.id, description: o.description, budget: o.budget, status: 'SKIP', reason, details: [] });
  const details: TargetCheck['details'][number][] = [];
  let metCount = 0;
  for (const fn of o.functions) {
    const mine = cellOf(cells, fn, o.ours, o.budget);
    if (!mine) return skip(`no result for ${LABELS[o.ours]} on ${fn} at ${o.budget} trials (run that budget and function)`);
    let allMet = true;
    for (const v of o.versus) {
      const theirs = cellOf(cells, fn, v, o.budget);
      if (!theirs) return skip(`no result for ${LABELS[v]} on ${fn} at ${o.budget} trials`);
      const a = mine.summary.median;
      const b = theirs.summary.median;
      const met = o.strict ? a < b : a <= b;
      allMet &&= met;
      details.push({ function: fn, ours: o.ours, oursMedian: a, versus: v, theirsMedian: b, ratio: b === 0 ? (a === 0 ? 1 : Number.POSITIVE_INFINITY) : a / b, pValue: mannWhitneyP(mine.regrets, theirs.regrets), met });
    }
    if (allMet) metCount++;
  }
  const status = metCount >= o.need ? 'PASS' : 'FAIL';
  return { id: o.id, description: o.description, budget: o.budget, status, reason: `${metCount} of ${o.functions.length} functions met (need ${o.need})`, details };
}

function targets(cells: Cells): TargetCheck[] {
  const optuna = OPTUNA_SAMPLERS.map((x) => columnId('optuna', x));
  const all = ['branin', 'hartmann6', 'rosenbrock4', 'ackley5', 'levy4', 'mixed'];
  const hard = ['rosenbrock4', 'ackley5', 'levy4'];
  return [
    target(cells, {
      id: 'bo-beats-every-optuna',
      description: 'bayesianoptimization: lower median regret than EVERY Optuna sampler on Branin, Hartmann6, mixed (50 trials)',
      budget: 50,
      ours: 'katib:bayesianoptimization',
      versus: optuna,
      functions: ['branin', 'hartmann6', 'mixed'],
      strict: true,
      need: 3,
    }),
    target(cells, {
      id: 'bo-ties-optuna-tpe',
      description: 'bayesianoptimization: median regret at or below Optuna TPE on Rosenbrock4, Ackley5, Levy4 (50 trials)',
      budget: 50,
      ours: 'katib:bayesianoptimization',
      versus: ['optuna:tpe'],
      functions: hard,
      strict: false,
      need: 3,
    }),
    target(cells, {
      id: 'tpe-vs-optuna-tpe',
      description: 'tpe: median regret at or below Optuna TPE on >= 5 of 6 functions (50 trials)',
      budget: 50,
      ours: 'katib:tpe',
      versus: ['optuna:tpe'],
      functions: all,
      strict: false,
      need: 5,
    }),
    target(cells, {
      id: 'mv-tpe-vs-optuna-mv-tpe',
      description: 'multivariate-tpe: median regret at or below Optuna multivariate TPE on >= 5 of 6 functions (50 trials)',
      budget: 50,
      ours: 'katib:multivariate-tpe',
      versus: ['optuna:multivariate-tpe'],
      functions: all,
      strict: false,
      need: 5,
    }),
    target(cells, {
      id: 'cmaes-vs-optuna-cmaes',
      description: 'cmaes: median regret at or below Optuna CMA-ES on Rosenbrock4, Ackley5, Levy4 (100 trials)',
      budget: 100,
      ours: 'katib:cmaes',
      versus: ['optuna:cmaes'],
      functions: hard,
      strict: false,
      need: 3,
    }),
  ];
}

function printTables(problems: readonly Problem[], columns: readonly string[], cells: Cells, seconds: Map<string, Map<string, number>>, s: Settings): Record<number, Record<string, string>> {
  const winners: Record<number, Record<string, string>> = {};
  const ours = columns.filter((c) => c.startsWith('katib:'));
  const theirs = columns.filter((c) => c.startsWith('optuna:'));
  for (const b of s.budgets) {
    winners[b] = {};
    const rows = problems.map((p) => {
      const medians = columns.map((c) => cellOf(cells, p.name, c, b)?.summary.median ?? Number.NaN);
      const best = Math.min(...medians.filter((m) => !Number.isNaN(m)));
      const winner = columns[medians.indexOf(best)];
      if (winner !== undefined) (winners[b] as Record<string, string>)[p.name] = winner;
      const bestOf = (cols: readonly string[]): number => Math.min(...cols.map((c) => cellOf(cells, p.name, c, b)?.summary.median ?? Number.POSITIVE_INFINITY));
      const o = bestOf(ours);
      const t = bestOf(theirs);
      return [
        p.name,
        ...columns.map((c, i) => {
          const cell = cellOf(cells, p.name, c, b);
          if (!cell) return '-';
          return `${fmt(cell.summary.median)} [${fmt(cell.summary.q3 - cell.summary.q1)}]${medians[i] === best ? '*' : ' '}`;
        }),
        ours.length && theirs.length ? fmtRatio(t === 0 ? (o === 0 ? 1 : Number.POSITIVE_INFINITY) : o / t) : '-',
      ];
    });
    console.log(`\nSimple regret after ${b} trials: median [IQR] over ${s.seeds} seeds; * = lowest median of the row; last column: best of ours / best of Optuna (< 1: ours better)`);
    console.log(renderTable(['function', ...columns.map((c) => LABELS[c] ?? c), 'ours/O'], rows));
  }
  const maxBudget = Math.max(...s.budgets);
  console.log(`\nSeconds per run of ${maxBudget} trials (median; ours includes the gRPC round trips)`);
  console.log(renderTable(['function', ...columns.map((c) => LABELS[c] ?? c)], problems.map((p) => [p.name, ...columns.map((c) => fmt(seconds.get(p.name)?.get(c) ?? Number.NaN))])));
  return winners;
}

function printTargets(checks: readonly TargetCheck[]): void {
  console.log('\nTargets');
  for (const t of checks) {
    console.log(`${t.status.padEnd(4)}  ${t.description}${t.reason ? `: ${t.reason}` : ''}`);
    for (const d of t.details) {
      console.log(
        `        ${d.met ? 'ok  ' : 'MISS'} ${d.function.padEnd(11)} ${(LABELS[d.ours] ?? d.ours).padEnd(7)} ${fmt(d.oursMedian).padStart(9)} vs ${(LABELS[d.versus] ?? d.versus).padEnd(9)} ${fmt(d.theirsMedian).padStart(9)}  ratio ${fmtRatio(d.ratio).padStart(6)}  Mann-Whitney p=${d.pValue.toFixed(3)}`,
      );
    }
  }
}

async function main(): Promise<void> {
  const root = repoRoot();
  const source = provenance(); // the build measured is the working tree now
  const script = path.join(root, 'benchmarks', 'sample-efficiency', 'optuna_runner.py');
  const allProblems = loadProblems();
  const s = parseSettings(process.argv.slice(2), allProblems.map((p) => p.name));
  const checked = checkImplementations(allProblems, script);
  console.log(`Test functions: TypeScript and Python agree at ${checked} points (minimisers give the known optima).`);
  if (s.checkOnly) return;
  const problems = allProblems.filter((p) => s.functions.includes(p.name));
  const jobs: Job[] = problems.flatMap((problem) => [
    ...s.algorithms.map((algorithm) => ({ side: 'katib' as const, algorithm, problem })),
    ...s.samplers.map((algorithm) => ({ side: 'optuna' as const, algorithm, problem })),
  ]);
  const columns = [...s.algorithms.map((a) => columnId('katib', a)), ...s.samplers.map((a) => columnId('optuna', a))];
  console.log(`Mode ${s.mode}: ${problems.length} functions x ${columns.length} algorithms x ${s.seeds} seeds, ${Math.max(...s.budgets)} trials each, ${s.parallel === 1 ? 'one at a time' : `${s.parallel} at a time`}, ${s.workers} worker(s).`);
  const started = Date.now();
  const { results, optunaVersion, serviceRssMiB } = await runJobs(jobs, s, script);
  const wallSeconds = (Date.now() - started) / 1000;
  const { cells, seconds } = tabulate(results, s.budgets);
  const winners = printTables(problems, columns, cells, seconds, s);
  // The targets are set for trials run one at a time.
  const checks = s.parallel === 1 ? targets(cells) : [];
  if (s.parallel === 1) printTargets(checks);
  else console.log(`\nTargets: not judged (set for trials one at a time; this run had ${s.parallel} at a time).`);
  console.log(`\nWall time ${wallSeconds.toFixed(0)} s.`);

  const json = {
    benchmark: 'sample-efficiency',
    generatedAt: new Date().toISOString(),
    mode: s.mode,
    command: `node dist/benchmarks/sample-efficiency/run.js ${process.argv.slice(2).join(' ')}`.trim(),
    settings: { seeds: s.seeds, budgets: s.budgets, functions: s.functions, algorithms: s.algorithms, samplers: s.samplers, parallel: s.parallel, workers: s.workers },
    source,
    environment: { node: process.version, optuna: optunaVersion, python: PYTHON, platform: `${os.platform()} ${os.release()}`, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model },
    wallSeconds,
    serviceRssMiB,
    functions: problems.map((p) => ({ name: p.name, title: p.title, optimum: p.optimum })),
    columns: columns.map((c) => ({ id: c, label: LABELS[c] ?? c })),
    regret: Object.fromEntries(
      problems.map((p) => [
        p.name,
        Object.fromEntries(
          columns.map((c) => [
            c,
            {
              secondsPerRun: seconds.get(p.name)?.get(c),
              budgets: Object.fromEntries(s.budgets.map((b) => [b, { ...cellOf(cells, p.name, c, b)?.summary, perSeed: cellOf(cells, p.name, c, b)?.regrets }])),
            },
          ]),
        ),
      ]),
    ),
    winners,
    targets: checks,
  };
  fs.mkdirSync(path.dirname(s.out), { recursive: true });
  fs.writeFileSync(s.out, `${JSON.stringify(json, null, 2)}\n`);
  console.log(`Wrote ${path.relative(process.cwd(), s.out) || s.out}`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
