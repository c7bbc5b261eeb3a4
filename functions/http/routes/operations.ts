/**
 * Operations for admins and Cloud Scheduler: the status of each secret's token (paged, filterable
 * by realm and state), and the refresh of every due one.
 */
import { z } from 'zod';
import { listBody, pageRequest, pagingShape, secretPosition } from '../../admin/paging';
import { toStatus } from '../../admin/views';
import { statusState, TOKEN_STATUS_STATES, type TokenStatusState } from '../../token/phase';
import { DEFAULT_REFRESH_CONCURRENCY, REFRESH_ROUTE_BUDGET_MS } from '../../engine/refresh-due';
import { AppError } from '../../errors';
import { tenantCounts } from '../../platforms/tenant-counts';
import { tenantStates } from '../../platforms/tenant-status';
import { ticketStatuses } from '../../platforms/ticket-status';
import { realmIdSchema } from '../../providers/realm-config';
import { secretDocId, type Store } from '../../store/store';
import type { Page, PageRequest, TokenSummary } from '../../store/types';
import { parseOrThrow } from '../../validation';
import { ok, type Route } from '../types';

/** `/api/status` without limit or pageSize answers this many (README "HTTP API"). */
export const STATUS_DEFAULT_LIMIT = 100;
/** With a `state` filter, one request reads at most this many token documents. */
export const STATUS_SCAN_MAX = 1_000;

export const statusQuerySchema = z.strictObject({
  ...pagingShape,
  realm: realmIdSchema.optional(),
  state: z
    .enum(TOKEN_STATUS_STATES, { error: `must be one of ${TOKEN_STATUS_STATES.join(', ')}` })
    .optional(),
});

/**
 * A page of the entries in `state`. The state of a token depends on the time, so it cannot be a
 * Firestore filter: documents are read in document-id order from the cursor, at most
 * STATUS_SCAN_MAX per request, and filtered here. A page may so hold fewer than `limit` entries
 * (even none) and still carry next_cursor: follow it to the end to see every match. `total`
 * counts the entries before the state filter (of the realm, when given).
 */
async function scanByState(
  store: Store,
  request: PageRequest,
  realm: string | undefined,
  state: TokenStatusState,
  now: number,
): Promise<Page<TokenSummary>> {
  const matches: TokenSummary[] = [];
  let after = request.after;
  let scanned = 0;
  let total = -1;
  for (;;) {
    const batch = await store.listTokenSummaries({
      limit: Math.min(STATUS_SCAN_MAX - scanned, Math.max(2 * request.limit, 100)),
      ...(after === undefined ? {} : { after }),
      ...(realm === undefined ? {} : { realm }),
      countTotal: total < 0,
    });
    if (total < 0) total = batch.total;
    scanned += batch.list.length;
    for (const s of batch.list) {
      if (statusState(s, now) !== state) continue;
      matches.push(s);
      if (matches.length === request.limit) {
        const more = s !== batch.list[batch.list.length - 1] || batch.next !== undefined;
        return { list: matches, total, ...(more ? { next: secretDocId(s.realm, s.key) } : {}) };
      }
    }
    after = batch.next;
    if (after === undefined) return { list: matches, total };
    if (scanned >= STATUS_SCAN_MAX) return { list: matches, total, next: after };
  }
}

export const statusRoute: Route = {
  method: 'GET',
  pattern: '/api/status',
  auth: 'admin',
  handle: async ({ req, runtime, logFields }) => {
    const q = parseOrThrow(statusQuerySchema, { ...req.query });
    if (q.realm !== undefined) logFields.realm = q.realm;
    const scope = {
      list: 'GET /api/status',
      filter: { realm: q.realm, state: q.state },
      position: secretPosition,
    };
    const request = pageRequest(q, scope, STATUS_DEFAULT_LIMIT);
    // calls_today, has_token and state by the store's day and time, not this instance's clock.
    const now = await runtime.store.now();
    let page: Page<TokenSummary>;
    if (q.state === undefined) {
      page = await runtime.store.listTokenSummaries({
        ...request,
        ...(q.realm === undefined ? {} : { realm: q.realm }),
      });
    } else {
      if (request.offset !== undefined && request.offset > 0) {
        throw new AppError(
          'INVALID_ARGUMENT',
          'Invalid request: page: with state, page through the list with cursor (next_cursor) instead',
          { details: { field: 'page' } },
        );
      }
      page = await scanByState(runtime.store, request, q.realm, q.state, now);
    }
    const tickets = await ticketStatuses(runtime.store, page.list, now);
    const tenants = await tenantStates(runtime.store, page.list);
    // Platform secrets (the rows with a pushed ticket) count their tenants.
    const platforms = await tenantCounts(
      runtime.store,
      page.list.filter((s) => tickets.has(secretDocId(s.realm, s.key))),
    );
    const body = listBody(
      page,
      page.list.map((s) => ({
        ...toStatus(s, now),
        ...tickets.get(secretDocId(s.realm, s.key)),
        ...tenants.get(secretDocId(s.realm, s.key)),
        ...platforms.get(secretDocId(s.realm, s.key)),
      })),
      scope,
    );
    // Why this instance is not ready (a key it cannot read): for admins only, never for strangers.
    const { adminKey, masterKey } = runtime.keys.problems;
    const problems = {
      ...(adminKey === undefined ? {} : { admin_key: adminKey }),
      ...(masterKey === undefined ? {} : { master_key: masterKey }),
    };
    if (Object.keys(problems).length > 0) {
      (body.data as Record<string, unknown>).problems = problems;
    }
    return { body };
  },
};

export const refreshSchema = z
  .object({ concurrency: z.coerce.number().int().min(1).max(64).optional() })
  .strict();

export const refreshRoute: Route = {
  method: 'POST',
  pattern: '/api/refresh',
  auth: 'admin',
  handle: async ({ req, runtime }) => {
    const body = parseOrThrow(refreshSchema, req.body ?? { ...req.query });
    const summary = await runtime.engine.refreshDue(
      body.concurrency ?? DEFAULT_REFRESH_CONCURRENCY,
      REFRESH_ROUTE_BUDGET_MS,
    );
    // Webhook events lost with an instance (or refused by their receiver) and now due go out here.
    await runtime.ops.sweep();
    return ok(summary);
  },
};
