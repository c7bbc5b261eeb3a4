/** Readers for the API's JSON answers: the console trusts no shape it did not check. */
export type Json = Record<string, unknown>;

export function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A value as plain text for a table cell ('' for nothing). */
export function text(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

export interface ListPage {
  /** The whole `data` object, for what a route answers beside the list (/api/status's problems). */
  data: Json;
  list: Json[];
  total: number | undefined;
  next_cursor: string | undefined;
}

/** `{"data": {"list": [...], "total": N}, "next_cursor"?, "success": "ok"}` (README "HTTP API"). */
export function readList(body: unknown): ListPage {
  const data = isRecord(body) ? body.data : undefined;
  const list = isRecord(data) && Array.isArray(data.list) ? data.list.filter(isRecord) : [];
  const total = isRecord(data) && typeof data.total === 'number' ? data.total : undefined;
  const next = isRecord(body) && typeof body.next_cursor === 'string' ? body.next_cursor : undefined;
  return { data: isRecord(data) ? data : {}, list, total, next_cursor: next };
}
