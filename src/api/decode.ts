/**
 * Structural decoding of an Experiment from `unknown` (parsed YAML or JSON): every field Katib's CRD schema types is
 * checked for its JSON type, the way the Kubernetes API server checks a custom resource against its OpenAPI schema
 * before any webhook sees it. Values of enumerated fields (objective type, parameter type, ...) are only checked to
 * be strings here; their allowed values are `validateExperiment`'s job, so both report with the same field paths.
 *
 * A field with the wrong type is reported and dropped, so the semantic checks can still run on the rest.
 */
import type { Issue } from '../../algorithms/core/issues.js';
import type {
  AlgorithmSetting,
  ConfigMapSource,
  EarlyStoppingSpec,
  Experiment,
  ExperimentSpec,
  FeasibleSpace,
  FileSystemPath,
  MetricStrategy,
  MetricsCollectorSpec,
  ObjectiveSpec,
  ObjectMeta,
  ParameterSpec,
  SourceSpec,
  TrialParameterSpec,
  TrialTemplate,
  UnstructuredObject,
  AlgorithmSpec,
} from './types.js';
import { API_VERSION } from './types.js';
import { describeValue, isRecord, keyPath } from './guards.js';

const INT32_MAX = 2_147_483_647;
const INT32_MIN = -2_147_483_648;

function child(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** Reads the fields of one mapping, reporting wrong types and (when `known` is given) unknown fields. */
class Fields {
  constructor(
    readonly obj: Record<string, unknown>,
    readonly path: string,
    readonly issues: Issue[],
    known?: readonly string[],
  ) {
    if (known === undefined) return;
    for (const key of Object.keys(obj)) {
      if (!known.includes(key)) {
        issues.push({ path: child(path, key), message: `unknown field ${JSON.stringify(key)}; known fields here: ${known.join(', ')}` });
      }
    }
  }

  at(key: string): string {
    return child(this.path, key);
  }

  /** The raw value; null counts as absent, as it does for Kubernetes optional fields. */
  raw(key: string): unknown {
    const v = this.obj[key];
    return v === null ? undefined : v;
  }

  private wrong(key: string, what: string, value: unknown, hint = ''): undefined {
    this.issues.push({ path: this.at(key), message: `must be ${what} (got ${describeValue(value)})${hint}` });
    return undefined;
  }

  string(key: string): string | undefined {
    const v = this.raw(key);
    if (v === undefined || typeof v === 'string') return v;
    const hint = typeof v === 'number' || typeof v === 'boolean' ? `; quote it: ${key}: "${String(v)}"` : '';
    return this.wrong(key, 'a string', v, hint);
  }

  int(key: string): number | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v === 'number' && Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX) return v;
    return this.wrong(key, typeof v === 'number' && Number.isInteger(v) ? `an integer between ${INT32_MIN} and ${INT32_MAX} (int32)` : 'an integer', v);
  }

  number(key: string): number | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    return this.wrong(key, 'a number', v);
  }

  bool(key: string): boolean | undefined {
    const v = this.raw(key);
    if (v === undefined || typeof v === 'boolean') return v;
    return this.wrong(key, 'true or false', v);
  }

  /** A list of strings; each wrong element is reported with its index and left out. */
  strings(key: string): string[] | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) return this.wrong(key, 'a list of strings', v);
    const out: string[] = [];
    v.forEach((item, i) => {
      if (typeof item === 'string') out.push(item);
      else {
        const hint = typeof item === 'number' || typeof item === 'boolean' ? `; quote it: "${String(item)}"` : '';
        this.issues.push({ path: `${this.at(key)}[${i}]`, message: `must be a string (got ${describeValue(item)})${hint}` });
      }
    });
    return out;
  }

  /** A mapping of string to string (labels, annotations). */
  stringMap(key: string): Record<string, string> | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (!isRecord(v)) return this.wrong(key, 'a mapping of strings', v);
    const out: Record<string, string> = {};
    for (const [k, item] of Object.entries(v)) {
      if (typeof item === 'string') out[k] = item;
      else this.issues.push({ path: keyPath(this.at(key), k), message: `must be a string (got ${describeValue(item)}); quote the value` });
    }
    return out;
  }

  /** Any mapping, kept as it is (free-form content such as a container or a trial spec). */
  record(key: string): Record<string, unknown> | undefined {
    const v = this.raw(key);
    if (v === undefined || isRecord(v)) return v;
    return this.wrong(key, 'a mapping', v);
  }

  /** A nested typed mapping read by `read`. */
  object<T>(key: string, read: (f: Fields) => T, known?: readonly string[]): T | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (!isRecord(v)) return this.wrong(key, 'a mapping', v);
    return read(new Fields(v, this.at(key), this.issues, known));
  }

  /** A list of typed mappings; each element that is not a mapping is reported and left out. */
  objects<T>(key: string, read: (f: Fields) => T, known?: readonly string[]): T[] | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) return this.wrong(key, 'a list', v);
    const out: T[] = [];
    v.forEach((item, i) => {
      const at = `${this.at(key)}[${i}]`;
      if (isRecord(item)) out.push(read(new Fields(item, at, this.issues, known)));
      else this.issues.push({ path: at, message: `must be a mapping (got ${describeValue(item)})` });
    });
    return out;
  }
}

/** Copies the defined entries only, so decoded objects carry no `key: undefined` noise. */
function compact<T extends object>(obj: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) out[k] = v;
  return out as T;
}

function readMeta(f: Fields): ObjectMeta {
  // Other ObjectMeta fields (generateName, managedFields, ...) are not ours: they are dropped, not rejected.
  return compact({
    name: f.string('name') ?? '',
    namespace: f.string('namespace'),
    uid: f.string('uid'),
    resourceVersion: f.string('resourceVersion'),
    generation: f.int('generation'),
    creationTimestamp: f.string('creationTimestamp'),
    deletionTimestamp: f.string('deletionTimestamp'),
    labels: f.stringMap('labels'),
    annotations: f.stringMap('annotations'),
    finalizers: f.strings('finalizers'),
    ownerReferences: f.objects('ownerReferences', (o) =>
      compact({
        apiVersion: o.string('apiVersion') ?? '',
        kind: o.string('kind') ?? '',
        name: o.string('name') ?? '',
        uid: o.string('uid') ?? '',
        controller: o.bool('controller'),
        blockOwnerDeletion: o.bool('blockOwnerDeletion'),
      }),
    ),
  });
}

const readSetting = (f: Fields): AlgorithmSetting => ({ name: f.string('name') ?? '', value: f.string('value') ?? '' });

function readAlgorithm(f: Fields): AlgorithmSpec & EarlyStoppingSpec {
  return compact({
    algorithmName: f.string('algorithmName'),
    algorithmSettings: f.objects('algorithmSettings', readSetting, ['name', 'value']),
  });
}

function readObjective(f: Fields): ObjectiveSpec {
  return compact({
    type: f.string('type') as ObjectiveSpec['type'],
    goal: f.number('goal'),
    objectiveMetricName: f.string('objectiveMetricName'),
    additionalMetricNames: f.strings('additionalMetricNames'),
    metricStrategies: f.objects(
      'metricStrategies',
      (s): MetricStrategy => ({ name: s.string('name') ?? '', value: (s.string('value') ?? '') as MetricStrategy['value'] }),
      ['name', 'value'],
    ),
  });
}

function readFeasibleSpace(f: Fields): FeasibleSpace {
  return compact({
    min: f.string('min'),
    max: f.string('max'),
    step: f.string('step'),
    list: f.strings('list'),
    distribution: f.string('distribution') as FeasibleSpace['distribution'],
  });
}

function readParameter(f: Fields): ParameterSpec {
  return {
    name: f.string('name') ?? '',
    parameterType: (f.string('parameterType') ?? '') as ParameterSpec['parameterType'],
    feasibleSpace: f.object('feasibleSpace', readFeasibleSpace, ['min', 'max', 'step', 'list', 'distribution']) ?? {},
  };
}

/** The trial spec is free-form; only the fields the controller itself reads are type-checked. */
function readTrialSpec(f: Fields): UnstructuredObject {
  f.string('apiVersion');
  f.string('kind');
  f.object('metadata', (m) => {
    m.string('name');
    m.string('namespace');
    m.stringMap('labels');
    m.stringMap('annotations');
  });
  return f.obj;
}

function readTrialTemplate(f: Fields): TrialTemplate {
  return compact({
    retain: f.bool('retain'),
    trialSpec: f.object('trialSpec', readTrialSpec),
    configMap: f.object(
      'configMap',
      (c): ConfigMapSource => compact({ configMapName: c.string('configMapName'), configMapNamespace: c.string('configMapNamespace'), templatePath: c.string('templatePath') }),
      ['configMapName', 'configMapNamespace', 'templatePath'],
    ),
    trialParameters: f.objects(
      'trialParameters',
      (p): TrialParameterSpec => compact({ name: p.string('name') ?? '', description: p.string('description'), reference: p.string('reference') }),
      ['name', 'description', 'reference'],
    ),
    primaryPodLabels: f.stringMap('primaryPodLabels'),
    primaryContainerName: f.string('primaryContainerName'),
    successCondition: f.string('successCondition'),
    failureCondition: f.string('failureCondition'),
  });
}

function readSource(f: Fields): SourceSpec {
  return compact({
    httpGet: f.object(
      'httpGet',
      (h) => {
        const port = h.raw('port');
        if (port !== undefined && typeof port !== 'string' && !(typeof port === 'number' && Number.isInteger(port))) {
          h.issues.push({ path: h.at('port'), message: `must be a port number or a port name (got ${describeValue(port)})` });
        }
        return compact({
          path: h.string('path'),
          port: typeof port === 'string' || (typeof port === 'number' && Number.isInteger(port)) ? port : undefined,
          host: h.string('host'),
          scheme: h.string('scheme'),
          httpHeaders: h.objects('httpHeaders', (x) => ({ name: x.string('name') ?? '', value: x.string('value') ?? '' }), ['name', 'value']),
        });
      },
      ['path', 'port', 'host', 'scheme', 'httpHeaders'],
    ),
    fileSystemPath: f.object(
      'fileSystemPath',
      (p): FileSystemPath =>
        compact({ path: p.string('path'), kind: p.string('kind') as FileSystemPath['kind'], format: p.string('format') as FileSystemPath['format'] }),
      ['path', 'kind', 'format'],
    ),
    filter: f.object('filter', (x) => compact({ metricsFormat: x.strings('metricsFormat') }), ['metricsFormat']),
  });
}

function readMetricsCollector(f: Fields): MetricsCollectorSpec {
  return compact({
    source: f.object('source', readSource, ['httpGet', 'fileSystemPath', 'filter']),
    collector: f.object(
      'collector',
      (c) => compact({ kind: c.string('kind') as NonNullable<MetricsCollectorSpec['collector']>['kind'], customCollector: c.record('customCollector') }),
      ['kind', 'customCollector'],
    ),
  });
}

const SPEC_FIELDS = [
  'parameters',
  'objective',
  'algorithm',
  'earlyStopping',
  'trialTemplate',
  'parallelTrialCount',
  'maxTrialCount',
  'maxFailedTrialCount',
  'metricsCollectorSpec',
  'nasConfig',
  'resumePolicy',
] as const;

function readSpec(f: Fields): ExperimentSpec {
  return compact({
    parameters: f.objects('parameters', readParameter, ['name', 'parameterType', 'feasibleSpace']),
    objective: f.object('objective', readObjective, ['type', 'goal', 'objectiveMetricName', 'additionalMetricNames', 'metricStrategies']),
    algorithm: f.object('algorithm', readAlgorithm, ['algorithmName', 'algorithmSettings']),
    earlyStopping: f.object('earlyStopping', readAlgorithm, ['algorithmName', 'algorithmSettings']),
    trialTemplate: f.object('trialTemplate', readTrialTemplate, [
      'retain',
      'trialSpec',
      'configMap',
      'trialParameters',
      'primaryPodLabels',
      'primaryContainerName',
      'successCondition',
      'failureCondition',
    ]),
    parallelTrialCount: f.int('parallelTrialCount'),
    maxTrialCount: f.int('maxTrialCount'),
    maxFailedTrialCount: f.int('maxFailedTrialCount'),
    metricsCollectorSpec: f.object('metricsCollectorSpec', readMetricsCollector, ['source', 'collector']),
    nasConfig: f.record('nasConfig'),
    resumePolicy: f.string('resumePolicy') as ExperimentSpec['resumePolicy'],
  });
}

/** The result of decoding: the experiment (absent only when the input is not a mapping) and every problem found. */
export interface DecodedExperiment {
  readonly experiment: Experiment | undefined;
  readonly issues: Issue[];
}

/**
 * Decodes an Experiment from parsed YAML/JSON. Checks apiVersion and kind, the JSON type of every typed field and
 * reports unknown fields (a typo such as `paralellTrialCount` would otherwise silently fall back to a default).
 * `status` is dropped: it belongs to the controller. Never throws.
 */
export function decodeExperiment(value: unknown): DecodedExperiment {
  const issues: Issue[] = [];
  if (!isRecord(value)) {
    issues.push({ path: '(document)', message: `must be a mapping with apiVersion, kind, metadata and spec (got ${describeValue(value)})` });
    return { experiment: undefined, issues };
  }
  const f = new Fields(value, '', issues, ['apiVersion', 'kind', 'metadata', 'spec', 'status']);
  const apiVersion = f.raw('apiVersion');
  if (apiVersion !== API_VERSION) {
    issues.push({ path: 'apiVersion', message: `must be ${JSON.stringify(API_VERSION)} (apiVersion=${apiVersion === undefined ? '(missing)' : describeValue(apiVersion)})` });
  }
  const kind = f.raw('kind');
  if (kind !== 'Experiment') {
    issues.push({ path: 'kind', message: `must be "Experiment" (kind=${kind === undefined ? '(missing)' : describeValue(kind)})` });
  }
  const metadata = f.object('metadata', readMeta) ?? { name: '' };
  const spec = f.object('spec', readSpec, SPEC_FIELDS) ?? {};
  return { experiment: { apiVersion: API_VERSION, kind: 'Experiment', metadata, spec }, issues };
}
