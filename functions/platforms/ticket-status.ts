/**
 * The freshness of a secret's pushed ticket, for /api/status rows: `missing` before the first push,
 * `expired` past its validity (WeChat: 12 hours, WeCom: 30 minutes), `stale` when no push has arrived
 * for 2.5 push intervals (both: 25 minutes), `ok` otherwise: the platform's row of
 * platforms/freshness-table.ts; `ticket_age_ms` counts from its arrival, in store time.
 * Only secrets of realms that reference `${ticket}` get these fields: one realm read per realm on
 * the page and one pushed-values read per such secret.
 */
import { usesPushedTicket } from '../engine/pushed-fetcher';
import { parseRealmConfig } from '../providers/realm-config';
import type { PushedState } from '../store/pushed';
import { secretDocId, type Store } from '../store/store';
import { freshnessOf, type TicketFreshness } from './freshness-table';

export const TICKET_STALE_AFTER_MS = 25 * 60_000;
export const TICKET_VALID_MS = 12 * 3_600_000;

export type TicketState = 'ok' | 'stale' | 'expired' | 'missing';

export interface TicketStatus {
  ticket_state: TicketState;
  ticket_age_ms: number | null;
}

export function ticketStatus(
  pushed: PushedState | null,
  now: number,
  row: Pick<TicketFreshness, 'validityMs' | 'staleAfterMs'> = {
    validityMs: TICKET_VALID_MS,
    staleAfterMs: TICKET_STALE_AFTER_MS,
  },
): TicketStatus {
  const arrived = pushed?.ticketArrivedAt;
  if (arrived === undefined) return { ticket_state: 'missing', ticket_age_ms: null };
  const age = Math.max(0, now - arrived);
  const state = age > row.validityMs ? 'expired' : age > row.staleAfterMs ? 'stale' : 'ok';
  return { ticket_state: state, ticket_age_ms: age };
}

/** Ticket fields of the rows whose realm takes pushes, by document id (realm:key). */
export async function ticketStatuses(
  store: Store,
  rows: ReadonlyArray<{ realm: string; key: string }>,
  now: number,
): Promise<Map<string, TicketStatus>> {
  const takes = new Map<string, TicketFreshness | undefined>();
  for (const realm of new Set(rows.map((r) => r.realm))) {
    const record = await store.getRealm(realm);
    let uses: TicketFreshness | undefined;
    try {
      const config = record?.config === undefined ? undefined : parseRealmConfig(record.config);
      uses = config !== undefined && usesPushedTicket(config) ? freshnessOf(config) : undefined;
    } catch {
      uses = undefined;
    }
    takes.set(realm, uses);
  }
  const out = new Map<string, TicketStatus>();
  for (const row of rows) {
    const freshness = takes.get(row.realm);
    if (freshness === undefined) continue;
    const { state } = await store.readPushed(row.realm, row.key, { open: false });
    out.set(secretDocId(row.realm, row.key), ticketStatus(state, now, freshness));
  }
  return out;
}
