/**
 * What tokenctl prints. With --json, stdout carries exactly one JSON document (what the server
 * answered) and nothing else; without it, aligned tables for people. Errors and warnings always go to
 * stderr. Text that came from the server is cleaned of control characters before it reaches a
 * terminal.
 */
import stringWidth from 'string-width';
import { CliError } from './errors';

export interface Out {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export function printJson(out: Out, value: unknown): void {
  out.stdout(JSON.stringify(value ?? null, null, 2) + '\n');
}

export function warn(out: Out, message: string): void {
  out.stderr(`warning: ${message}\n`);
}

/** HTTP routes that the server's messages mention, as the tokenctl command that does the same. */
const COMMAND_FOR_ROUTE: ReadonlyArray<[RegExp, string]> = [
  [/\bGET \/api\/realm\b(?!\/)/g, 'tokenctl realm list'],
  [/\bPOST \/api\/realm\b(?!\/)/g, 'tokenctl realm create'],
  [/\bGET \/api\/preset\b/g, 'tokenctl realm presets'],
  [/\bPOST \/api\/secret\b(?!\/)/g, 'tokenctl secret add'],
  [/\bGET \/api\/secret\b(?!\/)/g, 'tokenctl secret list'],
  [/\bDELETE \/api\/secret\/([\w.-]+)\/([\w.-]+)/g, 'tokenctl secret delete $1 $2'],
  [/\bGET \/api\/client\b(?!\/)/g, 'tokenctl client list'],
  [/\bGET \/api\/status\b/g, 'tokenctl status'],
];

/** A server message for a CLI user: the routes it names become the commands to run. */
export function inCommands(message: string): string {
  return COMMAND_FOR_ROUTE.reduce((text, [route, command]) => text.replace(route, command), message);
}

/**
 * stderr text of an error: the code (the server's, or ours) and the message (its lines kept, control
 * characters removed, routes named as commands), the provider's hint on a line of its own, then any
 * other details.
 */
export function formatError(err: CliError): string {
  const status = err.status === undefined ? '' : ` (HTTP ${err.status})`;
  const message = inCommands(err.message).split('\n').map(clean).join('\n');
  let text = `error: ${clean(err.code)}${status}: ${message}\n`;
  const { hint, ...details } = err.details ?? {};
  if (typeof hint === 'string' && hint !== '') text += `  hint: ${clean(inCommands(hint))}\n`;
  else if (hint !== undefined) details.hint = hint;
  if (Object.keys(details).length > 0) {
    text += `  details: ${clean(JSON.stringify(details))}\n`;
  }
  return text;
}

/** Control characters (escape sequences, newlines, tabs) shown as `?`: server text cannot move the cursor. */
export function clean(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

/**
 * Terminal columns a string takes, by string-width (Unicode East Asian Width and emoji
 * presentation, grapheme by grapheme): CJK and emoji take two, combining marks and zero-width
 * joiners none, an emoji with a skin-tone modifier is one emoji.
 */
export function displayWidth(text: string): number {
  return stringWidth(text);
}

function pad(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - displayWidth(text)));
}

const GAP = '  ';

/**
 * Columns separated by two spaces, each as wide as its widest cell; no trailing blanks. Headers are
 * printed as given (upper case by convention).
 */
export function renderTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const cells = [headers.map(clean), ...rows.map((row) => headers.map((_h, i) => clean(row[i] ?? '')))];
  const widths = headers.map((_h, i) => Math.max(...cells.map((row) => displayWidth(row[i] ?? ''))));
  return cells
    .map(
      (row) =>
        row
          .map((cell, i) => (i === row.length - 1 ? cell : pad(cell, widths[i] ?? 0)))
          .join(GAP)
          .trimEnd() + '\n',
    )
    .join('');
}

/** One field per line, names aligned; a value given as several lines continues under the first. */
export function renderFields(fields: ReadonlyArray<readonly [string, string | readonly string[]]>): string {
  const width = Math.max(0, ...fields.map(([name]) => displayWidth(name)));
  let text = '';
  for (const [name, value] of fields) {
    const lines = typeof value === 'string' ? [value] : value.length === 0 ? [''] : value;
    lines.forEach((line, i) => {
      const label = i === 0 ? pad(clean(name), width) : ' '.repeat(width);
      text += `${label}${GAP}${clean(line)}`.trimEnd() + '\n';
    });
  }
  return text;
}

/**
 * A time from the server (ISO string or epoch milliseconds) as `2026-11-24 08:00:00Z (in 1h 59m)`;
 * absent as `-`; anything else as it came.
 */
export function formatTime(value: unknown, now: number): string {
  if (value === undefined || value === null || value === '') return '-';
  const ms = typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : NaN;
  if (!Number.isFinite(ms)) return typeof value === 'string' ? value : JSON.stringify(value);
  const iso = new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, 'Z');
  return `${iso} (${formatRelative(ms - now)})`;
}

/** `in 1h 59m`, `3m 20s ago`, `now`: the two largest units. */
export function formatRelative(deltaMs: number): string {
  const abs = Math.abs(deltaMs);
  if (abs < 1000) return 'now';
  const units: Array<[string, number]> = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ];
  const first = units.findIndex(([, size]) => abs >= size);
  const parts: string[] = [];
  let rest = abs;
  for (const [name, size] of units.slice(first, first + 2)) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0) parts.push(`${n}${name}`);
  }
  const text = parts.join(' ');
  return deltaMs > 0 ? `in ${text}` : `${text} ago`;
}

/** Long server text in a table cell, cut with an ellipsis. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
