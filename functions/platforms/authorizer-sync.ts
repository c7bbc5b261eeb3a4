/**
 * The sync of a component's authorizers (POST /api/component/{realm}/{key}/sync, README "Third-party platforms (WeChat Open Platform)"): pages
 * through api_get_authorizer_list (offset/count, SYNC_PAGE_SIZE a page) and, for each authorizer
 * listed, compares the authorizer secret the broker keeps:
 * - none: created from the list's refresh_token (`created`);
 * - one without a refresh token, or whose refresh token the engine gave up (needs_reauthorization):
 *   its refresh token replaced by the list's (`recovered`);
 * - anything else is left as it is (`unchanged`): a stored refresh token that differs from the
 *   list's may be newer than the list (rotated after WeChat read it), so it is never overwritten,
 *   and a tombstone (unauthorized) comes back only by an `authorized` event or an admin's write.
 * Cost is proportional to a page: one list call, then two reads per authorizer (its secret and
 * token state) and a write for each one created or recovered; memory holds one page. A call stops
 * before its time budget runs out, between pages, and answers a cursor where the next call goes on;
 * the cursor is also kept on the component's pushed-values document (cleared on completion), from
 * which the scheduled refresh goes on by itself (authorizer-followups.ts).
 */
import { AppError } from '../errors';
import type { SideWrite } from '../store/side-writes';
import type { Store } from '../store/store';
import { authorizerState, putAuthorizer, validAppid } from './authorizer-secrets';
import { requireAuthorizerRealm } from './authorizer-realm';
import { callWithComponentToken, type Component, type ComponentDeps } from './component-api';

/** WeChat's largest page of api_get_authorizer_list. */
export const SYNC_PAGE_SIZE = 500;
/** Authorizers of a page compared at the same time. */
const CONCURRENCY = 32;

export interface SyncCounts {
  seen: number;
  created: number;
  recovered: number;
  unchanged: number;
}

export interface SyncResult extends SyncCounts {
  complete: boolean;
  /** Where the next call goes on (absent when complete). */
  cursor?: string;
  /** The list's total_count as WeChat last answered it. */
  total: number;
}

export interface SyncDeps extends ComponentDeps {
  store: Store;
  /** The instance's clock (the time budget only). */
  now: () => number;
  /** The side writes (audit record) of one authorizer created or recovered. */
  audit: (target: string, refreshToken: string) => SideWrite[];
}

export interface SyncOptions {
  cursor?: string;
  /** Instance-clock time before which the call must answer. */
  deadline: number;
  /** At most this many pages in this call. */
  maxPages?: number;
}

interface Cursor {
  offset: number;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify({ o: c.offset }), 'utf8').toString('base64url');
}

/** A cursor this module answered; anything else is a 400 naming `cursor`. */
export function decodeCursor(text: string): Cursor {
  try {
    const parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as { o?: unknown };
    if (typeof parsed.o === 'number' && Number.isInteger(parsed.o) && parsed.o >= 0)
      return { offset: parsed.o };
  } catch {
    // falls through to the 400
  }
  throw new AppError('INVALID_ARGUMENT', 'cursor: not a cursor this route answered', {
    details: { field: 'cursor' },
  });
}

interface ListedAuthorizer {
  appid: string;
  refreshToken: string;
}

function listedOf(answer: Record<string, unknown>): {
  total: number;
  list: ListedAuthorizer[];
  size: number;
} {
  const total = typeof answer.total_count === 'number' ? answer.total_count : 0;
  const raw = Array.isArray(answer.list) ? (answer.list as unknown[]) : [];
  const list: ListedAuthorizer[] = [];
  for (const item of raw) {
    if (item === null || typeof item !== 'object') continue;
    const { authorizer_appid: appid, refresh_token: refreshToken } = item as Record<string, unknown>;
    if (validAppid(appid) && typeof refreshToken === 'string' && refreshToken !== '')
      list.push({ appid, refreshToken });
  }
  return { total, list, size: raw.length };
}

type Outcome = 'created' | 'recovered' | 'unchanged';

async function compare(deps: SyncDeps, c: Component, realm: string, a: ListedAuthorizer): Promise<Outcome> {
  const existing = await deps.store.getSecret(realm, a.appid);
  if (existing !== null) {
    const state = authorizerState(existing, await deps.store.getTokenState(realm, a.appid));
    if (state !== 'needs_reauthorization') return 'unchanged';
  }
  const outcome = await putAuthorizer(
    deps.store,
    deps.now(),
    c.secret,
    a.appid,
    a.refreshToken,
    existing,
    deps.audit(`${realm}/${a.appid}`, a.refreshToken),
  );
  return outcome === 'created' ? 'created' : 'recovered';
}

async function comparePage(
  deps: SyncDeps,
  c: Component,
  realm: string,
  list: ListedAuthorizer[],
  counts: SyncCounts,
) {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < list.length) {
      const a = list[next++];
      if (a === undefined) return;
      counts[await compare(deps, c, realm, a)]++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, list.length) }, worker));
}

/** One call's worth of the sync (see the module comment). */
export async function syncAuthorizers(
  deps: SyncDeps,
  c: Component,
  options: SyncOptions,
): Promise<SyncResult> {
  const realm = requireAuthorizerRealm(c.secret);
  let offset = options.cursor === undefined ? 0 : decodeCursor(options.cursor).offset;
  const counts: SyncCounts = { seen: 0, created: 0, recovered: 0, unchanged: 0 };
  let total = 0;
  let slowest = 0;
  for (let pages = 0; ; pages++) {
    const started = deps.now();
    const outOfTime = started + slowest > options.deadline;
    if (pages > 0 && (outOfTime || pages >= (options.maxPages ?? Infinity))) {
      const cursor = encodeCursor({ offset });
      // The scheduled refresh goes on from here if no call does (authorizer-followups.ts).
      await keepSyncCursor(deps.store, c, cursor);
      return { ...counts, complete: false, cursor, total };
    }
    const answer = await callWithComponentToken(deps, c, 'api_get_authorizer_list', {
      offset,
      count: SYNC_PAGE_SIZE,
    });
    const page = listedOf(answer);
    total = page.total;
    counts.seen += page.list.length;
    await comparePage(deps, c, realm, page.list, counts);
    offset += page.size;
    slowest = Math.max(slowest, deps.now() - started);
    if (page.size === 0 || offset >= total) {
      await keepSyncCursor(deps.store, c, undefined);
      return { ...counts, complete: true, total };
    }
  }
}

/** Keeps (or, once complete, clears) the cursor of a sync on its component's document. */
export async function keepSyncCursor(store: Store, c: Component, cursor: string | undefined): Promise<void> {
  const { realm, key } = c.secret;
  await store.mutatePushed(realm, key, (current) => {
    if (current?.syncCursor === cursor) return { result: undefined };
    if (cursor === undefined) {
      if (current === null) return { result: undefined };
      const { syncCursor: _done, ...rest } = current;
      return { next: rest, result: undefined };
    }
    return { next: { ...(current ?? { realm, key }), syncCursor: cursor }, result: undefined };
  });
}
