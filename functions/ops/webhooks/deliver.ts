/**
 * Webhook delivery from the outbox: at least once, the same event id on every attempt, signed anew
 * each time (`Token-Server-Signature: t=<unix s>,v1=<hex HMAC-SHA256(secret, t + "." + body)>`, the
 * scheme Stripe uses). An entry is taken by one instance at a time (a lease in the entry), sent to
 * each webhook still owed it, and then deleted, or kept with the webhooks still owed and a later
 * time: backoff from 30 s (TOKEN_SERVER_WEBHOOK_RETRY_MIN_MS) doubling to 1 h, for 24 h after the
 * change, then given up (logged).
 * Delivery is tried by the instance that made the change right after its commit, and every
 * scheduled refresh run and POST /api/refresh sweep what is due (an instance killed before it
 * delivered leaves the entry due: the next sweep sends it).
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { createHmac } from 'node:crypto';
import type { Clock, Random } from '../../clock';
import { log } from '../../log';
import { assertUpstreamAllowed, pinnedLookup } from '../../providers/url-guard';
import type { OpsStore, OutboxEntry, WebhookRecord } from '../ops-store';

export const SIGNATURE_HEADER = 'Token-Server-Signature';
/** One POST may take this long (connect to answer). */
export const DELIVERY_TIMEOUT_MS = 10_000;
/**
 * An instance holds an entry this long while it delivers it (longer than one round of POSTs). The
 * default; TOKEN_SERVER_WEBHOOK_LEASE_MS sets another (DeliveryDeps.leaseMs).
 */
export const DELIVERY_LEASE_MS = 15_000;
/** The first retry's backoff; TOKEN_SERVER_WEBHOOK_RETRY_MIN_MS sets another (DeliveryDeps.retryMinMs). */
export const RETRY_MIN_MS = 30_000;
export const RETRY_MAX_MS = 60 * 60_000;
export const GIVE_UP_AFTER_MS = 24 * 60 * 60_000;
/** Entries one sweep looks at. */
export const SWEEP_LIMIT = 100;

export interface DeliveryDeps {
  ops: OpsStore;
  clock: Clock;
  random: Random;
  allowPrivate: boolean;
  /** The first retry's backoff (default RETRY_MIN_MS). */
  retryMinMs?: number;
  /** The delivery lease (default DELIVERY_LEASE_MS). */
  leaseMs?: number;
}

/** The signature header's value for one attempt. */
export function signatureOf(secret: string, body: string, unixSeconds: number): string {
  const v1 = createHmac('sha256', secret).update(`${unixSeconds}.${body}`, 'utf8').digest('hex');
  return `t=${unixSeconds},v1=${v1}`;
}

/** The delivered JSON (the same bytes for every webhook of one attempt). */
export function payloadOf(entry: OutboxEntry): string {
  return JSON.stringify({
    id: entry.id,
    type: entry.type,
    created_at: new Date(entry.createdAt).toISOString(),
    data: entry.data,
  });
}

/** One POST; resolves true on a 2xx answer, false on anything else (never throws). */
async function post(url: string, body: string, signature: string, allowPrivate: boolean): Promise<boolean> {
  try {
    const target = await assertUpstreamAllowed(url, { allowPrivate });
    const client = target.url.protocol === 'https:' ? https : http;
    return await new Promise<boolean>((resolve) => {
      const req = client.request(
        target.url,
        {
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            'Content-Length': Buffer.byteLength(body),
            'User-Agent': 'token-server-webhooks',
            [SIGNATURE_HEADER]: signature,
          },
          timeout: DELIVERY_TIMEOUT_MS,
          ...(target.address === undefined
            ? {}
            : { lookup: pinnedLookup(target.address, target.family ?? 4) }),
        },
        (res) => {
          res.resume();
          const status = res.statusCode ?? 0;
          res.on('end', () => resolve(status >= 200 && status < 300));
          res.on('error', () => resolve(false));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => resolve(false));
      req.end(body);
    });
  } catch {
    return false;
  }
}

function retryDelayMs(attempts: number, random: Random, retryMinMs: number): number {
  const base = Math.min(RETRY_MAX_MS, retryMinMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(base * (0.5 + random() / 2));
}

/** Delivers one outbox entry if this instance can take it; the outcome, for counts and logs. */
export async function deliverEntry(
  deps: DeliveryDeps,
  id: string,
  webhooks?: WebhookRecord[],
): Promise<'delivered' | 'retry' | 'given_up' | 'busy'> {
  const claimed = await deps.ops.claimOutbox(id, deps.leaseMs ?? DELIVERY_LEASE_MS);
  if (claimed === null) return 'busy';
  const { entry, now } = claimed;
  const all = webhooks ?? (await allWebhooks(deps.ops));
  const byId = new Map(all.map((w) => [w.id, w]));
  // Owed to the webhooks subscribed when the change was made (chosen at the first attempt).
  const owed = (
    entry.targets ??
    all.filter((w) => w.events.includes(entry.type) && w.createdAt <= entry.createdAt).map((w) => w.id)
  ).filter((target) => byId.has(target));
  const body = payloadOf(entry);
  const t = Math.floor(deps.clock.now() / 1000);
  const results = await Promise.all(
    owed.map(async (target) => {
      const w = byId.get(target) as WebhookRecord;
      return (await post(w.url, body, signatureOf(w.secret, body, t), deps.allowPrivate))
        ? undefined
        : target;
    }),
  );
  const left = results.filter((r): r is string => r !== undefined);
  const fields = {
    event: 'webhook_delivery',
    eventId: entry.id,
    type: entry.type,
    attempts: entry.attempts + 1,
  };
  if (left.length === 0) {
    await deps.ops.settleOutbox(id, { done: true });
    if (owed.length > 0)
      log('INFO', `webhook event ${entry.id} delivered`, { ...fields, outcome: 'delivered' });
    return 'delivered';
  }
  if (now - entry.createdAt >= GIVE_UP_AFTER_MS) {
    await deps.ops.settleOutbox(id, { done: true });
    log('ERROR', `webhook event ${entry.id} given up after 24 h`, {
      ...fields,
      outcome: 'given_up',
      webhooks: left.join(','),
    });
    return 'given_up';
  }
  const attempts = entry.attempts + 1;
  await deps.ops.settleOutbox(id, {
    done: false,
    targets: left,
    attempts,
    nextAttemptAt: now + retryDelayMs(attempts, deps.random, deps.retryMinMs ?? RETRY_MIN_MS),
  });
  log('WARNING', `webhook event ${entry.id} not delivered: retried later`, {
    ...fields,
    outcome: 'retry',
    webhooks: left.join(','),
  });
  return 'retry';
}

/** Every webhook (they are few: MAX_WEBHOOKS). */
export async function allWebhooks(ops: OpsStore): Promise<WebhookRecord[]> {
  return (await ops.listWebhooks({ limit: 1_000 })).list;
}

export interface SweepSummary {
  delivered: number;
  retried: number;
}

/** Delivers what is due (the scheduled run and POST /api/refresh). */
export async function sweepOutbox(deps: DeliveryDeps, limit = SWEEP_LIMIT): Promise<SweepSummary> {
  const due = await deps.ops.dueOutbox(limit);
  const summary: SweepSummary = { delivered: 0, retried: 0 };
  if (due.length === 0) return summary;
  const webhooks = await allWebhooks(deps.ops);
  for (const id of due) {
    const outcome = await deliverEntry(deps, id, webhooks);
    if (outcome === 'delivered') summary.delivered++;
    else if (outcome === 'retry') summary.retried++;
  }
  return summary;
}
