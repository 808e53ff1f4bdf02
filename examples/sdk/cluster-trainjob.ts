/**
 * Tune a training on Kubernetes: each trial is a Kubeflow Trainer TrainJob, run by the cluster's controller.
 *
 *   npm run build && node dist/examples/sdk/cluster-trainjob.js
 *
 * Needs a cluster in your kubeconfig (KUBECONFIG, else ~/.kube/config; the context's namespace, else `default`, or
 * set KATIB_EXAMPLE_NAMESPACE) with katib-ts installed (`kubectl apply -k manifests/`, see manifests/README.md) and
 * Kubeflow Trainer with its `torch-distributed` ClusterTrainingRuntime. Without a reachable cluster it says so and
 * exits with code 1.
 *
 * The trainer is a few lines of JavaScript standing in for a model: it takes the learning rate from its arguments
 * (`--lr=${trialParameters.lr}`, filled in per trial) and the hidden units from the environment
 * (`KUBEFLOW_TRAINER_OPT_HIDDEN`, set for every parameter), and prints `accuracy=` and `loss=` per epoch for the
 * StdOut collector. That collector runs the command under `katib collect` inside the trainer container, so the
 * image needs katib-ts's `katib` on its PATH: the katib-ts image (manifests/Dockerfile) has it and Node
 * (KATIB_EXAMPLE_IMAGE, default katib-ts:0.1.0 as in manifests/examples/trainjob-experiment.yaml). The experiment is
 * left on the cluster to look at (`kubectl get trials`); the last line says how to delete it. Outside this
 * repository, import from 'katib-ts' instead of the relative path.
 */
import { optimize, search, UnavailableError, ValidationError } from '../../src/index.js';

const TRAINER = `
const args = Object.fromEntries(process.argv.filter((a) => a.startsWith('--')).map((a) => a.slice(2).split('=')));
const lr = Number(args.lr);
const hidden = Number(process.env.KUBEFLOW_TRAINER_OPT_HIDDEN);
for (let epoch = 1; epoch <= 5; epoch++) {
  const accuracy = (0.99 - Math.abs(Math.log10(lr) + 2) * 0.05 - Math.abs(hidden - 32) / 640) * (1 - 0.5 ** epoch);
  console.log('epoch=' + epoch + ' accuracy=' + accuracy.toFixed(4) + ' loss=' + (1 - accuracy).toFixed(4));
}
`;

const started = Date.now();
try {
  const result = await optimize({
    trainJob: {
      runtime: 'torch-distributed',
      trainer: {
        image: process.env.KATIB_EXAMPLE_IMAGE ?? 'katib-ts:0.1.0',
        command: ['node', '-e', TRAINER, '--'],
        args: ['--lr=${trialParameters.lr}'],
        numNodes: 1,
        resourcesPerNode: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
      },
    },
    parameters: { lr: search.loguniform(1e-3, 1e-1), hidden: search.int(8, 64) },
    metric: 'accuracy',
    mode: 'maximize',
    additionalMetrics: ['loss'],
    algorithm: 'random',
    algorithmSettings: { random_state: 42 },
    numTrials: 8,
    parallelTrials: 2,
    maxFailedTrials: 2,
    ...(process.env.KATIB_EXAMPLE_NAMESPACE ? { namespace: process.env.KATIB_EXAMPLE_NAMESPACE } : {}),
    timeoutMs: 30 * 60_000,
  });

  const fmt = (v: number | undefined): string => (v === undefined ? '-' : v.toFixed(4));
  console.log(`experiment ${result.namespace}/${result.studyName}: ${result.reason} after ${result.trials.length} trials in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log('trial                  status      accuracy  loss    lr        hidden');
  for (const t of result.trials) {
    console.log(`${t.name.padEnd(22)} ${t.status.padEnd(11)} ${fmt(t.value).padEnd(9)} ${fmt(t.metrics.loss).padEnd(7)} ${fmt(t.params.lr).padEnd(9)} ${t.params.hidden}`);
  }
  if (!result.best) throw new Error('no trial reported accuracy');
  console.log(`best: ${result.best.name} accuracy=${fmt(result.best.value)} lr=${fmt(result.best.params.lr)} hidden=${result.best.params.hidden}`);
  console.log(`delete it with: kubectl -n ${result.namespace} delete experiment ${result.studyName}`);
} catch (err) {
  // No cluster configured, or none answering: say so plainly. Anything else is a real failure and is thrown.
  const noCluster = err instanceof ValidationError && err.issues.some((i) => i.path === 'kubeConfig');
  if (!noCluster && !(err instanceof UnavailableError)) throw err;
  console.error(`This example needs a Kubernetes cluster with katib-ts and Kubeflow Trainer installed.\n${err.message}`);
  process.exitCode = 1;
}
