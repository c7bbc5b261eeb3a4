/** The Firestore OpsStore (ops-store.ts): collections beside the main store's, in the same database. */
import {
  FieldPath,
  FieldValue,
  Timestamp,
  type DocumentSnapshot,
  type Firestore,
  type Query,
} from 'firebase-admin/firestore';
import { grpcCodeOf, GrpcStatus } from '../grpc-status';
import type { Sealer } from '../store/seal';
import { addSideWrites } from '../store/firestore/side-writes';
import type { SideWrite } from '../store/side-writes';
import type { Page, PageRequest } from '../store/types';
import { AUDIT_COLLECTION, type AuditRecord } from './audit/record';
import { decodeAudit, decodeOutbox, decodeWebhook, encodeWebhook, stampOf } from './codec';
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

export class FirestoreOps implements OpsStore {
  constructor(
    private readonly db: Firestore,
    private readonly sealer: Sealer,
    /** The client for conditional writes (FirestoreStore.conditionalDb: gRPC when reads go over REST). */
    private readonly conditionalDb: () => Firestore = () => db,
  ) {}

  async listAudit(q: AuditQuery): Promise<Page<AuditRecord, AuditPosition>> {
    let base: Query = this.db.collection(AUDIT_COLLECTION);
    if (q.action !== undefined) base = base.where('action', '==', q.action);
    if (q.target !== undefined) base = base.where('target', '==', q.target);
    if (q.hash !== undefined) base = base.where('hashes', 'array-contains', q.hash);
    if (q.since !== undefined) base = base.where('at', '>=', Timestamp.fromMillis(q.since));
    base = base.orderBy('at', 'desc').orderBy(FieldPath.documentId(), 'desc');
    let query = base;
    if (q.after !== undefined) query = query.startAfter(new Timestamp(q.after.s, q.after.n), q.after.id);
    else if (q.offset !== undefined && q.offset > 0) query = query.offset(q.offset);
    const [count, snap] = await Promise.all([base.count().get(), query.limit(q.limit + 1).get()]);
    const docs = snap.docs.slice(0, q.limit);
    const last = docs[docs.length - 1];
    return {
      list: docs.map((d) => decodeAudit(d.data())),
      total: count.data().count,
      ...(snap.docs.length > q.limit && last !== undefined
        ? { next: { ...stampOf(last.get('at')), id: last.id } }
        : {}),
    };
  }

  async createWebhook(w: WebhookRecord, side: SideWrite[]): Promise<void> {
    const batch = this.db
      .batch()
      .create(this.db.collection(WEBHOOK_COLLECTION).doc(w.id), encodeWebhook(w, this.sealer));
    addSideWrites(batch, this.db, side);
    await batch.commit();
  }

  async getAuditKey(): Promise<string | null> {
    const snap = await this.db.collection(AUDIT_KEY_COLLECTION).doc(AUDIT_KEY_DOC).get();
    const key: unknown = snap.get('key');
    return typeof key === 'string' ? key : null;
  }

  async createAuditKey(sealed: string): Promise<string> {
    const ref = this.db.collection(AUDIT_KEY_COLLECTION).doc(AUDIT_KEY_DOC);
    // In a transaction: when another instance stores one first, theirs is the key.
    return this.db.runTransaction(async (tx) => {
      const key: unknown = (await tx.get(ref)).get('key');
      if (typeof key === 'string') return key;
      tx.create(ref, { key: sealed });
      return sealed;
    });
  }

  async replaceAuditKey(sealed: string): Promise<void> {
    await this.db.collection(AUDIT_KEY_COLLECTION).doc(AUDIT_KEY_DOC).set({ key: sealed });
  }

  async recordSide(side: SideWrite[]): Promise<void> {
    const batch = this.db.batch();
    addSideWrites(batch, this.db, side);
    await batch.commit();
  }

  async getWebhook(id: string): Promise<WebhookRecord | null> {
    const snap = await this.db.collection(WEBHOOK_COLLECTION).doc(id).get();
    return snap.exists ? decodeWebhook(snap.data() ?? {}, this.sealer) : null;
  }

  async listWebhooks(page: PageRequest): Promise<Page<WebhookRecord>> {
    const base = this.db.collection(WEBHOOK_COLLECTION).orderBy(FieldPath.documentId());
    let query = base;
    if (page.after !== undefined) query = query.startAfter(page.after);
    else if (page.offset !== undefined && page.offset > 0) query = query.offset(page.offset);
    const [count, snap] = await Promise.all([base.count().get(), query.limit(page.limit + 1).get()]);
    const docs = snap.docs.slice(0, page.limit);
    const last = docs[docs.length - 1];
    return {
      list: docs.map((d) => decodeWebhook(d.data(), this.sealer)),
      total: count.data().count,
      ...(snap.docs.length > page.limit && last !== undefined ? { next: last.id } : {}),
    };
  }

  async deleteWebhook(id: string, side: SideWrite[]): Promise<boolean> {
    const ref = this.db.collection(WEBHOOK_COLLECTION).doc(id);
    return this.db.runTransaction(async (tx) => {
      const snap = await tx.get(ref);
      if (!snap.exists) return false;
      tx.delete(ref);
      addSideWrites(tx, this.db, side);
      return true;
    });
  }

  async dueOutbox(limit: number): Promise<string[]> {
    const outbox = this.db.collection(OUTBOX_COLLECTION);
    // Any read answers the database's time: the judgement of "due" is the store's, not this instance's.
    const now = (await outbox.doc(':clock').get()).readTime.toMillis();
    const snap = await outbox
      .where('nextAttemptAt', '<=', now)
      .orderBy('nextAttemptAt')
      .limit(limit)
      .select()
      .get();
    return snap.docs.map((d) => d.id);
  }

  async claimOutbox(id: string, leaseMs: number): Promise<{ entry: OutboxEntry; now: number } | null> {
    const ref = this.db.collection(OUTBOX_COLLECTION).doc(id);
    const snap: DocumentSnapshot = await ref.get();
    if (!snap.exists || snap.updateTime === undefined) return null;
    const entry = decodeOutbox(snap.data() ?? {});
    const now = snap.readTime.toMillis();
    if (entry.nextAttemptAt > now || (entry.leaseUntil ?? 0) > now) return null;
    try {
      await this.conditionalDb()
        .collection(OUTBOX_COLLECTION)
        .doc(id)
        .update({ leaseUntil: now + leaseMs }, { lastUpdateTime: snap.updateTime });
    } catch (err) {
      const code = grpcCodeOf(err);
      // Another instance took it (or finished it) in between.
      if (code === GrpcStatus.FAILED_PRECONDITION || code === GrpcStatus.NOT_FOUND) return null;
      throw err;
    }
    return { entry: { ...entry, leaseUntil: now + leaseMs }, now };
  }

  async settleOutbox(id: string, s: OutboxSettlement): Promise<void> {
    const ref = this.db.collection(OUTBOX_COLLECTION).doc(id);
    if (s.done) {
      await ref.delete();
      return;
    }
    await ref.update({
      targets: s.targets,
      attempts: s.attempts,
      nextAttemptAt: s.nextAttemptAt,
      leaseUntil: FieldValue.delete(),
    });
  }
}
