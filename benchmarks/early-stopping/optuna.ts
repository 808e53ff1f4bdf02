/**
 * Runs optuna_pruners.py (Optuna's MedianPruner and HyperbandPruner, RandomSampler) with /usr/bin/python3 — the
 * interpreter with Debian's python3-optuna — on the same curve family, and reads its trial logs back as traces.
 * The input file carries the family's numbers and reference values of the curves and the noise, which the script
 * checks before running, so both sides provably evaluate the same curves.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { familyDefinition, MAX_EPOCHS, observe, trueLoss, type Config } from './curves.js';
import type { TraceEvent } from './metrics.js';

export const PYTHON = '/usr/bin/python3';
export const OPTUNA_PRUNERS = ['median', 'hyperband'] as const;
export type OptunaPruner = (typeof OPTUNA_PRUNERS)[number];
/** Worker processes of the script, which share its (pruner, seed) studies (the benchmark machine has 2 cores). */
export const OPTUNA_PROCESSES = 2;

export interface OptunaRequest {
  readonly seeds: readonly number[];
  readonly budget: number;
  readonly cap: number;
  readonly bestFinal: number;
  readonly target: number;
  /** Configurations whose curves are written as reference values for the script's self-check. */
  readonly checkConfigs: readonly Config[];
}

export interface OptunaResult {
  readonly optuna: string;
  readonly python: string;
  readonly sampler: string;
  readonly pruners: Readonly<Record<OptunaPruner, string>>;
  readonly checkMaxRelativeDifference: number;
  /** Traces by pruner, in seed order. */
  readonly traces: Readonly<Record<OptunaPruner, readonly { seed: number; seconds: number; events: TraceEvent[] }[]>>;
}

type RawOutput = Omit<OptunaResult, 'traces'> & { runs: RawRun[] };

interface RawRun {
  pruner: OptunaPruner;
  seed: number;
  seconds: number;
  events: { spent: number; full: boolean; config: number[]; objective: number }[];
}

/** The script's input: the family, reference values for its self-check, and the run settings. */
export function optunaInput(req: OptunaRequest): Record<string, unknown> {
  const checks = [];
  for (const [i, config] of req.checkConfigs.entries()) {
    for (const epoch of [1, 2, 3, 9, 27, MAX_EPOCHS]) {
      const seed = req.seeds[i % req.seeds.length] ?? 1;
      const t = trueLoss(config, epoch);
      checks.push({ config, epoch, seed, trueLoss: t, observed: observe(config, t, epoch, seed) });
    }
  }
  return {
    family: familyDefinition(),
    checks,
    run: { seeds: req.seeds, budget: req.budget, cap: req.cap, bestFinal: req.bestFinal, target: req.target, pruners: OPTUNA_PRUNERS },
  };
}

/** Runs the script; resolves with its output file's contents. */
async function runScript(script: string, input: string, output: string, log: (line: string) => void): Promise<RawOutput> {
  const stderr: string[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(PYTHON, [script, '--input', input, '--output', output, '--processes', String(OPTUNA_PROCESSES)], { stdio: ['ignore', 'inherit', 'pipe'] });
    child.on('error', (e) => reject(new Error(`could not start ${PYTHON} (${e.message}); install Debian's python3-optuna`, { cause: e })));
    let partial = '';
    child.stderr.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        stderr.push(line);
        if (line.startsWith('optuna ')) log(line);
      }
    });
    child.on('close', (c) => {
      if (partial !== '') stderr.push(partial);
      resolve(c);
    });
  });
  if (code !== 0) throw new Error(`${PYTHON} ${script} exited with ${code}:\n${stderr.slice(-20).join('\n')}`);
  return JSON.parse(fs.readFileSync(output, 'utf8')) as RawOutput;
}

/**
 * Starts `script` (optuna_pruners.py in the sources: the build does not copy it) with {@link OPTUNA_PROCESSES}
 * worker processes and resolves with the traces of every (pruner, seed) study. Progress lines go to `log`. Rejects
 * with the script's stderr when it fails (no Optuna, curves out of step with curves.ts).
 */
export async function runOptuna(script: string, req: OptunaRequest, log: (line: string) => void): Promise<OptunaResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'katib-es-bench-'));
  const input = path.join(dir, 'family.json');
  fs.writeFileSync(input, JSON.stringify(optunaInput(req)));
  try {
    const out = await runScript(script, input, path.join(dir, 'optuna.json'), log);
    const traces = Object.fromEntries(
      OPTUNA_PRUNERS.map((p) => [
        p,
        out.runs
          .filter((r) => r.pruner === p)
          .sort((a, b) => a.seed - b.seed)
          .map((r) => ({ seed: r.seed, seconds: r.seconds, events: r.events.map((e): TraceEvent => (e.full ? { spent: e.spent, full: { config: e.config, objective: e.objective } } : { spent: e.spent })) })),
      ]),
    ) as Record<OptunaPruner, { seed: number; seconds: number; events: TraceEvent[] }[]>;
    return { optuna: out.optuna, python: out.python, sampler: out.sampler, pruners: out.pruners, checkMaxRelativeDifference: out.checkMaxRelativeDifference, traces };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
