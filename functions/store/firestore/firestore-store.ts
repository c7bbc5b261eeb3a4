/**
 * The Firestore store (firebase-admin). Coordination happens in transactions; a token hit is one
 * document read. Timestamps are stored as epoch milliseconds so that both stores compare them alike.
 *
 * Every operation is bounded by a deadline and an unreachable database becomes one error: while
 * Firestore is down the client retries internally for a minute or more, so without a deadline a
 * request would hang until the function times out; instead it answers 503 UNAVAILABLE with
 * Retry-After. An operation cut off by the deadline may still complete later (a transaction cannot be
 * called back): the engine tolerates that, since leases expire and token writes carry a version.
 */
import { FieldValue, type Firestore, type DocumentReference } from 'firebase-admin/firestore';
import { AppError } from '../../errors';
import { log } from '../../log';
import type { Sealer } from '../seal';
import {
  decodeClient,
  decodeRealm,
  decodeSecret,
  decodeTokenState,
  decodeTokenSummary,
  encodeClient,
  encodeRealm,
  encodeSecret,
  encodeTokenState,
  type Doc,
} from '../codec';
import {
  COLLECTIONS,
  matchesKeyword,
  pageOf,
  secretDocId,
  type DeleteRealmOutcome,
  type PutSecretOutcome,
  type Store,
  type TokenMutator,
} from '../store';
import type {
  ClientRecord,
  Page,
  PageRequest,
  RealmRecord,
  SecretRecord,
  TokenState,
  TokenSummary,
} from '../types';
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
  [4, ['DEADLINE_EXCEEDED', NOT_REACHABLE]],
  [8, ['RESOURCE_EXHAUSTED', 'The database is over its quota right now; try again shortly']],
  [10, ['ABORTED', 'Too many concurrent changes to the same item; try again shortly']],
  [14, ['UNAVAILABLE', NOT_REACHABLE]],
]);

function grpcCodeOf(err: unknown): number | undefined {
  const code = err !== null && typeof err === 'object' ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'number' ? code : undefined;
}

function unavailable(op: string, reason: string, message = NOT_REACHABLE): AppError {
  log('WARNING', `store unavailable: ${op} (${reason})`, { event: 'store_unavailable', op, reason });
  return new AppError('UNAVAILABLE', message, { retryAfter: RETRY_AFTER_S });
}

export interface FirestoreStoreOptions {
  /** How long one operation may take before it answers UNAVAILABLE (ms). */
  timeoutMs?: number;
}

export class FirestoreStore implements Store {
  readonly kind = 'firestore' as const;
  private readonly timeoutMs: number;

  constructor(
    private readonly db: Firestore,
    private readonly sealer: Sealer,
    options: FirestoreStoreOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_STORE_TIMEOUT_MS;
  }

  /** One store operation: bounded by the deadline, unreachable-database errors as UNAVAILABLE. */
  private async run<T>(op: string, work: () => Promise<T>): Promise<T> {
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
      throw err;
    } finally {
      clearTimeout(timer);
    }
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

  getRealm(id: string): Promise<RealmRecord | null> {
    return this.run('getRealm', async () => {
      const snap = await this.realmRef(id).get();
      return snap.exists ? decodeRealm(snap.data() as Doc) : null;
    });
  }

  putRealm(realm: RealmRecord): Promise<void> {
    return this.run('putRealm', async () => {
      await this.realmRef(realm.id).set(encodeRealm(realm));
    });
  }

  listRealms(page: PageRequest & { keyword?: string }): Promise<Page<RealmRecord>> {
    return this.run('listRealms', async () => {
      // Firestore has no substring search; realms are few, so filter in memory.
      const snap = await this.db.collection(COLLECTIONS.realms).orderBy('id').get();
      const all = snap.docs.map((d) => decodeRealm(d.data())).filter((r) => matchesKeyword(r, page.keyword));
      return pageOf(all, page);
    });
  }

  deleteRealm(id: string): Promise<DeleteRealmOutcome> {
    return this.run('deleteRealm', async () => {
      return this.db.runTransaction(async (tx) => {
        const realm = await tx.get(this.realmRef(id));
        if (!realm.exists) return 'not_found';
        const users = await tx.get(this.db.collection(COLLECTIONS.secrets).where('realm', '==', id).limit(1));
        if (!users.empty) return 'in_use';
        tx.delete(this.realmRef(id));
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
        return existing?.exists ? 'replaced' : 'created';
      });
    });
  }

  listSecrets(page: PageRequest & { realm?: string }): Promise<Page<SecretRecord>> {
    return this.run('listSecrets', async () => {
      let query = this.db.collection(COLLECTIONS.secrets).orderBy('__name__');
      if (page.realm !== undefined) {
        query = this.db.collection(COLLECTIONS.secrets).where('realm', '==', page.realm).orderBy('__name__');
      }
      const [count, snap] = await Promise.all([
        query.count().get(),
        query.offset(page.offset).limit(page.limit).get(),
      ]);
      return {
        total: count.data().count,
        list: snap.docs.map((d) => decodeSecret(d.data(), this.sealer)),
      };
    });
  }

  deleteSecret(realm: string, key: string): Promise<boolean> {
    return this.run('deleteSecret', async () => {
      return this.db.runTransaction(async (tx) => {
        const snap = await tx.get(this.secretRef(realm, key));
        tx.delete(this.tokenRef(realm, key));
        if (!snap.exists) return false;
        tx.delete(this.secretRef(realm, key));
        return true;
      });
    });
  }

  getTokenState(realm: string, key: string): Promise<TokenState | null> {
    return this.run('getTokenState', async () => {
      const snap = await this.tokenRef(realm, key).get();
      return snap.exists ? decodeTokenState(snap.data() as Doc, this.sealer) : null;
    });
  }

  /**
   * Read-modify-write of one token state as an optimistic compare-and-set rather than a transaction:
   * read, decide, and write only if the document is still the one that was read (create() when it
   * was absent; update()/delete() with a lastUpdateTime precondition otherwise), else decide again.
   * For one document this is as atomic as a transaction, but it holds no locks: a crowd of
   * instances deciding at once costs a re-read for the losers instead of lock waits (which stall
   * the emulator for 2-3 s: README "Benchmarks"), and a decision that writes nothing costs one read.
   */
  mutateTokenState<R>(realm: string, key: string, mutator: TokenMutator<R>): Promise<R> {
    return this.run('mutateTokenState', async () => {
      const ref = this.tokenRef(realm, key);
      for (let attempt = 1; ; attempt++) {
        const snap = await ref.get();
        const { next, result } = mutator(
          snap.exists ? decodeTokenState(snap.data() as Doc, this.sealer) : null,
        );
        if (next === undefined) return result;
        try {
          if (!snap.exists || snap.updateTime === undefined) {
            if (next !== null) await ref.create(encodeTokenState(next, this.sealer));
          } else if (next === null) {
            await ref.delete({ lastUpdateTime: snap.updateTime });
          } else {
            const doc = encodeTokenState(next, this.sealer);
            // update() keeps fields it is not given: remove the ones the new state no longer has.
            const update: Record<string, unknown> = { ...doc };
            for (const field of Object.keys(snap.data() ?? {})) {
              if (!(field in doc)) update[field] = FieldValue.delete();
            }
            await ref.update(update, { lastUpdateTime: snap.updateTime });
          }
          return result;
        } catch (err) {
          const code = grpcCodeOf(err);
          // ALREADY_EXISTS / FAILED_PRECONDITION / NOT_FOUND: another instance wrote (or the secret
          // was deleted) in between; decide again on what is there now.
          if ((code === 5 || code === 6 || code === 9) && attempt < 20) {
            await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
            continue;
          }
          throw err;
        }
      }
    });
  }

  listTokenStates(): Promise<TokenSummary[]> {
    return this.run('listTokenStates', async () => {
      const snap = await this.db.collection(COLLECTIONS.tokens).orderBy('__name__').get();
      return snap.docs.map((d) => decodeTokenSummary(d.data()));
    });
  }

  putClient(client: ClientRecord): Promise<void> {
    return this.run('putClient', async () => {
      await this.clientRef(client.id).set(encodeClient(client));
    });
  }

  getClient(id: string): Promise<ClientRecord | null> {
    return this.run('getClient', async () => {
      const snap = await this.clientRef(id).get();
      return snap.exists ? decodeClient(snap.data() as Doc) : null;
    });
  }

  findClientByKeyHash(keyHash: string): Promise<ClientRecord | null> {
    return this.run('findClientByKeyHash', async () => {
      const snap = await this.db
        .collection(COLLECTIONS.clients)
        .where('keyHash', '==', keyHash)
        .limit(1)
        .get();
      const doc = snap.docs[0];
      return doc === undefined ? null : decodeClient(doc.data());
    });
  }

  listClients(): Promise<ClientRecord[]> {
    return this.run('listClients', async () => {
      const snap = await this.db.collection(COLLECTIONS.clients).orderBy('createdAt').get();
      return snap.docs.map((d) => decodeClient(d.data()));
    });
  }

  deleteClient(id: string): Promise<boolean> {
    return this.run('deleteClient', async () => {
      return this.db.runTransaction(async (tx) => {
        const snap = await tx.get(this.clientRef(id));
        if (!snap.exists) return false;
        tx.delete(this.clientRef(id));
        return true;
      });
    });
  }

  async close(): Promise<void> {
    await this.db.terminate();
  }

  watchTokenState(realm: string, key: string, onChange: () => void): () => void {
    return watchDocument(this.tokenRef(realm, key), onChange);
  }
}
