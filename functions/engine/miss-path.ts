/**
 * What the engine needs only past a hit: a miss, a flush or report, a background refresh, a due
 * run. engine.ts loads this module (and through it the round, the rotating values' ladder, the
 * dependent and pushed-ticket fetchers, the platforms' follow-ups, the decision and its mutators) at
 * the first of them, or at the instance's first idle moment, never for a hit (README "Cold start").
 */
export { tokenConfigOf, warmConfigParser } from '../providers/logic-code';
export { loadUpstream } from '../providers/upstream-on-first-call';
export { watchChanges } from '../store/token-watch';
export { decide } from '../token/decide';
export { takeLease } from '../token/mutators';
export { dependentFetcher } from './dependent';
export { fixedTokenAnswer } from './fixed-token';
export { pushedFetcher, usesPushedTicket } from './pushed-fetcher';
export { DEFAULT_REFRESH_CONCURRENCY, REFRESH_ROUTE_BUDGET_MS, refreshDueTokens } from './refresh-due';
export { revokedError } from './revoked';
export { recoveryFor } from './rotation-recovery';
export { rotatingCall } from './rotating-call';
export { runRound } from './round';
