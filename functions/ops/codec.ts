/**
 * The documents of functions/ops/ collections, the same in both stores. A webhook's signing secret
 * is sealed under the master key (store/seal.ts) with the document path as associated data; an
 * outbox entry and an audit record hold no secret value at all.
 */
import type { Sealer } from '../store/seal';
import type { SideWrite } from '../store/side-writes';
import type { AuditAction, AuditRecord } from './audit/record';
import { OUTBOX_COLLECTION, WEBHOOK_COLLECTION, type OutboxEntry, type WebhookRecord } from './ops-store';

type Doc = Record<string, unknown>;

/** A stamped time: a Firestore Timestamp (seconds and nanoseconds) or the memory store's epoch ms. */
export interface StampedTime {
  s: number;
  n: number;
}

export function stampOf(value: unknown): StampedTime {
  if (typeof value === 'number') return { s: Math.floor(value / 1000), n: (value % 1000) * 1e6 };
  const t = value as { seconds?: unknown; nanoseconds?: unknown } | undefined;
  return { s: Number(t?.seconds ?? 0), n: Number(t?.nanoseconds ?? 0) };
}

export function msOf(t: StampedTime): number {
  return t.s * 1000 + Math.floor(t.n / 1e6);
}

function isDetails(v: unknown): v is Record<string, string | number | boolean> {
  return (
    typeof v === 'object' &&
    v !== null &&
    Object.values(v).every((x) => ['string', 'number', 'boolean'].includes(typeof x))
  );
}

export function decodeAudit(d: Doc): AuditRecord {
  return {
    id: String(d.id),
    at: msOf(stampOf(d.at)),
    actor: String(d.actor),
    action: String(d.action) as AuditAction,
    target: String(d.target),
    requestId: String(d.requestId),
    outcome: 'ok',
    hashes: Array.isArray(d.hashes) ? d.hashes.map(String) : [],
    ...(isDetails(d.details) ? { details: d.details } : {}),
  };
}

function webhookPath(id: string): string {
  return `${WEBHOOK_COLLECTION}/${id}`;
}

export function encodeWebhook(w: WebhookRecord, sealer: Sealer): Doc {
  return {
    id: w.id,
    url: w.url,
    events: w.events,
    comment: w.comment,
    secret: sealer.seal(w.secret, webhookPath(w.id)),
    createdAt: w.createdAt,
  };
}

export function decodeWebhook(d: Doc, sealer: Sealer): WebhookRecord {
  const id = String(d.id);
  return {
    id,
    url: String(d.url),
    events: Array.isArray(d.events) ? d.events.map(String) : [],
    comment: typeof d.comment === 'string' ? d.comment : '',
    secret: sealer.open(String(d.secret), webhookPath(id)),
    createdAt: Number(d.createdAt),
  };
}

export function encodeOutbox(e: OutboxEntry): Doc {
  return {
    id: e.id,
    type: e.type,
    data: e.data,
    createdAt: e.createdAt,
    nextAttemptAt: e.nextAttemptAt,
    attempts: e.attempts,
    ...(e.targets === undefined ? {} : { targets: e.targets }),
    ...(e.leaseUntil === undefined ? {} : { leaseUntil: e.leaseUntil }),
  };
}

export function decodeOutbox(d: Doc): OutboxEntry {
  const data: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries((d.data ?? {}) as Doc)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') data[k] = v;
  }
  return {
    id: String(d.id),
    type: String(d.type),
    data,
    createdAt: Number(d.createdAt),
    nextAttemptAt: Number(d.nextAttemptAt),
    attempts: Number(d.attempts ?? 0),
    ...(Array.isArray(d.targets) ? { targets: d.targets.map(String) } : {}),
    ...(typeof d.leaseUntil === 'number' ? { leaseUntil: d.leaseUntil } : {}),
  };
}

/** An outbox entry as a side write (the token state change's commit creates it). */
export function outboxWrite(entry: OutboxEntry): SideWrite {
  return { collection: OUTBOX_COLLECTION, id: entry.id, doc: encodeOutbox(entry) };
}
