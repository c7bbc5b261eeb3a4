/**
 * What a verified Feishu/Lark event does (README "Feishu/Lark store apps"), called by the event route
 * (http/routes/events.ts) for realms of Feishu store apps:
 * - `url_verification` (the developer console saving the request URL): answered `{"challenge"}` once
 *   the verification token matched (encrypted challenges too); nothing stored;
 * - `app_ticket`: stored as the app secret's pushed ticket (platforms/pushed-messages.ts: an older
 *   ticket never replaces a newer one, a retry of the same event changes nothing);
 * - `app_open` (a company installed the app): its tenant secret is created in the app's
 *   authorizer realm; `app_uninstalled`: the tenant becomes a tombstone, 410 (./tenants.ts);
 * - anything else: acknowledged, logged by type only.
 * Every event must carry its time; one more than 5 minutes from the store's time is refused
 * (FeishuRejected('replay')), judged in the same store read that would store the ticket.
 */
import { createHash } from 'node:crypto';
import { log } from '../../log';
import type { Store } from '../../store/store';
import { applyTicketPush, clearTicketBackoff, REPLAY_WINDOW_MS, type PushOutcome } from '../pushed-messages';
import type { PushReceiver } from '../push-receivers';
import { FeishuRejected } from './crypto';
import { readFeishuMessage } from './message';
import { applyTenantEvent, type TenantOutcome } from './tenants';

/** Instances' clocks may be off the store's by this much: past it, a replay is refused unread. */
const LOCAL_CLOCK_MARGIN_MS = 60_000;

export interface FeishuEventDeps {
  store: Store;
  /** The instance's clock (a first filter only; the store's time decides). */
  now: () => number;
  requestId: string | undefined;
}

export interface FeishuEventTarget {
  realm: string;
  key: string;
  receiver: PushReceiver;
}

/** The JSON body to answer with (Feishu needs HTTP 200 within 3 s; the body is read for challenges only). */
export type FeishuAnswer = { challenge: string } | Record<string, never>;

export async function handleFeishuEvent(
  deps: FeishuEventDeps,
  target: FeishuEventTarget,
  raw: string,
  headers: Record<string, string | string[] | undefined>,
): Promise<FeishuAnswer> {
  const { realm, key, receiver } = target;
  const message = readFeishuMessage(
    {
      appId: receiver.receiverId,
      verificationToken: receiver.token,
      encryptKey: receiver.encodingAesKey === '' ? undefined : receiver.encodingAesKey,
    },
    raw,
    headers,
  );
  if (message.kind === 'challenge') {
    log('INFO', 'event url_verification: answered', {
      event: 'event_received',
      realm,
      key,
      infoType: 'url_verification',
      requestId: deps.requestId,
    });
    return { challenge: message.challenge };
  }
  const { timeMs } = message;
  if (timeMs === undefined) throw new FeishuRejected('timestamp');
  if (Math.abs(deps.now() - timeMs) > REPLAY_WINDOW_MS + LOCAL_CLOCK_MARGIN_MS)
    throw new FeishuRejected('replay');
  const outcome: PushOutcome = await deps.store.mutatePushed(
    realm,
    key,
    applyTicketPush(realm, key, {
      id: createHash('sha256').update(`feishu:${message.id}`, 'utf8').digest('hex').slice(0, 32),
      timestampMs: timeMs,
      ticket: message.type === 'app_ticket' ? message.appTicket : undefined,
      createdAtMs: timeMs,
    }),
  );
  if (outcome === 'replay') throw new FeishuRejected('replay');
  if (outcome === 'stored') await deps.store.mutateTokenState(realm, key, clearTicketBackoff);
  let tenant: TenantOutcome | undefined;
  const kind = message.type;
  if (
    outcome !== 'duplicate' &&
    (kind === 'app_open' || kind === 'app_uninstalled') &&
    message.tenantKey !== undefined
  )
    tenant = await applyTenantEvent(
      deps.store,
      { realm, key },
      { kind, tenantKey: message.tenantKey, eventAt: timeMs },
    );
  log('INFO', `event ${message.type}: ${tenant ?? outcome}`, {
    event: 'event_received',
    realm,
    key,
    infoType: message.type,
    outcome: tenant ?? outcome,
    requestId: deps.requestId,
  });
  return {};
}
