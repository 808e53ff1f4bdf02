/** Plain-text tables for benchmark output: left-aligned first column, right-aligned others. */

/** Renders `rows` under `header`, columns separated by two spaces. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** A number with 3 significant digits (exponent form below 1e-3 or from 1e5), '-' for NaN. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? '-' : x > 0 ? 'inf' : '-inf';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a < 1e-3 || a >= 1e5) return x.toExponential(2);
  if (a >= 100) return String(Math.round(x));
  const text = x.toPrecision(3);
  return text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;
}

/** A ratio ours/theirs, written 0.87x; '-' when undefined. */
export function fmtRatio(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? '-' : 'inf';
  if (x !== 0 && x < 0.01) return `${x.toExponential(0)}x`;
  return `${x < 10 ? x.toFixed(2) : x.toFixed(1)}x`;
}
