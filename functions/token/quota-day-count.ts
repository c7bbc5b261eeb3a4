/**
 * The broker's own count of provider attempts on WeChat's quota day (UTC+8), kept in the token
 * state beside the UTC-day budget counters and counted in the same compare-and-set, before the
 * attempt is sent (token/budget.ts countAttempt). quota/check.ts compares it with what WeChat's
 * quota/get says was used that day.
 *
 * A state written before this counter existed has no `quotaCalls`: the calls made earlier that day
 * are unknown, so that day's count is marked partial (`quotaDay` "YYYY-MM-DD+partial") and is never
 * compared; the next day starts exact.
 */
import type { TokenState } from './types';

export type QuotaCounters = Pick<TokenState, 'quotaDay' | 'quotaCalls'>;

const UTC8_MS = 8 * 3_600_000;
const PARTIAL = '+partial';

/** WeChat's day (YYYY-MM-DD in UTC+8) of a store time. */
export function wechatDay(now: number): string {
  return new Date(now + UTC8_MS).toISOString().slice(0, 10);
}

/** The broker's exact count of attempts on WeChat's day of `now`, or undefined when it is partial. */
export function quotaCallsOn(state: QuotaCounters | null, now: number): number | undefined {
  const day = wechatDay(now);
  if (state?.quotaDay === day) return state.quotaCalls ?? 0;
  if (state?.quotaDay === `${day}${PARTIAL}`) return undefined;
  // No attempt yet today: exact (0) when counting was on, else unknown.
  return state === null || state.quotaCalls !== undefined ? 0 : undefined;
}

/** The counters after one more attempt at `now`. */
export function countQuotaAttempt(state: QuotaCounters | null, now: number): Required<QuotaCounters> {
  const day = wechatDay(now);
  const sameDay = state?.quotaDay === day || state?.quotaDay === `${day}${PARTIAL}`;
  const known = state === null || state.quotaCalls !== undefined;
  return {
    quotaDay: sameDay ? (state?.quotaDay ?? day) : known ? day : `${day}${PARTIAL}`,
    quotaCalls: (sameDay ? (state?.quotaCalls ?? 0) : 0) + 1,
  };
}

/**
 * What a fresh state (new or replaced credentials) keeps, so that the count goes on across a
 * replacement: new credentials start counting (0); a state from before the counter keeps none.
 */
export function keptQuotaCounters(current: QuotaCounters | null): QuotaCounters {
  if (current === null) return { quotaCalls: 0 };
  return {
    ...(current.quotaCalls === undefined ? {} : { quotaCalls: current.quotaCalls }),
    ...(current.quotaDay === undefined ? {} : { quotaDay: current.quotaDay }),
  };
}
