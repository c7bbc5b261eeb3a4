/**
 * The original design's list paging (`?page=1&pageSize=10`), shared by every admin list route so
 * that they validate and default it the same way.
 */
import { z } from 'zod';
import type { PageRequest } from '../store/types';

export const DEFAULT_PAGE_SIZE = 10;
export const MAX_PAGE_SIZE = 100;
/** Far beyond any real listing; keeps offsets (and Firestore's cost of skipping) bounded. */
const MAX_PAGE = 100_000;

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
  page: queryInt(1, MAX_PAGE),
  pageSize: queryInt(1, MAX_PAGE_SIZE),
};

export function pageRequest(q: { page?: number | undefined; pageSize?: number | undefined }): PageRequest {
  const limit = q.pageSize ?? DEFAULT_PAGE_SIZE;
  return { offset: ((q.page ?? 1) - 1) * limit, limit };
}
