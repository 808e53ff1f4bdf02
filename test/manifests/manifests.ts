/**
 * Reads the deployable manifests under manifests/ for tests: every YAML document with the file it came from, the
 * CRDs, and the controller's ClusterRole rules (for the test that checks RBAC covers every call the controller makes).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { isJsonObject, type JsonObject } from '../support/fake-apiserver/json.js';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const MANIFESTS_DIR = join(REPO_ROOT, 'manifests');

/** One YAML document: `file` relative to the repository root, `index` its position in the file. */
export interface ManifestDocument {
  readonly file: string;
  readonly index: number;
  readonly object: JsonObject;
}

/** Every `*.yaml`/`*.yml` file under `dir` (default manifests/), relative to the repository root, sorted. */
export function yamlFiles(dir = MANIFESTS_DIR): string[] {
  const out: string[] = [];
  const walk = (at: string): void => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules') walk(path);
      } else if (/\.ya?ml$/.test(entry.name)) out.push(relative(REPO_ROOT, path));
    }
  };
  walk(dir);
  return out.sort();
}

/** Parses a file into its documents; throws naming the file and the YAML error. Empty documents are skipped. */
export function readDocuments(file: string): ManifestDocument[] {
  const text = readFileSync(join(REPO_ROOT, file), 'utf8');
  return parseAllDocuments(text).flatMap((doc, index) => {
    if (doc.errors.length > 0) throw new Error(`${file} document ${index}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const object: unknown = doc.toJS();
    if (object === null || object === undefined) return [];
    if (!isJsonObject(object)) throw new Error(`${file} document ${index}: expected a mapping, got ${typeof object}`);
    return [{ file, index, object }];
  });
}

/** Every document of every YAML file under manifests/. */
export function loadManifests(): ManifestDocument[] {
  return yamlFiles().flatMap(readDocuments);
}

/** The CustomResourceDefinitions under manifests/crds. */
export function loadCrds(): JsonObject[] {
  return yamlFiles(join(MANIFESTS_DIR, 'crds'))
    .flatMap(readDocuments)
    .map((d) => d.object)
    .filter((o) => o.kind === 'CustomResourceDefinition');
}

/** One ClusterRole rule with its lists as plain strings. */
export interface RbacRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
}

/** The rules of the ClusterRole named `name` (default `katib-controller`) in manifests/; throws when it is missing. */
export function rbacRules(name = 'katib-controller'): RbacRule[] {
  const role = loadManifests().find((d) => d.object.kind === 'ClusterRole' && isJsonObject(d.object.metadata) && d.object.metadata.name === name);
  if (!role) throw new Error(`no ClusterRole ${JSON.stringify(name)} under manifests/`);
  const rules = role.object.rules;
  if (!Array.isArray(rules)) throw new Error(`${role.file}: ClusterRole ${name} has no rules list`);
  const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);
  return rules.filter(isJsonObject).map((r) => ({ apiGroups: strings(r.apiGroups), resources: strings(r.resources), verbs: strings(r.verbs) }));
}

/** True when `rules` allow `verb` on `group`/`resource` (`resource` may be `plural/subresource`); `*` matches anything. */
export function rbacAllows(rules: readonly RbacRule[], group: string, resource: string, verb: string): boolean {
  return rules.some(
    (r) =>
      (r.apiGroups.includes(group) || r.apiGroups.includes('*')) &&
      (r.resources.includes(resource) || r.resources.includes('*')) &&
      (r.verbs.includes(verb) || r.verbs.includes('*')),
  );
}
