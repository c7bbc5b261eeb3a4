/**
 * List paging, shared by every admin list route so that they validate and default it alike:
 * - cursor paging (`limit`, 1 to 1,000, and `cursor`, the opaque `next_cursor` of the previous
 *   page): a page costs reads for that page only;
 * - the original design's `page`/`pageSize` (default page 1, pageSize 10): an offset, which
 *   Firestore bills as reads of every skipped document.
 * A cursor is base64url of the JSON `{"list", "filter", "after"}`: a digest of the list it was made
 * for, a digest of the filter it was made with (`realm`, `keyword`, `state`), and the last entry's
 * position in the list's order (a document id, or creation time and id for clients). Both are
 * digests so that a cursor never repeats a keyword or spells a route's words (base64 of words such
 * as "secret" or "client" would share runs with base64 of credentials that contain them). It is checked like any other input (400 naming `cursor`): a made-up
 * one cannot reach the store, and one of another list or another filter is refused rather than
 * read as a position in this one (which could answer an empty page, as if the list ended there).
 */
import { createHash } from 'node:crypto';
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

/**
 * What a cursor is made for: one list (its route's name) with one filter (the query fields that
 * choose its entries; an absent or empty one is no filter).
 */
export interface ListScope<P> {
  list: string;
  filter: Record<string, string | undefined>;
  /** The position of an entry in this list's order. */
  position: z.ZodType<P>;
}

/** The filter's digest: the same filter, however its fields are ordered, has the same one. */
function filterDigest(filter: Record<string, string | undefined>): string {
  const fields = Object.entries(filter)
    .filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256').update(JSON.stringify(fields), 'utf8').digest('base64url').slice(0, 16);
}

/** The list's digest (the cursor names its list without spelling the route). */
function listDigest(list: string): string {
  return createHash('sha256').update(list, 'utf8').digest('base64url').slice(0, 8);
}

export function encodeCursor<P>(scope: ListScope<P>, after: P): string {
  const cursor = { list: listDigest(scope.list), filter: filterDigest(scope.filter), after };
  return Buffer.from(JSON.stringify(cursor), 'utf8').toString('base64url');
}

const cursorShape = z.strictObject({ list: z.string(), filter: z.string(), after: z.unknown() });

const NOT_A_CURSOR = 'is not a cursor of this list (use next_cursor as answered)';

/**
 * The position a cursor names, for this list and filter only; a 400 naming `cursor` for a made-up
 * one, or one another list or another filter answered.
 */
export function decodeCursor<P>(cursor: string, scope: ListScope<P>): P {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid('cursor', NOT_A_CURSOR);
  }
  const shaped = cursorShape.safeParse(json);
  if (!shaped.success) throw invalid('cursor', NOT_A_CURSOR);
  if (shaped.data.list !== listDigest(scope.list)) {
    throw invalid(
      'cursor',
      `is a cursor of another list, not of ${scope.list} (use this list's next_cursor, or start without cursor)`,
    );
  }
  if (shaped.data.filter !== filterDigest(scope.filter)) {
    const names = Object.keys(scope.filter).join(', ');
    throw invalid(
      'cursor',
      `was made for another filter (${names}) of this list: page with the filter the cursor was answered for, or start without cursor`,
    );
  }
  const parsed = scope.position.safeParse(shaped.data.after);
  if (!parsed.success) throw invalid('cursor', NOT_A_CURSOR);
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
  scope: ListScope<P>,
  defaultLimit = DEFAULT_PAGE_SIZE,
): PageRequest<P> {
  if (q.cursor !== undefined && q.page !== undefined) {
    throw invalid('page', 'cannot be combined with cursor (a cursor already says where the page starts)');
  }
  if (q.limit !== undefined && q.pageSize !== undefined) {
    throw invalid('pageSize', 'cannot be combined with limit (give one of them)');
  }
  if (q.cursor !== undefined) {
    return { limit: q.limit ?? q.pageSize ?? defaultLimit, after: decodeCursor(q.cursor, scope) };
  }
  if (q.page === undefined && q.pageSize === undefined) return { limit: q.limit ?? defaultLimit };
  const limit = q.pageSize ?? q.limit ?? DEFAULT_PAGE_SIZE;
  return { limit, offset: ((q.page ?? 1) - 1) * limit };
}

/**
 * A list answer: `{"data": {"list", "total"}, "next_cursor"?, "success": "ok"}` with next_cursor at
 * the top level beside data (for this list and filter), absent on the last page.
 */
export function listBody<T, P>(
  page: Page<unknown, P>,
  list: T[],
  scope: ListScope<P>,
): Record<string, unknown> {
  return {
    data: { list, total: page.total },
    ...(page.next === undefined ? {} : { next_cursor: encodeCursor(scope, page.next) }),
    success: 'ok',
  };
}
