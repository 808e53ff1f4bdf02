/**
 * Loads an Experiment from YAML or JSON text, the files users write for `kubectl apply`. Checks syntax and structure
 * only; defaulting (`applyDefaults`) and the webhook's semantic rules (`validateExperiment`) are separate steps.
 */
import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import type { Issue } from '../../algorithms/core/issues.js';
import { ValidationError } from '../errors.js';
import { decodeExperiment } from './decode.js';
import { isRecord } from './guards.js';
import { findJsonSyntaxError, lineColumn } from './json-syntax.js';
import type { Experiment } from './types.js';

/** The issue path of a problem with a whole document (not one field). */
export const DOCUMENT_PATH = '(document)';

const position = (line: number, column: number): string => `line ${line}, column ${column}`;

/** Parses JSON strictly, reporting the first syntax error with its line and column. */
function parseJson(text: string): { value: unknown } | Issue {
  const error = findJsonSyntaxError(text);
  if (error !== undefined) {
    const { line, column } = lineColumn(text, error.offset);
    return { path: position(line, column), message: `invalid JSON: ${error.message}` };
  }
  return { value: JSON.parse(text) as unknown };
}

/** `yaml` puts the position and a code frame in its message; the issue path carries the position instead. */
function yamlMessage(message: string): string {
  const first = message.split('\n', 1)[0] ?? message;
  return first.replace(/ at line \d+, column \d+:?$/, '');
}

/** Parses every YAML document; returns the documents' values or every syntax error. */
function parseYaml(text: string): { values: unknown[] } | Issue[] {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) return { values: [] };
  const issues: Issue[] = [];
  for (const doc of docs) {
    for (const err of doc.errors) {
      const at = err.linePos?.[0];
      issues.push({ path: at ? position(at.line, at.col) : DOCUMENT_PATH, message: `invalid YAML: ${yamlMessage(err.message)}` });
    }
  }
  if (issues.length > 0) return issues;
  return { values: docs.map((d) => d.toJS({ maxAliasCount: 100 }) as unknown) };
}

/** Picks the first Experiment among the documents; a lone document is returned as is, so decoding can say why. */
function pickExperiment(values: readonly unknown[]): { value: unknown } | Issue {
  const present = values.filter((v) => v !== null && v !== undefined);
  const experiment = present.find((v) => isRecord(v) && v.kind === 'Experiment');
  if (experiment !== undefined) return { value: experiment };
  if (present.length === 1) return { value: present[0] };
  if (present.length === 0) return { path: DOCUMENT_PATH, message: 'the input is empty; expected an Experiment (apiVersion: kubeflow.org/v1beta1, kind: Experiment)' };
  const kinds = present.map((v) => (isRecord(v) && typeof v.kind === 'string' ? v.kind : '(no kind)'));
  return { path: DOCUMENT_PATH, message: `none of the ${present.length} documents is an Experiment (kinds: ${kinds.join(', ')}); add one with kind: Experiment` };
}

/**
 * Parses an Experiment from YAML or JSON text. JSON is recognised by a leading `{` and parsed strictly; YAML may
 * hold several documents (`---`), and the first with `kind: Experiment` is taken. `source` names the input in
 * errors (a file path, `stdin`). Returns a new object; `status` is dropped.
 *
 * @throws ValidationError listing every syntax error (path `line L, column C`) or, when the syntax is fine, every
 *   structural problem: wrong apiVersion or kind, fields of the wrong type, unknown fields.
 */
export function parseExperiment(text: string, source = '(input)'): Experiment {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  let value: unknown;
  if (body.trimStart().startsWith('{')) {
    const parsed = parseJson(body);
    if (!('value' in parsed)) throw new ValidationError([parsed], source);
    value = parsed.value;
  } else {
    const parsed = parseYaml(body);
    if (Array.isArray(parsed)) throw new ValidationError(parsed, source);
    const picked = pickExperiment(parsed.values);
    if (!('value' in picked)) throw new ValidationError([picked], source);
    value = picked.value;
  }
  const { experiment, issues } = decodeExperiment(value);
  if (experiment === undefined || issues.length > 0) throw new ValidationError(issues, source);
  return experiment;
}

function errorCode(err: unknown): string | undefined {
  return isRecord(err) && typeof err.code === 'string' ? err.code : undefined;
}

/**
 * Reads and parses an Experiment file (YAML or JSON, see {@link parseExperiment}).
 *
 * @throws ValidationError naming the file: when it does not exist or cannot be read, or when its content is invalid.
 */
export async function loadExperimentFile(path: string): Promise<Experiment> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = errorCode(err);
    const message =
      code === 'ENOENT'
        ? `not found (path=${JSON.stringify(path)}); check the path and the working directory`
        : code === 'EISDIR'
          ? `is a directory (path=${JSON.stringify(path)}); name an Experiment file`
          : `cannot be read (path=${JSON.stringify(path)}): ${err instanceof Error ? err.message : String(err)}`;
    throw new ValidationError([{ path: 'file', message }], path);
  }
  return parseExperiment(text, path);
}
