/**
 * Webhook events from token state changes: one `token.refresh_failed` when a failure episode begins
 * (the first failed round records lastError: no valid token left, or stale-if-error began) and one
 * `token.recovered` when a token write ends it (a success clears lastError). Requests in between
 * change nothing that starts or ends an episode, so however many there are, there is one event.
 * And one `quota.foreign_use` per day and secret that the hourly quota check finds foreign use on.
 * `credential.needs_reauthorization` is sent once when a secret's rotating value is given up (its
 * stored error becomes NEEDS_REAUTHORIZATION: engine/rotating-call.ts).
 * Payloads name the secret and the error (provider text is redacted before it is stored: see
 * providers/redact.ts), never a credential or a token.
 */
import { randomUUID } from 'node:crypto';
import type { TokenState } from '../../store/types';
import type { OutboxEntry } from '../ops-store';
import type { WebhookEventType } from './event-names';

// The list lives in a module of its own, which the console bundles too.
export { WEBHOOK_EVENTS, type WebhookEventType } from './event-names';

/** One outbox entry, due now (its first attempt is immediate). */
export function event(
  type: WebhookEventType,
  data: Record<string, string | number | boolean>,
  now: number,
): OutboxEntry {
  return { id: `evt_${randomUUID()}`, type, data, createdAt: now, nextAttemptAt: now, attempts: 0 };
}

/**
 * `credential.needs_reauthorization`: the change that gave a secret's rotating value up (its stored
 * error became NEEDS_REAUTHORIZATION, token/rotation.ts); once per episode, never a value.
 */
function reauthorizationEvents(before: TokenState | null, after: TokenState, now: number): OutboxEntry[] {
  const code = 'NEEDS_REAUTHORIZATION';
  if (after.lastError?.code !== code || before?.lastError?.code === code) return [];
  return [event('credential.needs_reauthorization', { realm: after.realm, key: after.key }, now)];
}

/** An authorizer's authorization began (or changed) or ended: written with the authorizer secret. */
export function authorizerEvent(
  type: 'authorizer.authorized' | 'authorizer.unauthorized',
  data: Record<string, string>,
  now: number,
): OutboxEntry {
  return event(type, data, now);
}

/** The events of one token state change (before → after), decided at store time `now`. */
export function tokenEvents(before: TokenState | null, after: TokenState | null, now: number): OutboxEntry[] {
  if (after === null) return [];
  return [
    ...episodeEvents(before, after, now),
    ...quotaEvents(before, after, now),
    ...reauthorizationEvents(before, after, now),
  ];
}

/**
 * `quota.foreign_use` when a quota check reports a day of foreign use (quota/check.ts sets
 * quotaCheck.foreignReported to that day: once per day and secret, whatever the hourly checks find).
 */
function quotaEvents(before: TokenState | null, after: TokenState, now: number): OutboxEntry[] {
  const check = after.quotaCheck;
  const day = check?.foreignReported;
  if (check === undefined || day === undefined || day === before?.quotaCheck?.foreignReported) return [];
  return [
    event(
      'quota.foreign_use',
      {
        realm: after.realm,
        key: after.key,
        day,
        ...(check.wechatUsed === undefined ? {} : { wechat_used: check.wechatUsed }),
        ...(check.brokerCalls === undefined ? {} : { broker_calls: check.brokerCalls }),
      },
      now,
    ),
  ];
}

/** A failure episode's first and last state change. */
function episodeEvents(before: TokenState | null, after: TokenState, now: number): OutboxEntry[] {
  const failing = before?.lastError !== undefined;
  const error = after.lastError;
  if (!failing && error !== undefined) {
    const valid = after.token !== undefined && (after.expiresAt ?? 0) > now;
    return [
      event(
        'token.refresh_failed',
        {
          realm: after.realm,
          key: after.key,
          code: error.code,
          message: error.message,
          permanent: error.permanent,
          serving_stale: valid,
          ...(error.providerCode === undefined ? {} : { provider_code: error.providerCode }),
          ...(error.httpStatus === undefined ? {} : { http_status: error.httpStatus }),
        },
        now,
      ),
    ];
  }
  if (failing && error === undefined && after.generation > (before?.generation ?? 0)) {
    return [event('token.recovered', { realm: after.realm, key: after.key }, now)];
  }
  return [];
}
