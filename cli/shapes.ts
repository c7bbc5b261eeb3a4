/**
 * Tolerant readers for the server's JSON. The CLI prints what the server sends; these helpers only
 * find the parts a table needs, accepting both the wrapped (`{"data": ..., "success": "ok"}`) and the
 * bare form, and both snake_case and camelCase field names.
 */
import { CliError, EXIT } from './errors';

export type JsonRecord = Record<string, unknown>;

export function isRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `{"data": X, "success": "ok"}` → X; anything else as it is. */
export function unwrapData(body: unknown): unknown {
  if (!isRecord(body) || !('data' in body)) return body;
  const keys = Object.keys(body);
  const envelope = keys.every((k) => k === 'data' || k === 'success' || k === 'message' || k === 'code');
  return envelope ? body.data : body;
}

export interface ListPage {
  list: unknown[];
  total: number | undefined;
}

/** A list answer: `{"data": {"list": [...], "total": N}}`, `{"list": [...]}` or a bare array. */
export function readList(body: unknown): ListPage {
  const data = unwrapData(body);
  if (Array.isArray(data)) return { list: data, total: undefined };
  if (isRecord(data)) {
    for (const name of ['list', 'items', 'results']) {
      const list = data[name];
      if (Array.isArray(list)) {
        const total = data.total;
        return { list, total: typeof total === 'number' ? total : undefined };
      }
    }
  }
  throw unexpectedShape('a list');
}

/** A single object answer, wrapped or bare. */
export function readObject(body: unknown, what: string): JsonRecord {
  const data = unwrapData(body);
  if (isRecord(data)) return data;
  throw unexpectedShape(what);
}

export function unexpectedShape(what: string): CliError {
  return new CliError(`The server answered, but not with ${what}: is the URL that of a token-server?`, {
    code: 'UNEXPECTED_RESPONSE',
    exitCode: EXIT.SERVER_ERROR,
  });
}

/** snake_case → camelCase, to read `expires_at` or `expiresAt` alike. */
function camel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** The first present (non-undefined) field among `names` and their camelCase forms. */
export function field(obj: JsonRecord, ...names: string[]): unknown {
  for (const name of names) {
    if (obj[name] !== undefined) return obj[name];
    const alt = camel(name);
    if (alt !== name && obj[alt] !== undefined) return obj[alt];
  }
  return undefined;
}

/** A value as table text: strings as they are, other scalars and JSON compactly, absent as ''. */
export function asText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}
