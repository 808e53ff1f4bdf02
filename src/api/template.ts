/**
 * Trial-template rendering, as Katib's manifest generator does it: every `${trialParameters.NAME}` in the trial spec
 * is replaced by the value of what the trial parameter `reference`s (an experiment parameter's assignment, or trial
 * metadata such as `${trialSpec.Name}`), and the run object gets the trial's name, namespace and labels.
 *
 * Katib substitutes in the JSON text of the template; we substitute inside each string of the object tree (keys
 * included), which gives the same result for every value Katib accepts and never breaks the JSON for a value that
 * holds a quote or a backslash: values land in the string byte for byte. Substituted text is not scanned again.
 */
import type { Issue } from '../../algorithms/core/issues.js';
import type { Assignment } from '../../algorithms/core/space.js';
import { ValidationError } from '../errors.js';
import { getPath, isRecord } from './guards.js';
import type { Experiment, UnstructuredObject } from './types.js';
import { Labels } from './types.js';

/** Matches one `${trialParameters.NAME}` placeholder; group 1 is NAME. Katib's pattern, made global. */
export function trialParameterPattern(): RegExp {
  return /\$\{trialParameters\.(.+?)\}/g;
}

/** The placeholder for a trial parameter name: `${trialParameters.NAME}`. */
export function placeholder(name: string): string {
  return `\${trialParameters.${name}}`;
}

/** Trial metadata a trial parameter may reference instead of an experiment parameter. */
export const TRIAL_META_KEYS = ['Name', 'Namespace', 'Kind', 'APIVersion', 'Labels', 'Annotations'] as const;
export type TrialMetaKey = (typeof TRIAL_META_KEYS)[number];

/** A parsed metadata reference: `${trialSpec.Name}`, or `${trialSpec.Labels[key]}` with its index. */
export type MetaReference =
  | { readonly key: 'Name' | 'Namespace' | 'Kind' | 'APIVersion' }
  | { readonly key: 'Labels' | 'Annotations'; readonly index: string };

/** The metadata references as users write them, for messages. */
export const META_REFERENCE_FORMS = '${trialSpec.Name}, ${trialSpec.Namespace}, ${trialSpec.Kind}, ${trialSpec.APIVersion}, ${trialSpec.Labels[key]}, ${trialSpec.Annotations[key]}';

/**
 * Parses a trial parameter's `reference`: a MetaReference for `${trialSpec.X}`, `'invalid'` for a `${trialSpec.…}`
 * form with an unknown key, undefined for anything else (a reference to an experiment parameter).
 */
export function parseMetaReference(reference: string): MetaReference | 'invalid' | undefined {
  const m = /^\$\{trialSpec\.(.+)\}$/.exec(reference);
  if (m === null) return reference.startsWith('${trialSpec.') ? 'invalid' : undefined;
  const key = m[1] as string;
  if (key === 'Name' || key === 'Namespace' || key === 'Kind' || key === 'APIVersion') return { key };
  const indexed = /^(Labels|Annotations)\[(.+)\]$/.exec(key);
  if (indexed === null) return 'invalid';
  return { key: indexed[1] as 'Labels' | 'Annotations', index: indexed[2] as string };
}

/** Formats a field path step: `.name` for plain keys, `[key]` for keys with dots, slashes or other characters. */
export function fieldStep(key: string | number): string {
  if (typeof key === 'number') return `[${key}]`;
  return /^[A-Za-z_$][\w$-]*$/.test(key) ? `.${key}` : `[${key}]`;
}

/** Calls `visit` for every string in a JSON value, mapping keys included, with its field path. */
export function visitStrings(value: unknown, path: string, visit: (text: string, path: string) => void): void {
  if (typeof value === 'string') visit(value, path);
  else if (Array.isArray(value)) value.forEach((v, i) => visitStrings(v, `${path}${fieldStep(i)}`, visit));
  else if (isRecord(value)) {
    for (const [k, v] of Object.entries(value)) {
      const at = `${path}${fieldStep(k)}`;
      visit(k, at);
      visitStrings(v, at, visit);
    }
  }
}

/** A deep copy of a JSON value with `map` applied to every string, mapping keys included. */
function mapStrings(value: unknown, map: (text: string) => string): unknown {
  if (typeof value === 'string') return map(value);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, map));
  // Object.fromEntries defines properties, so a `__proto__` key stays a plain key.
  if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [map(k), mapStrings(v, map)]));
  return value;
}

/** The trial to render a run object for. */
export interface TrialToRender {
  readonly name: string;
  readonly namespace: string;
  readonly assignments: readonly Assignment[];
  /** Extra labels for the run object (the trial's labels, e.g. PBT's generation); Katib's own labels win. */
  readonly labels?: Readonly<Record<string, string>>;
}

const TRIAL_PARAMETERS_PATH = 'spec.trialTemplate.trialParameters';

/** Resolves the value of every trial parameter for one trial. */
function resolveTrialParameters(exp: Experiment, template: UnstructuredObject, trial: TrialToRender, issues: Issue[]): Map<string, string> {
  const values = new Map<string, string>();
  const assigned = new Map(trial.assignments.map((a) => [a.name, a.value]));
  const referenced = new Set<string>();
  const templateLabels = getPath(template, ['metadata', 'labels']);
  const templateAnnotations = getPath(template, ['metadata', 'annotations']);
  (exp.spec.trialTemplate?.trialParameters ?? []).forEach((p, i) => {
    const at = `${TRIAL_PARAMETERS_PATH}[${i}].reference`;
    const reference = p.reference ?? '';
    const meta = parseMetaReference(reference);
    if (meta === 'invalid') {
      issues.push({ path: at, message: `unknown trial metadata reference ${JSON.stringify(reference)}; use one of ${META_REFERENCE_FORMS}` });
      return;
    }
    if (meta === undefined) {
      referenced.add(reference);
      const value = assigned.get(reference);
      if (value === undefined) {
        const have = trial.assignments.map((a) => a.name).join(', ') || '(none)';
        issues.push({ path: at, message: `trial ${JSON.stringify(trial.name)} has no assignment for parameter ${JSON.stringify(reference)} (assigned: ${have})` });
      } else values.set(p.name, value);
      return;
    }
    switch (meta.key) {
      case 'Name':
        values.set(p.name, trial.name);
        return;
      case 'Namespace':
        values.set(p.name, trial.namespace);
        return;
      case 'Kind':
        values.set(p.name, typeof template.kind === 'string' ? template.kind : '');
        return;
      case 'APIVersion':
        values.set(p.name, typeof template.apiVersion === 'string' ? template.apiVersion : '');
        return;
      case 'Labels':
      case 'Annotations': {
        const source = meta.key === 'Labels' ? templateLabels : templateAnnotations;
        const value = isRecord(source) ? source[meta.index] : undefined;
        if (typeof value === 'string') values.set(p.name, value);
        else {
          const field = meta.key === 'Labels' ? 'labels' : 'annotations';
          const have = isRecord(source) ? Object.keys(source).join(', ') || '(none)' : '(none)';
          issues.push({ path: at, message: `${JSON.stringify(meta.index)} is not in spec.trialTemplate.trialSpec.metadata.${field} (${field}: ${have}); add it there or fix the reference` });
        }
        return;
      }
    }
  });
  trial.assignments.forEach((a, i) => {
    if (!referenced.has(a.name)) {
      issues.push({ path: `trial.assignments[${i}]`, message: `parameter ${JSON.stringify(a.name)} is not referenced by any entry of ${TRIAL_PARAMETERS_PATH}; add a trial parameter with reference: ${a.name}` });
    }
  });
  return values;
}

/**
 * Renders the run object (Job, TrainJob, any CR) for one trial. Called by the controller when it creates a Trial;
 * the experiment is expected to be defaulted and valid. Returns a new object; `exp` is not changed.
 * `template` replaces `spec.trialTemplate.trialSpec` (for a template resolved from a ConfigMap).
 *
 * Sets metadata.name and metadata.namespace to the trial's and adds the labels `katib.kubeflow.org/experiment` and
 * `katib.kubeflow.org/trial` (after the template's and the trial's own labels).
 *
 * @throws ValidationError when there is no template, an assignment is missing or unreferenced, a metadata reference
 *   names a label or annotation the template lacks, or a placeholder names no trial parameter.
 */
export function renderTrialSpec(exp: Experiment, trial: TrialToRender, template: UnstructuredObject | undefined = exp.spec.trialTemplate?.trialSpec): UnstructuredObject {
  const source = `trial ${JSON.stringify(trial.name)}`;
  if (template === undefined) {
    const fromConfigMap = exp.spec.trialTemplate?.configMap !== undefined;
    throw new ValidationError(
      [
        {
          path: 'spec.trialTemplate.trialSpec',
          message: fromConfigMap
            ? 'the template is in a ConfigMap; read it and pass it to renderTrialSpec, or inline it as spec.trialTemplate.trialSpec'
            : 'must be specified: the Kubernetes object (Job, TrainJob, ...) each trial runs',
        },
      ],
      source,
    );
  }
  const issues: Issue[] = [];
  const values = resolveTrialParameters(exp, template, trial, issues);
  const undeclared = new Set<string>();
  const rendered = mapStrings(template, (text) =>
    text.replace(trialParameterPattern(), (whole, name: string) => {
      const value = values.get(name);
      if (value !== undefined) return value;
      undeclared.add(name);
      return whole;
    }),
  );
  // A declared trial parameter whose value could not be resolved has its issue already.
  const declared = new Set((exp.spec.trialTemplate?.trialParameters ?? []).map((p) => p.name));
  for (const name of undeclared) {
    if (declared.has(name)) continue;
    issues.push({ path: 'spec.trialTemplate.trialSpec', message: `${placeholder(name)} has no value: no entry named ${JSON.stringify(name)} in ${TRIAL_PARAMETERS_PATH}` });
  }
  if (issues.length > 0 || !isRecord(rendered)) throw new ValidationError(issues, source);
  const run = rendered as UnstructuredObject;
  const metadata = isRecord(run.metadata) ? run.metadata : {};
  const labels = isRecord(metadata.labels) ? Object.fromEntries(Object.entries(metadata.labels).filter((e): e is [string, string] => typeof e[1] === 'string')) : {};
  run.metadata = {
    ...metadata,
    name: trial.name,
    namespace: trial.namespace,
    labels: { ...labels, ...trial.labels, [Labels.experimentName]: exp.metadata.name, [Labels.trialName]: trial.name },
  };
  return run;
}

/** The container a trial's metrics come from, as the local runtime and the collector need it. */
export interface PrimaryContainer {
  /** Where it was found in the run object, e.g. `spec.template.spec.containers[0]` or `spec.trainer`. */
  readonly path: string;
  readonly name?: string;
  readonly image?: string;
  readonly command: string[];
  readonly args: string[];
  /** Variables with a literal value; `valueFrom` entries need a cluster and are left out. */
  readonly env: { name: string; value: string }[];
  /** `resources` of a container, `resourcesPerNode` of a TrainJob trainer. */
  readonly resources?: Record<string, unknown>;
  readonly workingDir?: string;
}

/** Roles that run the primary process in Kubeflow training jobs, in the order they are preferred. */
const PRIMARY_ROLES = ['Master', 'Chief', 'Launcher'] as const;

/** Pod specs of the run object, most likely primary first. */
function findPodSpecs(run: UnstructuredObject): { path: string; podSpec: Record<string, unknown> }[] {
  const found: { path: string; podSpec: Record<string, unknown> }[] = [];
  const spec = run.spec;
  if (!isRecord(spec)) return found;
  if (run.kind === 'Pod') {
    found.push({ path: 'spec', podSpec: spec });
    return found;
  }
  const templateSpec = getPath(spec, ['template', 'spec']);
  if (isRecord(templateSpec)) found.push({ path: 'spec.template.spec', podSpec: templateSpec });
  for (const [key, replicas] of Object.entries(spec)) {
    if (!key.endsWith('ReplicaSpecs') || !isRecord(replicas)) continue;
    const roles = Object.keys(replicas).sort((a, b) => rank(a) - rank(b));
    for (const role of roles) {
      const podSpec = getPath(replicas[role], ['template', 'spec']);
      if (isRecord(podSpec)) found.push({ path: `spec${fieldStep(key)}${fieldStep(role)}.template.spec`, podSpec });
    }
  }
  if (found.length === 0) {
    const generic = firstPodSpec(spec, 'spec', 0);
    if (generic !== undefined) found.push(generic);
  }
  return found;
}

function rank(role: string): number {
  const i = (PRIMARY_ROLES as readonly string[]).indexOf(role);
  return i < 0 ? PRIMARY_ROLES.length : i;
}

/** Depth-first search for the first mapping with a `containers` list (a pod spec) anywhere in the object. */
function firstPodSpec(value: unknown, path: string, depth: number): { path: string; podSpec: Record<string, unknown> } | undefined {
  if (depth > 32) return undefined;
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      const hit = firstPodSpec(v, `${path}${fieldStep(i)}`, depth + 1);
      if (hit) return hit;
    }
    return undefined;
  }
  if (!isRecord(value)) return undefined;
  if (Array.isArray(value.containers) && value.containers.some(isRecord)) return { path, podSpec: value };
  for (const [k, v] of Object.entries(value)) {
    const hit = firstPodSpec(v, `${path}${fieldStep(k)}`, depth + 1);
    if (hit) return hit;
  }
  return undefined;
}

function stringList(value: unknown, path: string, issues: Issue[]): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    issues.push({ path, message: 'must be a list of strings' });
    return [];
  }
  return value.flatMap((v, i) => {
    if (typeof v === 'string') return [v];
    issues.push({ path: `${path}[${i}]`, message: `must be a string (got ${JSON.stringify(v)}); quote it` });
    return [];
  });
}

function envList(value: unknown): { name: string; value: string }[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((e) => (isRecord(e) && typeof e.name === 'string' && typeof e.value === 'string' ? [{ name: e.name, value: e.value }] : []));
}

function toPrimary(path: string, c: Record<string, unknown>, resourcesKey: string, issues: Issue[]): PrimaryContainer {
  const resources = c[resourcesKey];
  return {
    path,
    ...(typeof c.name === 'string' ? { name: c.name } : {}),
    ...(typeof c.image === 'string' ? { image: c.image } : {}),
    command: stringList(c.command, `${path}.command`, issues),
    args: stringList(c.args, `${path}.args`, issues),
    env: envList(c.env),
    ...(isRecord(resources) ? { resources } : {}),
    ...(typeof c.workingDir === 'string' ? { workingDir: c.workingDir } : {}),
  };
}

/**
 * Names of the containers in the run object's pod templates (unnamed ones as ''), or undefined when it has no pod
 * template we can find or is a TrainJob (whose containers come from its runtime).
 */
export function containerNames(run: UnstructuredObject): string[] | undefined {
  if (isTrainJob(run)) return undefined;
  const podSpecs = findPodSpecs(run);
  if (podSpecs.length === 0) return undefined;
  return podSpecs.flatMap(({ podSpec }) =>
    Array.isArray(podSpec.containers) ? podSpec.containers.filter(isRecord).map((c) => (typeof c.name === 'string' ? c.name : '')) : [],
  );
}

/** True for a Kubeflow Trainer v2 TrainJob. */
export function isTrainJob(run: UnstructuredObject): boolean {
  return run.kind === 'TrainJob' && typeof run.apiVersion === 'string' && run.apiVersion.startsWith('trainer.kubeflow.org/');
}

/**
 * Finds the primary container of a run object: in a batch Job's pod template, a TrainJob's `spec.trainer`, a
 * Kubeflow job's replica specs (Master, Chief or Launcher first) or, failing those, the first pod spec found
 * anywhere in the object. With `primaryContainerName` the container of that name is taken (a TrainJob's trainer
 * is its primary container whatever the name); without, the first container.
 *
 * @throws ValidationError naming the field when no pod template or no container of that name exists, or when
 *   command/args hold something other than strings.
 */
export function findPrimaryContainer(run: UnstructuredObject, primaryContainerName?: string): PrimaryContainer {
  const source = `${typeof run.kind === 'string' ? run.kind : 'run object'} primary container`;
  const issues: Issue[] = [];
  if (isTrainJob(run)) {
    const trainer = getPath(run, ['spec', 'trainer']);
    if (!isRecord(trainer)) {
      throw new ValidationError([{ path: 'spec.trainer', message: 'a TrainJob needs spec.trainer with the image and command each trial runs' }], source);
    }
    const primary = toPrimary('spec.trainer', trainer, 'resourcesPerNode', issues);
    if (issues.length > 0) throw new ValidationError(issues, source);
    return primary;
  }
  const podSpecs = findPodSpecs(run);
  const names: string[] = [];
  for (const { path, podSpec } of podSpecs) {
    const containers = Array.isArray(podSpec.containers) ? podSpec.containers : [];
    for (const [i, c] of containers.entries()) {
      if (!isRecord(c)) continue;
      const name = typeof c.name === 'string' ? c.name : '';
      names.push(name);
      if (primaryContainerName !== undefined && primaryContainerName !== '' && name !== primaryContainerName) continue;
      const primary = toPrimary(`${path}.containers[${i}]`, c, 'resources', issues);
      if (issues.length > 0) throw new ValidationError(issues, source);
      return primary;
    }
  }
  const first = podSpecs[0];
  if (first === undefined) {
    throw new ValidationError(
      [
        {
          path: 'spec',
          message: `no pod template found in this ${String(run.kind ?? 'object')}; expected spec.template.spec.containers (Job), spec.trainer (TrainJob) or spec.<kind>ReplicaSpecs.<role>.template.spec.containers (Kubeflow training jobs)`,
        },
      ],
      source,
    );
  }
  const message =
    names.length === 0
      ? 'must list at least one container'
      : `no container named ${JSON.stringify(primaryContainerName)} (containers: ${names.map((n) => n || '(unnamed)').join(', ')}); set spec.trialTemplate.primaryContainerName to one of them`;
  throw new ValidationError([{ path: `${first.path}.containers`, message }], source);
}
