/**
 * Early-stopping benchmark: how much training compute each method needs to find a good configuration, on learning
 * curves that behave like real training (curves.ts: loss = a(h) + b(h)·t^(−c(h)) with noise, four hyperparameters,
 * crossing curves, at most 81 epochs).
 *
 * Methods, all in one run and on identical curves and noise: random search without early stopping (`none`), with
 * the median rule (`medianstop`), Hyperband and ASHA (promotions restart from scratch, as in Katib; `-resume`
 * variants charge only the extra epochs), PBT, and Optuna's MedianPruner and HyperbandPruner with RandomSampler
 * (optuna_pruners.py under /usr/bin/python3, running alongside on the second core). Ours are driven through the
 * pure algorithm modules, one trial at a time (ours.ts).
 *
 * Per method and seed: the epochs spent until the recommended configuration's final-loss regret is within the target
 * (`--target-relative` × f*, f* the best final loss in the family), and the regret at a fixed budget of
 * `--budget-factor` × 81 epochs (metrics.ts). Prints medians [IQR] with ratios against `none` and against Optuna's
 * pruners, PASS/FAIL for the targets (Hyperband and ASHA: at most half the compute of `none`, and at most the better
 * of Optuna's two pruners), and writes benchmarks/results/early-stopping.json.
 *
 * Run from the repository root:
 *   npm run build && node dist/benchmarks/early-stopping/run.js [--quick] [--seeds N] [--target-relative X]
 *     [--budget-factor N] [--cap-factor N] [--skip-optuna] [--out FILE]
 * Defaults: 20 seeds, target 0.2 × f*, budget 20 × 81 epochs, cap 150 × 81 epochs (about 2 CPU-minutes, nearly all
 * of it Optuna's). --quick: 10 seeds and a cap of 100 × 81 (about 40 CPU-seconds).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAX_EPOCHS, familyDefinition, type Config } from './curves.js';
import { findOptimum, fractionAtMost, priorRegrets, rankCorrelations, searchSpace, configOf } from './family.js';
import { runMetrics, summarize, type RunMetrics, type Summary, type TraceEvent } from './metrics.js';
import { OPTUNA_PRUNERS, PYTHON, runOptuna, type OptunaResult } from './optuna.js';
import { OUR_METHODS, PBT_EPOCHS_PER_TRIAL, PBT_POPULATION, pbtModelMatchesCurve, runOurs, runPbt, type OurMethod, type PbtOutcome, type RunLimits } from './ours.js';
import { createRng } from '../../algorithms/core/rng.js';
import { samplePrior } from '../../algorithms/core/space.js';

interface Settings {
  readonly seeds: number;
  readonly targetRelative: number;
  readonly budgetFactor: number;
  readonly capFactor: number;
  readonly skipOptuna: boolean;
  readonly quick: boolean;
  readonly out: string | undefined;
}

const USAGE =
  'usage: node dist/benchmarks/early-stopping/run.js [--quick] [--seeds N] [--target-relative X] [--budget-factor N] [--cap-factor N] [--skip-optuna] [--out FILE]';

// --quick: fewer seeds and a lower cap. A run that never meets the target runs to the cap, and Optuna's pruners slow
// down with the number of trials in the study (quadratically), so the cap bounds the slowest study.
const DEFAULTS = { seeds: 20, quickSeeds: 10, targetRelative: 0.2, budgetFactor: 20, capFactor: 150, quickCapFactor: 100 } as const;

function parseArgs(argv: readonly string[]): Settings {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i] ?? '';
    if (key === '--quick' || key === '--skip-optuna') {
      flags.add(key.slice(2));
      continue;
    }
    const value = argv[i + 1];
    if (!key.startsWith('--') || value === undefined) throw new Error(`${USAGE}\nunexpected argument ${JSON.stringify(key)}`);
    values.set(key.slice(2), value);
    i++;
  }
  const num = (name: string, fallback: number, integer: boolean, min: number): number => {
    const raw = values.get(name);
    values.delete(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min) throw new Error(`--${name} must be ${integer ? 'an integer' : 'a number'} >= ${min} (got ${JSON.stringify(raw)})`);
    return n;
  };
  const quick = flags.has('quick');
  const settings: Settings = {
    quick,
    seeds: num('seeds', quick ? DEFAULTS.quickSeeds : DEFAULTS.seeds, true, 1),
    targetRelative: num('target-relative', DEFAULTS.targetRelative, false, 0),
    budgetFactor: num('budget-factor', DEFAULTS.budgetFactor, true, 1),
    capFactor: num('cap-factor', quick ? DEFAULTS.quickCapFactor : DEFAULTS.capFactor, true, 1),
    skipOptuna: flags.has('skip-optuna'),
    out: values.get('out'),
  };
  values.delete('out');
  if (values.size > 0) throw new Error(`${USAGE}\nunknown option(s): ${[...values.keys()].map((k) => `--${k}`).join(', ')}`);
  if (settings.capFactor < settings.budgetFactor) throw new Error(`--cap-factor must be >= --budget-factor (cap-factor=${settings.capFactor}, budget-factor=${settings.budgetFactor})`);
  return settings;
}

function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
}

const round = (x: number, digits = 4): number => (Number.isFinite(x) ? Number(x.toFixed(digits)) : x);

/** One target: `value` / `reference` must be at most `limit`; `pass` is undefined when the reference was not run. */
interface TargetCheck {
  readonly name: string;
  readonly value: number;
  readonly reference: number;
  readonly limit: number;
  readonly pass: boolean | undefined;
}

/** A row of the result: one method over every seed. */
interface MethodResult {
  readonly method: string;
  readonly description: string;
  readonly costModel: string;
  readonly perSeed: readonly (RunMetrics & { seed: number })[];
  readonly computeToTarget: Summary;
  readonly regretAtBudget: Summary;
  readonly trials: Summary;
}

const DESCRIPTIONS: Record<OurMethod | 'pbt' | `optuna-${(typeof OPTUNA_PRUNERS)[number]}`, { description: string; costModel: string }> = {
  none: { description: 'random search (algorithms/random), every trial trains 81 epochs', costModel: '81 per trial' },
  medianstop: { description: 'the same random search + medianStop.rules (min_trials_required=3, start_step=4), checked as the collector does', costModel: 'epochs until stopped' },
  hyperband: { description: 'algorithms/hyperband, r_l=81, eta=3, resource epochs; restarts when exhausted', costModel: 'r per trial (promotion restarts)' },
  'hyperband-resume': { description: 'the same decisions as hyperband', costModel: 'r - r_parent (promotion resumes)' },
  asha: { description: 'algorithms/asha, min_resource=1, max_resource=81, reduction_factor=3', costModel: 'r per trial (promotion restarts)' },
  'asha-resume': { description: 'the same decisions as asha', costModel: 'r - r_parent (promotion resumes)' },
  pbt: { description: `algorithms/pbt, n_population=${PBT_POPULATION}, truncation 0.2, resample 0.25, ${PBT_EPOCHS_PER_TRIAL} epochs per trial`, costModel: `${PBT_EPOCHS_PER_TRIAL} per trial (from the parent's checkpoint)` },
  'optuna-median': { description: 'Optuna MedianPruner() + RandomSampler', costModel: 'epochs until pruned' },
  'optuna-hyperband': { description: 'Optuna HyperbandPruner(1, 81, 3) + RandomSampler', costModel: 'epochs until pruned (trials continue)' },
};

function methodResult(method: keyof typeof DESCRIPTIONS, perSeed: readonly (RunMetrics & { seed: number })[]): MethodResult {
  return {
    method,
    ...DESCRIPTIONS[method],
    perSeed,
    computeToTarget: summarize(perSeed.map((r) => r.computeToTarget)),
    regretAtBudget: summarize(perSeed.map((r) => r.regretAtBudget)),
    trials: summarize(perSeed.map((r) => r.trials)),
  };
}

function pbtResult(outcomes: readonly (PbtOutcome & { seed: number })[], target: number, budget: number): MethodResult {
  // PBT yields one model at the end of its run, so "compute to target" is only known at its single budget.
  const perSeed = outcomes.map((o) => ({
    seed: o.seed,
    computeToTarget: o.regret <= target ? o.spent : undefined,
    regretAtBudget: o.spent <= budget ? o.regret : undefined,
    spent: o.spent,
    trials: o.trials,
    fullTrials: PBT_POPULATION,
  }));
  return methodResult('pbt', perSeed);
}

const fmtEpochs = (x: number): string => (Number.isFinite(x) ? String(Math.round(x)) : '∞');
const fmtSummary = (s: Summary, f: (x: number) => string): string => `${f(s.median)} [${f(s.q1)}–${f(s.q3)}]`;
const ratio = (a: number, b: number): number => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : a === b ? Number.NaN : Number.isFinite(a) ? 0 : Number.POSITIVE_INFINITY);
const fmtRatio = (r: number): string => (Number.isNaN(r) ? 'n/a' : Number.isFinite(r) ? r.toFixed(2) : '∞');

function table(rows: readonly MethodResult[], baselines: { none: number; median?: number; hyperband?: number }): string {
  const header = ['method', 'cost model', 'epochs to target, median [IQR]', 'reached', '÷ none', '÷ optuna-median', '÷ optuna-hyperband', 'regret @ budget, median [IQR]', 'trials'];
  const body = rows.map((r) => [
    r.method,
    r.costModel,
    r.method === 'pbt' ? `(one run of ${fmtEpochs(r.perSeed[0]?.spent ?? Number.NaN)})` : fmtSummary(r.computeToTarget, fmtEpochs),
    `${r.computeToTarget.defined}/${r.computeToTarget.runs}`,
    r.method === 'pbt' ? '' : fmtRatio(ratio(r.computeToTarget.median, baselines.none)),
    r.method === 'pbt' || baselines.median === undefined ? '' : fmtRatio(ratio(r.computeToTarget.median, baselines.median)),
    r.method === 'pbt' || baselines.hyperband === undefined ? '' : fmtRatio(ratio(r.computeToTarget.median, baselines.hyperband)),
    fmtSummary(r.regretAtBudget, (x) => (Number.isFinite(x) ? x.toFixed(4) : '∞')),
    String(Math.round(r.trials.median)),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

/** Configurations spread over the prior, for the Python side's self-check of the curves. */
function checkConfigs(n: number): Config[] {
  const space = searchSpace(false);
  const rng = createRng('early-stopping/check');
  return Array.from({ length: n }, () => configOf(Object.fromEntries(space.map((p) => [p.name, samplePrior(p, rng)]))));
}

async function main(): Promise<void> {
  const s = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const root = repoRoot();
  const loadAtStart = os.loadavg().map((l) => round(l, 2));
  const optimum = findOptimum();
  const target = s.targetRelative * optimum.finalLoss;
  const prior = priorRegrets(optimum, 200_000, 'early-stopping/prior');
  const priorHit = fractionAtMost(prior, target);
  const correlations = rankCorrelations([1, 3, 9, 27], 4000, 'early-stopping/correlations');
  const budget = s.budgetFactor * MAX_EPOCHS;
  const cap = s.capFactor * MAX_EPOCHS;
  const seeds = Array.from({ length: s.seeds }, (_, i) => i + 1);
  const pbtDrift = Math.max(...checkConfigs(50).map(pbtModelMatchesCurve));
  if (pbtDrift > 1e-9) throw new Error(`trainOneEpoch drifts from trueLoss by ${pbtDrift} (relative); the PBT model is inconsistent with the curves`);
  console.log(`f* = ${optimum.finalLoss.toFixed(4)} at ${JSON.stringify(optimum.config.map((x) => round(x, 6)))}; target regret <= ${target.toFixed(4)} (${s.targetRelative} × f*), met by ${(100 * priorHit).toFixed(2)}% of random configurations`);
  console.log(`rank correlation with the final loss over the prior: ${Object.entries(correlations).map(([t, r]) => `epoch ${t}: ${r.toFixed(2)}`).join(', ')}`);
  console.log(`${s.seeds} seeds; budget ${budget} epochs (${s.budgetFactor} × ${MAX_EPOCHS}); runs stop at ${cap} epochs or past the budget with the target met`);

  const optuna: Promise<OptunaResult | undefined> = s.skipOptuna
    ? Promise.resolve(undefined)
    : runOptuna(path.join(root, 'benchmarks', 'early-stopping', 'optuna_pruners.py'), { seeds, budget, cap, bestFinal: optimum.finalLoss, target, checkConfigs: checkConfigs(16) }, (line) => console.log(line));
  // Keep the rejection for the await below; without a handler Node would report it as unhandled meanwhile.
  optuna.catch(() => undefined);

  const limitsOf = (seed: number): RunLimits => ({ seed, bestFinal: optimum.finalLoss, target, budget, cap });
  const results: MethodResult[] = [];
  for (const method of OUR_METHODS) {
    const t0 = Date.now();
    const perSeed = seeds.map((seed) => ({ seed, ...runMetrics(runOurs(method, limitsOf(seed)), optimum.finalLoss, target, budget) }));
    results.push(methodResult(method, perSeed));
    console.log(`${method}: ${s.seeds} runs in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    // Let the Python progress lines through between methods.
    await new Promise((resolve) => setImmediate(resolve));
  }
  results.push(pbtResult(seeds.map((seed) => ({ seed, ...runPbt(seed, optimum.finalLoss) })), target, budget));

  const opt = await optuna;
  if (opt !== undefined) {
    for (const p of OPTUNA_PRUNERS) {
      const perSeed = opt.traces[p].map((r: { seed: number; events: TraceEvent[] }) => ({ seed: r.seed, ...runMetrics(r.events, optimum.finalLoss, target, budget) }));
      results.push(methodResult(`optuna-${p}`, perSeed));
    }
  }

  const byName = new Map(results.map((r) => [r.method, r]));
  const med = (name: string): number | undefined => byName.get(name)?.computeToTarget.median;
  const none = med('none') as number;
  const optunaMedian = med('optuna-median');
  const optunaHyperband = med('optuna-hyperband');
  console.log('');
  console.log(table(results, { none, median: optunaMedian, hyperband: optunaHyperband }));

  const bestOptuna = optunaMedian === undefined || optunaHyperband === undefined ? undefined : Math.min(optunaMedian, optunaHyperband);
  const targets = (['hyperband', 'asha'] as const).flatMap((m): TargetCheck[] => {
    const mine = med(m) as number;
    return [
      { name: `${m}: epochs to target <= 0.5 × none`, value: mine, reference: none, limit: 0.5, pass: ratio(mine, none) <= 0.5 },
      {
        name: `${m}: epochs to target <= best of Optuna's pruners`,
        value: mine,
        reference: bestOptuna ?? Number.NaN,
        limit: 1,
        pass: bestOptuna === undefined ? undefined : ratio(mine, bestOptuna) <= 1,
      },
    ];
  });
  console.log('');
  for (const t of targets) {
    const verdict = t.pass === undefined ? 'SKIP' : t.pass ? 'PASS' : 'FAIL';
    const detail = t.pass === undefined ? 'no Optuna run' : `${fmtEpochs(t.value)} vs ${fmtEpochs(t.reference)}: ratio ${fmtRatio(ratio(t.value, t.reference))} (limit ${t.limit})`;
    console.log(`${verdict}  ${t.name}: ${detail}`);
  }

  const out = s.out ?? path.join(root, 'benchmarks', 'results', 'early-stopping.json');
  const seconds = (Date.now() - started) / 1000;
  const numbers = (x: number): number | string => (Number.isFinite(x) ? round(x) : String(x));
  const report = {
    benchmark: 'early-stopping',
    date: new Date().toISOString(),
    command: `node dist/benchmarks/early-stopping/run.js ${process.argv.slice(2).join(' ')}`.trim(),
    machine: { node: process.version, cpus: os.cpus().length, loadAtStart, seconds: round(seconds, 1) },
    settings: {
      seeds,
      budgetEpochs: budget,
      capEpochs: cap,
      parallelTrialCount: 1,
      drivenThrough: 'the pure algorithm modules (algorithms/), not gRPC',
      incumbent: 'lowest reported loss among trials that trained all 81 epochs; regret = its noiseless final loss - f*',
    },
    family: {
      ...familyDefinition(),
      optimum: { config: optimum.config, finalLoss: optimum.finalLoss },
      rankCorrelationWithFinal: Object.fromEntries(Object.entries(correlations).map(([k, v]) => [k, round(v, 3)])),
    },
    target: { relative: s.targetRelative, regret: target, priorProbability: round(priorHit, 5) },
    optuna: opt === undefined ? undefined : { version: opt.optuna, python: opt.python, interpreter: PYTHON, sampler: opt.sampler, pruners: opt.pruners, curveCheckMaxRelativeDifference: opt.checkMaxRelativeDifference },
    methods: results.map((r) => ({
      method: r.method,
      description: r.description,
      costModel: r.costModel,
      computeToTarget: { median: numbers(r.computeToTarget.median), q1: numbers(r.computeToTarget.q1), q3: numbers(r.computeToTarget.q3), reached: r.computeToTarget.defined, runs: r.computeToTarget.runs },
      ratioVsNone: r.method === 'pbt' ? undefined : numbers(ratio(r.computeToTarget.median, none)),
      ratioVsOptunaMedian: r.method === 'pbt' || optunaMedian === undefined ? undefined : numbers(ratio(r.computeToTarget.median, optunaMedian)),
      ratioVsOptunaHyperband: r.method === 'pbt' || optunaHyperband === undefined ? undefined : numbers(ratio(r.computeToTarget.median, optunaHyperband)),
      regretAtBudget: { median: numbers(r.regretAtBudget.median), q1: numbers(r.regretAtBudget.q1), q3: numbers(r.regretAtBudget.q3) },
      perSeed: r.perSeed.map((p) => ({ seed: p.seed, computeToTarget: p.computeToTarget ?? null, regretAtBudget: p.regretAtBudget === undefined ? null : round(p.regretAtBudget, 5), spent: p.spent, trials: p.trials, fullTrials: p.fullTrials })),
    })),
    targets: targets.map((t) => ({ name: t.name, value: numbers(t.value), reference: numbers(t.reference), ratio: numbers(ratio(t.value, t.reference)), limit: t.limit, pass: t.pass ?? null })),
  };
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nwrote ${path.relative(process.cwd(), out) || out} in ${seconds.toFixed(1)} s`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
