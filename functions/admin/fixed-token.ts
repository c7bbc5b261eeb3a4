/**
 * The secret of a fixed-token realm (a realm with neither `config` nor `logic_code`) as it is saved:
 * the token itself (`token`, optional `expires_in` in seconds), sealed with the secret's values,
 * and the token state written with it (fixedTokenState), so that a token request is served by the
 * engine's ordinary hit path. The engine answers the few requests that miss that path from the
 * same state (engine/fixed-token.ts, fixedTokenAnswer).
 */
import type { SecretRecord, TokenState, TokenSummary } from '../store/types';
import { freshState } from '../token/decide';
import { NEVER_EXPIRES_AT } from '../engine/served';

/** A token without expires_in is served for one day at a time, so that apps re-ask daily (README "Realms"). */
export const FIXED_TOKEN_SERVE_MS = 86_400_000;

/** Where a fixed token and its lifetime are kept among the secret's sealed values. */
export const TOKEN_VALUE = 'token';
export const EXPIRES_IN_VALUE = 'expires_in';

function expiryOf(secret: SecretRecord): number {
  const seconds = secret.values[EXPIRES_IN_VALUE];
  return seconds === undefined ? NEVER_EXPIRES_AT : secret.updatedAt + Number(seconds) * 1000;
}

/**
 * The token state of a fixed-token secret just saved: its token, "fetched" when it was saved,
 * expiring after expires_in (or never), never due for a refresh. A token without expires_in gets
 * FIXED_TOKEN_SERVE_MS as its serving cap (overlapMs), and each answer says exactly one day
 * (engine/served.ts, fixedLifetimeMs).
 */
export function fixedTokenState(secret: SecretRecord, current: TokenSummary | null): TokenState {
  const token = secret.values[TOKEN_VALUE];
  const base = freshState(secret.realm, secret.key, secret.rev, current);
  if (token === undefined) return base;
  return {
    ...base,
    token,
    fetchedAt: secret.updatedAt,
    expiresAt: expiryOf(secret),
    ...(secret.values[EXPIRES_IN_VALUE] === undefined ? { overlapMs: FIXED_TOKEN_SERVE_MS } : {}),
  };
}
