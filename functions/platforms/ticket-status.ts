/**
 * The freshness of a secret's pushed ticket, for /api/status rows: `missing` before the first push,
 * `expired` past its validity (WeChat: 12 hours), `stale` when no push has arrived for 25 minutes
 * (2.5 push intervals; Feishu store apps: 2.5 hours and 12 hours, feishu/freshness.ts), `ok` otherwise; `ticket_age_ms` counts from its arrival, in store time.
 * Only secrets of realms that reference `${ticket}` get these fields: one realm read per realm on
 * the page and one pushed-values read per such secret.
 */
import { usesPushedTicket } from '../engine/pushed-fetcher';
import { parseRealmConfig } from '../providers/realm-config';
import { ticketWindowsOf, WECHAT_TICKET_WINDOWS, type TicketWindows } from './ticket-windows';
import type { PushedState } from '../store/pushed';
import { secretDocId, type Store } from '../store/store';

export const TICKET_STALE_AFTER_MS = WECHAT_TICKET_WINDOWS.staleAfterMs;
export const TICKET_VALID_MS = WECHAT_TICKET_WINDOWS.validityMs;

export type TicketState = 'ok' | 'stale' | 'expired' | 'missing';

export interface TicketStatus {
  ticket_state: TicketState;
  ticket_age_ms: number | null;
}

export function ticketStatus(
  pushed: PushedState | null,
  now: number,
  windows: TicketWindows = WECHAT_TICKET_WINDOWS,
): TicketStatus {
  const arrived = pushed?.ticketArrivedAt;
  if (arrived === undefined) return { ticket_state: 'missing', ticket_age_ms: null };
  const age = Math.max(0, now - arrived);
  const state = age > windows.validityMs ? 'expired' : age > windows.staleAfterMs ? 'stale' : 'ok';
  return { ticket_state: state, ticket_age_ms: age };
}

/** Ticket fields of the rows whose realm takes pushes, by document id (realm:key). */
export async function ticketStatuses(
  store: Store,
  rows: ReadonlyArray<{ realm: string; key: string }>,
  now: number,
): Promise<Map<string, TicketStatus>> {
  const takes = new Map<string, TicketWindows | undefined>();
  for (const realm of new Set(rows.map((r) => r.realm))) {
    const record = await store.getRealm(realm);
    let windows: TicketWindows | undefined;
    try {
      const config = record?.config === undefined ? undefined : parseRealmConfig(record.config);
      if (config !== undefined && usesPushedTicket(config)) windows = ticketWindowsOf(config);
    } catch {
      windows = undefined;
    }
    takes.set(realm, windows);
  }
  const out = new Map<string, TicketStatus>();
  for (const row of rows) {
    const windows = takes.get(row.realm);
    if (windows === undefined) continue;
    const { state } = await store.readPushed(row.realm, row.key, { open: false });
    out.set(secretDocId(row.realm, row.key), ticketStatus(state, now, windows));
  }
  return out;
}
