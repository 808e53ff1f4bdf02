/**
 * `katib collect`: the metrics collector of a trial on Kubernetes (src/collector/sidecar.ts). The Kubernetes runtime
 * adds it to the trial's pod as a sidecar (or wraps a TrainJob's trainer command with it); users rarely run it.
 *
 *   katib collect --trial T --db-manager-address ADDR --metric-names loss,accuracy \
 *     --file /var/log/katib/metrics.log --wait-pid-of /var/log/katib/.katib-main.pid \
 *     --exit-marker /var/log/katib/.katib-main.exit [--early-stopping-rules JSON --early-stopping-address ADDR]
 *   katib collect --trial T ... -- python train.py --lr 0.1        (wrap mode)
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { isRecord } from '../api/guards.js';
import { CollectorDefaults } from '../api/defaults.js';
import { metricsFormatProblem } from '../api/metrics-format.js';
import type { EarlyStoppingRule, ObjectiveType } from '../api/types.js';
import { ValidationError } from '../errors.js';

/** The flags of `katib collect`, as commander hands them over. */
export interface CollectFlags {
  readonly trial: string;
  readonly experiment?: string;
  readonly namespace?: string;
  readonly dbManagerAddress: string;
  readonly metricNames: string[];
  readonly objectiveType?: ObjectiveType;
  readonly file?: string;
  readonly format: 'TEXT' | 'JSON';
  readonly metricsFormat: string[];
  readonly earlyStoppingRules?: EarlyStoppingRule[];
  readonly earlyStoppingAddress?: string;
  readonly waitPidOf?: string;
  readonly exitMarker?: string;
  readonly stopFile?: string;
  readonly terminationLog?: string;
  readonly runId?: string;
  readonly copyOutput?: boolean;
  readonly stateFile?: string;
  readonly pollInterval: number;
  readonly gracePeriod: number;
}

const DEFAULT_METRICS_FILE = CollectorDefaults.filePath;

function parseNames(v: string): string[] {
  const names = v.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new InvalidArgumentError(`must list metric names separated by commas, the objective first (got ${JSON.stringify(v)})`);
  return names;
}

function parseRules(v: string): EarlyStoppingRule[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch (e) {
    throw new InvalidArgumentError(`must be a JSON list of rules like [{"name":"accuracy","value":"0.6","comparison":"less","startStep":4}] (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!Array.isArray(parsed)) throw new InvalidArgumentError(`must be a JSON list of rules (got ${v})`);
  return parsed.map((r, i) => {
    const ok =
      isRecord(r) &&
      typeof r.name === 'string' &&
      (typeof r.value === 'string' || typeof r.value === 'number') &&
      (r.comparison === 'equal' || r.comparison === 'less' || r.comparison === 'greater') &&
      (r.startStep === undefined || (typeof r.startStep === 'number' && Number.isInteger(r.startStep) && r.startStep >= 0));
    if (!ok) throw new InvalidArgumentError(`rule [${i}] ${JSON.stringify(r)} must have name, value, comparison (equal, less or greater) and optionally a whole startStep >= 0`);
    return { name: r.name as string, value: String(r.value), comparison: r.comparison as EarlyStoppingRule['comparison'], ...(r.startStep !== undefined ? { startStep: r.startStep as number } : {}) };
  });
}

function parseRegex(v: string, prev: string[] = []): string[] {
  const problem = metricsFormatProblem(v);
  if (problem !== undefined) throw new InvalidArgumentError(problem);
  return [...prev, v];
}

function parseNonNegative(what: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`must be a number of ${what} >= 0 (got ${JSON.stringify(v)})`);
    return n;
  };
}

/** Adds the flags of `katib collect` to `cmd` (main.ts registers the command). */
export function addCollectOptions(cmd: Command): Command {
  return cmd
    .description("collect a trial's metrics from its output or metrics file into the DB-manager and enforce its early-stopping rules (the sidecar the Kubernetes runtime adds); after --, run and wrap that command")
    .argument('[command...]', 'wrap mode: the training command and its arguments, after --')
    .requiredOption('--trial <name>', 'trial name (the observation log key)')
    .option('--experiment <name>', 'experiment name (for log lines)')
    .option('--namespace <ns>', 'namespace (for log lines)')
    .requiredOption('--db-manager-address <host:port>', 'DB-manager to report to')
    .requiredOption('--metric-names <names>', 'metrics to collect, comma-separated, the objective first', parseNames)
    .addOption(new Option('--objective-type <type>', 'objective direction: rules on the objective compare its best value so far').choices(['minimize', 'maximize']))
    .option('--file <path>', 'metrics file to tail (default /var/log/katib/metrics.log; in wrap mode with --copy-output a new temporary file)')
    .addOption(new Option('--format <format>', 'metrics file format').choices(['TEXT', 'JSON']).default('TEXT'))
    .option('--metrics-format <regex>', 'TEXT filter with two groups, name and value (repeatable; default name=value)', parseRegex, [])
    .option('--early-stopping-rules <json>', 'early-stopping rules as a JSON list of {name, value, comparison, startStep}', parseRules)
    .option('--early-stopping-address <host:port>', 'EarlyStopping service to tell (SetTrialStatus) after a stop')
    .option('--wait-pid-of <pidfile|pattern>', 'the training process: a pid file (absolute path) or a command-line substring to find in /proc')
    .option('--exit-marker <file>', 'file the wrapped training command writes its exit code to when it ends')
    .option('--stop-file <file>', 'file to write before stopping the training early (the wrapped command then exits 0)')
    .option('--termination-log <file>', "where to write how collection ended (the container's terminationMessagePath)")
    .option('--copy-output', "wrap mode: copy the command's stdout and stderr to --file (the StdOut collector)")
    .option('--state-file <file>', 'where to keep how far the metrics file was stored, for a restarted collector (default: .katib-collector.state beside --file)')
    .option('--run-id <id>', 'prefix of report batch ids, unique per run (default: $POD_NAME, else the host name; in wrap mode with a random suffix)')
    .option('--poll-interval <ms>', 'poll interval in milliseconds', parseNonNegative('milliseconds'), 500)
    .option('--grace-period <seconds>', 'seconds between SIGTERM and SIGKILL when stopping the training', parseNonNegative('seconds'), 10);
}

/** True on a node other than the first of a multi-node job (Indexed Job completion index or torchrun node rank). */
function isSecondaryNode(env: NodeJS.ProcessEnv): boolean {
  return ['JOB_COMPLETION_INDEX', 'PET_NODE_RANK'].some((k) => env[k] !== undefined && env[k] !== '' && env[k] !== '0');
}

/**
 * Runs `katib collect`; resolves to the exit code. Sidecar mode: 0 once every metric is stored. Wrap mode: the
 * command's exit code (0 after an early stop). Throws ValidationError for missing flags and UnavailableError when
 * the DB-manager stays unreachable (main.ts turns both into messages and exit codes).
 */
export async function collectMetrics(command: readonly string[], o: CollectFlags, io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }): Promise<number> {
  const log = (line: string): void => void io.stderr.write(`katib collect: ${line}\n`);
  // Imported here, not at the top: main.ts loads this module for every command (for the options above), and the
  // collector's modules bring the observation stores' SQL drivers, which the other commands do not need.
  const [{ watchProcess }, { runCollector, STATE_FILE }, { runPlain, runWrapped }, { DbManagerClient }, { EarlyStoppingClient }] = await Promise.all([
    import('../collector/main-process.js'),
    import('../collector/sidecar.js'),
    import('../collector/wrap.js'),
    import('../dbmanager/client.js'),
    import('../suggestion/client.js'),
  ]);
  const [program, ...args] = command;
  if (program === undefined && o.waitPidOf === undefined) {
    throw new ValidationError([{ path: '--wait-pid-of', message: 'is required in sidecar mode: the pid file the wrapped command writes or a command-line substring; or give the command to run after --' }], 'katib collect');
  }
  if (program !== undefined && isSecondaryNode(process.env)) {
    log(`not the first node (JOB_COMPLETION_INDEX=${process.env['JOB_COMPLETION_INDEX'] ?? ''}, PET_NODE_RANK=${process.env['PET_NODE_RANK'] ?? ''}): running ${JSON.stringify(program)} without collecting`);
    return runPlain(program, args, io.stderr);
  }
  const store = new DbManagerClient(o.dbManagerAddress);
  const rules = o.earlyStoppingRules ?? [];
  const earlyStopping = rules.length > 0 && o.earlyStoppingAddress ? new EarlyStoppingClient(o.earlyStoppingAddress) : undefined;
  const wrap = program !== undefined;
  // In wrap mode every start of the collector is a new run of the training (a restarted container runs it again):
  // its output goes to a new file, and its batch ids must not match those of an earlier run in the same pod.
  const podName = o.runId ?? process.env['POD_NAME'] ?? os.hostname();
  const runId = wrap && o.runId === undefined ? `${podName}:${randomUUID().slice(0, 8)}` : podName;
  const file = o.file ?? (wrap && o.copyOutput === true ? path.join(os.tmpdir(), `katib-metrics-${runId.replace(/[^\w.-]/g, '_')}.log`) : DEFAULT_METRICS_FILE);
  const common = {
    trial: o.trial,
    metricNames: o.metricNames,
    ...(o.objectiveType !== undefined ? { objectiveType: o.objectiveType } : {}),
    file,
    format: o.format,
    metricsFormat: o.metricsFormat,
    rules,
    store,
    ...(earlyStopping !== undefined ? { earlyStopping } : {}),
    runId,
    ...(wrap ? {} : { stateFile: o.stateFile ?? path.join(path.dirname(file), STATE_FILE) }),
    ...(o.terminationLog !== undefined ? { terminationLog: o.terminationLog } : {}),
    pollMs: o.pollInterval,
    gracePeriodMs: o.gracePeriod * 1000,
    log,
  };
  try {
    if (program !== undefined) {
      const { exitCode } = await runWrapped({ ...common, command: program, args, copyOutput: o.copyOutput === true, stdout: io.stdout, stderr: io.stderr });
      return exitCode;
    }
    const abort = new AbortController();
    const stop = (): void => {
      log('asked to stop: reporting what was collected');
      abort.abort();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    try {
      await runCollector({
        ...common,
        main: watchProcess({ waitPidOf: o.waitPidOf ?? '', ...(o.exitMarker !== undefined ? { exitMarker: o.exitMarker } : {}) }),
        ...(o.stopFile !== undefined ? { stopFile: o.stopFile } : {}),
        signal: abort.signal,
      });
      return 0;
    } finally {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
    }
  } finally {
    earlyStopping?.close();
    await store.close();
  }
}
