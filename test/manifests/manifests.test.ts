/**
 * The deployable manifests: they parse, the CRD schemas are structural and declare every field of src/api/types.ts
 * (the API server silently prunes what a schema does not declare), the example Experiments are valid, the
 * kustomization lists every file, workloads are locked down, RBAC is exactly what the controller needs, and the
 * example TrainJob experiment's trial command really prints its metrics.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { applyDefaults } from '../../src/api/defaults.js';
import { parseExperiment } from '../../src/api/load.js';
import type { Experiment, SuggestionResource, Trial } from '../../src/api/types.js';
import { validateExperiment } from '../../src/api/validate.js';
import { startFakeApiServer } from '../support/fake-apiserver.js';
import { isJsonObject, objectAt, type Json, type JsonObject } from '../support/fake-apiserver/json.js';
import { pruneUnknownFields, structuralSchemaIssues, validateAgainstSchema } from '../support/openapi-schema.js';
import { SimulatedNode } from '../support/simulated-node.js';
import { loadCrds, loadManifests, MANIFESTS_DIR, rbacAllows, rbacRules, readDocuments, REPO_ROOT, yamlFiles, type ManifestDocument } from './manifests.js';

const manifests = loadManifests();
const crds = loadCrds();
const of = (kind: string): ManifestDocument[] => manifests.filter((d) => d.object.kind === kind);
const at = (value: Json | undefined, ...path: (string | number)[]): Json | undefined => {
  let node = value;
  for (const step of path) node = typeof step === 'number' ? (Array.isArray(node) ? node[step] : undefined) : isJsonObject(node) ? node[step] : undefined;
  return node;
};
const nameOf = (obj: JsonObject): string => String(at(obj, 'metadata', 'name'));

function crdSchema(plural: string): JsonObject {
  const crd = crds.find((c) => nameOf(c) === `${plural}.kubeflow.org`);
  const schema = at(crd, 'spec', 'versions', 0, 'schema', 'openAPIV3Schema');
  if (!isJsonObject(schema)) throw new Error(`no schema for ${plural}`);
  return schema;
}

/** Every path in a schema where unknown fields are kept (`spec.trialTemplate.trialSpec`). */
function preservingPaths(schema: JsonObject, path = ''): string[] {
  const out = schema['x-kubernetes-preserve-unknown-fields'] === true ? [path] : [];
  for (const [name, child] of Object.entries(objectAt(schema, 'properties') ?? {})) {
    if (isJsonObject(child)) out.push(...preservingPaths(child, path ? `${path}.${name}` : name));
  }
  const items = objectAt(schema, 'items');
  if (items) out.push(...preservingPaths(items, `${path}[]`));
  return out;
}

describe('every manifest', () => {
  it.each(yamlFiles())('%s parses into objects with apiVersion and kind', (file) => {
    const docs = readDocuments(file);
    expect(docs.length).toBeGreaterThan(0);
    for (const doc of docs) {
      expect(typeof doc.object.apiVersion, `${file}[${doc.index}].apiVersion`).toBe('string');
      expect(typeof doc.object.kind, `${file}[${doc.index}].kind`).toBe('string');
    }
  });

  it('namespaced objects all live in kubeflow', () => {
    const clusterScoped = new Set(['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding', 'Kustomization']);
    const installed = manifests.filter((d) => !d.file.startsWith('manifests/examples/') && !clusterScoped.has(String(d.object.kind)));
    expect(installed.length).toBeGreaterThan(0);
    for (const doc of installed) expect(at(doc.object, 'metadata', 'namespace'), doc.file).toBe('kubeflow');
  });

  it('the kustomization lists every manifest file, and only existing ones', () => {
    const [kustomization] = readDocuments('manifests/kustomization.yaml');
    const resources = at(kustomization?.object, 'resources');
    expect(Array.isArray(resources)).toBe(true);
    const listed = (resources as Json[]).map((r) => `manifests/${String(r)}`).sort();
    const expected = yamlFiles().filter((f) => f !== 'manifests/kustomization.yaml' && !f.startsWith('manifests/examples/'));
    expect(listed).toEqual(expected);
  });
});

describe('the CRDs', () => {
  it('are experiments, trials and suggestions of kubeflow.org/v1beta1', () => {
    expect(crds.map(nameOf).sort()).toEqual(['experiments.kubeflow.org', 'suggestions.kubeflow.org', 'trials.kubeflow.org']);
  });

  it.each(crds.map((c) => [nameOf(c), c] as const))('%s has a structural schema', (_name, crd) => {
    expect(structuralSchemaIssues(at(crd, 'spec', 'versions', 0, 'schema', 'openAPIV3Schema') ?? null)).toEqual([]);
  });

  it.each([
    { plural: 'experiments', columns: ['Type', 'Status', 'Trials', 'Succeeded', 'Best', 'Age'], preserved: ['spec.trialTemplate.trialSpec', 'spec.metricsCollectorSpec.collector.customCollector'] },
    { plural: 'trials', columns: ['Type', 'Status', 'Age'], preserved: ['spec.runSpec', 'spec.metricsCollector.collector.customCollector'] },
    { plural: 'suggestions', columns: ['Type', 'Status', 'Requested', 'Assigned', 'Age'], preserved: [] },
  ])('$plural: status subresource, printer columns, unknown fields kept only where Katib is unstructured', ({ plural, columns, preserved }) => {
    const crd = crds.find((c) => nameOf(c) === `${plural}.kubeflow.org`);
    const version = at(crd, 'spec', 'versions', 0);
    expect(at(crd, 'spec', 'scope')).toBe('Namespaced');
    expect(at(version, 'subresources', 'status')).toEqual({});
    expect(at(version, 'served')).toBe(true);
    expect(at(version, 'storage')).toBe(true);
    expect((at(version, 'additionalPrinterColumns') as JsonObject[]).map((c) => c.name)).toEqual(columns);
    expect(preservingPaths(crdSchema(plural)).sort()).toEqual([...preserved].sort());
  });

  it('show Katib\'s last-condition columns', () => {
    const column = (name: string): Json | undefined => (at(crds[0], 'spec', 'versions', 0, 'additionalPrinterColumns') as JsonObject[]).find((c) => c.name === name)?.jsonPath;
    expect(column('Type')).toBe('.status.conditions[-1:].type');
    expect(column('Status')).toBe('.status.conditions[-1:].status');
    expect(column('Age')).toBe('.metadata.creationTimestamp');
  });
});

/** Every optional field made required, all the way down: a fixture of this type must name every field of the type. */
type Complete<T> = T extends readonly (infer U)[] ? Complete<U>[] : T extends object ? { [K in keyof T]-?: Complete<T[K]> } : T;

const meta: Complete<Experiment['metadata']> = {
  name: 'full',
  namespace: 'default',
  uid: '00000000-0000-4000-8000-000000000001',
  resourceVersion: '1',
  generation: 1,
  creationTimestamp: '2024-01-01T00:00:00Z',
  deletionTimestamp: '2024-01-01T00:00:00Z',
  labels: { a: 'b' },
  annotations: { a: 'b' },
  ownerReferences: [{ apiVersion: 'kubeflow.org/v1beta1', kind: 'Experiment', name: 'e', uid: 'u', controller: true, blockOwnerDeletion: true }],
  finalizers: ['katib.kubeflow.org/x'],
};
const setting = { name: 'n', value: 'v' };
const condition = { status: 'True', reason: 'R', message: 'm', lastUpdateTime: '2024-01-01T00:00:00Z', lastTransitionTime: '2024-01-01T00:00:00Z' } as const;
const objective: Complete<NonNullable<Experiment['spec']['objective']>> = {
  type: 'maximize',
  goal: 0.9,
  objectiveMetricName: 'accuracy',
  additionalMetricNames: ['loss'],
  metricStrategies: [{ name: 'accuracy', value: 'max' }],
};
const collector: Complete<NonNullable<Experiment['spec']['metricsCollectorSpec']>> = {
  source: {
    httpGet: { path: '/metrics', port: 8080, host: 'h', scheme: 'HTTP', httpHeaders: [{ name: 'Accept', value: 'text/plain' }] },
    fileSystemPath: { path: '/var/log/katib/metrics.log', kind: 'File', format: 'TEXT' },
    filter: { metricsFormat: ['([\\w-]+)=([+-]?\\d+(\\.\\d+)?)'] },
  },
  collector: { kind: 'File', customCollector: { name: 'collector', image: 'c' } },
};
const rules: Complete<NonNullable<Trial['spec']['earlyStoppingRules']>> = [{ name: 'accuracy', value: '0.5', comparison: 'less', startStep: 4 }];
const observation = { metrics: [{ name: 'accuracy', min: '0.1', max: '0.9', latest: '0.8' }] };
const runSpec: Complete<NonNullable<Trial['spec']['runSpec']>> = { apiVersion: 'batch/v1', kind: 'Job', metadata: meta, spec: { anything: [1] } };

const fullExperiment: Complete<Experiment> = {
  apiVersion: 'kubeflow.org/v1beta1',
  kind: 'Experiment',
  metadata: meta,
  spec: {
    parameters: [{ name: 'lr', parameterType: 'double', feasibleSpace: { max: '1', min: '0', list: ['a'], step: '0.1', distribution: 'logUniform' } }],
    objective,
    algorithm: { algorithmName: 'random', algorithmSettings: [setting] },
    earlyStopping: { algorithmName: 'medianstop', algorithmSettings: [setting] },
    trialTemplate: {
      retain: true,
      trialSpec: runSpec,
      configMap: { configMapName: 'c', configMapNamespace: 'n', templatePath: 'p' },
      trialParameters: [{ name: 'lr', description: 'd', reference: 'lr' }],
      primaryPodLabels: { a: 'b' },
      primaryContainerName: 'training',
      successCondition: 's',
      failureCondition: 'f',
    },
    parallelTrialCount: 1,
    maxTrialCount: 2,
    maxFailedTrialCount: 0,
    metricsCollectorSpec: collector,
    nasConfig: { graphConfig: { numLayers: 3, inputSizes: [32], outputSizes: [10] }, operations: [{ operationType: 'conv', parameters: [] }] },
    resumePolicy: 'FromVolume',
  },
  status: {
    startTime: '2024-01-01T00:00:00Z',
    completionTime: '2024-01-01T00:00:00Z',
    lastReconcileTime: '2024-01-01T00:00:00Z',
    conditions: [{ type: 'Running', ...condition }],
    currentOptimalTrial: { bestTrialName: 't', parameterAssignments: [setting], observation },
    runningTrialList: ['t'],
    pendingTrialList: ['t'],
    failedTrialList: ['t'],
    succeededTrialList: ['t'],
    killedTrialList: ['t'],
    earlyStoppedTrialList: ['t'],
    metricsUnavailableTrialList: ['t'],
    trials: 1,
    trialsSucceeded: 1,
    trialsFailed: 0,
    trialsKilled: 0,
    trialsPending: 0,
    trialsRunning: 0,
    trialsEarlyStopped: 0,
    trialMetricsUnavailable: 0,
  },
};

const fullTrial: Complete<Trial> = {
  apiVersion: 'kubeflow.org/v1beta1',
  kind: 'Trial',
  metadata: meta,
  spec: {
    objective,
    parameterAssignments: [setting],
    earlyStoppingRules: rules,
    runSpec,
    retainRun: true,
    metricsCollector: collector,
    primaryPodLabels: { a: 'b' },
    primaryContainerName: 'training',
    successCondition: 's',
    failureCondition: 'f',
    labels: { a: 'b' },
  },
  status: {
    startTime: '2024-01-01T00:00:00Z',
    completionTime: '2024-01-01T00:00:00Z',
    lastReconcileTime: '2024-01-01T00:00:00Z',
    conditions: [{ type: 'Succeeded', ...condition }],
    observation,
  },
};

const fullSuggestion: Complete<SuggestionResource> = {
  apiVersion: 'kubeflow.org/v1beta1',
  kind: 'Suggestion',
  metadata: meta,
  spec: { algorithm: { algorithmName: 'tpe', algorithmSettings: [setting] }, earlyStopping: { algorithmName: 'medianstop', algorithmSettings: [setting] }, requests: 3, resumePolicy: 'Never' },
  status: {
    suggestionCount: 3,
    suggestions: [{ name: 't', parameterAssignments: [setting], labels: { a: 'b' }, earlyStoppingRules: rules }],
    algorithmSettings: [setting],
    conditions: [{ type: 'Exhausted', ...condition }],
    startTime: '2024-01-01T00:00:00Z',
    completionTime: '2024-01-01T00:00:00Z',
    lastReconcileTime: '2024-01-01T00:00:00Z',
  },
};

describe('the CRD schemas declare every field of src/api/types.ts', () => {
  it.each([
    { plural: 'experiments', object: fullExperiment },
    { plural: 'trials', object: fullTrial },
    { plural: 'suggestions', object: fullSuggestion },
  ])('a $plural object with every field set is valid and nothing is pruned', ({ plural, object }) => {
    const json = JSON.parse(JSON.stringify(object)) as JsonObject;
    expect(validateAgainstSchema(json, crdSchema(plural))).toEqual([]);
    expect(pruneUnknownFields(json, crdSchema(plural))).toEqual(json);
  });
});

/** Experiment files in the repository: manifests/examples/*.yaml and any examples/**.yaml holding an Experiment. */
const exampleExperiments = [...yamlFiles(join(MANIFESTS_DIR, 'examples')), ...(existsSync(join(REPO_ROOT, 'examples')) ? yamlFiles(join(REPO_ROOT, 'examples')) : [])]
  .flatMap(readDocuments)
  .filter((d) => d.object.kind === 'Experiment');

describe('the example Experiments', () => {
  const knownAlgorithms = ['random', 'grid', 'hyperband', 'asha', 'pbt', 'sobol', 'cmaes', 'bayesianoptimization', 'tpe', 'multivariate-tpe'];

  it('include the TrainJob example', () => {
    expect(exampleExperiments.map((d) => d.file)).toContain('manifests/examples/trainjob-experiment.yaml');
  });

  it.each(exampleExperiments.map((d) => [d.file, d] as const))('%s is valid for the Experiment CRD, before and after defaulting', (_file, doc) => {
    expect(validateAgainstSchema(doc.object, crdSchema('experiments'))).toEqual([]);
    const defaulted = JSON.parse(JSON.stringify(applyDefaults(parseExperiment(readFileSync(join(REPO_ROOT, doc.file), 'utf8'), doc.file)))) as JsonObject;
    expect(validateAgainstSchema(defaulted, crdSchema('experiments'))).toEqual([]);
  });

  it.each(exampleExperiments.map((d) => [d.file, d] as const))('%s passes katib-ts validation', (_file, doc) => {
    expect(validateExperiment(doc.object, { knownAlgorithms, knownEarlyStopping: ['medianstop'] })).toEqual([]);
  });

  it("the TrainJob example's trainer image is katib-ts's, which has the `katib` its StdOut collector runs", () => {
    const example = exampleExperiments.find((d) => d.file === 'manifests/examples/trainjob-experiment.yaml');
    expect(at(example?.object, 'spec', 'metricsCollectorSpec', 'collector', 'kind')).toBe('StdOut');
    const kustomization = readDocuments('manifests/kustomization.yaml')[0]?.object;
    const image = at(kustomization, 'images', 0);
    expect(at(example?.object, 'spec', 'trialTemplate', 'trialSpec', 'spec', 'trainer', 'image')).toBe(`${String(at(image, 'newName'))}:${String(at(image, 'newTag'))}`);
  });

  it("the TrainJob example's trial prints the metrics it is tuned on", async () => {
    const example = exampleExperiments.find((d) => d.file === 'manifests/examples/trainjob-experiment.yaml');
    const rendered = JSON.parse(
      JSON.stringify(at(example?.object, 'spec', 'trialTemplate', 'trialSpec'))
        .replaceAll('${trialParameters.learningRate}', '0.01')
        .replaceAll('${trialParameters.hiddenUnits}', '32'),
    ) as JsonObject;
    const server = await startFakeApiServer();
    const kubeConfig = server.kubeConfig();
    const node = new SimulatedNode({ kubeConfig, server });
    try {
      await node.start();
      await kubeConfig
        .makeApiClient(CustomObjectsApi)
        .createNamespacedCustomObject({ group: 'trainer.kubeflow.org', version: 'v1alpha1', namespace: 'default', plural: 'trainjobs', body: { ...rendered, metadata: { name: 'example-trial' } } });
      const ref = { kind: 'TrainJob', namespace: 'default', name: 'example-trial' } as const;
      expect((await node.finished(ref)).succeeded).toBe(true);
      expect(await readFile(node.logPath(ref), 'utf8')).toBe('accuracy=0.9900\nloss=0.0100\n');
    } finally {
      await node.stop();
      await server.close();
    }
  });
});

describe('the workloads', () => {
  const deployments = of('Deployment');
  const containers = deployments.flatMap((d) => ((at(d.object, 'spec', 'template', 'spec', 'containers') as JsonObject[] | undefined) ?? []).map((c) => [`${nameOf(d.object)}/${String(c.name)}`, c] as const));

  it('are the controller, suggestion, early-stopping and db-manager Deployments', () => {
    expect(deployments.map((d) => nameOf(d.object)).sort()).toEqual(['katib-controller', 'katib-db-manager', 'katib-earlystopping', 'katib-suggestion']);
  });

  it.each(containers)('%s runs locked down, with requests, limits and probes', (_name, container) => {
    expect(at(container, 'image')).toBe('katib-ts');
    expect(at(container, 'securityContext')).toEqual({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    for (const kind of ['requests', 'limits']) {
      expect(at(container, 'resources', kind, 'cpu')).toBeTruthy();
      expect(at(container, 'resources', kind, 'memory')).toBeTruthy();
    }
    expect(at(container, 'livenessProbe')).toBeTruthy();
    expect(at(container, 'readinessProbe')).toBeTruthy();
  });

  it.each(deployments.map((d) => [nameOf(d.object), d.object] as const))('%s selects its own pods and runs as a non-root user', (_name, deployment) => {
    const selector = at(deployment, 'spec', 'selector', 'matchLabels');
    const labels = at(deployment, 'spec', 'template', 'metadata', 'labels');
    expect(isJsonObject(selector) && isJsonObject(labels) && Object.entries(selector).every(([k, v]) => labels[k] === v)).toBe(true);
    expect(at(deployment, 'spec', 'template', 'spec', 'securityContext', 'runAsNonRoot')).toBe(true);
    expect(at(deployment, 'spec', 'template', 'spec', 'securityContext', 'runAsUser')).toBe(1000);
  });

  it.each([
    { name: 'katib-controller', args: ['controller', '--leader-elect'] },
    { name: 'katib-suggestion', args: ['serve', 'suggestion', '--port', '6789'] },
    { name: 'katib-earlystopping', args: ['serve', 'earlystopping', '--algorithm', 'medianstop', '--port', '6788'] },
    { name: 'katib-db-manager', args: ['serve', 'db-manager', '--port', '6789', '--db', '$(KATIB_DB_URL)'] },
  ])('$name runs `katib $args`', ({ name, args }) => {
    const deployment = deployments.find((d) => nameOf(d.object) === name);
    expect(at(deployment?.object, 'spec', 'template', 'spec', 'containers', 0, 'args')).toEqual(args);
  });

  it('the controller reports health on port 8081 at /healthz and /readyz and runs as its ServiceAccount', () => {
    const deployment = deployments.find((d) => nameOf(d.object) === 'katib-controller')?.object;
    const container = at(deployment, 'spec', 'template', 'spec', 'containers', 0);
    expect(at(container, 'ports')).toEqual([{ name: 'health', containerPort: 8081, protocol: 'TCP' }]);
    expect(at(container, 'livenessProbe', 'httpGet')).toEqual({ path: '/healthz', port: 'health' });
    expect(at(container, 'readinessProbe', 'httpGet')).toEqual({ path: '/readyz', port: 'health' });
    expect(at(deployment, 'spec', 'template', 'spec', 'serviceAccountName')).toBe('katib-controller');
  });

  it('the db-manager reads KATIB_DB_URL from the katib-db-manager Secret, which holds it', () => {
    const env = at(deployments.find((d) => nameOf(d.object) === 'katib-db-manager')?.object, 'spec', 'template', 'spec', 'containers', 0, 'env');
    expect(env).toEqual([{ name: 'KATIB_DB_URL', valueFrom: { secretKeyRef: { name: 'katib-db-manager', key: 'KATIB_DB_URL' } } }]);
    const secret = of('Secret').find((d) => nameOf(d.object) === 'katib-db-manager');
    expect(at(secret?.object, 'stringData', 'KATIB_DB_URL')).toMatch(/^(sqlite|postgres|postgresql|mysql):/);
  });

  it.each([
    { service: 'katib-suggestion', port: 6789 },
    { service: 'katib-earlystopping', port: 6788 },
    { service: 'katib-db-manager', port: 6789 },
  ])('Service $service reaches its Deployment on port $port', ({ service, port }) => {
    const svc = of('Service').find((d) => nameOf(d.object) === service)?.object;
    const deployment = deployments.find((d) => nameOf(d.object) === service)?.object;
    const selector = at(svc, 'spec', 'selector');
    const podLabels = at(deployment, 'spec', 'template', 'metadata', 'labels');
    expect(isJsonObject(selector) && isJsonObject(podLabels) && Object.entries(selector).every(([k, v]) => podLabels[k] === v)).toBe(true);
    expect(at(svc, 'spec', 'ports', 0, 'port')).toBe(port);
    const targetPort = at(svc, 'spec', 'ports', 0, 'targetPort');
    const containerPorts = (at(deployment, 'spec', 'template', 'spec', 'containers', 0, 'ports') as JsonObject[]).filter((p) => p.name === targetPort);
    expect(containerPorts).toEqual([{ name: 'grpc', containerPort: port, protocol: 'TCP' }]);
  });
});

describe('RBAC', () => {
  it('the ClusterRole grants exactly what the controller needs', () => {
    expect(rbacRules()).toEqual([
      { apiGroups: ['kubeflow.org'], resources: ['experiments', 'trials', 'suggestions'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
      { apiGroups: ['kubeflow.org'], resources: ['experiments/status', 'trials/status', 'suggestions/status'], verbs: ['get', 'update', 'patch'] },
      { apiGroups: ['batch'], resources: ['jobs'], verbs: ['get', 'list', 'watch', 'create', 'delete'] },
      { apiGroups: ['trainer.kubeflow.org'], resources: ['trainjobs'], verbs: ['get', 'list', 'watch', 'create', 'delete'] },
      { apiGroups: ['kubeflow.org'], resources: ['pytorchjobs'], verbs: ['get', 'list', 'watch', 'create', 'delete'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
    ]);
  });

  it.each([
    { group: 'kubeflow.org', resource: 'trials/status', verb: 'patch', allowed: true },
    { group: 'batch', resource: 'jobs', verb: 'update', allowed: false },
    { group: '', resource: 'pods', verb: 'delete', allowed: false },
    { group: '', resource: 'secrets', verb: 'get', allowed: false },
  ])('rbacAllows: $verb $group/$resource → $allowed', ({ group, resource, verb, allowed }) => {
    expect(rbacAllows(rbacRules(), group, resource, verb)).toBe(allowed);
  });

  it('the binding gives the role to the controller ServiceAccount', () => {
    const binding = of('ClusterRoleBinding').find((d) => nameOf(d.object) === 'katib-controller')?.object;
    expect(at(binding, 'roleRef')).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'katib-controller' });
    expect(at(binding, 'subjects')).toEqual([{ kind: 'ServiceAccount', name: 'katib-controller', namespace: 'kubeflow' }]);
    expect(of('ServiceAccount').map((d) => `${String(at(d.object, 'metadata', 'namespace'))}/${nameOf(d.object)}`)).toEqual(['kubeflow/katib-controller']);
  });
});

describe('the Dockerfile', () => {
  const dockerfile = readFileSync(join(MANIFESTS_DIR, 'Dockerfile'), 'utf8');
  const instructions = dockerfile
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');

  it('builds on node:20-slim, installs production dependencies only and runs bin/katib.js as a numeric non-root user', () => {
    expect(instructions.filter((l) => l.startsWith('FROM')).every((l) => l.startsWith('FROM node:20-slim'))).toBe(true);
    expect(instructions.some((l) => l.startsWith('RUN npm ci --omit=dev'))).toBe(true);
    expect(instructions.filter((l) => l.startsWith('USER')).at(-1)).toBe('USER 1000:1000');
    expect(instructions.at(-1)).toBe('ENTRYPOINT ["node", "bin/katib.js"]');
  });

  it('puts `katib` on PATH, for the collector a TrainJob trainer runs', () => {
    expect(instructions).toContain('RUN ln -s /app/bin/katib.js /usr/local/bin/katib');
  });

  it('copies only paths that exist in the repository root, the build context', () => {
    const sources = instructions.filter((l) => l.startsWith('COPY') && !l.includes('--from=')).flatMap((l) => l.split(/\s+/).slice(1, -1));
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) expect(existsSync(join(REPO_ROOT, source)), source).toBe(true);
  });
});
