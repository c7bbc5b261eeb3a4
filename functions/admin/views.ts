/**
 * How stored records appear in admin responses. Credential values are masked, never whole, and
 * client key hashes never appear: every route answers through these views, so none can forget.
 */
import { callsToday } from '../token/decide';
import { leaseActive, statusState, summaryUsable, type TokenStatusState } from '../token/phase';
import { KEY_NAMES } from '../providers/template';
import { dueAtOf, NEVER_DUE } from '../token/due-time';
import { ipAllowlistFix } from '../providers/ip-allowlist';
import { wechatDay } from '../token/quota-day-count';
import type {
  ClientRecord,
  ClientScope,
  JsonObject,
  RealmRecord,
  SecretRecord,
  TokenSummary,
} from '../store/types';

export const MASK = '****';

/** The shortest value whose first characters are shown; shorter ones are all mask. */
export const MIN_REVEAL_LENGTH = 8;
const REVEALED = 4;

/**
 * The first 4 characters, then `****`. A value shorter than 8 characters is shown as `****` only,
 * so that at most half of any value is ever revealed. Characters are counted as code points, so a
 * mask never splits a surrogate pair.
 */
export function maskValue(value: string): string {
  const chars = Array.from(value);
  if (chars.length < MIN_REVEAL_LENGTH) return MASK;
  return chars.slice(0, REVEALED).join('') + MASK;
}

export interface SecretView {
  realm: string;
  key: string;
  /** key_1 .. key_9, each masked; absent when the secret has no such value. */
  [name: `key_${number}`]: string;
  /** "REALM/KEY" of the parent whose token the realm references as $token. */
  parent?: string;
  /** A fixed-token realm's secret: the token, masked, and its lifetime in seconds when it has one. */
  token?: string;
  /** The rotating value the secret was saved with, masked (README "Rotating values (refresh tokens)"). */
  refresh_token?: string;
  expires_in?: number;
  /** A platform secret's realm of tenants (README's platform sections). */
  authorizer_realm?: string;
  created_at: string;
  updated_at: string;
  /** A tombstone: when and why the platform ended this customer (store/types.ts SecretRecord.revoked). */
  revoked?: { at: string; reason: string };
}

/** A secret as the admin API shows it: every key_N masked. */
export function secretView(secret: SecretRecord): SecretView {
  const masked: Record<string, string> = {};
  for (const name of KEY_NAMES) {
    const value = secret.values[name];
    if (value !== undefined) masked[name] = maskValue(value);
  }
  // A fixed-token realm's secret: its token masked like a credential, its lifetime as it was given.
  const {
    token,
    expires_in: expiresIn,
    refresh_token: refreshToken,
    authorizer_realm: authorizerRealm,
  } = secret.values;
  return {
    realm: secret.realm,
    key: secret.key,
    ...masked,
    ...(secret.parent === undefined ? {} : { parent: secret.parent }),
    ...(token === undefined ? {} : { token: maskValue(token) }),
    ...(refreshToken === undefined ? {} : { refresh_token: maskValue(refreshToken) }),
    ...(authorizerRealm === undefined ? {} : { authorizer_realm: authorizerRealm }),
    ...(expiresIn === undefined ? {} : { expires_in: Number(expiresIn) }),
    created_at: new Date(secret.createdAt).toISOString(),
    updated_at: new Date(secret.updatedAt).toISOString(),
    ...(secret.revoked === undefined
      ? {}
      : { revoked: { at: new Date(secret.revoked.at).toISOString(), reason: secret.revoked.reason } }),
  };
}

export interface RealmView {
  id: string;
  comment: string;
  /** Absent for the other two kinds: a logic_code realm has logic_code, a fixed-token realm neither. */
  config?: JsonObject;
  logic_code?: string;
  created_at: string;
  updated_at: string;
}

export function realmView(realm: RealmRecord): RealmView {
  return {
    id: realm.id,
    comment: realm.comment,
    ...(realm.config === undefined ? {} : { config: realm.config }),
    ...(realm.logicCode === undefined ? {} : { logic_code: realm.logicCode }),
    created_at: new Date(realm.createdAt).toISOString(),
    updated_at: new Date(realm.updatedAt).toISOString(),
  };
}

export interface ClientView {
  id: string;
  name: string;
  scopes: ClientScope[];
  created_at: string;
}

/** A client without its key hash. */
export function clientView(client: ClientRecord): ClientView {
  return {
    id: client.id,
    name: client.name,
    scopes: client.scopes.map((s) => ({ realm: s.realm, key: s.key })),
    created_at: new Date(client.createdAt).toISOString(),
  };
}

export interface StatusEntry {
  realm: string;
  key: string;
  state: TokenStatusState;
  has_token: boolean;
  generation: number;
  expires_at: string | null;
  refresh_at: string | null;
  /** When the scheduled refresh looks at it next (null: never on its own, e.g. a wrong secret). */
  due_at: string | null;
  last_refresh_at: string | null;
  last_error: {
    at: string;
    code: string;
    message: string;
    http_status?: number;
    provider_code?: string;
    provider_message?: string;
    permanent: boolean;
    /** An IP allow-list error: the refused IP parsed from the message, and what to do. */
    caller_ip?: string;
    fix?: string;
  } | null;
  blocked_until: string | null;
  /** After failed transient rounds: no provider call before this time. */
  backoff_until: string | null;
  refreshing: boolean;
  calls_today: number;
  /** WeChat counted more token fetches today (UTC+8) than the broker made (quota/check.ts). */
  foreign_use?: { wechat_used: number; broker_calls: number; day: string };
  // Budget counters (flushes and invalid_token reports against their half of the daily budget):
  // rendered here, beside calls_today, once the engine stores them.
}

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());
const future = (ms: number | undefined, now: number): string | null =>
  ms !== undefined && ms > now ? iso(ms) : null;

/** A token state as /api/status shows it: never the token itself. */
export function toStatus(s: TokenSummary & { backoffUntil?: number }, now: number): StatusEntry {
  const dueAt = dueAtOf(s);
  return {
    realm: s.realm,
    key: s.key,
    state: statusState(s, now),
    has_token: summaryUsable(s, now),
    generation: s.generation,
    expires_at: iso(s.expiresAt),
    refresh_at: iso(s.refreshAt),
    due_at: dueAt >= NEVER_DUE ? null : iso(dueAt),
    last_refresh_at: iso(s.lastRefreshAt),
    last_error:
      s.lastError === undefined
        ? null
        : {
            at: new Date(s.lastError.at).toISOString(),
            code: s.lastError.code,
            message: s.lastError.message,
            ...(s.lastError.httpStatus === undefined ? {} : { http_status: s.lastError.httpStatus }),
            ...(s.lastError.providerCode === undefined ? {} : { provider_code: s.lastError.providerCode }),
            ...(s.lastError.providerMessage === undefined
              ? {}
              : { provider_message: s.lastError.providerMessage }),
            permanent: s.lastError.permanent,
            ...ipAllowlistFix(s.lastError.providerCode, s.lastError.providerMessage),
          },
    blocked_until: future(s.blockedUntil, now),
    backoff_until: future(s.backoffUntil, now),
    refreshing: leaseActive(s, now),
    calls_today: callsToday(s, now),
    ...foreignUse(s, now),
  };
}

/** The quota check's finding, while it is of WeChat's current day. */
function foreignUse(s: TokenSummary, now: number): Pick<StatusEntry, 'foreign_use'> {
  const q = s.quotaCheck;
  if (q?.foreign !== true || q.day !== wechatDay(now)) return {};
  return { foreign_use: { wechat_used: q.wechatUsed ?? 0, broker_calls: q.brokerCalls ?? 0, day: q.day } };
}
