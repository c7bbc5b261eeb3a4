/**
 * List paging, shared by every admin list route so that they validate and default it alike:
 * - cursor paging (`limit`, 1 to 1,000, and `cursor`, the opaque `next_cursor` of the previous
 *   page): a page costs reads for that page only;
 * - the original design's `page`/`pageSize` (default page 1, pageSize 10): an offset, which
 *   Firestore bills as reads of every skipped document.
 * A cursor is base64url of the JSON of the last entry's position in the list's order (a document
 * id, or creation time and id for clients); it is checked like any other input (400 naming
 * `cursor`), so a made-up one cannot reach the store.
 */
import { z } from 'zod';
import { AppError } from '../errors';
import { realmIdSchema } from '../providers/realm-config';
import { secretDocId } from '../store/store';
import type { ClientPosition, Page, PageRequest } from '../store/types';

export const DEFAULT_PAGE_SIZE = 10;
export const MAX_PAGE_SIZE = 100;
export const MAX_LIMIT = 1_000;
/** Far beyond any real listing; keeps offsets (and Firestore's cost of skipping) bounded. */
const MAX_PAGE = 100_000;
const MAX_CURSOR_LENGTH = 1_024;

/** A whole number from the query string; an empty parameter counts as absent. */
function queryInt(min: number, max: number) {
  return z.preprocess(
    (v) => (v === '' ? undefined : typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v),
    z
      .number({ error: `must be a whole number from ${min} to ${max}` })
      .int(`must be a whole number from ${min} to ${max}`)
      .min(min, `must be at least ${min}`)
      .max(max, `must be at most ${max}`)
      .optional(),
  );
}

export const pagingShape = {
  limit: queryInt(1, MAX_LIMIT),
  cursor: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z
      .string()
      .max(MAX_CURSOR_LENGTH, 'is not a cursor of this list (use next_cursor as answered)')
      .regex(/^[A-Za-z0-9_-]+$/, 'is not a cursor of this list (use next_cursor as answered)')
      .optional(),
  ),
  page: queryInt(1, MAX_PAGE),
  pageSize: queryInt(1, MAX_PAGE_SIZE),
};

export interface PagingQuery {
  limit?: number | undefined;
  cursor?: string | undefined;
  page?: number | undefined;
  pageSize?: number | undefined;
}

function invalid(field: string, message: string): AppError {
  return new AppError('INVALID_ARGUMENT', `Invalid request: ${field}: ${message}`, {
    details: { field, issues: [{ field, message }] },
  });
}

export function encodeCursor(position: unknown): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

/** The position a cursor names, checked by the list's position schema; a 400 naming `cursor` otherwise. */
export function decodeCursor<P>(cursor: string, position: z.ZodType<P>): P {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid('cursor', 'is not a cursor of this list (use next_cursor as answered)');
  }
  const parsed = position.safeParse(json);
  if (!parsed.success) throw invalid('cursor', 'is not a cursor of this list (use next_cursor as answered)');
  return parsed.data;
}

/** Positions in each list's order. */
export const realmPosition = realmIdSchema;
export const secretPosition = z.string().refine((id) => {
  const [realm, key, ...rest] = id.split(':');
  return (
    rest.length === 0 &&
    realmIdSchema.safeParse(realm).success &&
    realmIdSchema.safeParse(key).success &&
    secretDocId(realm ?? '', key ?? '') === id
  );
});
export const clientPosition: z.ZodType<ClientPosition> = z.strictObject({
  createdAt: z.number().int().min(0),
  id: z.string().regex(/^(?!__.*__$)[A-Za-z0-9_-]{1,64}$/),
});

/**
 * The store request for a list query: a cursor page when `limit` or `cursor` is given, else the
 * original design's page (or `defaultLimit` entries from the start when neither is given).
 */
export function pageRequest<P>(
  q: PagingQuery,
  position: z.ZodType<P>,
  defaultLimit = DEFAULT_PAGE_SIZE,
): PageRequest<P> {
  if (q.cursor !== undefined && q.page !== undefined) {
    throw invalid('page', 'cannot be combined with cursor (a cursor already says where the page starts)');
  }
  if (q.limit !== undefined && q.pageSize !== undefined) {
    throw invalid('pageSize', 'cannot be combined with limit (give one of them)');
  }
  if (q.cursor !== undefined) {
    return { limit: q.limit ?? q.pageSize ?? defaultLimit, after: decodeCursor(q.cursor, position) };
  }
  if (q.page === undefined && q.pageSize === undefined) return { limit: q.limit ?? defaultLimit };
  const limit = q.pageSize ?? q.limit ?? DEFAULT_PAGE_SIZE;
  return { limit, offset: ((q.page ?? 1) - 1) * limit };
}

/**
 * A list answer: `{"data": {"list", "total"}, "next_cursor"?, "success": "ok"}` with next_cursor at
 * the top level beside data, absent on the last page.
 */
export function listBody<T, P>(page: Page<unknown, P>, list: T[]): Record<string, unknown> {
  return {
    data: { list, total: page.total },
    ...(page.next === undefined ? {} : { next_cursor: encodeCursor(page.next) }),
    success: 'ok',
  };
}
