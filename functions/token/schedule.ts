/**
 * When a token falls due for refresh. Tokens fetched at one instant must not fall due at one
 * instant, so the due time is spread uniformly over a window of 10% of the lifetime that ends a
 * minimum lead before expiry:
 *
 *   refreshAt = expiresAt − lead − U·spread,  lead = min(60 s, lifetime/2),  spread = lifetime/10
 *
 * For a 7,200 s token that is uniformly between 780 s and 60 s before expiry, so a secret under
 * steady traffic costs on average one upstream call per 6,780 s (12.7 a day against a floor of 12).
 */
export interface ScheduleOptions {
  /** Provider re-issues a new token only when less than this remains (Feishu: 30 min). */
  reissueWindowMs?: number;
}

export const MIN_LEAD_MS = 60_000;
export const SPREAD_FRACTION = 0.1;

export function refreshAtFor(
  fetchedAt: number,
  lifetimeMs: number,
  random: number,
  options: ScheduleOptions = {},
): number {
  const expiresAt = fetchedAt + lifetimeMs;
  const lead = Math.min(MIN_LEAD_MS, lifetimeMs / 2);
  const spread = lifetimeMs * SPREAD_FRACTION;
  let at = expiresAt - lead - Math.min(Math.max(random, 0), 1) * spread;
  if (options.reissueWindowMs !== undefined && options.reissueWindowMs > 0) {
    // Refreshing before the provider would re-issue only gets the same token back: wait until then.
    at = Math.max(at, Math.min(expiresAt - lead, expiresAt - options.reissueWindowMs + 1_000));
  }
  return Math.floor(Math.max(at, fetchedAt));
}

/**
 * The provider handed back the token already stored (same-token providers: WeCom, Feishu,
 * DingTalk, `stable_token`), with its remaining life. Recomputing the due time from that shrinking
 * remainder would make each answer fall due sooner than the last (a cascade of calls). Instead the
 * next attempt goes where a new token can come back:
 * - the start of the configured reissue window, when that is still ahead;
 * - else, the first time in this token's life (and unless this provider is known to hand a token
 *   back until its very end), as late as a background attempt can still finish while the token is
 *   served (`lateTryLeadMs` before its end): providers re-issue within a window before the end
 *   (Feishu 30 min, stable_token 5 min) that the realm need not know;
 * - else the end of the token's life (`reissueAt`: an attempt before it is not sent).
 * `answeredBy` is a store time no earlier than the provider's answer, so `answeredBy + remainingMs`
 * is no earlier than the real end.
 */
export function sameTokenDue(
  answeredBy: number,
  expiresAt: number,
  remainingMs: number,
  options: ScheduleOptions & { lateTryLeadMs?: number } = {},
): { refreshAt: number; reissueAt?: number } {
  const window = options.reissueWindowMs;
  if (window !== undefined && window > 0) {
    const windowStart = expiresAt - window + 1_000;
    if (windowStart > answeredBy + 1_000) return { refreshAt: windowStart };
  }
  if (options.lateTryLeadMs !== undefined) {
    const lateTry = expiresAt - options.lateTryLeadMs;
    if (lateTry > answeredBy + 1_000) return { refreshAt: lateTry };
  }
  const end = answeredBy + Math.max(0, remainingMs);
  return { refreshAt: end, reissueAt: end };
}
