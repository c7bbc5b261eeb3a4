/**
 * Realms (upstream provider definitions), admin only: list with paging and keyword, create or
 * replace, get, delete (refused while secrets use the realm).
 */
import { z } from 'zod';
import { listBody, pageRequest, pagingShape, realmPosition } from '../../admin/paging';
import { realmView } from '../../admin/views';
import { AppError } from '../../errors';
import { adminAudit } from '../../ops/audit/admin';
import { parseRealm, realmIdSchema, realmWarnings } from '../../providers/realm-config';
import { checkUpstreamUrl } from '../../providers/url-guard';
import type { JsonObject, RealmRecord, TokenState } from '../../store/types';
import { parseOrThrow } from '../../validation';
import { resource } from '../respond';
import { ok, type Route, type RouteContext } from '../types';

export const listQuerySchema = z.strictObject({
  ...pagingShape,
  keyword: z.string().max(200).optional(),
});

export const idParamsSchema = z.strictObject({ id: realmIdSchema });

/** Fields the API answers but a client cannot set: accepted and ignored, so an answer can be POSTed back. */
const READ_ONLY_FIELDS = ['created_at', 'updated_at', 'warnings'];

function withoutReadOnly(body: unknown): unknown {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return body;
  const copy: Record<string, unknown> = { ...(body as Record<string, unknown>) };
  for (const field of READ_ONLY_FIELDS) delete copy[field];
  return copy;
}

/** The Host this request was sent to, to recognise a realm URL that points back at the broker. */
function hostOf(headers: Record<string, string | string[] | undefined>): string | undefined {
  const host = headers['x-forwarded-host'] ?? headers.host;
  const first = Array.isArray(host) ? host[0] : host;
  return first === undefined || first === '' ? undefined : first.split(',')[0]?.trim();
}

function notFound(id: string): AppError {
  return new AppError('NOT_FOUND', `No realm ${id}`, { details: { realm: id } });
}

export const listRealmsRoute: Route = {
  method: 'GET',
  pattern: '/api/realm',
  auth: 'admin',
  handle: async ({ req, runtime }) => {
    const q = parseOrThrow(listQuerySchema, { ...req.query });
    const keyword = q.keyword === undefined || q.keyword === '' ? undefined : q.keyword;
    const scope = { list: 'GET /api/realm', filter: { keyword }, position: realmPosition };
    const page = await runtime.store.listRealms({
      ...pageRequest(q, scope),
      ...(keyword === undefined ? {} : { keyword }),
    });
    return { body: listBody(page, page.list.map(realmView), scope) };
  },
};

export const putRealmRoute: Route = {
  method: 'POST',
  pattern: '/api/realm',
  auth: 'admin',
  handle: async ({ req, runtime, logFields }) => {
    if (req.body === undefined) {
      throw new AppError(
        'INVALID_ARGUMENT',
        'A realm ({"id", "comment", "config"}) is required as the JSON body',
        {
          details: { field: '(body)' },
        },
      );
    }
    const realm = parseRealm(withoutReadOnly(req.body));
    logFields.realm = realm.id;
    // Refused now rather than at every token request (which checks again, resolving the host name).
    const url = realm.config?.url ?? realm.logic_code;
    if (url !== undefined) checkUpstreamUrl(url, { allowPrivate: runtime.config.allowPrivateUpstreams });
    const existing = await runtime.store.getRealm(realm.id);
    const now = runtime.clock.now();
    const posted = req.body as { config?: JsonObject };
    const record: RealmRecord = {
      id: realm.id,
      comment: realm.comment,
      // Stored as given (validated above): defaults are filled in when it is read, so a realm keeps
      // following the documented defaults and answers exactly what was posted.
      ...(posted.config === undefined ? {} : { config: posted.config }),
      ...(realm.logic_code === undefined ? {} : { logicCode: realm.logic_code }),
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    };
    await runtime.store.putRealm(record, await adminAudit(runtime, req, 'realm.put', realm.id));
    if (existing !== null) await forgetRememberedErrors(runtime, realm.id);
    return resource({ ...realmView(record), warnings: realmWarnings(realm, hostOf(req.headers)) });
  },
};

export const getRealmRoute: Route = {
  method: 'GET',
  pattern: '/api/realm/:id',
  auth: 'admin',
  handle: async ({ req, runtime, logFields }) => {
    const { id } = parseOrThrow(idParamsSchema, req.params);
    logFields.realm = id;
    const realm = await runtime.store.getRealm(id);
    if (realm === null) throw notFound(id);
    return resource(realmView(realm));
  },
};

export const deleteRealmRoute: Route = {
  method: 'DELETE',
  pattern: '/api/realm/:id',
  auth: 'admin',
  handle: async ({ req, runtime, logFields }) => {
    const { id } = parseOrThrow(idParamsSchema, req.params);
    logFields.realm = id;
    const outcome = await runtime.store.deleteRealm(id, await adminAudit(runtime, req, 'realm.delete', id));
    if (outcome === 'not_found') throw notFound(id);
    if (outcome === 'in_use') {
      const secrets = await secretsInTheWay(runtime, id);
      const named =
        secrets.length === 0
          ? ''
          : ` (${secrets.join(', ')}${secrets.length === SECRETS_NAMED ? ', ...' : ''})`;
      throw new AppError('CONFLICT', `Realm ${id} still has secrets${named}: delete them first`, {
        details: { realm: id, secrets },
      });
    }
    return ok({ deleted: true });
  },
};

/** Token states read per page when a re-saved realm's remembered errors are cleared. */
const FORGET_PAGE = 200;

/**
 * A realm re-saved (a new URL, new arguments) may cure what its secrets' tokens remember: the
 * permanent error that blocks calls (blockedUntil, the negative cache) and the backoff after
 * transient ones. Clears them on every token state of the realm that has one, a page of summaries
 * at a time (cost: one read per secret of the realm, one write per state that remembered something),
 * as re-saving a secret clears its own.
 */
async function forgetRememberedErrors(runtime: RouteContext['runtime'], realm: string): Promise<void> {
  let after: string | undefined;
  do {
    const page = await runtime.store.listTokenSummaries({
      realm,
      limit: FORGET_PAGE,
      countTotal: false,
      ...(after === undefined ? {} : { after }),
    });
    for (const summary of page.list) {
      if (summary.blockedUntil === undefined && summary.backoffUntil === undefined) continue;
      await runtime.store.mutateTokenState(summary.realm, summary.key, (current) => {
        if (current === null) return { result: undefined };
        const { blockedUntil: _blocked, backoffUntil: _backoff, failures: _failures, ...rest } = current;
        const next: TokenState = { ...rest };
        if (next.lastError?.permanent === true) delete next.lastError;
        return { next, result: undefined };
      });
      runtime.existingEdgeCache()?.forget(summary.realm, summary.key);
    }
    after = page.next;
  } while (after !== undefined);
}

/** How many secrets a refused realm delete names. */
const SECRETS_NAMED = 10;

/** "REALM/KEY" of the first few secrets of a realm (one page read), for the 409 of a realm delete. */
async function secretsInTheWay(runtime: RouteContext['runtime'], realm: string): Promise<string[]> {
  try {
    const page = await runtime.store.listSecrets({ realm, limit: SECRETS_NAMED });
    return page.list.map((s) => `${s.realm}/${s.key}`);
  } catch {
    return []; // e.g. sealed under another master key: the 409 still says why
  }
}

export const realmRoutes: Route[] = [listRealmsRoute, putRealmRoute, getRealmRoute, deleteRealmRoute];
