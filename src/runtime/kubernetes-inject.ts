/**
 * Metrics-collector injection into a trial's run object at creation time. Katib does this with a mutating webhook on
 * the trial's pods; katib-ts has no webhook, so it edits the pod template of the run object before creating it:
 *
 * - Job, Kubeflow training jobs (PyTorchJob: the Master replica; TFJob: Chief; MPIJob: Launcher) and any custom
 *   resource with a pod template: the pod template that holds the primary container (the one findPrimaryContainer
 *   picks) gets `shareProcessNamespace: true`, an emptyDir volume `metrics-volume` mounted at the metrics file's
 *   folder (/var/log/katib by default) in the primary container and in the sidecar, the sidecar container
 *   `metrics-logger-and-collector` running `katib collect`, and the trial's labels. The primary container's command
 *   is wrapped, in exec form: `sh -c WRAPPER katib-ts-main OUT DIR GRACE CMD ARG...` where WRAPPER (a constant
 *   script) runs `"$@"` (so arguments keep their exact bytes: nothing is joined into a shell string), copies its
 *   stdout and stderr to OUT with tee (StdOut collector; OUT is empty for the File collector), writes the pid to
 *   DIR/.katib-main.pid and the exit code to DIR/.katib-main.exit, stops the process when the collector writes
 *   DIR/.katib-stop (SIGTERM, SIGKILL after GRACE seconds; no signal permission across containers is needed) and
 *   then exits 0, as Katib's wrapper does for an early-stopped training.
 * - TrainJob (trainer.kubeflow.org): the pod template comes from the training runtime, and Trainer's pod template
 *   overrides (`spec.podTemplateOverrides`, later `runtimePatches`) can only patch the env, volume mounts and
 *   security context of containers the runtime defines: they cannot add a sidecar or an init container, and they
 *   cannot touch the `node` container's env. So the trainer command is wrapped instead: `spec.trainer.command`
 *   becomes `katib collect [flags] -- CMD ARG...` (wrap mode, src/collector/wrap.ts; for StdOut it copies the
 *   output to a temporary file of its own, for File it reads the file the training writes). The collector must be
 *   in the trainer image then (`trainerCommand`, default `katib` on PATH: install katib-ts in the image, or build
 *   on the katib-ts image); otherwise use the Push collector. Only the first node collects (JOB_COMPLETION_INDEX /
 *   PET_NODE_RANK 0); the others run the command unchanged.
 * - Push: no collector; the primary container gets KATIB_TRIAL_NAME and KATIB_DB_MANAGER_ADDRESS for the SDK.
 * - Custom: the user's `customCollector` container is added as Katib does (no wrapping), with the metrics volume
 *   when `source.fileSystemPath` is set. TensorFlowEvent and PrometheusMetric are not supported (ValidationError).
 *
 * Every string katib-ts adds to a command line has its `$` doubled, so Kubernetes' `$(VAR)` expansion leaves it as
 * written; the user's own command and arguments are left as they are (they were written for that expansion).
 */
import path from 'node:path';
import { isRecord } from '../api/guards.js';
import { CollectorDefaults } from '../api/defaults.js';
import { findPrimaryContainer, isTrainJob } from '../api/template.js';
import type { EarlyStoppingRule, Experiment, MetricsCollectorSpec, Trial, UnstructuredObject } from '../api/types.js';
import { Labels } from '../api/types.js';
import { ValidationError } from '../errors.js';

/** Katib's name of the StdOut/File collector sidecar. */
export const SIDECAR_NAME = 'metrics-logger-and-collector';
/** Katib's name of the metrics emptyDir volume. */
export const METRICS_VOLUME = 'metrics-volume';
/** `$0` of the wrapper shell: marks the training's wrapper in `ps` and /proc. */
export const MAIN_MARKER = 'katib-ts-main';
/** The kubelet's default terminationMessagePath: the collector writes its outcome there. */
export const TERMINATION_LOG = '/dev/termination-log';

/** Control files the wrapper and the sidecar share in the metrics folder. */
export const ControlFiles = {
  pid: '.katib-main.pid',
  exit: '.katib-main.exit',
  stop: '.katib-stop',
  fifo: '.katib-main.fifo',
} as const;

/**
 * The wrapper around the primary container's command (POSIX sh). Positional parameters: $1 the file to copy the
 * output to ('' for none), $2 the control folder, $3 the grace period in seconds, then the command. It contains
 * neither `$(` nor `$$`, so Kubernetes' variable expansion leaves it intact.
 */
export const WRAPPER_SCRIPT = [
  'out=$1 dir=$2 grace=$3',
  'shift 3',
  'pid=',
  'trap \'[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null\' TERM INT',
  `rm -f "$dir/${ControlFiles.exit}"`,
  'if [ -n "$out" ]; then',
  `  fifo="$dir/${ControlFiles.fifo}"`,
  '  rm -f "$fifo"',
  '  mkfifo "$fifo" || exit 125',
  '  tee -a "$out" <"$fifo" &',
  '  copier=$!',
  '  "$@" >"$fifo" 2>&1 &',
  'else',
  '  "$@" &',
  'fi',
  'pid=$!',
  `echo "$pid" >"$dir/${ControlFiles.pid}"`,
  `(while kill -0 "$pid" 2>/dev/null; do if [ -f "$dir/${ControlFiles.stop}" ]; then kill -TERM "$pid" 2>/dev/null; sleep "$grace"; kill -KILL "$pid" 2>/dev/null; break; fi; sleep 1; done) &`,
  'watcher=$!',
  'wait "$pid"',
  'code=$?',
  'while kill -0 "$pid" 2>/dev/null; do wait "$pid"; code=$?; done',
  'kill "$watcher" 2>/dev/null',
  'if [ -n "$out" ]; then wait "$copier"; fi',
  `if [ -f "$dir/${ControlFiles.stop}" ]; then echo "katib: the metrics collector stopped the training early" >&2; code=0; fi`,
  `echo "$code" >"$dir/${ControlFiles.exit}"`,
  'exit "$code"',
].join('\n');

/** How the collector sidecar runs; see KubernetesRuntimeOptions.collector. */
export interface CollectorSettings {
  /** Image of the sidecar: the katib-ts image (its entrypoint is `katib`). */
  readonly image: string;
  /** Command of the sidecar; unset: the image's entrypoint, with `collect ...` as args. */
  readonly command?: readonly string[];
  readonly imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  /** Resources of the sidecar container. */
  readonly resources?: Readonly<Record<string, unknown>>;
  /** The collector command inside a TrainJob's trainer container (wrap mode). Default `['katib']`. */
  readonly trainerCommand?: readonly string[];
  /** Seconds between SIGTERM and SIGKILL when the collector stops a training early. Default 10. */
  readonly gracePeriodSeconds?: number;
  /** Poll interval of the collector, ms. Default 500. */
  readonly pollIntervalMs?: number;
}

/** What the collector needs to know besides the trial. */
export interface InjectionContext {
  /** DB-manager address as the trial's pods reach it (host:port). */
  readonly dbManagerAddress: string;
  /** EarlyStopping service address for SetTrialStatus, when the experiment uses early stopping. */
  readonly earlyStoppingAddress?: string;
  readonly collector: CollectorSettings;
}

/** Doubles every `$`, so Kubernetes' `$(VAR)` expansion leaves the string as written. */
export function escapeExpansion(text: string): string {
  return text.split('$').join('$$');
}

type FieldPathStep = string | number;

/** Parses a field path as findPrimaryContainer writes it (`spec.template.spec.containers[0]`, `spec[a.b]`). */
export function parseFieldPath(text: string): FieldPathStep[] {
  const steps: FieldPathStep[] = [];
  const re = /\.([A-Za-z_$][\w$-]*)|\[([^\]]*)\]|^([A-Za-z_$][\w$-]*)/g;
  let at = 0;
  for (const m of text.matchAll(re)) {
    if (m.index !== at) break;
    at = m.index + m[0].length;
    const name = m[1] ?? m[3];
    if (name !== undefined) steps.push(name);
    else steps.push(/^\d+$/.test(m[2] ?? '') ? Number(m[2]) : (m[2] ?? ''));
  }
  if (at !== text.length) throw new Error(`cannot parse field path ${JSON.stringify(text)}`);
  return steps;
}

function at(root: unknown, steps: readonly FieldPathStep[]): unknown {
  let cur = root;
  for (const s of steps) {
    if (typeof s === 'number') cur = Array.isArray(cur) ? cur[s] : undefined;
    else cur = isRecord(cur) ? cur[s] : undefined;
  }
  return cur;
}

/** The metrics collector spec in effect for the trial. */
export function collectorSpecOf(exp: Experiment, trial: Trial): MetricsCollectorSpec {
  return trial.spec.metricsCollector ?? exp.spec.metricsCollectorSpec ?? { collector: { kind: 'StdOut' } };
}

interface CollectorPlan {
  readonly kind: 'StdOut' | 'File';
  readonly file: string;
  readonly format: 'TEXT' | 'JSON';
}

function metricNames(exp: Experiment, trial: Trial): { names: string[]; type: string | undefined } {
  const objective = trial.spec.objective ?? exp.spec.objective;
  return { names: [objective?.objectiveMetricName ?? '', ...(objective?.additionalMetricNames ?? [])].filter(Boolean), type: objective?.type };
}

/** The `katib collect` flags for the trial (unescaped). */
function collectorFlags(exp: Experiment, trial: Trial, ctx: InjectionContext, plan: CollectorPlan, wrap: boolean): string[] {
  const mc = collectorSpecOf(exp, trial);
  const { names, type } = metricNames(exp, trial);
  const rules: readonly EarlyStoppingRule[] = trial.spec.earlyStoppingRules ?? [];
  const flags = [
    '--trial',
    trial.metadata.name,
    '--experiment',
    exp.metadata.name,
    '--namespace',
    trial.metadata.namespace ?? exp.metadata.namespace ?? 'default',
    '--db-manager-address',
    ctx.dbManagerAddress,
    '--metric-names',
    names.join(','),
  ];
  if (type === 'minimize' || type === 'maximize') flags.push('--objective-type', type);
  // A TrainJob's StdOut collector copies the output to a file of its own (wrap mode); the others read plan.file.
  if (!(wrap && plan.kind === 'StdOut')) flags.push('--file', plan.file);
  flags.push('--format', plan.format);
  for (const re of mc.source?.filter?.metricsFormat ?? []) flags.push('--metrics-format', re);
  if (rules.length > 0) {
    flags.push('--early-stopping-rules', JSON.stringify(rules.map((r) => ({ name: r.name, value: r.value, comparison: r.comparison, ...(r.startStep !== undefined ? { startStep: r.startStep } : {}) }))));
    if (ctx.earlyStoppingAddress) flags.push('--early-stopping-address', ctx.earlyStoppingAddress);
  }
  if (ctx.collector.pollIntervalMs !== undefined) flags.push('--poll-interval', String(ctx.collector.pollIntervalMs));
  flags.push('--grace-period', String(ctx.collector.gracePeriodSeconds ?? 10));
  return flags;
}

/** The collector plan, or a reason to inject nothing: Push / None, Custom handled apart. */
function planFor(exp: Experiment, trial: Trial): CollectorPlan | 'none' | 'custom' {
  const mc = collectorSpecOf(exp, trial);
  const kind = mc.collector?.kind ?? 'StdOut';
  switch (kind) {
    case 'StdOut':
      return { kind, file: CollectorDefaults.filePath, format: 'TEXT' };
    case 'File': {
      const fsPath = mc.source?.fileSystemPath;
      return { kind, file: fsPath?.path || CollectorDefaults.filePath, format: fsPath?.format === 'JSON' ? 'JSON' : 'TEXT' };
    }
    case 'Push':
    case 'None':
      return 'none';
    case 'Custom':
      return 'custom';
    case 'TensorFlowEvent':
    case 'PrometheusMetric':
      throw new ValidationError(
        [{ path: 'spec.metricsCollectorSpec.collector.kind', message: `${kind} is not supported by katib-ts on Kubernetes; use StdOut, File (TEXT or JSON), Custom or Push` }],
        `trial ${JSON.stringify(trial.metadata.name)}`,
      );
  }
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}

/** Adds env vars the container does not set already. */
function addEnv(container: Record<string, unknown>, vars: readonly EnvVar[]): void {
  const env = Array.isArray(container.env) ? [...(container.env as unknown[])] : [];
  const names = new Set(env.filter(isRecord).map((e) => e.name));
  for (const v of vars) if (!names.has(v.name)) env.push(v);
  container.env = env;
}

function trialEnv(trial: Trial, ctx: InjectionContext): EnvVar[] {
  return [
    { name: 'KATIB_TRIAL_NAME', value: trial.metadata.name },
    { name: 'KATIB_DB_MANAGER_ADDRESS', value: ctx.dbManagerAddress },
  ];
}

const POD_NAME_ENV: EnvVar = { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } };

function bad(trial: Trial, path: string, message: string): ValidationError {
  return new ValidationError([{ path, message }], `trial ${JSON.stringify(trial.metadata.name)}`);
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/**
 * Adds the metrics collector to `run` (a rendered copy of the trial's run object, changed in place) as the module
 * comment describes. Called by KubernetesRuntime.start before creating the object.
 * @throws ValidationError naming the field when the collector kind is unsupported, the primary container has no
 *   command to wrap, or the metrics folder is mounted already.
 */
export function injectMetricsCollector(run: UnstructuredObject, exp: Experiment, trial: Trial, ctx: InjectionContext): void {
  const plan = planFor(exp, trial);
  if (isTrainJob(run)) {
    injectTrainJob(run, exp, trial, ctx, plan);
    return;
  }
  let primary: ReturnType<typeof findPrimaryContainer>;
  try {
    primary = findPrimaryContainer(run, trial.spec.primaryContainerName);
  } catch (e) {
    // Without a collector nothing needs the pod template: a run kind without one (an Argo Workflow) is fine.
    if (plan === 'none' && e instanceof ValidationError) return;
    throw e;
  }
  const steps = parseFieldPath(primary.path);
  const container = at(run, steps);
  const podSpecSteps = steps.slice(0, -2);
  const podSpec = at(run, podSpecSteps);
  if (!isRecord(container) || !isRecord(podSpec)) throw bad(trial, primary.path, 'the primary container could not be found again');
  addEnv(container, trialEnv(trial, ctx));
  // Katib's webhook labels the trial's pods; the runtime finds them by these labels.
  const template = podSpecSteps.length >= 2 && podSpecSteps[podSpecSteps.length - 1] === 'spec' ? at(run, podSpecSteps.slice(0, -1)) : undefined;
  if (isRecord(template)) {
    const meta = isRecord(template.metadata) ? template.metadata : {};
    const labels = isRecord(meta.labels) ? meta.labels : {};
    template.metadata = { ...meta, labels: { ...labels, ...(trial.spec.labels ?? {}), [Labels.experimentName]: exp.metadata.name, [Labels.trialName]: trial.metadata.name } };
  }
  if (plan === 'none') return;
  if (plan === 'custom') {
    injectCustom(podSpec, container, exp, trial);
    return;
  }
  const dir = path.posix.dirname(plan.file);
  const command = stringList(container.command);
  if (command.length === 0) {
    throw bad(trial, `${primary.path}.command`, `the ${plan.kind} collector wraps the primary container's command, and this container has none (katib-ts does not read image entrypoints); set command (and args), or use the Push collector`);
  }
  const mounts = Array.isArray(container.volumeMounts) ? container.volumeMounts.filter(isRecord) : [];
  const clash = mounts.find((m) => m.mountPath === dir);
  if (clash !== undefined) {
    throw bad(trial, `${primary.path}.volumeMounts`, `${dir} is mounted already (volume ${JSON.stringify(clash.name)}); the ${plan.kind} collector mounts its own volume there, so write the metrics file to another folder (metricsCollectorSpec.source.fileSystemPath.path)`);
  }
  const grace = String(ctx.collector.gracePeriodSeconds ?? 10);
  container.command = ['sh', '-c', WRAPPER_SCRIPT, MAIN_MARKER, escapeExpansion(plan.kind === 'StdOut' ? plan.file : ''), escapeExpansion(dir), grace, ...command, ...stringList(container.args)];
  delete container.args;
  container.volumeMounts = [...mounts, { name: METRICS_VOLUME, mountPath: dir }];
  podSpec.shareProcessNamespace = true;
  addVolume(podSpec);
  const flags = [
    'collect',
    ...collectorFlags(exp, trial, ctx, plan, false),
    '--wait-pid-of',
    path.posix.join(dir, ControlFiles.pid),
    '--exit-marker',
    path.posix.join(dir, ControlFiles.exit),
    '--stop-file',
    path.posix.join(dir, ControlFiles.stop),
    '--termination-log',
    TERMINATION_LOG,
  ].map(escapeExpansion);
  const sidecar: Record<string, unknown> = {
    name: SIDECAR_NAME,
    image: ctx.collector.image,
    ...(ctx.collector.command !== undefined ? { command: [...ctx.collector.command] } : {}),
    args: flags,
    ...(ctx.collector.imagePullPolicy !== undefined ? { imagePullPolicy: ctx.collector.imagePullPolicy } : {}),
    env: [POD_NAME_ENV],
    volumeMounts: [{ name: METRICS_VOLUME, mountPath: dir }],
    ...(ctx.collector.resources !== undefined ? { resources: structuredClone(ctx.collector.resources) } : {}),
  };
  const containers = Array.isArray(podSpec.containers) ? podSpec.containers : [];
  if (containers.some((c) => isRecord(c) && c.name === SIDECAR_NAME)) throw bad(trial, 'spec', `a container is named ${SIDECAR_NAME} already; katib-ts adds its collector under that name`);
  podSpec.containers = [...containers, sidecar];
}

function addVolume(podSpec: Record<string, unknown>): void {
  const volumes = Array.isArray(podSpec.volumes) ? podSpec.volumes : [];
  if (!volumes.some((v) => isRecord(v) && v.name === METRICS_VOLUME)) podSpec.volumes = [...volumes, { name: METRICS_VOLUME, emptyDir: {} }];
}

function injectCustom(podSpec: Record<string, unknown>, primary: Record<string, unknown>, exp: Experiment, trial: Trial): void {
  const mc = collectorSpecOf(exp, trial);
  const custom = mc.collector?.customCollector;
  if (!isRecord(custom)) throw bad(trial, 'spec.metricsCollectorSpec.collector.customCollector', 'the Custom collector needs customCollector: the container to add to the trial pod');
  const sidecar: Record<string, unknown> = { ...structuredClone(custom), name: typeof custom.name === 'string' && custom.name !== '' ? custom.name : 'metrics-collector' };
  const fsPath = mc.source?.fileSystemPath;
  if (fsPath?.path) {
    const dir = fsPath.kind === 'Directory' ? fsPath.path : path.posix.dirname(fsPath.path);
    const mount = { name: METRICS_VOLUME, mountPath: dir };
    primary.volumeMounts = [...(Array.isArray(primary.volumeMounts) ? primary.volumeMounts : []), mount];
    sidecar.volumeMounts = [...(Array.isArray(sidecar.volumeMounts) ? sidecar.volumeMounts : []), mount];
    addVolume(podSpec);
  }
  podSpec.shareProcessNamespace = true;
  podSpec.containers = [...(Array.isArray(podSpec.containers) ? podSpec.containers : []), sidecar];
}

function injectTrainJob(run: UnstructuredObject, exp: Experiment, trial: Trial, ctx: InjectionContext, plan: CollectorPlan | 'none' | 'custom'): void {
  const spec = isRecord(run.spec) ? run.spec : undefined;
  const trainer = spec !== undefined && isRecord(spec.trainer) ? spec.trainer : undefined;
  if (trainer === undefined) throw bad(trial, 'spec.trainer', 'a TrainJob needs spec.trainer with the image and command each trial runs');
  addEnv(trainer, trialEnv(trial, ctx));
  if (plan === 'none') return;
  if (plan === 'custom') {
    throw bad(trial, 'spec.metricsCollectorSpec.collector.kind', "Custom collectors cannot be added to a TrainJob: Trainer's pod template overrides cannot add containers; use StdOut, File or Push");
  }
  const command = stringList(trainer.command);
  if (command.length === 0) {
    throw bad(trial, 'spec.trainer.command', `the ${plan.kind} collector wraps the trainer command, and the TrainJob has none (the runtime's command is not known here); set spec.trainer.command, or use the Push collector`);
  }
  addEnv(trainer, [POD_NAME_ENV]);
  const flags = [...collectorFlags(exp, trial, ctx, plan, true), ...(plan.kind === 'StdOut' ? ['--copy-output'] : []), '--termination-log', TERMINATION_LOG].map(escapeExpansion);
  trainer.command = [...(ctx.collector.trainerCommand ?? ['katib']), 'collect', ...flags, '--', ...command, ...stringList(trainer.args)];
  delete trainer.args;
}
