/**
 * The `katib controller` command's flags and their parsing. The controller itself (src/cli/controller.ts, with the
 * Kubernetes client) is imported only when the command runs.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { ValidationError } from '../errors.js';

export const DEFAULT_DB_MANAGER_PORT = 6789;
export const DEFAULT_HEALTH_PORT = 8081;

export interface ControllerOptions {
  readonly kubeconfig?: string;
  /** Watch one namespace; default all. */
  readonly namespace?: string;
  readonly dbManagerAddress?: string;
  readonly db?: string;
  readonly dbManagerPort: number;
  readonly suggestionAddress: Readonly<Record<string, string>>;
  readonly suggestionServiceAddress?: string;
  readonly earlyStoppingAddress: Readonly<Record<string, string>>;
  readonly earlyStoppingServiceAddress?: string;
  readonly leaderElect?: boolean;
  readonly leaderElectionNamespace?: string;
  readonly leaderElectionId: string;
  /** Seconds (fractions allowed, for tests). */
  readonly leaseDuration: number;
  readonly renewDeadline: number;
  readonly retryPeriod: number;
  readonly healthPort: number;
  readonly healthHost: string;
  readonly workers: number;
  /** Seconds between passes of an experiment that is not done. */
  readonly resyncPeriod: number;
  readonly collectorImage: string;
  readonly collectorCommand?: readonly string[];
  readonly trainerCollectorCommand?: readonly string[];
  readonly logLevel: string;
}

/** Parses a command given as a JSON array of strings or as whitespace-separated words. */
export function parseCommand(v: string): string[] {
  const text = v.trim();
  if (text.startsWith('[')) {
    const parsed: unknown = JSON.parse(text);
    if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((p) => typeof p === 'string')) {
      throw new Error(`must be a non-empty JSON array of strings or words separated by spaces (got ${JSON.stringify(v)})`);
    }
    return parsed as string[];
  }
  const words = text.split(/\s+/).filter(Boolean);
  if (words.length === 0) throw new Error(`must name a command (got ${JSON.stringify(v)})`);
  return words;
}


function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`must be a port number 0-65535 (got ${JSON.stringify(v)})`);
  return n;
}

function parsePositive(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`must be a positive number (got ${JSON.stringify(v)})`);
  return n;
}

function parseWorkers(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new InvalidArgumentError(`must be a whole number 1-256 (got ${JSON.stringify(v)})`);
  return n;
}

function parsePairs(v: string, prev: Record<string, string>): Record<string, string> {
  const i = v.indexOf('=');
  if (i <= 0 || i === v.length - 1) throw new InvalidArgumentError(`must be NAME=HOST:PORT (got ${JSON.stringify(v)})`);
  return { ...prev, [v.slice(0, i)]: v.slice(i + 1) };
}

function parseCommandOption(v: string): string[] {
  try {
    return parseCommand(v);
  } catch (e) {
    throw new InvalidArgumentError(e instanceof Error ? e.message : String(e));
  }
}

/**
 * The `controller` command for the CLI (src/cli/main.ts adds it); `onExit` receives the exit code. Flags fall back
 * to the environment the Deployment sets (KATIB_DB_MANAGER_ADDRESS, KATIB_SUGGESTION_ADDRESS,
 * KATIB_EARLY_STOPPING_ADDRESS, KATIB_COLLECTOR_IMAGE).
 */
export function controllerCommand(io: { stderr: NodeJS.WritableStream }, onExit: (code: number) => void): Command {
  const env = (name: string): string | undefined => process.env[name] || undefined;
  return new Command('controller')
    .description('reconcile Katib Experiments on a Kubernetes cluster (cluster mode); runs until SIGTERM')
    .option('--kubeconfig <path>', 'kubeconfig file (default: KUBECONFIG, ~/.kube/config, else the in-cluster service account)')
    .option('-n, --namespace <ns>', 'watch only this namespace (default: all namespaces)')
    .option('--db-manager-address <host:port>', 'DB-manager for observation logs (env KATIB_DB_MANAGER_ADDRESS); with --db: the address trials report to', env('KATIB_DB_MANAGER_ADDRESS'))
    .option('--db <url>', 'keep observation logs in-process (sqlite:PATH, postgres://..., mysql://...) and serve DBManager on --db-manager-port')
    .addOption(new Option('--db-manager-port <port>', 'port of the in-process DBManager (with --db)').argParser(parsePort).default(DEFAULT_DB_MANAGER_PORT))
    .option('--suggestion-address <name=host:port>', 'suggestion service of one algorithm (repeatable)', parsePairs, {})
    .option('--suggestion-service-address <host:port>', 'suggestion service for the other algorithms (env KATIB_SUGGESTION_ADDRESS; default: in-process)', env('KATIB_SUGGESTION_ADDRESS'))
    .option('--early-stopping-address <name=host:port>', 'early-stopping service of one algorithm (repeatable)', parsePairs, {})
    .option('--early-stopping-service-address <host:port>', 'early-stopping service for the other algorithms (env KATIB_EARLY_STOPPING_ADDRESS; default: in-process)', env('KATIB_EARLY_STOPPING_ADDRESS'))
    .option('--leader-elect', 'elect one active replica through a coordination.k8s.io Lease')
    .option('--leader-election-namespace <ns>', 'namespace of the Lease (default: KATIB_CORE_NAMESPACE, POD_NAMESPACE, the service account\'s)')
    .option('--leader-election-id <name>', 'name of the Lease', 'katib-controller')
    .addOption(new Option('--lease-duration <seconds>', 'how long a Lease holds without renewal').argParser(parsePositive).default(15))
    .addOption(new Option('--renew-deadline <seconds>', 'how long the leader tries to renew before it gives up').argParser(parsePositive).default(10))
    .addOption(new Option('--retry-period <seconds>', 'time between Lease attempts').argParser(parsePositive).default(2))
    .addOption(new Option('--health-port <port>', 'port of /healthz, /readyz and /metrics (0 picks one)').argParser(parsePort).default(DEFAULT_HEALTH_PORT))
    .option('--health-host <host>', 'address of the health server', '0.0.0.0')
    .addOption(new Option('--workers <n>', 'experiments reconciled at once').argParser(parseWorkers).default(4))
    .addOption(new Option('--resync-period <seconds>', 'reconcile a running experiment at least this often').argParser(parsePositive).default(10))
    .option('--collector-image <image>', 'image of the metrics-collector sidecar: the katib-ts image (env KATIB_COLLECTOR_IMAGE)', env('KATIB_COLLECTOR_IMAGE') ?? 'katib-ts')
    .option('--collector-command <command>', "the sidecar's command (JSON array or words; default: the image's entrypoint)", parseCommandOption)
    .option('--trainer-collector-command <command>', 'the collector inside a TrainJob trainer (JSON array or words; default: katib)', parseCommandOption)
    .option('--log-level <level>', 'pino log level', 'info')
    .action(async (o: ControllerOptions) => {
      if (o.renewDeadline >= o.leaseDuration || o.retryPeriod >= o.renewDeadline) {
        throw new ValidationError([
          { path: '--renew-deadline', message: `need --retry-period < --renew-deadline < --lease-duration (got ${o.retryPeriod} < ${o.renewDeadline} < ${o.leaseDuration})` },
        ]);
      }
      // Loaded only when this command runs, so other commands don't pay for the Kubernetes client.
      const { runController } = await import('./controller.js');
      onExit(await runController(o, io));
    });
}
