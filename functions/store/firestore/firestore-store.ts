/**
 * The Firestore store (firebase-admin). A token's state changes by compare-and-set on its one
 * document (mutateTokenState); changes spanning documents (secrets with their token state, realm
 * deletion) are transactions. A token hit is one document read, and every token read answers the
 * read's readTime: the store's clock, which the engine judges time by. Timestamps are stored as
 * epoch milliseconds so that both stores compare them alike.
 *
 * Every operation is bounded by a deadline and an unreachable database becomes one error: while
 * Firestore is down the client retries internally for a minute or more, so without a deadline a
 * request would hang until the function times out; instead it answers 503 UNAVAILABLE with
 * Retry-After. An operation cut off by the deadline may still complete later (a write cannot be
 * called back): the engine tolerates that, since leases expire and token writes carry a version.
 */
import {
  FieldPath,
  FieldValue,
  type DocumentReference,
  type DocumentSnapshot,
  type Firestore,
  type Query,
  type Transaction,
  type WriteBatch,
  type WriteResult,
} from 'firebase-admin/firestore';
import { systemClock, systemRandom, type Clock, type Random } from '../../clock';
import { AppError } from '../../errors';
import { GrpcStatus, grpcCodeOf } from '../../grpc-status';
import { log } from '../../log';
import type { ResealPage, ResealPosition, SealedCounts } from '../reseal';
import { addSideWrites } from './side-writes';
import { BatchedGets } from './batched-gets';
import type { Sealer } from '../seal';
import {
  DUE_ENTRY_FIELDS,
  decodeClient,
  decodeDueEntry,
  decodeRealm,
  decodeSecret,
  decodeTokenState,
  decodeTokenSummary,
  encodeClient,
  encodeRealm,
  encodeSecret,
  dueAtOfDoc,
  encodeTokenState,
  type Doc,
} from '../codec';
import {
  BACKFILL_DOC,
  COLLECTIONS,
  PROBE_CURSOR_DOC,
  type ProbeCursor,
  compareStrings,
  matchesKeyword,
  pageOf,
  secretDocId,
  type BackfillProgress,
  parentRef,
  CHILDREN_NAMED,
  type DeleteSecretOutcome,
  type DeleteRealmOutcome,
  type DuePage,
  type DueQuery,
  type PutSecretOutcome,
  type Store,
  type TokenMutator,
  type TokenRead,
} from '../store';
import type {
  ClientPosition,
  ClientRecord,
  Page,
  PageRequest,
  RealmRecord,
  SecretRecord,
  TokenState,
  TokenSummary,
} from '../types';
import { countSealedByKey, resealPage } from './reseal';
import type { ChildCounts } from '../child-counts';
import { countChildren } from './child-counts';
import {
  decodePushed,
  encodePushed,
  PUSHED_COLLECTION,
  type PushedMutator,
  type PushedRead,
} from '../pushed';
import type { PushedChangeHook, SideWrite, TokenChangeHook } from '../side-writes';
import { watchDocument } from './watch';

/** Default bound on one store operation (TOKEN_SERVER_STORE_TIMEOUT_MS). */
export const DEFAULT_STORE_TIMEOUT_MS = 10_000;
/** Retry-After (seconds) of an UNAVAILABLE answer. */
const RETRY_AFTER_S = 5;

const NOT_REACHABLE = 'The database is not reachable right now; try again shortly';

/**
 * gRPC status codes that mean "not now" rather than "wrong" (name, and what the caller is told):
 * UNAVAILABLE (unreachable), DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED (quota) and ABORTED (a transaction
 * that lost to concurrent changes more often than the client retries it).
 */
const TRANSIENT_GRPC_CODES: ReadonlyMap<number, [string, string]> = new Map([
  [GrpcStatus.DEADLINE_EXCEEDED, ['DEADLINE_EXCEEDED', NOT_REACHABLE]],
  [
    GrpcStatus.RESOURCE_EXHAUSTED,
    ['RESOURCE_EXHAUSTED', 'The database is over its quota right now; try again shortly'],
  ],
  [GrpcStatus.ABORTED, ['ABORTED', 'Too many concurrent changes to the same item; try again shortly']],
  [GrpcStatus.UNAVAILABLE, ['UNAVAILABLE', NOT_REACHABLE]],
]);

/**
 * Over REST (transport.ts) the client reports an unreachable database as its HTTP client's error,
 * named by Node's system error code (on the error or its cause), where gRPC says UNAVAILABLE.
 */
const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

function networkErrorOf(err: unknown): string | undefined {
  for (let e = err, depth = 0; e !== null && typeof e === 'object' && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function unavailable(op: string, reason: string, message = NOT_REACHABLE): AppError {
  log('WARNING', `store unavailable: ${op} (${reason})`, { event: 'store_unavailable', op, reason });
  return new AppError('UNAVAILABLE', message, { retryAfter: RETRY_AFTER_S });
}

/**
 * One page of a query ordered by `orderBy` then document id: after a cursor (startAfter: reads for
 * this page only) or from an offset (Firestore bills the skipped documents too), `limit + 1`
 * documents to learn whether more follow, and the total by a count() aggregation (billed one read
 * per 1,000 index entries counted).
 */
async function pageOfQuery<T, P>(
  base: Query,
  page: { limit: number; offset?: number | undefined; after?: P | undefined; countTotal?: boolean },
  cursorValues: (after: P) => unknown[],
  decode: (doc: DocumentSnapshot) => T,
  positionOf: (doc: DocumentSnapshot) => P,
): Promise<Page<T, P>> {
  let query = base;
  if (page.after !== undefined) query = query.startAfter(...cursorValues(page.after));
  else if (page.offset !== undefined && page.offset > 0) query = query.offset(page.offset);
  const [total, snap] = await Promise.all([
    page.countTotal === false
      ? -1
      : base
          .count()
          .get()
          .then((c) => c.data().count),
    query.limit(page.limit + 1).get(),
  ]);
  const docs = snap.docs.slice(0, page.limit);
  const last = docs[docs.length - 1];
  return {
    list: docs.map(decode),
    total,
    ...(snap.docs.length > page.limit && last !== undefined ? { next: positionOf(last) } : {}),
  };
}

export interface FirestoreStoreOptions {
  /** How long one operation may take before it answers UNAVAILABLE (ms). */
  timeoutMs?: number;
  /** Paces the compare-and-set's re-decisions after a conflict (a local delay, not a judgement). */
  clock?: Clock;
  /** Jitter of those re-decisions. */
  random?: Random;
  /**
   * When `db` is a REST client (transport.ts), a gRPC client for what REST cannot do, created on
   * first use: listeners (a gRPC stream), and the compare-and-set's conditional writes, whose
   * failures REST reports by HTTP status alone (409 for ALREADY_EXISTS reads as ABORTED, which the
   * client retries for a minute; 400 for FAILED_PRECONDITION as INVALID_ARGUMENT). Default: `db`.
   */
  grpcDb?: () => Firestore;
}

/** A compare-and-set that lost to another writer is decided again at most this often. */
const MAX_CAS_ATTEMPTS = 20;
/** A key hash usable as a document id (a real one is 64 hex digits: keys/keys.ts hashClientKey). */
const KEY_HASH_ID = /^[A-Za-z0-9_-]{1,128}$/;

export class FirestoreStore implements Store {
  readonly kind = 'firestore' as const;
  private readonly timeoutMs: number;
  private readonly clock: Clock;
  private readonly random: Random;
  /** Set once this instance has seen the dueAt backfill finished: later calls cost nothing. */
  private backfillDone = false;
  /** The snapshot behind each readTokenState answer, for mutateTokenState's `from`. */
  private readonly snapshots = new WeakMap<TokenRead, DocumentSnapshot>();
  private readonly grpcDbOf: (() => Firestore) | undefined;
  /** The gRPC client, once created (when it is not `db`: FirestoreStoreOptions.grpcDb). */
  private grpcClient: Firestore | undefined;
  /** Set by the first operation on `db` (or warm()): its modules are loaded, its connection open. */
  private dbUsed = false;
  /** Token and client-key gets of one turn, sent as one call (batched-gets.ts). */
  private readonly gets: BatchedGets;
  tokenHook?: TokenChangeHook;
  pushedHook?: PushedChangeHook;

  constructor(
    /** Public for the stores of functions/ops/ (audit, webhooks), which keep their own collections. */
    readonly db: Firestore,
    private readonly sealer: Sealer,
    options: FirestoreStoreOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_STORE_TIMEOUT_MS;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? systemRandom;
    this.grpcDbOf = options.grpcDb;
    this.gets = new BatchedGets(db);
  }

  /** One store operation: bounded by the deadline, unreachable-database errors as UNAVAILABLE. */
  private async run<T>(op: string, work: () => Promise<T>): Promise<T> {
    this.dbUsed = true;
    const pending = work();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(unavailable(op, `no answer within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
    });
    try {
      return await Promise.race([pending, deadline]);
    } catch (err) {
      if (err instanceof AppError) {
        // The deadline won: whatever the abandoned call ends with later is of no interest.
        if (err.code === 'UNAVAILABLE') pending.catch(() => undefined);
        throw err;
      }
      const code = grpcCodeOf(err);
      const known = code === undefined ? undefined : TRANSIENT_GRPC_CODES.get(code);
      if (known !== undefined) throw unavailable(op, known[0], known[1]);
      const network = networkErrorOf(err);
      if (network !== undefined) throw unavailable(op, network);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Adds side writes to a transaction or batch (created: a side document is never overwritten). */
  /** `db`: the client whose batch or transaction it is (the token write's is the gRPC one). */
  private addSide(
    tx: Transaction | WriteBatch,
    side: readonly SideWrite[] | undefined,
    db: Firestore = this.db,
  ): void {
    addSideWrites(tx, db, side);
  }

  /** One document set, with its side writes in the same batch when there are any. */
  private async setWithSide(
    ref: DocumentReference,
    doc: Doc,
    side: readonly SideWrite[] | undefined,
  ): Promise<void> {
    if (side === undefined || side.length === 0) {
      await ref.set(doc);
      return;
    }
    const batch = this.db.batch().set(ref, doc);
    this.addSide(batch, side);
    await batch.commit();
  }

  private realmRef(id: string): DocumentReference {
    return this.db.collection(COLLECTIONS.realms).doc(id);
  }
  private secretRef(realm: string, key: string): DocumentReference {
    return this.db.collection(COLLECTIONS.secrets).doc(secretDocId(realm, key));
  }
  private tokenRef(realm: string, key: string): DocumentReference {
    return this.db.collection(COLLECTIONS.tokens).doc(secretDocId(realm, key));
  }
  private clientRef(id: string): DocumentReference {
    return this.db.collection(COLLECTIONS.clients).doc(id);
  }
  /** A client's copy under its key hash (COLLECTIONS.clientKeys); null for a hash no id can be. */
  private clientKeyRef(keyHash: string): DocumentReference | null {
    return KEY_HASH_ID.test(keyHash) ? this.db.collection(COLLECTIONS.clientKeys).doc(keyHash) : null;
  }

  getRealm(id: string): Promise<RealmRecord | null> {
    return this.run('getRealm', async () => {
      const snap = await this.realmRef(id).get();
      return snap.exists ? decodeRealm(snap.data() as Doc) : null;
    });
  }

  putRealm(realm: RealmRecord, side?: SideWrite[]): Promise<void> {
    return this.run('putRealm', async () => {
      await this.setWithSide(this.realmRef(realm.id), encodeRealm(realm), side);
    });
  }

  listRealms(page: PageRequest & { keyword?: string; countTotal?: boolean }): Promise<Page<RealmRecord>> {
    return this.run('listRealms', async () => {
      const byId = this.db.collection(COLLECTIONS.realms).orderBy(FieldPath.documentId());
      if (page.keyword === undefined || page.keyword === '') {
        return pageOfQuery(
          byId,
          page,
          (after) => [after],
          (d) => decodeRealm(d.data() as Doc),
          (d) => d.id,
        );
      }
      // Firestore has no substring search: a keyword search reads every realm (realms are few).
      const snap = await byId.get();
      const all = snap.docs.map((d) => decodeRealm(d.data())).filter((r) => matchesKeyword(r, page.keyword));
      return pageOf(
        all,
        page,
        (r) => r.id,
        (r, after) => compareStrings(r.id, after),
      );
    });
  }

  deleteRealm(id: string, side?: SideWrite[]): Promise<DeleteRealmOutcome> {
    return this.run('deleteRealm', async () => {
      return this.db.runTransaction(async (tx) => {
        const realm = await tx.get(this.realmRef(id));
        if (!realm.exists) return 'not_found';
        const users = await tx.get(this.db.collection(COLLECTIONS.secrets).where('realm', '==', id).limit(1));
        if (!users.empty) return 'in_use';
        tx.delete(this.realmRef(id));
        this.addSide(tx, side);
        return 'deleted';
      });
    });
  }

  getSecret(realm: string, key: string): Promise<SecretRecord | null> {
    return this.run('getSecret', async () => {
      const snap = await this.secretRef(realm, key).get();
      return snap.exists ? decodeSecret(snap.data() as Doc, this.sealer) : null;
    });
  }

  putSecret(
    secret: SecretRecord,
    resetToken: (current: TokenSummary | null) => TokenState | null,
    side?: SideWrite[],
  ): Promise<PutSecretOutcome> {
    return this.run('putSecret', async () => {
      const encoded = encodeSecret(secret, this.sealer);
      return this.db.runTransaction(async (tx) => {
        const [realm, existing, token] = await tx.getAll(
          this.realmRef(secret.realm),
          this.secretRef(secret.realm, secret.key),
          this.tokenRef(secret.realm, secret.key),
        );
        if (!realm?.exists) return 'no_realm';
        const current = token?.exists ? decodeTokenSummary(token.data() as Doc) : null;
        const next = resetToken(current);
        tx.set(this.secretRef(secret.realm, secret.key), encoded);
        if (next === null) tx.delete(this.tokenRef(secret.realm, secret.key));
        else tx.set(this.tokenRef(secret.realm, secret.key), encodeTokenState(next, this.sealer));
        this.addSide(tx, side);
        return existing?.exists ? 'replaced' : 'created';
      });
    });
  }

  listSecrets(page: PageRequest & { realm?: string; countTotal?: boolean }): Promise<Page<SecretRecord>> {
    return this.run('listSecrets', async () =>
      pageOfQuery(
        this.byDocId(COLLECTIONS.secrets, page.realm),
        page,
        (after) => [after],
        (d) => decodeSecret(d.data() as Doc, this.sealer),
        (d) => d.id,
      ),
    );
  }

  /** A collection in document-id order, of one realm or all (an automatic single-field index). */
  private byDocId(collection: string, realm: string | undefined): Query {
    const all = this.db.collection(collection);
    return (realm === undefined ? all : all.where('realm', '==', realm)).orderBy(FieldPath.documentId());
  }

  deleteSecret(realm: string, key: string, side?: SideWrite[]): Promise<DeleteSecretOutcome> {
    return this.run('deleteSecret', async () => {
      return this.db.runTransaction(async (tx): Promise<DeleteSecretOutcome> => {
        const children = await tx.get(
          this.db
            .collection(COLLECTIONS.secrets)
            .where('parent', '==', parentRef(realm, key))
            .orderBy('__name__')
            .limit(CHILDREN_NAMED),
        );
        if (!children.empty) {
          return {
            children: children.docs.map((d) => parentRef(String(d.get('realm')), String(d.get('key')))),
          };
        }
        const snap = await tx.get(this.secretRef(realm, key));
        tx.delete(this.tokenRef(realm, key));
        if (!snap.exists) return 'not_found';
        tx.delete(this.secretRef(realm, key));
        this.addSide(tx, side);
        return 'deleted';
      });
    });
  }

  async getTokenState(realm: string, key: string): Promise<TokenState | null> {
    return (await this.readTokenState(realm, key)).state;
  }

  readTokenState(realm: string, key: string, options?: { withLookups?: boolean }): Promise<TokenRead> {
    return this.run('getTokenState', async () => {
      const ref = this.tokenRef(realm, key);
      // The hit path's own read goes alone, as it always did: batching is for the read ahead.
      const snap = await (options?.withLookups === true ? this.gets.get(ref) : ref.get());
      const read = this.tokenReadOf(snap);
      this.snapshots.set(read, snap);
      return read;
    });
  }

  /** A token document as read (a get or a listener's snapshot), with the store's time of the read. */
  private tokenReadOf(snap: DocumentSnapshot): TokenRead {
    return {
      state: snap.exists ? decodeTokenState(snap.data() as Doc, this.sealer) : null,
      now: snap.readTime.toMillis(),
    };
  }

  /**
   * Read-modify-write of one token state as an optimistic compare-and-set rather than a transaction:
   * read, decide (with the read's readTime as the store's "now"), and write only if the document is
   * still the one that was read (create() when it was absent; update()/delete() with a
   * lastUpdateTime precondition otherwise), else decide again. The write is one batch with the
   * change's side writes (tokenHook: webhook events, report audits), so they commit together.
   * For one document this is as atomic as a transaction, but it holds no locks: a crowd of
   * instances deciding at once costs a re-read for the losers instead of lock waits (which stall
   * the emulator for 2-3 s: README "Benchmarks"), and a decision that writes nothing costs one read.
   */
  mutateTokenState<R>(realm: string, key: string, mutator: TokenMutator<R>, from?: TokenRead): Promise<R> {
    return this.run('mutateTokenState', async () => {
      const ref = this.tokenRef(realm, key);
      // Conditional writes go over gRPC, which reports why one was refused (FirestoreStoreOptions.grpcDb).
      const writeRef = this.grpcTokenRef(realm, key);
      const prior = from === undefined ? undefined : this.snapshots.get(from);
      for (let attempt = 1; ; attempt++) {
        // The caller's read of this document stands in for the first read (the precondition below
        // still refuses the write if the document changed since).
        const snap =
          attempt === 1 && prior !== undefined && prior.ref.path === ref.path ? prior : await ref.get();
        const before = snap.exists ? decodeTokenState(snap.data() as Doc, this.sealer) : null;
        const now = snap.readTime.toMillis();
        const { next, result, stamp } = mutator(before, now);
        if (next === undefined) return result;
        // One batch: the change (preconditioned on the read) and its side writes (tokenHook), if any.
        const side = this.tokenHook?.writesFor(before, next, now) ?? [];
        const batch = writeRef.firestore.batch();
        let staged = side.length > 0;
        if (!snap.exists || snap.updateTime === undefined) {
          if (next !== null) {
            batch.create(writeRef, encodeTokenState(next, this.sealer));
            staged = true;
          }
        } else if (next === null) {
          batch.delete(writeRef, { lastUpdateTime: snap.updateTime });
          staged = true;
        } else {
          const doc = encodeTokenState(next, this.sealer);
          // update() keeps fields it is not given: remove the ones the new state no longer has.
          const update: Record<string, unknown> = { ...doc };
          for (const field of Object.keys(snap.data() ?? {})) {
            if (!(field in doc)) update[field] = FieldValue.delete();
          }
          batch.update(writeRef, update, { lastUpdateTime: snap.updateTime });
          staged = true;
        }
        this.addSide(batch, side, writeRef.firestore);
        try {
          const written: WriteResult | undefined = staged ? (await batch.commit())[0] : undefined;
          if (side.length > 0) this.tokenHook?.committed(side);
          if (stamp !== undefined) return stamp(written?.writeTime.toMillis() ?? snap.readTime.toMillis());
          return result;
        } catch (err) {
          const code = grpcCodeOf(err);
          // ALREADY_EXISTS / FAILED_PRECONDITION / NOT_FOUND: another instance wrote (or the secret
          // was deleted) in between; decide again on what is there now.
          if (
            (code === GrpcStatus.NOT_FOUND ||
              code === GrpcStatus.ALREADY_EXISTS ||
              code === GrpcStatus.FAILED_PRECONDITION) &&
            attempt < MAX_CAS_ATTEMPTS
          ) {
            await this.clock.sleep(Math.floor(this.random() * 10 * attempt));
            continue;
          }
          throw err;
        }
      }
    });
  }

  now(): Promise<number> {
    return this.run('now', async () => {
      // Any read answers the database's time; this document never exists (ids cannot contain ':').
      const snap = await this.db.collection(COLLECTIONS.tokens).doc(':clock').get();
      return snap.readTime.toMillis();
    });
  }

  listTokenStates(): Promise<TokenSummary[]> {
    return this.run('listTokenStates', async () => {
      const snap = await this.db.collection(COLLECTIONS.tokens).orderBy('__name__').get();
      return snap.docs.map((d) => decodeTokenSummary(d.data()));
    });
  }

  listTokenSummaries(
    page: PageRequest & { realm?: string; countTotal?: boolean },
  ): Promise<Page<TokenSummary>> {
    return this.run('listTokenSummaries', async () =>
      pageOfQuery(
        this.byDocId(COLLECTIONS.tokens, page.realm),
        page,
        (after) => [after],
        (d) => decodeTokenSummary(d.data() as Doc),
        (d) => d.id,
      ),
    );
  }

  listDueTokens(q: DueQuery): Promise<DuePage> {
    return this.run('listDueTokens', async () => {
      let query = this.db
        .collection(COLLECTIONS.tokens)
        .where('dueAt', '<=', q.now)
        .orderBy('dueAt')
        .orderBy(FieldPath.documentId())
        .select(...DUE_ENTRY_FIELDS);
      if (q.after !== undefined) query = query.startAfter(q.after.dueAt, q.after.id);
      const snap = await query.limit(q.limit).get();
      const last = snap.docs[snap.docs.length - 1];
      return {
        list: snap.docs.map((d) => decodeDueEntry(d.data())),
        ...(snap.docs.length === q.limit && last !== undefined
          ? { next: { dueAt: Number(last.get('dueAt')), id: last.id } }
          : {}),
      };
    });
  }

  backfillDueTimes(limit: number): Promise<BackfillProgress> {
    return this.run('backfillDueTimes', async () => {
      if (this.backfillDone) return { scanned: 0, updated: 0, done: true };
      const progressRef = this.db.collection(COLLECTIONS.meta).doc(BACKFILL_DOC);
      const progress = (await progressRef.get()).data() as { after?: string; done?: boolean } | undefined;
      if (progress?.done === true) {
        this.backfillDone = true;
        return { scanned: 0, updated: 0, done: true };
      }
      let query = this.db.collection(COLLECTIONS.tokens).orderBy(FieldPath.documentId());
      if (progress?.after !== undefined) query = query.startAfter(progress.after);
      const snap = await query.limit(limit).get();
      const missing = snap.docs.filter((d) => typeof d.get('dueAt') !== 'number');
      const writer = this.db.bulkWriter();
      // A document written in between got its dueAt from its writer: the precondition skips it.
      writer.onWriteError(() => false);
      const writes = missing.map((d) =>
        writer.update(d.ref, { dueAt: dueAtOfDoc(d.data()) }, { lastUpdateTime: d.updateTime }),
      );
      await writer.close();
      const updated = (await Promise.allSettled(writes)).filter((w) => w.status === 'fulfilled').length;
      const last = snap.docs[snap.docs.length - 1];
      const done = snap.docs.length < limit;
      await progressRef.set(
        done ? { done: true } : { done: false, ...(last === undefined ? {} : { after: last.id }) },
      );
      if (done) this.backfillDone = true;
      return { scanned: snap.docs.length, updated, done };
    });
  }

  countSealedByKey(): Promise<SealedCounts> {
    return this.run('countSealedByKey', () => countSealedByKey(this.db));
  }

  countChildren(parent: string, errorCode: string): Promise<ChildCounts> {
    return this.run('countChildren', () => countChildren(this.db, parent, errorCode));
  }

  resealPage(position: ResealPosition, limit: number): Promise<ResealPage> {
    return this.run('resealPage', () => resealPage(this.conditionalDb(), this.sealer, position, limit));
  }

  getProbeCursor(): Promise<ProbeCursor | null> {
    return this.run('getProbeCursor', async () => {
      const data = (await this.db.collection(COLLECTIONS.meta).doc(PROBE_CURSOR_DOC).get()).data();
      const realm: unknown = data?.realm;
      const key: unknown = data?.key;
      if (typeof realm !== 'string') return null;
      return { realm, ...(typeof key === 'string' ? { key } : {}) };
    });
  }

  putProbeCursor(cursor: ProbeCursor | null): Promise<void> {
    return this.run('putProbeCursor', async () => {
      const ref = this.db.collection(COLLECTIONS.meta).doc(PROBE_CURSOR_DOC);
      if (cursor === null) await ref.delete();
      else await ref.set({ realm: cursor.realm, ...(cursor.key === undefined ? {} : { key: cursor.key }) });
    });
  }

  /** The client and its copy under its key hash, in one batch with the side writes. */
  putClient(client: ClientRecord, side?: SideWrite[]): Promise<void> {
    return this.run('putClient', async () => {
      const doc = encodeClient(client);
      const batch = this.db.batch().set(this.clientRef(client.id), doc);
      const keyRef = this.clientKeyRef(client.keyHash);
      if (keyRef !== null) batch.set(keyRef, doc);
      this.addSide(batch, side ?? []);
      await batch.commit();
    });
  }

  getClient(id: string): Promise<ClientRecord | null> {
    return this.run('getClient', async () => {
      const snap = await this.clientRef(id).get();
      return snap.exists ? decodeClient(snap.data() as Doc) : null;
    });
  }

  /**
   * A get of the client's copy under its key hash (batched with a token read of the same turn:
   * batched-gets.ts). Clients stored before that copy existed are found by a query on keyHash and
   * then copied, so that their next lookup is a get too.
   */
  findClientByKeyHash(keyHash: string): Promise<ClientRecord | null> {
    return this.run('findClientByKeyHash', async () => {
      const keyRef = this.clientKeyRef(keyHash);
      if (keyRef !== null) {
        const snap = await this.gets.get(keyRef);
        if (snap.exists && snap.get('keyHash') === keyHash) return decodeClient(snap.data() as Doc);
      }
      const found = await this.db
        .collection(COLLECTIONS.clients)
        .where('keyHash', '==', keyHash)
        .limit(1)
        .get();
      const doc = found.docs[0];
      if (doc === undefined) return null;
      const client = decodeClient(doc.data());
      if (keyRef !== null) {
        this.copyUnderKeyHash(client.id, keyRef).catch((err: unknown) => {
          const why = err instanceof Error ? err.message : 'unknown error';
          log('WARNING', `client key copy failed (the next lookup queries again): ${why}`, {
            client: client.id,
          });
        });
      }
      return client;
    });
  }

  /**
   * Copies a client stored before the key-hash copies to its key hash, in a transaction that reads
   * the client first: a client deleted meanwhile (deleteClient deletes both) is not brought back.
   */
  private copyUnderKeyHash(id: string, keyRef: DocumentReference): Promise<void> {
    return this.db.runTransaction(async (tx) => {
      const snap = await tx.get(this.clientRef(id));
      if (snap.exists && snap.get('keyHash') === keyRef.id) tx.set(keyRef, snap.data() as Doc);
    });
  }

  listClients(page: PageRequest<ClientPosition>): Promise<Page<ClientRecord, ClientPosition>> {
    return this.run('listClients', async () =>
      pageOfQuery(
        this.db.collection(COLLECTIONS.clients).orderBy('createdAt').orderBy(FieldPath.documentId()),
        page,
        (after) => [after.createdAt, after.id],
        (d) => decodeClient(d.data() as Doc),
        (d) => ({ createdAt: Number(d.get('createdAt')), id: d.id }),
      ),
    );
  }

  deleteClient(id: string, side?: SideWrite[]): Promise<boolean> {
    return this.run('deleteClient', async () => {
      return this.db.runTransaction(async (tx) => {
        const snap = await tx.get(this.clientRef(id));
        if (!snap.exists) return false;
        tx.delete(this.clientRef(id));
        const keyHash: unknown = snap.get('keyHash');
        const keyRef = typeof keyHash === 'string' ? this.clientKeyRef(keyHash) : null;
        if (keyRef !== null) tx.delete(keyRef);
        this.addSide(tx, side);
        return true;
      });
    });
  }

  private pushedRef(realm: string, key: string): DocumentReference {
    return this.db.collection(PUSHED_COLLECTION).doc(secretDocId(realm, key));
  }

  readPushed(realm: string, key: string, options?: { open?: boolean }): Promise<PushedRead> {
    return this.run('readPushed', async () => {
      const snap = await this.pushedRef(realm, key).get();
      return {
        state: snap.exists ? decodePushed(snap.data() as Doc, this.sealer, options?.open ?? true) : null,
        now: snap.readTime.toMillis(),
      };
    });
  }

  /** A transaction: pushes come every few minutes, so there is no crowd to spare lock waits. */
  mutatePushed<R>(realm: string, key: string, mutator: PushedMutator<R>): Promise<R> {
    return this.run('mutatePushed', async () => {
      const ref = this.pushedRef(realm, key);
      // The side writes of the attempt that committed (a transaction may run its function again).
      let side: SideWrite[] = [];
      const result = await this.db.runTransaction(async (tx) => {
        const snap = await tx.get(ref);
        const now = snap.readTime.toMillis();
        const before = snap.exists ? decodePushed(snap.data() as Doc, this.sealer) : null;
        const decided = mutator(before === null ? null : structuredClone(before), now);
        side = [];
        if (decided.next !== undefined) {
          side = this.pushedHook?.writesFor(before, decided.next, now) ?? [];
          tx.set(ref, encodePushed(decided.next, this.sealer));
          this.addSide(tx, side);
        }
        return decided.result;
      });
      if (side.length > 0) this.pushedHook?.committed(side);
      return result;
    });
  }

  async close(): Promise<void> {
    await Promise.all([this.db.terminate(), this.grpcClient?.terminate()]);
  }

  /**
   * The client for conditional writes (a lastUpdateTime precondition or create()): the gRPC one
   * (FirestoreStoreOptions.grpcDb), created on first use, because over REST the library reports a
   * refused precondition as INVALID_ARGUMENT and an existing document as ABORTED (which it retries),
   * so a lost race could not be told from a bad request. `db` itself when there is no other client.
   */
  conditionalDb(): Firestore {
    if (this.grpcDbOf === undefined) return this.db;
    this.grpcClient ??= this.grpcDbOf();
    return this.grpcClient;
  }

  /** A token document on the conditional writes' client (conditionalDb). */
  private grpcTokenRef(realm: string, key: string): DocumentReference {
    return this.conditionalDb().collection(COLLECTIONS.tokens).doc(secretDocId(realm, key));
  }

  /**
   * Loads the client a hit reads with (`db`) and opens its connection with one read, unless an
   * operation has already done so: the first call of a client loads its transport's modules (the
   * REST fallback or gRPC, and the API's protos), which a first request would otherwise wait for.
   */
  async warm(): Promise<void> {
    if (this.dbUsed) return;
    this.dbUsed = true;
    await this.warmRead(this.db);
  }

  /**
   * Starts, in the background, what a miss needs beyond a hit's read when `db` is a REST client:
   * the gRPC client (its module load and channel, with one read) that the compare-and-set's write
   * and the waiters' listeners use. Called when an instance is first idle (entries/http-function.ts)
   * and when a request misses (engine.ts), so that this runs while the miss reads the secret and
   * its holder calls the provider, not after. Does nothing
   * when the store has one client, or the gRPC one exists already.
   */
  warmMiss(): void {
    if (this.grpcDbOf === undefined || this.grpcClient !== undefined) return;
    const client = this.conditionalDb();
    // In the next turn: the loading is synchronous, and the miss's own reads go out first.
    setImmediate(() => void this.warmRead(client));
  }

  /** One read of the document now() reads, which never exists; a failure is reported where it matters. */
  private async warmRead(client: Firestore): Promise<void> {
    try {
      await client.collection(COLLECTIONS.tokens).doc(':clock').get();
    } catch {
      // A read that fails here fails again where it matters, and is reported there.
    }
  }

  watchTokenState(realm: string, key: string, onChange: (read?: TokenRead) => void): () => void {
    return watchDocument(this.grpcTokenRef(realm, key), (snap) => {
      let read: TokenRead | undefined;
      try {
        read = this.tokenReadOf(snap);
      } catch {
        // Undecodable here: the waiter reads the document itself, and that read says why.
      }
      onChange(read);
    });
  }
}
