/**
 * A problem found while checking user input: `path` names the field (e.g. `spec.algorithm.algorithmSettings[gamma]`),
 * `message` echoes the value and says what to do.
 */
export interface Issue {
  readonly path: string;
  readonly message: string;
}

/** True when `value` is a list of issues rather than a parsed result. */
export function isIssues(value: unknown): value is Issue[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'object' && v !== null && 'path' in v && 'message' in v);
}

/** Renders issues one per line as `path: message`. */
export function formatIssues(issues: readonly Issue[]): string {
  return issues.map((i) => `${i.path}: ${i.message}`).join('\n');
}
