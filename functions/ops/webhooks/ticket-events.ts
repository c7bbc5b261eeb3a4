/**
 * Webhook events from changes of a secret's pushed values (§11.2, §13.1): one `ticket.stale` when
 * the freshness scan begins a stale episode (it records `staleSince`: no ticket for 25 minutes, or
 * none at all 25 minutes after the secret was created) and one `ticket.recovered` when a pushed
 * ticket ends it (a stored ticket clears `staleSince`). Scans and pushes in between change nothing
 * that starts or ends an episode, so there is one event each. Payloads name the secret and the
 * ticket's age, never the ticket.
 */
import type { PushedState } from '../../store/pushed';
import type { OutboxEntry } from '../ops-store';
import { event } from './events';

/** The events of one pushed-values change (before → after), decided at store time `now`. */
export function ticketEvents(before: PushedState | null, after: PushedState, now: number): OutboxEntry[] {
  const wasStale = before?.staleSince !== undefined;
  const isStale = after.staleSince !== undefined;
  const { realm, key } = after;
  if (!wasStale && isStale) {
    const arrived = after.ticketArrivedAt;
    return [
      event(
        'ticket.stale',
        {
          realm,
          key,
          ticket_state: arrived === undefined ? 'missing' : 'stale',
          ...(arrived === undefined ? {} : { ticket_age_ms: Math.max(0, now - arrived) }),
        },
        now,
      ),
    ];
  }
  if (wasStale && !isStale) {
    return [
      event(
        'ticket.recovered',
        { realm, key, stale_ms: Math.max(0, now - (before?.staleSince ?? now)) },
        now,
      ),
    ];
  }
  return [];
}
