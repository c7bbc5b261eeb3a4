/** The result file's shape, the summary table (one row per figure, each beside its baseline) and its rendering. */

export type Verdict = 'met' | 'missed' | 'info';

export interface Row {
  scenario: string;
  metric: string;
  value: string;
  baseline: string;
  target: string;
  verdict: Verdict;
}

export function row(
  scenario: string,
  metric: string,
  value: string,
  baseline: string,
  target: string,
  verdict: Verdict | boolean,
): Row {
  return {
    scenario,
    metric,
    value,
    baseline,
    target,
    verdict: typeof verdict === 'boolean' ? (verdict ? 'met' : 'missed') : verdict,
  };
}

const HEADERS: Record<keyof Row, string> = {
  scenario: 'scenario',
  metric: 'metric',
  value: 'measured',
  baseline: 'baseline (same run)',
  target: 'target',
  verdict: '',
};
const COLUMNS = Object.keys(HEADERS) as Array<keyof Row>;

/** A plain-text table for the terminal. */
export function textTable(rows: readonly Row[]): string {
  const widths = COLUMNS.map((c) => Math.max(HEADERS[c].length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [
    line(COLUMNS.map((c) => HEADERS[c])),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map((r) => line(COLUMNS.map((c) => r[c]))),
  ].join('\n');
}

/** The same table in Markdown (for the README). */
export function markdownTable(rows: readonly Row[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [
    `| ${COLUMNS.map((c) => HEADERS[c] || 'verdict').join(' | ')} |`,
    `|${COLUMNS.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${COLUMNS.map((c) => esc(r[c])).join(' | ')} |`),
  ].join('\n');
}

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
