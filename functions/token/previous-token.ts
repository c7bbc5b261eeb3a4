/**
 * The token a write replaced, remembered as a SHA-256 digest (never the token itself) with the end
 * of its life by what the store knows. The ticket compat routes (http/routes/compat.ts) accept the
 * ticket parent's current token or this one until then: an SDK asks for the ticket with the access
 * token it just got, which may be the one the broker replaced a moment ago (it is still served from
 * the edge cache and still works at the provider until its overlap ends).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { PreviousToken, TokenState } from './types';
import { liveUntil } from './phase';

/** SHA-256 (hex) of a token: what is stored and compared, never the token. */
export function tokenDigest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * What a token write at store time `now` leaves as the previous token: the stored token when the
 * write replaces it with another and it is still alive (until its liveUntil), the earlier memory
 * when the provider handed the same token back, else nothing.
 */
export function previousTokenAfter(
  current: TokenState,
  written: string,
  now: number,
): PreviousToken | undefined {
  if (current.token === written) return current.previousToken;
  if (current.token === undefined) return undefined;
  const until = liveUntil(current);
  return until > now ? { digest: tokenDigest(current.token), until } : undefined;
}

/** Whether `given` is the state's current token (while usable) or its previous one (until its end). */
export function isCurrentOrPrevious(state: TokenState, given: string, now: number): boolean {
  const digest = Buffer.from(tokenDigest(given), 'hex');
  const matches = (stored: string): boolean => timingSafeEqual(Buffer.from(stored, 'hex'), digest);
  const current = state.token !== undefined && liveUntil(state) > now && matches(tokenDigest(state.token));
  const previous =
    state.previousToken !== undefined &&
    state.previousToken.until > now &&
    matches(state.previousToken.digest);
  return current || previous;
}
