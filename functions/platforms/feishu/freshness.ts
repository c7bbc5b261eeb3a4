/**
 * Feishu/Lark store apps' row of the ticket-freshness table (README "Feishu/Lark store apps"): `app_ticket` is pushed
 * hourly; it is `stale` after 2.5 intervals without a push and counted valid for 12 hours
 * (unverified: Feishu documents the hourly push, not the ticket's lifetime; README "Feishu/Lark
 * store apps"); the platform is asked again with app_ticket/resend (./resend.ts).
 */
const HOUR_MS = 3_600_000;

export const FEISHU_TICKET_FRESHNESS = {
  preset: 'feishu_app_store',
  pushIntervalMs: HOUR_MS,
  validityMs: 12 * HOUR_MS,
  staleAfterMs: 2.5 * HOUR_MS,
  ask: 'app_ticket/resend' as const,
};
