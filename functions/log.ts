/**
 * Structured JSON logs in Cloud Logging's format: one line per event with `severity`, `message` and
 * flat scalar fields, among them `event` (the event's name: `request`, `token_refreshed`,
 * `token_hits`, ...). Callers pass names and counts (realm, key, codes), never credential values or
 * tokens; provider text is redacted before it reaches a field (providers/redact.ts), and the test
 * suite checks every line against every credential (test/helpers/leak-registry.ts).
 */

export type Severity = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';
type Level = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<Severity, number> = { DEBUG: 0, INFO: 1, WARNING: 2, ERROR: 3 };
const LEVEL_RANK: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export type LogFields = Record<string, string | number | boolean | null | undefined>;
export type LogSink = (line: string) => void;

let minRank = 1;
let sink: LogSink = (line) => process.stdout.write(line + '\n');

export function setLogLevel(level: Level): void {
  minRank = LEVEL_RANK[level];
}

/** Tests capture log lines to prove that no secret appears in them. */
export function setLogSink(next: LogSink): LogSink {
  const previous = sink;
  sink = next;
  return previous;
}

/** Whether a line of this severity would be written (so a caller can skip building its fields). */
export function logEnabled(severity: Severity): boolean {
  return RANK[severity] >= minRank;
}

export function log(severity: Severity, message: string, fields: LogFields = {}): void {
  if (RANK[severity] < minRank) return;
  const entry: Record<string, unknown> = { severity, message, time: new Date().toISOString() };
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) entry[k] = v;
  sink(JSON.stringify(entry));
}
