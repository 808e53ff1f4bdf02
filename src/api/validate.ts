/**
 * Katib's validating webhook for Experiments (`validator.go`), every rule that needs no cluster, plus the checks the
 * Kubernetes API server makes on the custom resource's schema. Collects every problem; each names its field path,
 * echoes the value and says what to do.
 *
 * Rules that need a cluster are left to where the cluster is: whether the katib-config ConfigMap has an entry for the
 * algorithm or the metrics collector (here: the caller's list of known algorithms), and reading a trial template
 * from a ConfigMap (here: only its reference is checked). Algorithm settings are the suggestion service's to check.
 */
import type { Issue } from '../../algorithms/core/issues.js';
import { isIssues } from '../../algorithms/core/issues.js';
import { DISTRIBUTIONS, parseSearchSpace } from '../../algorithms/core/space.js';
import { ValidationError } from '../errors.js';
import { applyDefaults, JOB_KIND, KUBEFLOW_JOB_KINDS } from './defaults.js';
import { decodeExperiment } from './decode.js';
import { getPath, isRecord, jsonEqual } from './guards.js';
import { metricsFormatProblem } from './metrics-format.js';
import { containerNames, META_REFERENCE_FORMS, parseMetaReference, placeholder, trialParameterPattern, visitStrings } from './template.js';
import type { Experiment, ExperimentSpec, MetricsCollectorSpec, TrialTemplate } from './types.js';
import { ExperimentReason } from './types.js';

export interface ValidateOptions {
  /** Suggestion algorithms this installation serves (Katib reads them from katib-config). */
  readonly knownAlgorithms: readonly string[];
  /** Early-stopping algorithms this installation serves. */
  readonly knownEarlyStopping: readonly string[];
  /**
   * The stored Experiment when `exp` is an update of it. Enables Katib's update rules: only parallelTrialCount,
   * maxTrialCount and maxFailedTrialCount may change, maxTrialCount must exceed the trials already created, and a
   * completed experiment restarts only when its resume policy allows it.
   */
  readonly previous?: Experiment;
}

/** Katib's name rule (anchored at both ends: Katib's own pattern is not, and lets `a_B` through). */
const EXPERIMENT_NAME = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const MAX_NAME_LENGTH = 40;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export const OBJECTIVE_TYPES = ['minimize', 'maximize'] as const;
export const METRIC_STRATEGY_VALUES = ['min', 'max', 'latest'] as const;
export const RESUME_POLICIES = ['Never', 'LongRunning', 'FromVolume'] as const;
/** Katib's collector kinds, plus `None` (no collection) which katib-ts's types keep. */
export const COLLECTOR_KINDS = ['StdOut', 'File', 'TensorFlowEvent', 'PrometheusMetric', 'Custom', 'Push', 'None'] as const;
/** Only these fields of a created Experiment may change (Katib's update rule). */
export const EDITABLE_SPEC_FIELDS = ['parallelTrialCount', 'maxTrialCount', 'maxFailedTrialCount'] as const;

const q = (v: unknown): string => (v === undefined ? '(missing)' : JSON.stringify(v));
const oneOf = (items: readonly string[]): string => (items.length === 0 ? '(none available)' : items.join(', '));
const isAbsolute = (p: string | undefined): boolean => typeof p === 'string' && p.startsWith('/');

function validateMetadata(exp: Experiment, issues: Issue[]): void {
  const name = exp.metadata.name;
  if (name === '') {
    issues.push({ path: 'metadata.name', message: `must be specified: lower-case letters, digits and '-', starting with a letter, at most ${MAX_NAME_LENGTH} characters` });
  } else if (!EXPERIMENT_NAME.test(name) || name.length > MAX_NAME_LENGTH) {
    issues.push({
      path: 'metadata.name',
      message: `must be at most ${MAX_NAME_LENGTH} lower-case letters, digits or '-', start with a letter and end with a letter or digit (name=${q(name)}, ${name.length} characters), e.g. "my-experiment"`,
    });
  }
  const ns = exp.metadata.namespace;
  if (ns !== undefined && ns !== '' && (!DNS_LABEL.test(ns) || ns.length > 63)) {
    issues.push({ path: 'metadata.namespace', message: `must be a DNS label: at most 63 lower-case letters, digits or '-' (namespace=${q(ns)})` });
  }
}

function validateCounts(spec: ExperimentSpec, original: ExperimentSpec, issues: Issue[]): void {
  const { parallelTrialCount: parallel, maxTrialCount: max, maxFailedTrialCount: maxFailed } = spec;
  if (maxFailed !== undefined && maxFailed < 0) {
    issues.push({ path: 'spec.maxFailedTrialCount', message: `must not be negative (maxFailedTrialCount=${maxFailed}); use 0 to stop at the first failed trial` });
  }
  if (max !== undefined && max <= 0) issues.push({ path: 'spec.maxTrialCount', message: `must be greater than 0 (maxTrialCount=${max})` });
  if (parallel !== undefined && parallel <= 0) issues.push({ path: 'spec.parallelTrialCount', message: `must be greater than 0 (parallelTrialCount=${parallel})` });
  // Comparisons against a maxTrialCount that is itself invalid would only repeat that problem.
  if (maxFailed !== undefined && max !== undefined && maxFailed > max && max > 0) {
    issues.push({ path: 'spec.maxFailedTrialCount', message: `must be less than or equal to spec.maxTrialCount (maxFailedTrialCount=${maxFailed}, maxTrialCount=${max})` });
  }
  if (parallel !== undefined && max !== undefined && parallel > max && max > 0) {
    const defaulted = original.parallelTrialCount === undefined ? ', the default' : '';
    issues.push({
      path: 'spec.parallelTrialCount',
      message: `must be less than or equal to spec.maxTrialCount (parallelTrialCount=${parallel}${defaulted}, maxTrialCount=${max}); lower parallelTrialCount or raise maxTrialCount`,
    });
  }
}

function validateObjective(spec: ExperimentSpec, issues: Issue[]): void {
  const obj = spec.objective;
  const P = 'spec.objective';
  if (obj === undefined) {
    issues.push({ path: P, message: 'must be specified: type (minimize or maximize) and objectiveMetricName' });
    return;
  }
  if (!(OBJECTIVE_TYPES as readonly string[]).includes(obj.type ?? '')) {
    issues.push({ path: `${P}.type`, message: `must be minimize or maximize (type=${q(obj.type)})` });
  }
  const objective = obj.objectiveMetricName ?? '';
  if (objective === '') {
    issues.push({ path: `${P}.objectiveMetricName`, message: 'must be specified: the metric the trials report and the experiment optimizes, e.g. loss' });
  }
  const additional = obj.additionalMetricNames ?? [];
  const seen = new Set<string>();
  additional.forEach((name, i) => {
    const at = `${P}.additionalMetricNames[${i}]`;
    if (name === '') issues.push({ path: at, message: 'must not be empty' });
    else if (name === objective) issues.push({ path: at, message: `must not repeat the objective metric ${q(objective)}; remove it from additionalMetricNames` });
    else if (seen.has(name)) issues.push({ path: at, message: `duplicate metric name ${q(name)}; list each metric once` });
    seen.add(name);
  });
  const metrics = new Set([objective, ...additional]);
  const strategies = new Set<string>();
  (obj.metricStrategies ?? []).forEach((s, i) => {
    const at = `${P}.metricStrategies[${i}]`;
    if (s.name === '') issues.push({ path: `${at}.name`, message: 'must be specified: the metric this strategy applies to' });
    else if (!metrics.has(s.name)) {
      issues.push({
        path: `${at}.name`,
        message: `metric ${q(s.name)} is neither the objective metric (${q(objective)}) nor in additionalMetricNames; fix the name or add it to additionalMetricNames`,
      });
    } else if (strategies.has(s.name)) issues.push({ path: `${at}.name`, message: `duplicate strategy for metric ${q(s.name)}; keep one` });
    strategies.add(s.name);
    if (!(METRIC_STRATEGY_VALUES as readonly string[]).includes(s.value)) {
      issues.push({ path: `${at}.value`, message: `must be min, max or latest (value=${q(s.value)})` });
    }
  });
}

function validateAlgorithmName(
  path: string,
  what: string,
  spec: { algorithmName?: string } | undefined,
  required: boolean,
  known: readonly string[],
  issues: Issue[],
): void {
  if (spec === undefined) {
    if (required) issues.push({ path, message: `must be specified: algorithmName, one of ${oneOf(known)}` });
    return;
  }
  const name = spec.algorithmName ?? '';
  if (name === '') issues.push({ path: `${path}.algorithmName`, message: `must be specified: one of ${oneOf(known)}` });
  else if (!known.includes(name)) issues.push({ path: `${path}.algorithmName`, message: `unknown ${what} ${q(name)}; use one of ${oneOf(known)}` });
}

function validateParameters(spec: ExperimentSpec, issues: Issue[]): void {
  const params = spec.parameters ?? [];
  if (spec.nasConfig !== undefined) {
    issues.push({ path: 'spec.nasConfig', message: 'neural architecture search is not supported by katib-ts; remove spec.nasConfig and describe the search space in spec.parameters' });
  } else if (params.length === 0) {
    issues.push({ path: 'spec.parameters', message: 'must list at least one parameter to tune (name, parameterType and feasibleSpace)' });
  }
  if (params.length === 0) return;
  const emptySpaces = new Set<string>();
  params.forEach((p, i) => {
    const at = `spec.parameters[${i}].feasibleSpace`;
    const fs = p.feasibleSpace;
    const has = (v: string | undefined): boolean => v !== undefined && v !== '';
    const range = p.parameterType === 'double' || p.parameterType === 'int';
    const list = p.parameterType === 'discrete' || p.parameterType === 'categorical';
    if (!has(fs.min) && !has(fs.max) && !has(fs.step) && fs.list === undefined && (range || list)) {
      emptySpaces.add(`spec.parameters[${i}]`);
      issues.push({ path: at, message: range ? `must be specified: min and max for a ${p.parameterType} parameter` : `must be specified: list for a ${p.parameterType} parameter` });
      return;
    }
    if (range && fs.list !== undefined && fs.list.length > 0) {
      issues.push({ path: `${at}.list`, message: `is not supported for parameterType ${p.parameterType}; use min, max and step, or make the parameter discrete` });
    }
    if (list) {
      for (const field of ['min', 'max', 'step'] as const) {
        if (has(fs[field])) issues.push({ path: `${at}.${field}`, message: `is not supported for parameterType ${p.parameterType} (${field}=${q(fs[field])}); list the values in feasibleSpace.list` });
      }
      const distribution = fs.distribution ?? '';
      if (distribution !== '' && !(DISTRIBUTIONS as readonly string[]).includes(distribution)) {
        issues.push({ path: `${at}.distribution`, message: `must be one of ${DISTRIBUTIONS.join(', ')} (distribution=${q(distribution)})` });
      }
      const values = new Set<string>();
      (fs.list ?? []).forEach((v, j) => {
        if (values.has(v)) issues.push({ path: `${at}.list[${j}]`, message: `duplicate value ${q(v)}; list each value once` });
        values.add(v);
      });
    }
  });
  const space = parseSearchSpace(params);
  if (isIssues(space)) {
    // parseSearchSpace would repeat "min is required" for a feasibleSpace already reported as missing.
    issues.push(...space.filter((issue) => ![...emptySpaces].some((p) => issue.path.startsWith(`${p}.feasibleSpace`))));
  }
}

interface Placeholder {
  readonly name: string;
  readonly path: string;
}

function validateTrialTemplate(spec: ExperimentSpec, issues: Issue[]): void {
  const P = 'spec.trialTemplate';
  const tt: TrialTemplate | undefined = spec.trialTemplate;
  if (tt === undefined) {
    issues.push({ path: P, message: 'must be specified: trialSpec (the object each trial runs), trialParameters and primaryContainerName' });
    return;
  }
  const trialSpec = tt.trialSpec;
  const configMap = tt.configMap;
  if (trialSpec === undefined && configMap === undefined) {
    issues.push({ path: `${P}.trialSpec`, message: 'must be specified (or spec.trialTemplate.configMap): the Kubernetes object each trial runs, e.g. a batch/v1 Job' });
  }
  if (trialSpec !== undefined && configMap !== undefined) {
    issues.push({ path: `${P}.configMap`, message: 'must not be set together with spec.trialTemplate.trialSpec; keep one of them' });
  }
  if (configMap !== undefined && trialSpec === undefined) {
    for (const field of ['configMapName', 'configMapNamespace', 'templatePath'] as const) {
      if (!configMap[field]) issues.push({ path: `${P}.configMap.${field}`, message: 'must be specified to read the trial template from a ConfigMap' });
    }
  }

  const containers = trialSpec === undefined ? undefined : containerNames(trialSpec);
  const primary = tt.primaryContainerName ?? '';
  if (primary === '') {
    const hint = containers && containers.length > 0 ? ` (containers in the template: ${containers.join(', ')})` : '';
    issues.push({ path: `${P}.primaryContainerName`, message: `must be specified: the container that runs the training code and reports metrics${hint}` });
  } else if (containers !== undefined && containers.length > 0 && !containers.includes(primary)) {
    issues.push({ path: `${P}.primaryContainerName`, message: `no container named ${q(primary)} in the trial template (containers: ${containers.join(', ')}); use one of them` });
  }

  const kind = typeof trialSpec?.kind === 'string' ? trialSpec.kind : undefined;
  // Defaults have filled both for the kinds Katib knows; what is still missing must come from the user.
  for (const field of ['successCondition', 'failureCondition'] as const) {
    if (tt[field]) continue;
    const why =
      trialSpec === undefined
        ? 'for a trial template from a ConfigMap'
        : `for trial kind ${q(kind)} (Katib defaults it only for ${JOB_KIND}, ${KUBEFLOW_JOB_KINDS.join(', ')})`;
    const example = field === 'successCondition' ? 'status.conditions.#(type=="Succeeded")#|#(status=="True")#' : 'status.conditions.#(type=="Failed")#|#(status=="True")#';
    issues.push({ path: `${P}.${field}`, message: `must be specified ${why}: a GJSON condition on the run object, e.g. ${example}` });
  }

  const parameterNames = new Set((spec.parameters ?? []).map((p) => p.name));
  const trialParameters = tt.trialParameters;
  if (trialParameters === undefined) {
    issues.push({
      path: `${P}.trialParameters`,
      message: 'must be specified: one entry per ${trialParameters.NAME} placeholder in the template, each with a name and a reference to an experiment parameter',
    });
  }

  const placeholders: Placeholder[] = [];
  if (trialSpec !== undefined) {
    visitStrings(trialSpec, `${P}.trialSpec`, (text, path) => {
      for (const m of text.matchAll(trialParameterPattern())) placeholders.push({ name: m[1] as string, path });
    });
  }
  const used = new Set(placeholders.map((p) => p.name));
  const names = new Map<string, number>();
  const references = new Map<string, number>();
  const labels = getPath(trialSpec, ['metadata', 'labels']);
  const annotations = getPath(trialSpec, ['metadata', 'annotations']);
  (trialParameters ?? []).forEach((tp, i) => {
    const at = `${P}.trialParameters[${i}]`;
    const reference = tp.reference ?? '';
    let broken = false;
    if (tp.name === '') {
      issues.push({ path: `${at}.name`, message: 'must be specified: the NAME of the ${trialParameters.NAME} placeholder' });
      broken = true;
    } else if (tp.name.includes('{') || tp.name.includes('}')) {
      issues.push({ path: `${at}.name`, message: `must not contain '{' or '}' (name=${q(tp.name)})` });
      broken = true;
    }
    if (reference === '') {
      issues.push({ path: `${at}.reference`, message: `must be specified: the name of an experiment parameter or trial metadata (${META_REFERENCE_FORMS})` });
      broken = true;
    }
    if (broken) return;
    const sameName = names.get(tp.name);
    if (sameName !== undefined) {
      issues.push({ path: `${at}.name`, message: `duplicate trial parameter name ${q(tp.name)} (also trialParameters[${sameName}]); names must be unique` });
      return;
    }
    names.set(tp.name, i);
    const sameReference = references.get(reference);
    if (sameReference !== undefined) {
      issues.push({ path: `${at}.reference`, message: `${q(reference)} is already referenced by trialParameters[${sameReference}]; reference each parameter once and reuse that trial parameter` });
      return;
    }
    references.set(reference, i);

    const meta = parseMetaReference(reference);
    if (meta === 'invalid') {
      issues.push({ path: `${at}.reference`, message: `unknown trial metadata reference ${q(reference)}; use one of ${META_REFERENCE_FORMS}` });
    } else if (meta === undefined) {
      if (parameterNames.size > 0 && !parameterNames.has(reference)) {
        issues.push({
          path: `${at}.reference`,
          message: `${q(reference)} is not a parameter in spec.parameters (parameters: ${[...parameterNames].join(', ')}); fix the reference or use trial metadata such as \${trialSpec.Name}`,
        });
      }
    } else if ((meta.key === 'Labels' || meta.key === 'Annotations') && trialSpec !== undefined) {
      const source = meta.key === 'Labels' ? labels : annotations;
      if (!isRecord(source) || typeof source[meta.index] !== 'string') {
        const field = meta.key === 'Labels' ? 'labels' : 'annotations';
        issues.push({ path: `${at}.reference`, message: `${q(meta.index)} is not in spec.trialTemplate.trialSpec.metadata.${field}; add it there or fix the reference` });
      }
    }
    if (trialSpec !== undefined && !used.has(tp.name)) {
      issues.push({ path: `${at}.name`, message: `${placeholder(tp.name)} does not appear in spec.trialTemplate.trialSpec; use it in the template or remove this trial parameter` });
    }
  });

  if (trialSpec === undefined) return;
  const declared = new Set((trialParameters ?? []).map((tp) => tp.name).filter((n) => n !== ''));
  for (const p of placeholders) {
    if (declared.has(p.name)) continue;
    issues.push({
      path: p.path,
      message: `${placeholder(p.name)} is not declared in spec.trialTemplate.trialParameters (declared: ${[...declared].join(', ') || '(none)'}); add {name: ${p.name}, reference: <parameter>} or fix the name`,
    });
  }

  const S = `${P}.trialSpec`;
  for (const field of ['name', 'namespace'] as const) {
    const value = getPath(trialSpec, ['metadata', field]);
    if (value !== undefined && value !== '') {
      issues.push({ path: `${S}.metadata.${field}`, message: `must be omitted: each trial's run object gets the trial's ${field} (${field}=${q(value)})` });
    }
  }
  if (typeof trialSpec.apiVersion !== 'string' || trialSpec.apiVersion === '') {
    issues.push({ path: `${S}.apiVersion`, message: 'must be specified, e.g. batch/v1' });
  }
  if (kind === undefined || kind === '') issues.push({ path: `${S}.kind`, message: 'must be specified, e.g. Job' });
  if (trialSpec.apiVersion === 'batch/v1' && kind === JOB_KIND) {
    const jobContainers = getPath(trialSpec, ['spec', 'template', 'spec', 'containers']);
    if (!Array.isArray(jobContainers) || jobContainers.length === 0) {
      issues.push({ path: `${S}.spec.template.spec.containers`, message: 'a batch/v1 Job needs at least one container in spec.template.spec.containers' });
    }
  }
}

function validateMetricsCollector(mc: MetricsCollectorSpec | undefined, issues: Issue[]): void {
  const P = 'spec.metricsCollectorSpec';
  const kind = mc?.collector?.kind;
  const fsPath = mc?.source?.fileSystemPath;
  const FS = `${P}.source.fileSystemPath`;
  switch (kind) {
    case 'StdOut':
    case 'Push':
    case 'None':
      break;
    case 'File':
      if (fsPath?.kind !== 'File') issues.push({ path: `${FS}.kind`, message: `must be File for the File collector (kind=${q(fsPath?.kind)})` });
      if (!isAbsolute(fsPath?.path)) issues.push({ path: `${FS}.path`, message: `must be the absolute path of the metrics file (path=${q(fsPath?.path)}), e.g. /var/log/katib/metrics.log` });
      if (fsPath?.format !== 'TEXT' && fsPath?.format !== 'JSON') issues.push({ path: `${FS}.format`, message: `must be TEXT or JSON (format=${q(fsPath?.format)})` });
      if (fsPath?.format === 'JSON' && mc?.source?.filter !== undefined) {
        issues.push({ path: `${P}.source.filter`, message: 'must be omitted when the metrics file format is JSON: the JSON keys name the metrics' });
      }
      break;
    case 'TensorFlowEvent':
      if (fsPath?.kind !== 'Directory') issues.push({ path: `${FS}.kind`, message: `must be Directory for the TensorFlowEvent collector (kind=${q(fsPath?.kind)})` });
      if (!isAbsolute(fsPath?.path)) issues.push({ path: `${FS}.path`, message: `must be the absolute path of the event file directory (path=${q(fsPath?.path)}), e.g. /var/log/katib/tfevent/` });
      if (fsPath?.format) {
        issues.push({ path: `${FS}.format`, message: `must be omitted for the TensorFlowEvent collector (format=${q(fsPath.format)})` });
      }
      break;
    case 'PrometheusMetric': {
      const httpGet = mc?.source?.httpGet;
      const port = httpGet?.port;
      const portNumber = typeof port === 'number' ? port : /^\d+$/.test(port ?? '') ? Number(port) : Number.NaN;
      if (!(portNumber > 0)) issues.push({ path: `${P}.source.httpGet.port`, message: `must be a positive port number for the PrometheusMetric collector (port=${q(port)})` });
      if (!(httpGet?.path ?? '').startsWith('/')) issues.push({ path: `${P}.source.httpGet.path`, message: `must start with '/' (path=${q(httpGet?.path)}), e.g. /metrics` });
      break;
    }
    case 'Custom':
      if (mc?.collector?.customCollector === undefined) {
        issues.push({ path: `${P}.collector.customCollector`, message: 'must be specified for the Custom collector: the container that collects the metrics' });
      }
      if (fsPath !== undefined && (!isAbsolute(fsPath.path) || (fsPath.kind !== 'File' && fsPath.kind !== 'Directory'))) {
        issues.push({ path: FS, message: `must have an absolute path and kind File or Directory (path=${q(fsPath.path)}, kind=${q(fsPath.kind)})` });
      }
      break;
    default:
      issues.push({ path: `${P}.collector.kind`, message: `must be one of ${COLLECTOR_KINDS.join(', ')} (kind=${q(kind)})` });
  }
  (mc?.source?.filter?.metricsFormat ?? []).forEach((format, i) => {
    const problem = metricsFormatProblem(format);
    if (problem !== undefined) issues.push({ path: `${P}.source.filter.metricsFormat[${i}]`, message: problem });
  });
}

function isCompleted(exp: Experiment): { completed: boolean; restartable: boolean; state: string } {
  const conditions = exp.status?.conditions ?? [];
  const on = (type: string) => conditions.find((c) => c.type === type && c.status === 'True');
  const succeeded = on('Succeeded');
  const failed = on('Failed');
  const policy = exp.spec.resumePolicy;
  return {
    completed: succeeded !== undefined || failed !== undefined,
    restartable: succeeded?.reason === ExperimentReason.MaxTrialsReached && (policy === 'LongRunning' || policy === 'FromVolume'),
    state: succeeded ? `Succeeded: ${succeeded.reason ?? ''}` : failed ? `Failed: ${failed.reason ?? ''}` : '',
  };
}

function validateUpdate(current: Experiment, stored: Experiment, issues: Issue[]): void {
  const previous = applyDefaults(stored);
  if (jsonEqual(current.spec, previous.spec)) return;
  const { completed, restartable, state } = isCompleted(previous);
  if (completed && !restartable) {
    issues.push({
      path: 'spec.resumePolicy',
      message: `the experiment has completed (${state}); it can be restarted only when it succeeded by reaching maxTrialCount and its resumePolicy is LongRunning or FromVolume (resumePolicy=${q(previous.spec.resumePolicy)})`,
    });
  }
  const trials = previous.status?.trials ?? 0;
  const max = current.spec.maxTrialCount;
  if (max !== undefined && max <= trials) {
    issues.push({ path: 'spec.maxTrialCount', message: `must be greater than the ${trials} trials already created (maxTrialCount=${max})` });
  }
  const fields = new Set([...Object.keys(current.spec), ...Object.keys(previous.spec)]);
  for (const field of fields) {
    if ((EDITABLE_SPEC_FIELDS as readonly string[]).includes(field)) continue;
    const a = (current.spec as Record<string, unknown>)[field];
    const b = (previous.spec as Record<string, unknown>)[field];
    if (!jsonEqual(a, b)) {
      issues.push({ path: `spec.${field}`, message: `cannot be changed after creation; only ${EDITABLE_SPEC_FIELDS.map((f) => `spec.${f}`).join(', ')} are editable` });
    }
  }
}

/** True when `path` is `prefix` or lies under it (`prefix.x`, `prefix[0]`). */
function under(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}.`) || path.startsWith(`${prefix}[`);
}

/**
 * Checks an Experiment the way Katib's admission does: the CRD schema (types, unknown fields), then the defaults,
 * then every rule of the validating webhook. Accepts anything (a loaded Experiment, a request body) and never
 * throws; returns every problem found, empty when the experiment is valid. A field with the wrong type is reported
 * once: rules that would read it are not reported again.
 */
export function validateExperiment(exp: unknown, opts: ValidateOptions): Issue[] {
  const { experiment, issues: shapeIssues } = decodeExperiment(exp);
  if (experiment === undefined) return shapeIssues;
  const defaulted = applyDefaults(experiment);
  const issues: Issue[] = [];
  validateMetadata(defaulted, issues);
  validateCounts(defaulted.spec, experiment.spec, issues);
  if (opts.previous !== undefined) validateUpdate(defaulted, opts.previous, issues);
  validateObjective(defaulted.spec, issues);
  validateAlgorithmName('spec.algorithm', 'algorithm', defaulted.spec.algorithm, true, opts.knownAlgorithms, issues);
  validateAlgorithmName('spec.earlyStopping', 'early-stopping algorithm', defaulted.spec.earlyStopping, false, opts.knownEarlyStopping, issues);
  const policy = defaulted.spec.resumePolicy;
  if (!(RESUME_POLICIES as readonly string[]).includes(policy ?? '')) {
    issues.push({ path: 'spec.resumePolicy', message: `must be one of ${RESUME_POLICIES.join(', ')} (resumePolicy=${q(policy)})` });
  }
  validateTrialTemplate(defaulted.spec, issues);
  validateParameters(defaulted.spec, issues);
  validateMetricsCollector(defaulted.spec.metricsCollectorSpec, issues);
  const reported = shapeIssues.map((i) => i.path);
  return [...shapeIssues, ...issues.filter((i) => !reported.some((p) => under(i.path, p)))];
}

/**
 * Admission in one call: validates `exp` (see {@link validateExperiment}) and returns it defaulted. Called where an
 * Experiment enters the system (CLI, API server, SDK) before it is stored.
 *
 * @throws ValidationError with every issue when the experiment is invalid; `source` names the input in its message.
 */
export function admitExperiment(exp: unknown, opts: ValidateOptions, source?: string): Experiment {
  const issues = validateExperiment(exp, opts);
  const { experiment } = decodeExperiment(exp);
  if (issues.length > 0 || experiment === undefined) throw new ValidationError(issues, source);
  return applyDefaults(experiment);
}
