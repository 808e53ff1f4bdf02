/**
 * The SDK's cluster path against the fake API server, with the cluster manager (the controller's reconcile core)
 * running and the simulated node running each trial's TrainJob as a local process: optimize({ trainJob }) creates
 * the Experiment, the controller makes the trials and their TrainJobs, and the SDK reads the outcome back. The
 * trial program checks that every parameter arrived both in its arguments and as KUBEFLOW_TRAINER_OPT_<NAME>, and
 * fails otherwise, so a broken substitution shows up as failed trials. Bad options are checked without a cluster.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DefaultConditions } from '../../src/api/defaults.js';
import { API_VERSION, type Experiment, type Trial } from '../../src/api/types.js';
import {
  deleteExperiment,
  ExperimentExistsError,
  ExperimentFailedError,
  getBestResults,
  listTrials,
  NotFoundError,
  optimize,
  search,
  UnavailableError,
  ValidationError,
  waitForExperiment,
  WaitAbortedError,
  WaitTimeoutError,
  type ClusterOptimizeOptions,
} from '../../src/index.js';
import { startSuggestionServer, type RunningServer } from '../../src/suggestion/adapter.js';
import { SuggestionClient } from '../../src/suggestion/client.js';
import { toTrialResult } from '../../src/sdk/cluster/results.js';
import { usingRealCluster } from '../support/kube-test-cluster.js';
import { connectCluster, startManager, waitUntil, type ClusterHarness } from '../controller/cluster-support.js';

const real = usingRealCluster();
const TIMEOUT = real ? 600_000 : 30_000;

/**
 * The trainer: reads --lr and --batch-size, requires KUBEFLOW_TRAINER_OPT_LR and KUBEFLOW_TRAINER_OPT_BATCH_SIZE to
 * hold the same values (exit 3 otherwise), prints `loss=` for --epochs epochs (default 2), --sleep ms apart, and
 * exits with --fail when given.
 */
const TRAINER = [
  "const a = Object.fromEntries(process.argv.filter((s) => /^--[\\w-]+=/.test(s)).map((s) => s.slice(2).split('=')));",
  "for (const [arg, env] of [['lr', 'KUBEFLOW_TRAINER_OPT_LR'], ['batch-size', 'KUBEFLOW_TRAINER_OPT_BATCH_SIZE']]) {",
  "  if (a[arg] === undefined || process.env[env] !== a[arg]) { console.log('mismatch ' + arg + '=' + a[arg] + ' ' + env + '=' + process.env[env]); process.exit(3); }",
  '}',
  'const base = (Math.log10(Number(a.lr)) + 2) ** 2 + Number(a["batch-size"]) / 100;',
  'const epochs = Number(a.epochs ?? process.env.EPOCHS ?? 2);',
  'let i = 0;',
  'const t = setInterval(() => {',
  '  i++;',
  "  console.log('epoch=' + i + ' loss=' + (base + 1 / i).toFixed(6));",
  '  if (i >= epochs) { clearInterval(t); if (a.fail) process.exit(Number(a.fail)); }',
  '}, Number(a.sleep ?? 10));',
].join('\n');

/** What the trainer reports as its minimum loss for these parameters. */
const expectedLoss = (lr: number, batchSize: number, epochs = 2): number => Number(((Math.log10(lr) + 2) ** 2 + batchSize / 100 + 1 / epochs).toFixed(6));

const parameters = { lr: search.loguniform(1e-3, 1e-1), 'batch-size': search.discrete([16, 32, 64]) };

let h: ClusterHarness;
let suggestion: RunningServer;
let client: SuggestionClient;
let stopManager: () => Promise<void>;

/** Options for a study on the test cluster; `extraArgs` are appended to the trainer's arguments. */
function clusterOptions(name: string, o: { numTrials?: number; parallelTrials?: number; extraArgs?: string[]; maxFailedTrials?: number } = {}): ClusterOptimizeOptions<typeof parameters> {
  return {
    trainJob: {
      runtime: 'torch-distributed',
      trainer: {
        image: 'node:20-slim',
        command: ['node', '-e', TRAINER, '--'],
        args: ['--lr=${trialParameters.lr}', '--batch-size=${trialParameters.batch-size}', ...(o.extraArgs ?? [])],
        env: { EPOCHS: 2 },
        numNodes: 1,
        resourcesPerNode: { limits: { cpu: '1' } },
      },
    },
    parameters,
    metric: 'loss',
    mode: 'minimize',
    algorithmSettings: { random_state: 11 },
    numTrials: o.numTrials ?? 3,
    parallelTrials: o.parallelTrials ?? 2,
    ...(o.maxFailedTrials !== undefined ? { maxFailedTrials: o.maxFailedTrials } : {}),
    experimentName: name,
    namespace: h.namespace,
    kubeConfig: h.kubeConfig,
    pollIntervalMs: 50,
    timeoutMs: TIMEOUT,
  };
}

/**
 * Runs the example (it runs on import). The query makes each run a module of its own, so it runs again, while its
 * imports stay the ones this file uses (vi.resetModules would give the SDK's lazily loaded modules other classes).
 */
async function runClusterExample(run: string): Promise<void> {
  const example = `../../examples/sdk/cluster-trainjob.js?run=${run}`;
  await import(example);
}

const custom = () => h.kubeConfig.makeApiClient(CustomObjectsApi);
const readExperiment = async (name: string): Promise<Experiment> =>
  (await custom().getNamespacedCustomObject({ group: 'kubeflow.org', version: 'v1beta1', namespace: h.namespace, plural: 'experiments', name })) as Experiment;
interface TrainJob {
  metadata: { name: string };
  spec: { runtimeRef: Record<string, string>; trainer: { args?: string[]; env?: { name: string; value: string }[]; numNodes?: number } };
}
const readTrainJob = async (name: string): Promise<TrainJob> =>
  (await custom().getNamespacedCustomObject({ group: 'trainer.kubeflow.org', version: 'v1alpha1', namespace: h.namespace, plural: 'trainjobs', name })) as TrainJob;

describe.skipIf(real && process.env.KATIB_TEST_TRAINER !== '1')('optimize({ trainJob }) on a cluster', () => {
  beforeAll(async () => {
    h = await connectCluster('katib-sdk');
    suggestion = await startSuggestionServer();
    client = new SuggestionClient(suggestion.address);
    const running = startManager(h, client);
    stopManager = () => running.stop();
  }, TIMEOUT);

  afterAll(async () => {
    await stopManager?.();
    client?.close();
    await suggestion?.close();
    await h?.close();
  });

  it(
    'creates a TrainJob experiment, passes parameters in args and KUBEFLOW_TRAINER_OPT_*, and returns the best trial',
    async () => {
      const result = await optimize(clusterOptions('sdk-train'));

      // The Experiment as created: a TrainJob template with placeholders in args and env, Katib's TrainJob defaults.
      const exp = await readExperiment('sdk-train');
      const template = exp.spec.trialTemplate;
      expect(template?.trialSpec).toMatchObject({
        apiVersion: 'trainer.kubeflow.org/v1alpha1',
        kind: 'TrainJob',
        spec: {
          runtimeRef: { name: 'torch-distributed', apiGroup: 'trainer.kubeflow.org', kind: 'ClusterTrainingRuntime' },
          trainer: { image: 'node:20-slim', numNodes: 1, resourcesPerNode: { limits: { cpu: '1' } }, args: ['--lr=${trialParameters.lr}', '--batch-size=${trialParameters.batch-size}'] },
        },
      });
      const env = (template?.trialSpec?.spec as TrainJob['spec']).trainer.env;
      expect(env).toEqual([
        { name: 'KUBEFLOW_TRAINER_OPT_LR', value: '${trialParameters.lr}' },
        { name: 'KUBEFLOW_TRAINER_OPT_BATCH_SIZE', value: '${trialParameters.batch-size}' },
        { name: 'EPOCHS', value: '2' },
      ]);
      expect(template?.trialParameters?.map((p) => [p.name, p.reference])).toEqual([
        ['lr', 'lr'],
        ['batch-size', 'batch-size'],
      ]);
      expect(template?.primaryContainerName).toBe('node');
      expect(template?.successCondition).toBe(DefaultConditions.trainJobSuccess);
      expect(template?.failureCondition).toBe(DefaultConditions.trainJobFailure);
      expect(exp.spec.metricsCollectorSpec?.collector?.kind).toBe('StdOut');
      expect(exp.spec).toMatchObject({ maxTrialCount: 3, parallelTrialCount: 2, objective: { type: 'minimize', objectiveMetricName: 'loss' }, algorithm: { algorithmName: 'random' } });

      // Every trial's TrainJob got its own values, in args and in the environment.
      expect(result).toMatchObject({ studyName: 'sdk-train', namespace: h.namespace, reason: 'MaxTrialsReached' });
      expect(result.trials.map((t) => [t.name, t.number, t.status])).toEqual([
        ['sdk-train-1', 1, 'Succeeded'],
        ['sdk-train-2', 2, 'Succeeded'],
        ['sdk-train-3', 3, 'Succeeded'],
      ]);
      for (const t of result.trials) {
        const job = await readTrainJob(t.name);
        const lr = t.assignments.lr as string;
        const batch = t.assignments['batch-size'] as string;
        expect(job.spec.trainer.args).toEqual([`--lr=${lr}`, `--batch-size=${batch}`]);
        expect(job.spec.trainer.env).toEqual(expect.arrayContaining([{ name: 'KUBEFLOW_TRAINER_OPT_LR', value: lr }, { name: 'KUBEFLOW_TRAINER_OPT_BATCH_SIZE', value: batch }]));
        expect(job.spec.runtimeRef.name).toBe('torch-distributed');
        // Typed parameters, and metrics as the trainer printed them (minimum over its two epochs).
        expect(t.params.lr).toBe(Number(lr));
        expect(t.params['batch-size']).toBe(Number(batch));
        expect([16, 32, 64]).toContain(t.params['batch-size']);
        expect(t.value).toBeCloseTo(expectedLoss(t.params.lr, t.params['batch-size']), 6);
        expect(t.observation.loss?.max).toBeCloseTo(expectedLoss(t.params.lr, t.params['batch-size'], 1), 6);
        expect(t.completionTime).toBeInstanceOf(Date);
      }
      const bestValue = Math.min(...result.trials.map((t) => t.value as number));
      expect(result.best?.value).toBe(bestValue);
      expect(result.best?.name).toBe(result.trials.find((t) => t.value === bestValue)?.name);

      // The client functions read the same experiment back (namespace from the kubeconfig's context).
      const listed = await listTrials('sdk-train', { kubeConfig: h.kubeConfig });
      expect(listed.map((t) => [t.name, t.params, t.value])).toEqual(result.trials.map((t) => [t.name, t.params, t.value]));
      const best = await getBestResults('sdk-train', { kubeConfig: h.kubeConfig, namespace: h.namespace });
      expect(best).toMatchObject({ name: result.best?.name, params: result.best?.params, assignments: result.best?.assignments, value: bestValue });
      const done = await waitForExperiment('sdk-train', { kubeConfig: h.kubeConfig, namespace: h.namespace, pollIntervalMs: 50 });
      expect(done).toMatchObject({ name: 'sdk-train', namespace: h.namespace, reason: 'ExperimentMaxTrialsReached' });

      // The name is taken now.
      const again = await optimize(clusterOptions('sdk-train')).catch((e: unknown) => e);
      expect(again).toBeInstanceOf(ExperimentExistsError);
      expect((again as Error).message).toBe(`Experiment "${h.namespace}/sdk-train" already exists; give another experimentName, or delete it first with deleteExperiment("sdk-train")`);

      await deleteExperiment('sdk-train', { kubeConfig: h.kubeConfig, namespace: h.namespace });
      await expect(getBestResults('sdk-train', { kubeConfig: h.kubeConfig, namespace: h.namespace })).rejects.toThrow(NotFoundError);
      await waitUntil(() => listTrials('sdk-train', { kubeConfig: h.kubeConfig }).catch(() => []), (t) => t.length === 0, 'the trials to go');
      const gone = await deleteExperiment('sdk-train', { kubeConfig: h.kubeConfig, namespace: h.namespace }).catch((e: unknown) => e);
      expect(gone).toBeInstanceOf(NotFoundError);
      expect((gone as Error).message).toBe(`Experiment "${h.namespace}/sdk-train" not found`);
    },
    TIMEOUT,
  );

  it(
    'rejects with ExperimentFailedError, carrying the trials, when the experiment fails; waitForExperiment too',
    async () => {
      const err = await optimize(clusterOptions('sdk-fails', { numTrials: 2, parallelTrials: 1, maxFailedTrials: 1, extraArgs: ['--fail=2'] })).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ExperimentFailedError);
      const failed = err as ExperimentFailedError;
      expect(failed).toMatchObject({ experimentName: 'sdk-fails', namespace: h.namespace, reason: 'ExperimentFailed' });
      expect(failed.conditionMessage).toContain('max failed count has reached');
      expect(failed.result?.trials.map((t) => [t.name, t.status])).toEqual([['sdk-fails-1', 'Failed']]);
      expect(failed.result?.trials[0]?.message).toBeTruthy();

      const waited = await waitForExperiment('sdk-fails', { kubeConfig: h.kubeConfig, pollIntervalMs: 50 }).catch((e: unknown) => e);
      expect(waited).toBeInstanceOf(ExperimentFailedError);
      expect((waited as Error).message).toMatch(new RegExp(`^experiment ${h.namespace}/sdk-fails failed \\(ExperimentFailed\\): Experiment has failed because max failed count has reached`));
    },
    TIMEOUT,
  );

  it(
    'wait: false returns at once; waitForExperiment honours timeoutMs and signal while the experiment keeps running',
    async () => {
      const ref = await optimize({ ...clusterOptions('sdk-slow', { numTrials: 1, parallelTrials: 1, extraArgs: ['--sleep=60000'] }), wait: false });
      expect(ref).toEqual({ name: 'sdk-slow', namespace: h.namespace });
      const opts = { kubeConfig: h.kubeConfig, namespace: h.namespace, pollIntervalMs: 20 };

      const started = Date.now();
      const timedOut = await waitForExperiment('sdk-slow', { ...opts, timeoutMs: 300 }).catch((e: unknown) => e);
      expect(timedOut).toBeInstanceOf(WaitTimeoutError);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect((timedOut as WaitTimeoutError).retryable).toBe(true);
      expect((timedOut as Error).message).toMatch(new RegExp(`^experiment ${h.namespace}/sdk-slow did not finish within timeoutMs=300 \\(conditions: .*\\); it keeps running`));

      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error('user cancelled')), 150);
      const aborted = await waitForExperiment('sdk-slow', { ...opts, signal: controller.signal }).catch((e: unknown) => e);
      expect(aborted).toBeInstanceOf(WaitAbortedError);
      expect((aborted as Error).name).toBe('AbortError');
      expect(((aborted as Error).cause as Error).message).toBe('user cancelled');

      // Still there, still running: the waits changed nothing.
      const exp = await readExperiment('sdk-slow');
      expect(exp.status?.conditions?.find((c) => c.type === 'Succeeded' || c.type === 'Failed')).toBeUndefined();
      await deleteExperiment('sdk-slow', { kubeConfig: h.kubeConfig, namespace: h.namespace });
      await expect(waitForExperiment('sdk-slow', opts)).rejects.toThrow(NotFoundError);
    },
    TIMEOUT,
  );
  it(
    'runs examples/sdk/cluster-trainjob.ts to the end against the cluster in KUBECONFIG',
    async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'katib-sdk-example-'));
      const file = path.join(dir, 'kubeconfig.json');
      fs.writeFileSync(file, h.kubeConfig.exportConfig());
      vi.stubEnv('KUBECONFIG', file);
      const lines: string[] = [];
      vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.join(' ')));
      try {
        await runClusterExample('fake');
      } finally {
        vi.restoreAllMocks();
        vi.unstubAllEnvs();
        fs.rmSync(dir, { recursive: true, force: true });
      }
      expect(process.exitCode ?? 0).toBe(0);
      expect(lines[0]).toMatch(new RegExp(`^experiment ${h.namespace}/optimize-[0-9a-f]{6}: (MaxTrialsReached|GoalReached) after \\d+ trials in `));
      expect(lines.filter((l) => / Succeeded /.test(l)).length).toBeGreaterThan(0);
      expect(lines.some((l) => /^best: optimize-[0-9a-f]{6}-\d+ accuracy=0\.\d{4} lr=0\.\d{4} hidden=\d+$/.test(l))).toBe(true);
    },
    TIMEOUT,
  );
});

describe('optimize({ trainJob }) options', () => {
  const base = (): Record<string, unknown> => ({
    trainJob: { runtime: 'torch-distributed', trainer: { image: 'node:20-slim', command: ['python', 'train.py'], args: ['--lr=${trialParameters.lr}'] } },
    parameters: { lr: search.loguniform(1e-3, 1e-1) },
    metric: 'loss',
    mode: 'minimize',
    numTrials: 4,
    // Validation comes before the cluster is contacted: this file does not exist.
    kubeConfig: '/nonexistent/kubeconfig',
  });
  const trainer = (patch: Record<string, unknown>) => ({ trainJob: { runtime: 'torch-distributed', trainer: { image: 'node:20-slim', command: ['python', 'train.py'], ...patch } } });

  it.each<{ name: string; patch: Record<string, unknown>; want: string[] }>([
    {
      name: 'objective and trainJob together',
      patch: { objective: () => 1 },
      want: ['objective: cannot be given together with trainJob: give objective to run the study in this process, or trainJob to run it as TrainJobs on a cluster'],
    },
    { name: 'no command with the StdOut collector', patch: trainer({ command: undefined }), want: ["trainJob.trainer.command: is required with the StdOut metrics collector, which runs the command under `katib collect` to read its output; set it, or use metricsCollector: 'Push' and report metrics with reportMetrics()"] },
    {
      name: 'a placeholder for no parameter',
      patch: trainer({ args: ['--lr=${trialParameters.lr}', '--units=${trialParameters.units}'] }),
      want: ['trainJob.trainer.args[1]: ${trialParameters.units} is not declared in spec.trialTemplate.trialParameters (declared: lr); add {name: units, reference: <parameter>} or fix the name'],
    },
    { name: 'an env name taken by a parameter', patch: trainer({ env: { KUBEFLOW_TRAINER_OPT_LR: '1' } }), want: ['trainJob.trainer.env.KUBEFLOW_TRAINER_OPT_LR: is set by katib-ts to parameter "lr"\'s value; use another name'] },
    {
      name: 'two parameters with one env name',
      patch: { parameters: { 'a-b': search.uniform(0, 1), a_b: search.uniform(0, 1) } },
      want: ['parameters.a_b: gives the same environment variable KUBEFLOW_TRAINER_OPT_A_B as parameter "a-b"; rename one of them'],
    },
    { name: 'no runtime', patch: { trainJob: { trainer: { command: ['python'] } } }, want: ['trainJob.runtime: must name a training runtime, e.g. "torch-distributed" (runtime=undefined)'] },
    { name: 'bad numNodes', patch: trainer({ numNodes: 0 }), want: ['trainJob.trainer.numNodes: must be an integer >= 1 (numNodes=0)'] },
    { name: 'unknown trainer key', patch: trainer({ gpus: 1 }), want: ['trainJob.trainer.gpus: unknown option "gpus"; known options: image, command, args, env, numNodes, resourcesPerNode'] },
    { name: 'an in-process option', patch: { store: 'memory' }, want: ['store: is an option of optimize() in process, not on a cluster (trainJob is given); the Experiment is stored by the cluster; remove store'] },
    { name: 'an unknown option that Object.prototype names', patch: { constructor: 1 }, want: ['constructor: unknown option "constructor"; known options: '] },
    {
      name: 'a bad experiment name (the Experiment validator, under the option)',
      patch: { experimentName: 'Bad_Name' },
      want: ['experimentName: must be at most 40 lower-case letters, digits or \'-\', start with a letter and end with a letter or digit (name="Bad_Name", 8 characters), e.g. "my-experiment"'],
    },
    {
      name: 'parallelTrials above numTrials (the Experiment validator)',
      patch: { parallelTrials: 5 },
      want: ['parallelTrials: must be less than or equal to spec.maxTrialCount (parallelTrialCount=5, maxTrialCount=4); lower parallelTrialCount or raise maxTrialCount'],
    },
    { name: 'the shared options, checked as in process', patch: { numTrials: 0, algorithm: 'nope' }, want: ['numTrials: must be an integer >= 1 (numTrials=0)', 'algorithm: unknown algorithm "nope"; registered algorithms: '] },
    { name: 'a bad metrics collector', patch: { metricsCollector: 'File' }, want: ['metricsCollector: must be \'StdOut\', \'Push\' or { kind: \'StdOut\', metricsFormat: [REGEX, ...] } (metricsCollector="File")'] },
  ])('$name', async ({ patch, want }) => {
    const options = { ...base(), ...patch };
    for (const [k, v] of Object.entries(patch)) if (v === undefined) delete options[k];
    const err = await (optimize as (o: unknown) => Promise<unknown>)(options).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    const lines = (err as ValidationError).issues.map((i) => `${i.path}: ${i.message}`);
    expect(lines).toHaveLength(want.length);
    want.forEach((w, i) => (w.endsWith(': ') ? expect(lines[i]).toMatch(new RegExp(`^${w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`)) : expect(lines[i]).toBe(w)));
  });

  it('names both fields when neither objective nor trainJob is given, and a cluster option needs trainJob', async () => {
    const { trainJob: _t, kubeConfig: _k, ...rest } = base();
    const neither = await (optimize as (o: unknown) => Promise<unknown>)(rest).catch((e: unknown) => e);
    expect((neither as ValidationError).issues).toEqual([
      { path: 'objective', message: 'or trainJob is required: objective (a function (params, trial) => value) runs the study in this process, trainJob ({ runtime, trainer }) runs it on a cluster' },
    ]);
    const inProcess = await (optimize as (o: unknown) => Promise<unknown>)({ ...rest, objective: () => 1, namespace: 'team-a' }).catch((e: unknown) => e);
    expect((inProcess as ValidationError).issues).toEqual([{ path: 'namespace', message: 'is an option of optimize() on a cluster; give trainJob to run the study on Kubernetes, or remove namespace' }]);
  });

  it('accepts the Push collector without a command (the runtime entrypoint) and then needs a cluster', async () => {
    const err = await (optimize as (o: unknown) => Promise<unknown>)({ ...base(), ...trainer({ command: undefined }), metricsCollector: 'Push' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues[0]?.path).toBe('kubeConfig');
    expect((err as ValidationError).issues[0]?.message).toMatch(/^cannot be read \(path="\/nonexistent\/kubeconfig"\)/);
  });

  it('says so when no cluster is configured, and when the API server cannot be reached', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'katib-sdk-home-'));
    vi.stubEnv('HOME', home);
    vi.stubEnv('KUBECONFIG', '');
    vi.stubEnv('KUBERNETES_SERVICE_HOST', '');
    try {
      const err = await getBestResults('x').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).issues).toEqual([
        { path: 'kubeConfig', message: 'no Kubernetes cluster is configured: KUBECONFIG is unset, ~/.kube/config does not exist and this is not a pod; set KUBECONFIG or pass kubeConfig' },
      ]);
    } finally {
      vi.unstubAllEnvs();
      fs.rmSync(home, { recursive: true, force: true });
    }
    const kc = new KubeConfig();
    kc.loadFromClusterAndUser({ name: 'nowhere', server: 'http://127.0.0.1:1', skipTLSVerify: true }, { name: 'nobody' });
    await expect(listTrials('x', { kubeConfig: kc })).rejects.toThrow(UnavailableError);
  });

  it('checks the client functions\' arguments', async () => {
    const err = await (waitForExperiment as (n: unknown, o: unknown) => Promise<unknown>)('', { timeoutMs: -1, poll: 5 }).catch((e: unknown) => e);
    expect((err as ValidationError).issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'name: must be the Experiment\'s name (name="")',
      'poll: unknown option "poll"; known options: kubeConfig, namespace, timeoutMs, signal, pollIntervalMs',
      'timeoutMs: must be an integer number of milliseconds >= 1 (timeoutMs=-1)',
    ]);
  });

  it('the cluster example says it needs a cluster and exits with code 1 when none is configured', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'katib-sdk-home-'));
    vi.stubEnv('HOME', home);
    vi.stubEnv('KUBECONFIG', '');
    vi.stubEnv('KUBERNETES_SERVICE_HOST', '');
    const errors: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void errors.push(args.join(' ')));
    try {
      await runClusterExample('none');
      expect(process.exitCode).toBe(1);
      expect(errors.join('\n')).toMatch(/^This example needs a Kubernetes cluster with katib-ts and Kubeflow Trainer installed\.\nkatib-ts cluster client: invalid\nkubeConfig: no Kubernetes cluster is configured/);
    } finally {
      process.exitCode = undefined;
      vi.restoreAllMocks();
      vi.unstubAllEnvs();
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('cluster results', () => {
  // Metric and parameter names are the user's: one that Object.prototype also names stays a plain key.
  it('reads metrics and parameters named constructor or __proto__ from the trial, not from Object.prototype', () => {
    const exp: Experiment = {
      apiVersion: API_VERSION,
      kind: 'Experiment',
      metadata: { name: 'e', namespace: 'ns' },
      spec: {
        objective: { type: 'minimize', objectiveMetricName: 'constructor', additionalMetricNames: ['__proto__'] },
        parameters: [
          { name: '__proto__', parameterType: 'double', feasibleSpace: { min: '0', max: '1' } },
          { name: 'constructor', parameterType: 'categorical', feasibleSpace: { list: ['a', 'b'] } },
        ],
      },
    };
    const trial: Trial = {
      apiVersion: API_VERSION,
      kind: 'Trial',
      metadata: { name: 'e-1', namespace: 'ns' },
      spec: {
        parameterAssignments: [
          { name: '__proto__', value: '0.5' },
          { name: 'constructor', value: 'a' },
        ],
      },
      status: { observation: { metrics: [{ name: '__proto__', min: '1', max: '3', latest: '2' }] } },
    };
    const r = toTrialResult(exp, trial, 0);
    expect(r.value).toBeUndefined();
    expect(Object.entries(r.metrics)).toEqual([['__proto__', 1]]);
    expect(Object.getPrototypeOf(r.observation)).toBe(Object.prototype);
    expect(Object.entries(r.observation)).toEqual([['__proto__', { min: 1, max: 3, latest: 2 }]]);
    expect(Object.entries(r.params)).toEqual([
      ['__proto__', 0.5],
      ['constructor', 'a'],
    ]);
  });
});
