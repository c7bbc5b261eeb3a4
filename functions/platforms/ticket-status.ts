/**
 * The freshness of a secret's pushed ticket, for /api/status rows: `missing` before the first push,
 * `expired` past its validity (WeChat: 12 hours), `stale` when no push has arrived for 25 minutes
 * (2.5 push intervals), `ok` otherwise; `ticket_age_ms` counts from its arrival, in store time.
 * Only secrets of realms that reference `${ticket}` get these fields: one realm read per realm on
 * the page and one pushed-values read per such secret.
 */
import { usesPushedTicket } from '../engine/pushed-fetcher';
import { parseRealmConfig } from '../providers/realm-config';
import type { PushedState } from '../store/pushed';
import { secretDocId, type Store } from '../store/store';

export const TICKET_STALE_AFTER_MS = 25 * 60_000;
export const TICKET_VALID_MS = 12 * 3_600_000;

export type TicketState = 'ok' | 'stale' | 'expired' | 'missing';

export interface TicketStatus {
  ticket_state: TicketState;
  ticket_age_ms: number | null;
}

export function ticketStatus(pushed: PushedState | null, now: number): TicketStatus {
  const arrived = pushed?.ticketArrivedAt;
  if (arrived === undefined) return { ticket_state: 'missing', ticket_age_ms: null };
  const age = Math.max(0, now - arrived);
  const state = age > TICKET_VALID_MS ? 'expired' : age > TICKET_STALE_AFTER_MS ? 'stale' : 'ok';
  return { ticket_state: state, ticket_age_ms: age };
}

/** Ticket fields of the rows whose realm takes pushes, by document id (realm:key). */
export async function ticketStatuses(
  store: Store,
  rows: ReadonlyArray<{ realm: string; key: string }>,
  now: number,
): Promise<Map<string, TicketStatus>> {
  const takes = new Map<string, boolean>();
  for (const realm of new Set(rows.map((r) => r.realm))) {
    const record = await store.getRealm(realm);
    let uses: boolean;
    try {
      uses = record?.config !== undefined && usesPushedTicket(parseRealmConfig(record.config));
    } catch {
      uses = false;
    }
    takes.set(realm, uses);
  }
  const out = new Map<string, TicketStatus>();
  for (const row of rows) {
    if (takes.get(row.realm) !== true) continue;
    const { state } = await store.readPushed(row.realm, row.key, { open: false });
    out.set(secretDocId(row.realm, row.key), ticketStatus(state, now));
  }
  return out;
}
