/**
 * How long a platform's pushed ticket stays fresh and valid, by the realm it belongs to: WeChat Open
 * Platform components (pushed every 10 minutes, stale after 25, valid 12 hours) unless the realm is
 * a Feishu/Lark store app (feishu/freshness.ts). Used by /api/status (ticket-status.ts) and by the
 * token call, which asks the platform to push again once a ticket is stale (engine/pushed-fetcher.ts).
 */
import type { RealmConfig } from '../providers/realm-config';
import { FEISHU_TICKET_FRESHNESS } from './feishu/freshness';
import { isFeishuStore } from './feishu/realm';

export interface TicketWindows {
  staleAfterMs: number;
  validityMs: number;
}

export const WECHAT_TICKET_WINDOWS: TicketWindows = { staleAfterMs: 25 * 60_000, validityMs: 12 * 3_600_000 };

export function ticketWindowsOf(config: RealmConfig): TicketWindows {
  return isFeishuStore(config) ? FEISHU_TICKET_FRESHNESS : WECHAT_TICKET_WINDOWS;
}
