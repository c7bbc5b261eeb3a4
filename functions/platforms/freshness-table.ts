/**
 * Ticket freshness, one row per platform whose token needs a pushed ticket (README "Pushed tickets"): how
 * often the platform pushes, how long a ticket is valid, when the broker calls it stale (2.5 push
 * intervals without a push), and how to ask for a push again: `ask` names the platform call
 * (platforms/start-push.ts sends WeChat's; platforms/ticket-freshness.ts is the scheduled scan that uses these rows), and a row without one can only report a stale ticket.
 *
 * A realm is matched to its row by its token URL's path (the preset's path, whatever the host: a
 * realm pointed at a proxy or a test double keeps it); a realm that matches no row gets the WeChat
 * component's row, the first platform built.
 */
import type { RealmConfig } from '../providers/realm-config';
import { FEISHU_TICKET_FRESHNESS } from './feishu/freshness';

export interface TicketFreshness {
  /** The preset of the platform secret that receives the pushes. */
  preset: string;
  /** The token URL's path that identifies the preset's realms. */
  tokenPath: string;
  pushIntervalMs: number;
  validityMs: number;
  /** No push for this long: `stale` (2.5 push intervals). */
  staleAfterMs: number;
  /** The call that makes the platform push again; absent: none exists, a stale ticket is reported only. */
  ask?: 'api_start_push_ticket' | 'app_ticket/resend';
}

const MINUTE = 60_000;

export const TICKET_FRESHNESS: readonly TicketFreshness[] = [
  {
    preset: 'wechat_component',
    tokenPath: '/cgi-bin/component/api_component_token',
    pushIntervalMs: 10 * MINUTE,
    validityMs: 12 * 60 * MINUTE,
    staleAfterMs: 25 * MINUTE,
    ask: 'api_start_push_ticket',
  },
  {
    preset: 'wecom_suite',
    tokenPath: '/cgi-bin/service/get_suite_token',
    pushIntervalMs: 10 * MINUTE,
    validityMs: 30 * MINUTE,
    staleAfterMs: 25 * MINUTE,
  },
  {
    // Interval and validity unverified: taken as WeCom's (README "DingTalk ISV apps").
    preset: 'dingtalk_isv_suite',
    tokenPath: '/service/get_suite_token',
    pushIntervalMs: 10 * MINUTE,
    validityMs: 30 * MINUTE,
    staleAfterMs: 25 * MINUTE,
  },
  { ...FEISHU_TICKET_FRESHNESS, tokenPath: '/open-apis/auth/v3/app_access_token' },
];

/** The row of a realm (by its token URL's path); the WeChat component's when none matches. */
export function freshnessOf(config: Pick<RealmConfig, 'url'>): TicketFreshness {
  let path: string;
  try {
    path = new URL(config.url).pathname;
  } catch {
    path = '';
  }
  const row = TICKET_FRESHNESS.find((r) => r.tokenPath === path) ?? TICKET_FRESHNESS[0];
  if (row === undefined) throw new Error('TICKET_FRESHNESS is empty');
  return row;
}
