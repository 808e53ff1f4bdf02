/** A small command-line parser for the benchmarks: `--flag` switches and `--name value` options, nothing else. */

export interface ParsedArgs {
  readonly flags: ReadonlySet<string>;
  readonly values: ReadonlyMap<string, string>;
}

/**
 * Parses `argv` (without node and the script). `flags` are switches, `options` take one value. Throws with the
 * usage line and the offending argument on anything unknown, so a typo never silently runs the default.
 */
export function parseArgs(argv: readonly string[], flags: readonly string[], options: readonly string[], usage: string): ParsedArgs {
  const seenFlags = new Set<string>();
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') ? arg.slice(2, eq > 0 ? eq : undefined) : '';
    if (flags.includes(name) && eq < 0) {
      seenFlags.add(name);
    } else if (options.includes(name)) {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new Error(`${usage}\n--${name} needs a value`);
      values.set(name, value);
    } else {
      throw new Error(`${usage}\nunknown argument ${JSON.stringify(arg)}`);
    }
  }
  return { flags: seenFlags, values };
}

/** A comma-separated list option; each entry must be one of `allowed` when given. */
export function listOption(args: ParsedArgs, name: string, fallback: readonly string[], allowed?: readonly string[]): string[] {
  const raw = args.values.get(name);
  if (raw === undefined) return [...fallback];
  const items = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const item of items) {
    if (allowed !== undefined && !allowed.includes(item)) throw new Error(`--${name}: unknown entry ${JSON.stringify(item)}; choose from ${allowed.join(', ')}`);
  }
  if (items.length === 0) throw new Error(`--${name}: give at least one entry (--${name}=${JSON.stringify(raw)})`);
  return items;
}

/** A positive integer option (or list of them, with `listOption` first). */
export function intOption(args: ParsedArgs, name: string, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const raw = args.values.get(name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer in [${min}, ${max}] (--${name}=${JSON.stringify(raw)})`);
  return n;
}

/** A comma-separated list of positive integers, sorted ascending and deduplicated. */
export function intListOption(args: ParsedArgs, name: string, fallback: readonly number[]): number[] {
  const raw = args.values.get(name);
  if (raw === undefined) return [...fallback];
  const items = raw.split(',').map((s) => Number(s.trim()));
  if (items.length === 0 || items.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--${name} must list positive integers, e.g. 25,50,100 (--${name}=${JSON.stringify(raw)})`);
  return [...new Set(items)].sort((a, b) => a - b);
}
