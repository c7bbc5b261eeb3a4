/**
 * Authorization events on a component's event route (README "Third-party platforms (WeChat Open Platform)"): `authorized` and
 * `updateauthorized` (AuthorizerAppid, AuthorizationCode, AuthorizationCodeExpiredTime) exchange
 * the code through api_query_auth and create or replace the authorizer secret with the refresh
 * token it answers; `unauthorized` erases the authorizer secret's values and keeps the secret
 * (a tombstone: state `unauthorized`); a later `authorized` brings it back.
 *
 * Order and repetition, decided in the authorizer's pushed-values document (store/pushed.ts) at
 * the store's time: each event carries its CreateTime; an event older than the newest one applied
 * (or being applied) changes nothing, nor does the same event again once it is done. A newer event
 * that arrives while an older one is still exchanging its code wins: the older one re-checks before
 * it writes.
 *
 * The answer is due within 2 s: when the exchange has not finished after `answerWithinMs`, the code
 * is kept in that document, sealed, with its expiry, and the authorizer listed on the component's
 * document; the exchange goes on in the background, and the event is answered. If the background
 * exchange does not finish it (the instance died, WeChat failed transiently), the scheduled refresh
 * does (finishPending, from authorizer-followups.ts). A code that WeChat refuses is not retried.
 */
import { randomBytes } from 'node:crypto';
import { log } from '../log';
import { auditWrite } from '../ops/audit/record';
import { outboxWrite } from '../ops/codec';
import { authorizerEvent } from '../ops/webhooks/events';
import { ProviderFailure } from '../providers/failure';
import type { PushedState } from '../store/pushed';
import type { SideWrite } from '../store/side-writes';
import type { Store } from '../store/store';
import { parentRef } from '../store/store';
import { freshState } from '../token/decide';
import { putAuthorizer, REFRESH_TOKEN_VALUE, validAppid } from './authorizer-secrets';
import { requireAuthorizerRealm } from './authorizer-realm';
import { callWithComponentToken, type Component, type ComponentDeps } from './component-api';

export const AUTHORIZATION_INFO_TYPES: ReadonlySet<string> = new Set([
  'authorized',
  'updateauthorized',
  'unauthorized',
]);

export type AuthorizationOutcome = 'stored' | 'revoked' | 'duplicate' | 'older' | 'pending' | 'ignored';

export interface AuthorizationDeps extends ComponentDeps {
  store: Store;
  /** The instance's clock (the answer's deadline, record times). */
  now: () => number;
  /** How long the exchange may take before the code is kept for later. */
  answerWithinMs: number;
  requestId: string;
}

interface AuthorizationEvent {
  infoType: string;
  appid: string;
  createdAt: number;
  code?: string;
  codeExpiresAt?: number;
}

function eventOf(fields: Record<string, string>, fallbackMs: number): AuthorizationEvent | null {
  const infoType = fields.InfoType ?? '';
  const appid = fields.AuthorizerAppid;
  if (!AUTHORIZATION_INFO_TYPES.has(infoType) || !validAppid(appid)) return null;
  const seconds = (text: string | undefined): number | undefined =>
    text !== undefined && /^\d{1,12}$/.test(text) ? Number(text) * 1000 : undefined;
  const code = fields.AuthorizationCode;
  const codeExpiresAt = seconds(fields.AuthorizationCodeExpiredTime);
  return {
    infoType,
    appid,
    createdAt: seconds(fields.CreateTime) ?? fallbackMs,
    ...(code === undefined || code === '' ? {} : { code }),
    ...(codeExpiresAt === undefined ? {} : { codeExpiresAt }),
  };
}

/** Marks the event as the authorizer's newest, unless a newer one (or this one, done) is there. */
async function claim(
  store: Store,
  realm: string,
  e: AuthorizationEvent,
): Promise<'go' | 'duplicate' | 'older'> {
  return store.mutatePushed(realm, e.appid, (current) => {
    const at = current?.authorizationAt;
    if (at !== undefined && at > e.createdAt) return { result: 'older' };
    if (
      at === e.createdAt &&
      current?.authorizationEvent === e.infoType &&
      current.authorizationDone === true
    )
      return { result: 'duplicate' };
    const { pendingCode: _code, pendingCodeExpiresAt: _expiry, ...rest } = current ?? { realm, key: e.appid };
    const next: PushedState = {
      ...rest,
      authorizationAt: e.createdAt,
      authorizationEvent: e.infoType,
      authorizationDone: false,
    };
    return { next, result: 'go' };
  });
}

/** Whether the event is still the authorizer's newest (nothing newer came while it worked). */
async function stillNewest(store: Store, realm: string, e: AuthorizationEvent): Promise<boolean> {
  const { state } = await store.readPushed(realm, e.appid, { open: false });
  return state?.authorizationAt === e.createdAt && state.authorizationEvent === e.infoType;
}

async function markDone(store: Store, realm: string, e: AuthorizationEvent): Promise<void> {
  await store.mutatePushed(realm, e.appid, (current) => {
    if (current?.authorizationAt !== e.createdAt || current.authorizationEvent !== e.infoType)
      return { result: undefined };
    const { pendingCode: _code, pendingCodeExpiresAt: _expiry, ...rest } = current;
    return { next: { ...rest, authorizationDone: true }, result: undefined };
  });
}

function sideWrites(
  deps: AuthorizationDeps,
  c: Component,
  type: 'authorizer.authorized' | 'authorizer.unauthorized',
  target: { realm: string; key: string },
  event: string,
): SideWrite[] {
  const now = deps.now();
  return [
    outboxWrite(authorizerEvent(type, { realm: target.realm, key: target.key, event }, now)),
    auditWrite({
      actor: `platform:${c.secret.realm}/${c.secret.key}`,
      action: type === 'authorizer.authorized' ? 'event.authorized' : 'event.unauthorized',
      target: `${target.realm}/${target.key}`,
      requestId: deps.requestId,
      hashes: [],
    }),
  ];
}

/** Exchanges the code and writes the authorizer secret, unless a newer event came meanwhile. */
async function exchange(
  deps: AuthorizationDeps,
  c: Component,
  realm: string,
  e: AuthorizationEvent,
  code: string,
): Promise<'stored' | 'older'> {
  const answer = await callWithComponentToken(deps, c, 'api_query_auth', { authorization_code: code });
  const info = answer.authorization_info as Record<string, unknown> | undefined;
  const refreshToken = info?.authorizer_refresh_token;
  if (info?.authorizer_appid !== e.appid || typeof refreshToken !== 'string' || refreshToken === '') {
    throw new ProviderFailure({
      kind: 'permanent',
      reason: 'no_token',
      message: 'api_query_auth answered no authorizer_refresh_token for the authorizer of the event',
    });
  }
  if (!(await stillNewest(deps.store, realm, e))) return 'older';
  const existing = await deps.store.getSecret(realm, e.appid);
  await putAuthorizer(
    deps.store,
    deps.now(),
    c.secret,
    e.appid,
    refreshToken,
    existing,
    sideWrites(deps, c, 'authorizer.authorized', { realm, key: e.appid }, e.infoType),
  );
  await markDone(deps.store, realm, e);
  return 'stored';
}

/**
 * Keeps the code (sealed) for finishPending, unless the event is no longer the newest, and lists
 * the authorizer on the component's document, where the scheduled refresh finds it.
 */
async function keepPending(
  store: Store,
  c: Component,
  realm: string,
  e: AuthorizationEvent,
  code: string,
): Promise<void> {
  await store.mutatePushed(c.secret.realm, c.secret.key, addPending(c.secret.realm, c.secret.key, e.appid));
  await store.mutatePushed(realm, e.appid, (current) => {
    if (current?.authorizationAt !== e.createdAt || current.authorizationDone === true)
      return { result: undefined };
    return {
      next: {
        ...current,
        pendingCode: code,
        ...(e.codeExpiresAt === undefined ? {} : { pendingCodeExpiresAt: e.codeExpiresAt }),
      },
      result: undefined,
    };
  });
}

/** The tombstone (SecretRecord.revoked): values erased (the refresh token with them), parent kept, token discarded. */
async function revoke(deps: AuthorizationDeps, c: Component, realm: string, e: AuthorizationEvent) {
  const existing = await deps.store.getSecret(realm, e.appid);
  const now = deps.now();
  const rev = randomBytes(16).toString('hex');
  if (
    existing !== null &&
    existing.values[REFRESH_TOKEN_VALUE] === undefined &&
    existing.values.key_1 === undefined
  ) {
    await markDone(deps.store, realm, e);
    return;
  }
  await deps.store.putSecret(
    {
      realm,
      key: e.appid,
      values: {},
      parent: parentRef(c.secret.realm, c.secret.key),
      rev,
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
      // Its token route answers 410 AUTHORIZER_REVOKED until an `authorized` event replaces it.
      revoked: existing?.revoked ?? { at: e.createdAt, reason: 'unauthorized' },
    },
    (current) => freshState(realm, e.appid, rev, current),
    sideWrites(deps, c, 'authorizer.unauthorized', { realm, key: e.appid }, e.infoType),
  );
  await markDone(deps.store, realm, e);
}

function logFailure(realm: string, appid: string, err: unknown): void {
  log(
    'WARNING',
    `authorization code exchange failed: ${err instanceof Error ? err.message : 'unknown error'}`,
    {
      event: 'authorization_exchange',
      realm,
      key: appid,
      outcome: 'error',
      ...(err instanceof ProviderFailure && err.providerCode !== undefined
        ? { providerCode: err.providerCode }
        : {}),
    },
  );
}

/**
 * Applies a verified authorization event of component `c` (see the module comment). Anything
 * that is not one, or that names no valid authorizer, is 'ignored'.
 */
export async function handleAuthorizationEvent(
  deps: AuthorizationDeps,
  c: Component,
  fields: Record<string, string>,
  timestampMs: number,
): Promise<AuthorizationOutcome> {
  const e = eventOf(fields, timestampMs);
  if (e === null) return 'ignored';
  const realm = requireAuthorizerRealm(c.secret);
  const claimed = await claim(deps.store, realm, e);
  if (claimed !== 'go') return claimed;
  if (e.infoType === 'unauthorized') {
    await revoke(deps, c, realm, e);
    return 'revoked';
  }
  const code = e.code;
  if (code === undefined) return 'ignored';
  const work = exchange(deps, c, realm, e, code).then(
    (done) => ({ done }),
    (err: unknown) => ({ err }),
  );
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), deps.answerWithinMs);
  });
  const first = await Promise.race([work, late]);
  clearTimeout(timer);
  if (first !== 'late') {
    if ('done' in first) return first.done;
    logFailure(realm, e.appid, first.err);
    if (first.err instanceof ProviderFailure && !first.err.transient) return 'ignored';
  }
  await keepPending(deps.store, c, realm, e, code);
  // A late exchange goes on after the answer; when it succeeds, it clears the pending code (markDone).
  if (first === 'late') {
    void work.then((w) => {
      if ('err' in w) logFailure(realm, e.appid, w.err);
    });
  }
  return 'pending';
}

/**
 * Completes an authorizer's pending code (kept by an event whose exchange was late or failed
 * transiently) if it is still the newest event's and has not expired at `now` (store time).
 */
export async function finishPending(
  deps: AuthorizationDeps,
  c: Component,
  appid: string,
): Promise<'stored' | 'older' | 'expired' | 'none'> {
  const realm = requireAuthorizerRealm(c.secret);
  const { state, now } = await deps.store.readPushed(realm, appid);
  const code = state?.pendingCode;
  if (state === null || code === undefined || state.authorizationAt === undefined) return 'none';
  const e: AuthorizationEvent = {
    infoType: state.authorizationEvent ?? 'authorized',
    appid,
    createdAt: state.authorizationAt,
  };
  if (state.pendingCodeExpiresAt !== undefined && state.pendingCodeExpiresAt <= now) {
    await markDone(deps.store, realm, e);
    return 'expired';
  }
  return exchange(deps, c, realm, e, code);
}

/** Authorizers with a kept code listed on a component's document at most (the oldest go first). */
export const MAX_PENDING_AUTHORIZERS = 1_000;

/** The mutator adding an authorizer with a kept code to its component's document. */
export function addPending(realm: string, key: string, appid: string) {
  return (current: PushedState | null): { next?: PushedState; result: undefined } => {
    const list = current?.pendingAuthorizers ?? [];
    if (list.includes(appid)) return { result: undefined };
    const next = [...list, appid].slice(-MAX_PENDING_AUTHORIZERS);
    return { next: { ...(current ?? { realm, key }), pendingAuthorizers: next }, result: undefined };
  };
}
