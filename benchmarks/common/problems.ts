/**
 * The test functions of the sample-efficiency and suggestion-latency benchmarks. Search spaces, optima, known
 * minimisers and check points come from problems.json (shared with the Optuna side, problems.py); the formulas are
 * written here and in problems.py in the same order of operations, and {@link checkProblems} plus the Python side's
 * `check` command prove that the two agree before any result is taken.
 *
 * Formulas (minimised; d = dimension):
 * - branin: (x2 - 5.1/(4π²)·x1² + 5/π·x1 - 6)² + 10·(1 - 1/(8π))·cos(x1) + 10 on [-5, 10] × [0, 15].
 * - hartmann6: -Σ_i α_i·exp(-Σ_j A_ij·(x_j - P_ij)²) on [0, 1]^6, with the usual α, A, P.
 * - rosenbrock4: Σ_{i<d} 100·(x_{i+1} - x_i²)² + (x_i - 1)² on [-5, 10]^4.
 * - ackley5: -20·exp(-0.2·√(mean x²)) - exp(mean cos(2πx)) + 20 + e on [-32.768, 32.768]^5.
 * - levy4: with w = 1 + (x - 1)/4: sin²(πw_1) + Σ_{i<d} (w_i - 1)²·(1 + 10·sin²(πw_i + 1)) + (w_d - 1)²·(1 + sin²(2πw_d))
 *   on [-10, 10]^4.
 * - mixed: a stand-in for a training run over lr (log-uniform 1e-5 … 0.1), layers (int 1 … 8), optimizer
 *   (sgd | adam | rmsprop) and dropout (0 … 0.5). With u = log10(lr) and d = u - (c_opt - 0.1·(layers - 5)):
 *   0.25·d² + 0.05·(1 - cos(2πd)) + 0.06·(layers - 5)² + 8·(dropout - 0.04·layers)² + p_opt, where
 *   c = {sgd: -1.5, adam: -3.5, rmsprop: -2.5} and p = {sgd: 0.3, adam: 0, rmsprop: 0.15}. The best learning rate
 *   depends on the optimizer and the depth, the best dropout on the depth, and the cosine adds ripples along lr, so
 *   the parameters interact as real ones do. Minimum 0 at adam, lr = 10^-3.5, layers = 5, dropout = 0.2.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ParameterSpec } from '../../src/api/types.js';
import { repoRoot } from './repo-root.js';

/** Wire values (as a trial's parameter assignments carry them), keyed by parameter name. */
export type Point = Readonly<Record<string, string>>;

export interface Problem {
  readonly name: string;
  readonly title: string;
  /** The known global minimum. */
  readonly optimum: number;
  readonly parameters: readonly ParameterSpec[];
  readonly minimizer: Point;
  readonly checkPoints: readonly Point[];
}

/** Path of the shared spec, relative to the repository root. */
export const PROBLEMS_FILE = path.join('benchmarks', 'common', 'problems.json');

/** Reads problems.json; throws naming the file when it is missing or malformed. */
export function loadProblems(): Problem[] {
  const file = path.join(repoRoot(), PROBLEMS_FILE);
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
  const list = (parsed as { functions?: unknown }).functions;
  if (!Array.isArray(list)) throw new Error(`${file}: expected a "functions" array`);
  const problems = list as Problem[];
  for (const p of problems) {
    if (!(p.name in FORMULAS)) throw new Error(`${file}: function ${JSON.stringify(p.name)} has no formula in problems.ts; known: ${Object.keys(FORMULAS).join(', ')}`);
  }
  return problems;
}

const num = (x: Point, name: string): number => {
  const text = x[name];
  const v = Number(text);
  if (text === undefined || text === '' || !Number.isFinite(v)) throw new Error(`parameter ${name} is not a number (${name}=${JSON.stringify(text)})`);
  return v;
};

const vector = (x: Point, d: number): number[] => Array.from({ length: d }, (_, i) => num(x, `x${i + 1}`));

function branin(x: Point): number {
  const x1 = num(x, 'x1');
  const x2 = num(x, 'x2');
  const b = 5.1 / (4 * Math.PI * Math.PI);
  const c = 5 / Math.PI;
  const t = 1 / (8 * Math.PI);
  return (x2 - b * x1 * x1 + c * x1 - 6) ** 2 + 10 * (1 - t) * Math.cos(x1) + 10;
}

const HARTMANN_ALPHA = [1.0, 1.2, 3.0, 3.2];
const HARTMANN_A = [
  [10, 3, 17, 3.5, 1.7, 8],
  [0.05, 10, 17, 0.1, 8, 14],
  [3, 3.5, 1.7, 10, 17, 8],
  [17, 8, 0.05, 10, 0.1, 14],
];
const HARTMANN_P = [
  [0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
  [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
  [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.665],
  [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381],
];

function hartmann6(x: Point): number {
  const v = vector(x, 6);
  let outer = 0;
  for (let i = 0; i < 4; i++) {
    let inner = 0;
    for (let j = 0; j < 6; j++) inner += (HARTMANN_A[i]?.[j] ?? 0) * ((v[j] ?? 0) - (HARTMANN_P[i]?.[j] ?? 0)) ** 2;
    outer += (HARTMANN_ALPHA[i] ?? 0) * Math.exp(-inner);
  }
  return -outer;
}

function rosenbrock(x: Point, d: number): number {
  const v = vector(x, d);
  let s = 0;
  for (let i = 0; i < d - 1; i++) {
    const a = v[i] ?? 0;
    const b = v[i + 1] ?? 0;
    s += 100 * (b - a * a) ** 2 + (a - 1) ** 2;
  }
  return s;
}

function ackley(x: Point, d: number): number {
  const v = vector(x, d);
  let sq = 0;
  let cos = 0;
  for (const xi of v) {
    sq += xi * xi;
    cos += Math.cos(2 * Math.PI * xi);
  }
  return -20 * Math.exp(-0.2 * Math.sqrt(sq / d)) - Math.exp(cos / d) + 20 + Math.E;
}

function levy(x: Point, d: number): number {
  const w = vector(x, d).map((xi) => 1 + (xi - 1) / 4);
  const first = w[0] ?? 0;
  const last = w[d - 1] ?? 0;
  let s = Math.sin(Math.PI * first) ** 2;
  for (let i = 0; i < d - 1; i++) {
    const wi = w[i] ?? 0;
    s += (wi - 1) ** 2 * (1 + 10 * Math.sin(Math.PI * wi + 1) ** 2);
  }
  return s + (last - 1) ** 2 * (1 + Math.sin(2 * Math.PI * last) ** 2);
}

const MIXED_LR_CENTER: Readonly<Record<string, number>> = { sgd: -1.5, adam: -3.5, rmsprop: -2.5 };
const MIXED_PENALTY: Readonly<Record<string, number>> = { sgd: 0.3, adam: 0, rmsprop: 0.15 };

function mixed(x: Point): number {
  const optimizer = x['optimizer'] ?? '';
  const center = MIXED_LR_CENTER[optimizer];
  const penalty = MIXED_PENALTY[optimizer];
  if (center === undefined || penalty === undefined) throw new Error(`optimizer must be sgd, adam or rmsprop (optimizer=${JSON.stringify(optimizer)})`);
  const layers = num(x, 'layers');
  const d = Math.log10(num(x, 'lr')) - (center - 0.1 * (layers - 5));
  const dropout = num(x, 'dropout');
  return 0.25 * d * d + 0.05 * (1 - Math.cos(2 * Math.PI * d)) + 0.06 * (layers - 5) ** 2 + 8 * (dropout - 0.04 * layers) ** 2 + penalty;
}

const FORMULAS: Readonly<Record<string, (x: Point) => number>> = {
  branin,
  hartmann6,
  rosenbrock4: (x) => rosenbrock(x, 4),
  ackley5: (x) => ackley(x, 5),
  levy4: (x) => levy(x, 4),
  mixed,
};

/** The value of `problem` at `x`; throws when a parameter is missing or malformed. */
export function evaluate(problem: Pick<Problem, 'name'>, x: Point): number {
  const f = FORMULAS[problem.name];
  if (f === undefined) throw new Error(`no formula for ${JSON.stringify(problem.name)}; known: ${Object.keys(FORMULAS).join(', ')}`);
  return f(x);
}

/** One point at which both sides were evaluated. */
export interface CheckedPoint {
  readonly problem: string;
  readonly point: Point;
  readonly ours: number;
  readonly python: number | undefined;
}

/** The points every run compares across the two implementations: each function's minimiser and its check points. */
export function checkPointsOf(problems: readonly Problem[]): { problem: string; point: Point }[] {
  return problems.flatMap((p) => [p.minimizer, ...p.checkPoints].map((point) => ({ problem: p.name, point })));
}

/**
 * Compares our values with Python's at the check points (relative tolerance 1e-12: libm's last bit may differ)
 * and requires the value at each known minimiser to equal the optimum within 1e-9 (1e-6 for Hartmann-6, whose
 * minimiser is known to 14 digits). Returns every problem found, one line each; empty when all agree.
 */
export function checkProblems(problems: readonly Problem[], python: readonly (number | undefined)[]): string[] {
  const problemsByName = new Map(problems.map((p) => [p.name, p]));
  const errors: string[] = [];
  checkPointsOf(problems).forEach(({ problem, point }, i) => {
    const ours = evaluate({ name: problem }, point);
    const theirs = python[i];
    const where = `${problem} at ${JSON.stringify(point)}`;
    if (theirs === undefined || !Number.isFinite(theirs)) errors.push(`${where}: Python gave no value`);
    else if (Math.abs(ours - theirs) > 1e-12 * Math.max(1, Math.abs(ours))) errors.push(`${where}: ours ${ours} != Python ${theirs}`);
    const p = problemsByName.get(problem);
    if (p !== undefined && point === p.minimizer) {
      const tol = problem === 'hartmann6' ? 1e-6 : 1e-9;
      if (Math.abs(ours - p.optimum) > tol) errors.push(`${where}: value ${ours} at the minimiser differs from the optimum ${p.optimum}`);
    }
  });
  return errors;
}
