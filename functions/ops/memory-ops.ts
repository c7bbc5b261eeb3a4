/**
 * The memory OpsStore (ops-store.ts): the memory store's side documents (MemoryStore.sideDocs), so
 * that side writes made with its changes are what this store reads. Each operation runs without an
 * await between its read and its write: atomic on Node's single thread.
 */
import type { Clock } from '../clock';
import type { MemoryStore } from '../store/memory/memory-store';
import type { Sealer } from '../store/seal';
import { compareStrings, pageOf } from '../store/store';
import type { SideWrite } from '../store/side-writes';
import type { Page, PageRequest } from '../store/types';
import { AUDIT_COLLECTION, type AuditRecord } from './audit/record';
import { decodeAudit, decodeOutbox, decodeWebhook, encodeOutbox, encodeWebhook, stampOf } from './codec';
import {
  AUDIT_KEY_COLLECTION,
  AUDIT_KEY_DOC,
  OUTBOX_COLLECTION,
  WEBHOOK_COLLECTION,
  type AuditPosition,
  type AuditQuery,
  type OpsStore,
  type OutboxEntry,
  type OutboxSettlement,
  type WebhookRecord,
} from './ops-store';

type Doc = Record<string, unknown>;

function compareAudit(a: AuditPosition, b: AuditPosition): number {
  // Newest first: a later time sorts before an earlier one, then ids in reverse.
  if (a.s !== b.s) return b.s - a.s;
  if (a.n !== b.n) return b.n - a.n;
  return compareStrings(b.id, a.id);
}

export class MemoryOps implements OpsStore {
  constructor(
    private readonly store: MemoryStore,
    private readonly sealer: Sealer,
    private readonly clock: Clock,
  ) {}

  private collection(name: string): Map<string, Doc> {
    let c = this.store.sideDocs.get(name);
    if (c === undefined) this.store.sideDocs.set(name, (c = new Map<string, Doc>()));
    return c;
  }

  private addSide(side: readonly SideWrite[]): void {
    for (const w of side) {
      const doc = structuredClone(w.doc);
      if (w.stampField !== undefined) doc[w.stampField] = this.clock.now();
      this.collection(w.collection).set(w.id, doc);
    }
  }

  async listAudit(q: AuditQuery): Promise<Page<AuditRecord, AuditPosition>> {
    const all = [...this.collection(AUDIT_COLLECTION).values()]
      .map((d) => ({
        record: decodeAudit(structuredClone(d)),
        position: { ...stampOf(d.at), id: String(d.id) },
      }))
      .filter(
        ({ record: r }) =>
          (q.action === undefined || r.action === q.action) &&
          (q.target === undefined || r.target === q.target) &&
          (q.hash === undefined || r.hashes.includes(q.hash)) &&
          (q.since === undefined || r.at >= q.since),
      )
      .sort((a, b) => compareAudit(a.position, b.position));
    const page = pageOf(
      all,
      q,
      (e) => e.position,
      (e, after) => compareAudit(e.position, after),
    );
    return { ...page, list: page.list.map((e) => e.record) };
  }

  async createWebhook(w: WebhookRecord, side: SideWrite[]): Promise<void> {
    this.collection(WEBHOOK_COLLECTION).set(w.id, encodeWebhook(w, this.sealer));
    this.addSide(side);
  }

  async getAuditKey(): Promise<string | null> {
    const d = this.collection(AUDIT_KEY_COLLECTION).get(AUDIT_KEY_DOC);
    return typeof d?.key === 'string' ? d.key : null;
  }

  async createAuditKey(sealed: string): Promise<string> {
    const stored = await this.getAuditKey();
    if (stored !== null) return stored;
    this.collection(AUDIT_KEY_COLLECTION).set(AUDIT_KEY_DOC, { key: sealed });
    return sealed;
  }

  async replaceAuditKey(sealed: string): Promise<void> {
    this.collection(AUDIT_KEY_COLLECTION).set(AUDIT_KEY_DOC, { key: sealed });
  }

  async recordSide(side: SideWrite[]): Promise<void> {
    this.addSide(side);
  }

  async getWebhook(id: string): Promise<WebhookRecord | null> {
    const d = this.collection(WEBHOOK_COLLECTION).get(id);
    return d === undefined ? null : decodeWebhook(structuredClone(d), this.sealer);
  }

  async listWebhooks(page: PageRequest): Promise<Page<WebhookRecord>> {
    const all = [...this.collection(WEBHOOK_COLLECTION).values()]
      .map((d) => decodeWebhook(structuredClone(d), this.sealer))
      .sort((a, b) => compareStrings(a.id, b.id));
    return pageOf(
      all,
      page,
      (w) => w.id,
      (w, after) => compareStrings(w.id, after),
    );
  }

  async deleteWebhook(id: string, side: SideWrite[]): Promise<boolean> {
    if (!this.collection(WEBHOOK_COLLECTION).delete(id)) return false;
    this.addSide(side);
    return true;
  }

  async dueOutbox(limit: number): Promise<string[]> {
    const now = this.clock.now();
    return [...this.collection(OUTBOX_COLLECTION).values()]
      .map((d) => decodeOutbox(d))
      .filter((e) => e.nextAttemptAt <= now)
      .sort((a, b) => a.nextAttemptAt - b.nextAttemptAt)
      .slice(0, limit)
      .map((e) => e.id);
  }

  async claimOutbox(id: string, leaseMs: number): Promise<{ entry: OutboxEntry; now: number } | null> {
    const d = this.collection(OUTBOX_COLLECTION).get(id);
    if (d === undefined) return null;
    const entry = decodeOutbox(structuredClone(d));
    const now = this.clock.now();
    if (entry.nextAttemptAt > now || (entry.leaseUntil ?? 0) > now) return null;
    const claimed = { ...entry, leaseUntil: now + leaseMs };
    this.collection(OUTBOX_COLLECTION).set(id, encodeOutbox(claimed));
    return { entry: claimed, now };
  }

  async settleOutbox(id: string, s: OutboxSettlement): Promise<void> {
    const outbox = this.collection(OUTBOX_COLLECTION);
    const d = outbox.get(id);
    if (d === undefined) return;
    if (s.done) {
      outbox.delete(id);
      return;
    }
    const { leaseUntil: _released, ...entry } = decodeOutbox(d);
    outbox.set(
      id,
      encodeOutbox({ ...entry, targets: s.targets, attempts: s.attempts, nextAttemptAt: s.nextAttemptAt }),
    );
  }
}
