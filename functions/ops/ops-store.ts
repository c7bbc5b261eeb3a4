/**
 * Where the audit log, the webhooks and the webhook outbox are kept: collections beside the main
 * store's (functions/store/), in the same database, so that their records can be written in the same
 * commit as the changes they describe (side writes). One interface, two implementations (Firestore
 * and memory: ops/firestore-ops.ts, ops/memory-ops.ts), chosen by the main store's kind.
 */
import type { SideWrite } from '../store/side-writes';
import type { Page, PageRequest } from '../store/types';
import type { AuditAction, AuditRecord } from './audit/record';

export const WEBHOOK_COLLECTION = 'webhooks';
export const OUTBOX_COLLECTION = 'webhookOutbox';
/** The audit HMAC key's one document (audit/audit-key.ts). */
export const AUDIT_KEY_COLLECTION = 'auditKey';
export const AUDIT_KEY_DOC = 'hmac';

/** An audit record's place in the log's order (newest first): commit time (s, ns), then id. */
export interface AuditPosition {
  s: number;
  n: number;
  id: string;
}

export interface AuditQuery extends PageRequest<AuditPosition> {
  action?: AuditAction;
  target?: string;
  /** Epoch ms: records committed at or after it. */
  since?: number;
  hash?: string;
}

export interface WebhookRecord {
  id: string;
  url: string;
  events: string[];
  comment: string;
  /** The signing secret (sealed at rest). */
  secret: string;
  createdAt: number;
}

/** A webhook event waiting to be delivered (at least once, the same id on every attempt). */
export interface OutboxEntry {
  id: string;
  type: string;
  data: Record<string, string | number | boolean>;
  /** Store time of the change that caused it (epoch ms). */
  createdAt: number;
  /** No attempt before this store time. */
  nextAttemptAt: number;
  attempts: number;
  /** Webhooks still to receive it; absent until the first attempt chooses them. */
  targets?: string[];
  /** An instance is delivering it until then (store time). */
  leaseUntil?: number;
}

/** After an attempt: delivered to every target (done), or what is left and when to try again. */
export type OutboxSettlement =
  { done: true } | { done: false; targets: string[]; attempts: number; nextAttemptAt: number };

export interface OpsStore {
  /** Newest first; filters combine. */
  listAudit(q: AuditQuery): Promise<Page<AuditRecord, AuditPosition>>;

  /** Writes the webhook with `side` (its audit record) in one commit. */
  createWebhook(w: WebhookRecord, side: SideWrite[]): Promise<void>;
  getWebhook(id: string): Promise<WebhookRecord | null>;
  /** Ordered by id; webhooks are few (MAX_WEBHOOKS). */
  listWebhooks(page: PageRequest): Promise<Page<WebhookRecord>>;
  /** Deletes it with `side` in one commit; false when there was none. */
  deleteWebhook(id: string, side: SideWrite[]): Promise<boolean>;

  /** The audit HMAC key, sealed (audit/audit-key.ts); null while none is stored. */
  getAuditKey(): Promise<string | null>;
  /** Stores the sealed audit key unless one is stored already; answers the one stored. */
  createAuditKey(sealed: string): Promise<string>;
  /** Replaces the sealed audit key with the same key sealed under the current master key. */
  replaceAuditKey(sealed: string): Promise<void>;

  /** Commits side writes of their own (an audit record of a change that has no one commit: keys.reseal). */
  recordSide(side: SideWrite[]): Promise<void>;

  /** Ids of outbox entries due now (store time), oldest due first, at most `limit`. */
  dueOutbox(limit: number): Promise<string[]>;
  /**
   * Takes the entry for `leaseMs` (store time) unless another instance holds it or it is gone or not
   * due: a compare-and-set, so two instances never both take it at once.
   */
  claimOutbox(id: string, leaseMs: number): Promise<{ entry: OutboxEntry; now: number } | null>;
  settleOutbox(id: string, settlement: OutboxSettlement): Promise<void>;
}
