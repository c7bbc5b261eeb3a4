/**
 * The daily upstream-call budget of one secret, counted in its token state (so once across all
 * instances) by the store's UTC day. Every provider attempt, retries included, is counted before it
 * is sent. Flushes and invalid_token reports together may use at most half of it (rounded down), so
 * that no client, however it loops, can spend what due-time refreshes need.
 */
import { countQuotaAttempt } from './quota-day-count';
import type { TokenState } from './types';

export type Counters = Pick<
  TokenState,
  'callsDay' | 'callsToday' | 'flushCallsToday' | 'quotaDay' | 'quotaCalls'
>;

/** The UTC day (YYYY-MM-DD) of a store time. */
export function utcDay(now: number): string {
  return new Date(now).toISOString().slice(0, 10);
}

/** Provider attempts counted on the store's day of `now` (0 once that day is over). */
export function callsToday(state: Counters | null, now: number): number {
  return state?.callsDay === utcDay(now) ? (state.callsToday ?? 0) : 0;
}

/** Of those, the attempts made for flushes and invalid_token reports. */
export function flushCallsToday(state: Counters | null, now: number): number {
  return state?.callsDay === utcDay(now) ? (state.flushCallsToday ?? 0) : 0;
}

/** How many attempts flushes and invalid_token reports may make a day: half the budget, rounded down. */
export function flushShare(dailyBudget: number): number {
  return Math.floor(dailyBudget / 2);
}

export type BudgetCheck = 'ok' | 'budget_used' | 'flush_share_used';

/** May one more attempt be made now (a flush's attempt also needs room in the flush share)? */
export function budgetCheck(
  state: Counters | null,
  now: number,
  dailyBudget: number,
  flush: boolean,
): BudgetCheck {
  if (callsToday(state, now) >= dailyBudget) return 'budget_used';
  if (flush && flushCallsToday(state, now) >= flushShare(dailyBudget)) return 'flush_share_used';
  return 'ok';
}

/** The counters after one more attempt at `now`. */
export function countAttempt(state: Counters | null, now: number, flush: boolean): Required<Counters> {
  return {
    callsDay: utcDay(now),
    callsToday: callsToday(state, now) + 1,
    flushCallsToday: flushCallsToday(state, now) + (flush ? 1 : 0),
    // The same attempt on WeChat's quota day, for the quota check (token/quota-day-count.ts).
    ...countQuotaAttempt(state, now),
  };
}

/** Seconds until the store's next UTC day (the Retry-After of a used-up budget). */
export function secondsToNextDay(now: number): number {
  const tomorrow = Date.parse(`${utcDay(now)}T00:00:00.000Z`) + 86_400_000;
  return Math.max(1, Math.ceil((tomorrow - now) / 1000));
}
