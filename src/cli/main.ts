/**
 * The `katib` command line. Thin: every command parses its flags and calls into src/. Errors print as
 * `katib: <message>` (validation problems one per line with their field path) and set the exit code; no stack
 * traces for user errors.
 *
 * Each command's implementation is imported when that command runs, so a long-running service loads only what it
 * serves: `katib serve suggestion` does not load the store, SQLite, the Kubernetes client or the controller (about
 * 12 MiB less resident memory; the suggestion service is held to 100 MiB).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { KatibError, ValidationError } from '../errors.js';
import type { OutputFormat } from './format.js';
import { addCollectOptions, collectMetrics, type CollectFlags } from './collect.js';
import { controllerCommand } from './controller-command.js';

function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`must be a port number 0-65535 (got ${JSON.stringify(v)})`);
  return n;
}

function collectPairs(v: string, prev: Record<string, string>): Record<string, string> {
  const i = v.indexOf('=');
  if (i <= 0) throw new InvalidArgumentError(`must be NAME=HOST:PORT (got ${JSON.stringify(v)})`);
  return { ...prev, [v.slice(0, i)]: v.slice(i + 1) };
}

function parseGpus(v: string): string[] {
  const ids = v.split(',').map((s) => s.trim()).filter(Boolean);
  if (ids.length === 0 || ids.some((id) => !/^[\w-]+$/.test(id))) throw new InvalidArgumentError(`must be a comma-separated list of GPU ids such as 0,1 (got ${JSON.stringify(v)})`);
  return ids;
}

const outputOption = () => new Option('-o, --output <format>', 'output format').choices(['table', 'json', 'yaml']).default('table');
const storeOption = () => new Option('--store <url>', 'embedded store').default('sqlite:./.katib/katib.db');

/** Runs the CLI with `argv` (as process.argv) and resolves to the exit code. */
export async function runCli(argv: readonly string[], io: { stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream } = process): Promise<number> {
  let code = 0;
  const program = new Command('katib')
    .description('Hyperparameter optimization compatible with Kubeflow Katib: embedded or on Kubernetes')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });

  program
    .command('run')
    .description('run an Experiment (Katib v1beta1 YAML or JSON) on this machine until it completes; resumes if it exists')
    .argument('<file>', 'Experiment file')
    .addOption(storeOption())
    .option('--db <url>', 'observation-log database: sqlite:PATH, postgres://..., mysql://... (default: the store file)')
    .option('-n, --namespace <ns>', 'namespace to record the experiment under (default: the file\'s, else "default")')
    .option('--suggestion-address <name=host:port>', 'use an external suggestion service for an algorithm (repeatable)', collectPairs, {})
    .option('--early-stopping-address <name=host:port>', 'use an external early-stopping service (repeatable)', collectPairs, {})
    .option('--gpus <ids>', 'GPU ids to share among trials, e.g. 0,1,2,3 (each trial gets the nvidia.com/gpu count it requests)', parseGpus)
    .option('-q, --quiet', 'print only the result')
    .addOption(outputOption())
    .action(async (file: string, o: { store: string; db?: string; namespace?: string; suggestionAddress: Record<string, string>; earlyStoppingAddress: Record<string, string>; gpus?: string[]; quiet?: boolean; output: OutputFormat }) => {
      const { runExperiment } = await import('./run.js');
      code = await runExperiment(file, {
        store: o.store,
        db: o.db,
        namespace: o.namespace,
        suggestionAddresses: o.suggestionAddress,
        earlyStoppingAddresses: o.earlyStoppingAddress,
        gpus: o.gpus,
        quiet: o.quiet,
        output: o.output,
        stdout: io.stdout,
        stderr: io.stderr,
      });
    });

  const get = program.command('get').description('list experiments or trials');
  get
    .command('experiments')
    .alias('experiment')
    .description('list experiments in the store')
    .addOption(storeOption())
    .option('-n, --namespace <ns>', 'only this namespace')
    .addOption(outputOption())
    .action(async (o: { store: string; namespace?: string; output: OutputFormat }) => {
      const { getExperiments } = await import('./get.js');
      code = await getExperiments(o, io.stdout);
    });
  get
    .command('trials')
    .alias('trial')
    .description("list an experiment's trials, best first")
    .argument('<experiment>', 'experiment name')
    .addOption(storeOption())
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .addOption(outputOption())
    .action(async (name: string, o: { store: string; namespace: string; output: OutputFormat }) => {
      const { getTrials } = await import('./get.js');
      code = await getTrials(name, o, io.stdout);
    });

  program
    .command('describe')
    .description('show an experiment in detail')
    .argument('<kind>', 'experiment')
    .argument('<name>', 'experiment name')
    .addOption(storeOption())
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .addOption(outputOption())
    .action(async (kind: string, name: string, o: { store: string; namespace: string; output: OutputFormat }) => {
      if (!/^experiments?$/.test(kind)) throw new InvalidArgumentError(`can describe "experiment" only (got ${JSON.stringify(kind)})`);
      const { describeExperiment } = await import('./get.js');
      code = await describeExperiment(name, o, io.stdout);
    });

  program
    .command('delete')
    .description('delete an experiment, its trials, their folders (checkpoints and folders moved aside included) and observation logs')
    .argument('<kind>', 'experiment')
    .argument('<name>', 'experiment name')
    .addOption(storeOption())
    .option('--db <url>', 'observation-log database (default: the store file)')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .action(async (kind: string, name: string, o: { store: string; db?: string; namespace: string }) => {
      if (!/^experiments?$/.test(kind)) throw new InvalidArgumentError(`can delete "experiment" only (got ${JSON.stringify(kind)})`);
      const { deleteExperiment } = await import('./get.js');
      code = await deleteExperiment(name, o, io.stdout);
    });

  const serve = program.command('serve').description('serve a Katib gRPC service');
  serve
    .command('suggestion')
    .description('serve the Suggestion API for every registered algorithm (or one, with --algorithm)')
    .requiredOption('--port <port>', 'port to listen on (0 picks one)', parsePort)
    .option('--host <host>', 'address to bind', '0.0.0.0')
    .option('--algorithm <name>', 'serve only this algorithm, as a per-algorithm Deployment would')
    .action(async (o: { port: number; host: string; algorithm?: string }) => {
      const { serveSuggestion } = await import('./serve.js');
      code = await serveSuggestion(o, io.stderr);
    });
  serve
    .command('earlystopping')
    .alias('early-stopping')
    .description('serve the EarlyStopping API (medianstop)')
    .requiredOption('--port <port>', 'port to listen on (0 picks one)', parsePort)
    .option('--host <host>', 'address to bind', '0.0.0.0')
    .option('--algorithm <name>', 'early-stopping algorithm', 'medianstop')
    .action(async (o: { port: number; host: string; algorithm: string }) => {
      const { serveEarlyStopping } = await import('./serve.js');
      code = await serveEarlyStopping(o, io.stderr);
    });
  serve
    .command('db-manager')
    .description("serve Katib's DBManager API (observation logs) on SQLite, PostgreSQL or MySQL")
    .requiredOption('--port <port>', 'port to listen on (0 picks one)', parsePort)
    .option('--host <host>', 'address to bind', '0.0.0.0')
    .option('--db <url>', 'sqlite:PATH, postgres://user@host/db or mysql://user@host/db', process.env['KATIB_DB_URL'] ?? 'sqlite:./.katib/katib.db')
    .action(async (o: { port: number; host: string; db: string }) => {
      const { serveDbManager } = await import('./serve.js');
      code = await serveDbManager(o, io.stderr);
    });

  addCollectOptions(program.command('collect')).action(async (command: string[], o: CollectFlags) => {
    code = await collectMetrics(command, o, io);
  });

  program.addCommand(controllerCommand(io, (c) => (code = c)));

  try {
    await program.parseAsync([...argv]);
    return code;
  } catch (e) {
    return reportError(e, io.stderr);
  }
}

function reportError(e: unknown, stderr: NodeJS.WritableStream): number {
  const err = e as { code?: string; exitCode?: number; message?: string };
  if (typeof err.code === 'string' && err.code.startsWith('commander.')) {
    // commander printed its own message already (help, version, unknown option).
    return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help' ? 0 : 2;
  }
  if (e instanceof ValidationError) {
    stderr.write(`katib: ${e.message}\n`);
    return 2;
  }
  if (e instanceof KatibError) {
    stderr.write(`katib: ${e.message}\n`);
    return e.retryable ? 1 : 2;
  }
  const nodeErr = e as NodeJS.ErrnoException;
  if (nodeErr?.code === 'ENOENT' && nodeErr.path) {
    stderr.write(`katib: ${nodeErr.path}: no such file or directory\n`);
    return 2;
  }
  stderr.write(`katib: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  return 1;
}
