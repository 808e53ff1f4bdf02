/**
 * Checks of `metricsCollectorSpec.source.filter.metricsFormat` patterns. The collector takes capture group 1 of a
 * match as the metric name and group 2 as its value, so a pattern must have exactly two top-level capture groups and
 * the first must not hold another one (else group 2 would be inside the name). Patterns are JavaScript regular
 * expressions: katib-ts's collector runs them with `RegExp`.
 */

/** Katib's default TEXT filter: `name=value` pairs. */
export const DEFAULT_METRICS_FORMAT = '([\\w|-]+)\\s*=\\s*([+-]?\\d*(\\.\\d+)?([Ee][+-]?\\d+)?)';

interface GroupShape {
  /** Capture groups with no capturing ancestor. */
  readonly topLevel: number;
  /** Capture groups nested in the first top-level one. */
  readonly nestedInFirst: number;
}

/** Counts capture groups by nesting; assumes `source` compiles. */
function groupShape(source: string): GroupShape {
  const stack: boolean[] = []; // for each open group: is it capturing?
  let topLevel = 0;
  let nestedInFirst = 0;
  let firstOpenDepth = -1; // stack depth of the first top-level group while it is open
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') {
      inClass = true;
      continue;
    }
    if (c === '(') {
      const capturing = source[i + 1] !== '?' || (source[i + 2] === '<' && source[i + 3] !== '=' && source[i + 3] !== '!');
      if (capturing) {
        const underCapture = stack.includes(true);
        if (!underCapture) {
          topLevel++;
          if (topLevel === 1) firstOpenDepth = stack.length;
        } else if (topLevel === 1 && firstOpenDepth >= 0) nestedInFirst++;
      }
      stack.push(capturing);
      continue;
    }
    if (c === ')') {
      stack.pop();
      if (stack.length === firstOpenDepth) firstOpenDepth = -1;
    }
  }
  return { topLevel, nestedInFirst };
}

/**
 * Returns what is wrong with a metricsFormat pattern, or undefined when the collector can use it: it must compile
 * as a JavaScript regular expression and have exactly two top-level capture groups, the first without nested ones.
 */
export function metricsFormatProblem(source: string): string | undefined {
  try {
    new RegExp(source);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return `is not a valid regular expression (${why}) (metricsFormat=${JSON.stringify(source)})`;
  }
  const shape = groupShape(source);
  if (shape.topLevel !== 2) {
    return `must have exactly two top-level capture groups, the metric name then its value (found ${shape.topLevel}) (metricsFormat=${JSON.stringify(source)}); make other groups non-capturing with (?:...)`;
  }
  if (shape.nestedInFirst > 0) {
    return `the first capture group (the metric name) must not contain another capture group, or group 2 is not the value (metricsFormat=${JSON.stringify(source)}); use (?:...) inside it`;
  }
  return undefined;
}
