/**
 * What a verified, decrypted platform message does to a secret's pushed values (store/pushed.ts),
 * decided at the store's time in one atomic read-modify-write:
 * - a message whose timestamp is more than REPLAY_WINDOW_MS from the store's time is refused (replay);
 * - a message handled before (same ciphertext digest, kept for the window) changes nothing;
 * - a ticket (WeChat `component_verify_ticket`, WeCom `suite_ticket`, Feishu `app_ticket`) replaces
 *   the stored ticket only when its own time (CreateTime, WeCom's TimeStamp, Feishu's `ts`) is
 *   newer, so an older or repeated push never replaces a newer ticket; a new ticket ends a stale
 *   episode (staleSince: ops/webhooks/ticket-events.ts says so);
 * - other InfoTypes are acknowledged and change nothing here.
 * Nothing is written unless the ticket changes.
 */
import { createHash } from 'node:crypto';
import { PUSHED_VALUE_CODES } from '../errors';
import type { PushedMutator, PushedState, RecentMessage } from '../store/pushed';
import type { TokenMutator } from '../store/store';

/** Messages more than 5 minutes from the store's time are refused. */
export const REPLAY_WINDOW_MS = 5 * 60_000;
/** Digests kept for duplicate detection (a push every 10 minutes: a handful suffice). */
const MAX_RECENT = 20;

export type PushOutcome = 'stored' | 'duplicate' | 'older' | 'ignored' | 'replay';

export interface VerifiedMessage {
  /** The query's timestamp (ms): what the signature covered. */
  timestampMs: number;
  /** The Encrypt value: its digest identifies the message. */
  encrypt: string;
  /** The decrypted message's fields. */
  fields: Record<string, string>;
}

/** A message's identity: SHA-256 of its ciphertext (a retry of WeChat's carries the same one). */
export function messageId(encrypt: string): string {
  return createHash('sha256').update(encrypt, 'utf8').digest('hex').slice(0, 32);
}

/** The WXBizMsgCrypt field that carries the ticket, by the message's InfoType. */
export const TICKET_FIELDS: Readonly<Record<string, string>> = {
  component_verify_ticket: 'ComponentVerifyTicket',
  suite_ticket: 'SuiteTicket',
};

/**
 * When the platform made the message: CreateTime (WeChat) or TimeStamp (WeCom: seconds; DingTalk:
 * 13 digits, milliseconds).
 */
export function createTimeMs(fields: Record<string, string>, fallback: number): number {
  const text = fields.CreateTime ?? fields.TimeStamp;
  if (text !== undefined && /^\d{13}$/.test(text)) return Number(text);
  return text !== undefined && /^\d{1,12}$/.test(text) ? Number(text) * 1000 : fallback;
}

/** A WXBizMsgCrypt message (WeChat Open Platform, WeCom suites) as a ticket push. */
export function applyPush(realm: string, key: string, m: VerifiedMessage): PushedMutator<PushOutcome> {
  const field = TICKET_FIELDS[m.fields.InfoType ?? ''];
  const ticket = field === undefined ? undefined : m.fields[field];
  return applyTicketPush(realm, key, {
    id: messageId(m.encrypt),
    timestampMs: m.timestampMs,
    ticket,
    createdAtMs: createTimeMs(m.fields, m.timestampMs),
  });
}

/** A verified message of any platform's format, reduced to what the pushed values need. */
export interface TicketPush {
  /** The message's identity (a digest): a retry carries the same one. */
  id: string;
  /** The time the message says it was sent (ms), judged against the store's time. */
  timestampMs: number;
  /** The ticket it carries; undefined for other events (acknowledged, nothing stored). */
  ticket: string | undefined;
  /** The ticket's own time (ms): an older one never replaces a newer one. */
  createdAtMs: number;
}

/** The pushed-values decision shared by every platform's format (see the module comment). */
export function applyTicketPush(realm: string, key: string, m: TicketPush): PushedMutator<PushOutcome> {
  const { id } = m;
  return (current, now) => {
    if (Math.abs(now - m.timestampMs) > REPLAY_WINDOW_MS) return { result: 'replay' };
    const recent: RecentMessage[] = (current?.recent ?? []).filter((r) => now - r.at <= 2 * REPLAY_WINDOW_MS);
    if (recent.some((r) => r.id === id)) return { result: 'duplicate' };
    const ticket = m.ticket;
    if (ticket === undefined || ticket === '') return { result: 'ignored' };
    const createdAt = m.createdAtMs;
    if (current?.ticketCreatedAt !== undefined && current.ticketCreatedAt >= createdAt)
      return { result: 'older' };
    const { staleSince: _ended, ...kept } = current ?? { realm, key };
    const next: PushedState = {
      ...kept,
      ticket,
      ticketCreatedAt: createdAt,
      ticketArrivedAt: now,
      recent: [...recent, { id, at: now }].slice(-MAX_RECENT),
    };
    return { next, result: 'stored' };
  };
}

/**
 * After a new ticket is stored: a secret that is backing off only because it had no usable ticket
 * (its last error TICKET_MISSING or TICKET_STALE) may try again at once. Writes nothing otherwise.
 */
export const clearTicketBackoff: TokenMutator<boolean> = (current) => {
  if (current === null || current.backoffUntil === undefined) return { result: false };
  if (!PUSHED_VALUE_CODES.has(current.lastError?.code ?? '')) return { result: false };
  const { backoffUntil: _cleared, ...next } = current;
  return { next, result: true };
};
