/** Runs the built `katib` binary as a user would, in a scratch folder, and helpers to write experiments there. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';

export const REPO = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '../..');
export const KATIB_BIN = path.join(REPO, 'bin', 'katib.js');

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A fresh folder for one test. */
export function scratch(prefix = 'katib-cli-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Starts `katib ARGS` in `cwd`; resolves on exit. */
export function startKatib(args: readonly string[], cwd: string, env: Record<string, string> = {}): { child: ChildProcess; done: Promise<CliResult>; output: () => string } {
  const child = spawn(process.execPath, [KATIB_BIN, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return { child, done, output: () => stdout + stderr };
}

export function runKatib(args: readonly string[], cwd: string, env: Record<string, string> = {}): Promise<CliResult> {
  return startKatib(args, cwd, env).done;
}

/** A trial program: prints `loss=` lines from a formula, sleeping between epochs; records each run in runs.log. */
export const TRIAL_PROGRAM = `
const fs = require('node:fs');
const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')));
const x = Number(args.x ?? 0), y = Number(args.y ?? 0), epochs = Number(args.epochs ?? 3), sleep = Number(args.sleep ?? 0);
fs.appendFileSync('runs.log', process.env.KATIB_TRIAL_NAME + '\\n');
let i = 0;
const tick = () => {
  i++;
  const loss = (x - 0.3) ** 2 + (y - 2) ** 2 + 1 / i;
  console.log('epoch=' + i + ' loss=' + loss.toFixed(6) + ' accuracy=' + (1 / (1 + loss)).toFixed(6));
  if (i < epochs) setTimeout(tick, sleep); else if (args.fail) process.exit(Number(args.fail));
};
tick();
`;

export interface ExperimentOptions {
  name?: string;
  algorithm?: string;
  maxTrialCount?: number;
  parallelTrialCount?: number;
  maxFailedTrialCount?: number;
  command?: string[];
  metric?: string;
  settings?: Record<string, string>;
  parameters?: unknown[];
  extraSpec?: Record<string, unknown>;
  /** Extra fields of the primary container (resources, env, ...). */
  container?: Record<string, unknown>;
}

/** Writes trial.js and experiment.yaml into `dir`; returns the experiment file path. */
export function writeExperiment(dir: string, o: ExperimentOptions = {}): string {
  fs.writeFileSync(path.join(dir, 'trial.js'), TRIAL_PROGRAM);
  const exp = {
    apiVersion: 'kubeflow.org/v1beta1',
    kind: 'Experiment',
    metadata: { name: o.name ?? 'cli-test' },
    spec: {
      objective: { type: 'minimize', objectiveMetricName: o.metric ?? 'loss', additionalMetricNames: ['accuracy'] },
      algorithm: { algorithmName: o.algorithm ?? 'random', algorithmSettings: Object.entries(o.settings ?? { random_state: '1' }).map(([name, value]) => ({ name, value })) },
      parallelTrialCount: o.parallelTrialCount ?? 2,
      maxTrialCount: o.maxTrialCount ?? 4,
      maxFailedTrialCount: o.maxFailedTrialCount ?? 3,
      parameters: o.parameters ?? [
        { name: 'x', parameterType: 'double', feasibleSpace: { min: '0', max: '1' } },
        { name: 'y', parameterType: 'int', feasibleSpace: { min: '0', max: '4' } },
      ],
      trialTemplate: {
        primaryContainerName: 'main',
        trialParameters: [
          { name: 'x', reference: 'x' },
          { name: 'y', reference: 'y' },
        ],
        trialSpec: {
          apiVersion: 'batch/v1',
          kind: 'Job',
          spec: {
            template: {
              spec: {
                containers: [{ name: 'main', image: 'node:20', command: o.command ?? ['node', 'trial.js', '--x=${trialParameters.x}', '--y=${trialParameters.y}'], ...(o.container ?? {}) }],
                restartPolicy: 'Never',
              },
            },
          },
        },
      },
      ...(o.extraSpec ?? {}),
    },
  };
  const file = path.join(dir, 'experiment.yaml');
  fs.writeFileSync(file, YAML.stringify(exp));
  return file;
}

/** Polls `check` until true or the timeout passes. */
export async function waitFor(check: () => boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
