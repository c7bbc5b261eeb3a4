/**
 * The Firestore store (firebase-admin). Coordination happens in transactions; a token hit is one
 * document read. Timestamps are stored as epoch milliseconds so that both stores compare them alike.
 */
import type { Firestore, DocumentReference } from 'firebase-admin/firestore';
import type { Sealer } from '../seal';
import {
  decodeClient,
  decodeRealm,
  decodeSecret,
  decodeTokenState,
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
import type { ClientRecord, Page, PageRequest, RealmRecord, SecretRecord, TokenState } from '../types';

export class FirestoreStore implements Store {
  readonly kind = 'firestore' as const;

  constructor(
    private readonly db: Firestore,
    private readonly sealer: Sealer,
  ) {}

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

  async getRealm(id: string): Promise<RealmRecord | null> {
    const snap = await this.realmRef(id).get();
    return snap.exists ? decodeRealm(snap.data() as Doc) : null;
  }

  async putRealm(realm: RealmRecord): Promise<void> {
    await this.realmRef(realm.id).set(encodeRealm(realm));
  }

  async listRealms(page: PageRequest & { keyword?: string }): Promise<Page<RealmRecord>> {
    // Firestore has no substring search; realms are few, so filter in memory.
    const snap = await this.db.collection(COLLECTIONS.realms).orderBy('id').get();
    const all = snap.docs.map((d) => decodeRealm(d.data())).filter((r) => matchesKeyword(r, page.keyword));
    return pageOf(all, page);
  }

  async deleteRealm(id: string): Promise<DeleteRealmOutcome> {
    return this.db.runTransaction(async (tx) => {
      const realm = await tx.get(this.realmRef(id));
      if (!realm.exists) return 'not_found';
      const users = await tx.get(this.db.collection(COLLECTIONS.secrets).where('realm', '==', id).limit(1));
      if (!users.empty) return 'in_use';
      tx.delete(this.realmRef(id));
      return 'deleted';
    });
  }

  async getSecret(realm: string, key: string): Promise<SecretRecord | null> {
    const snap = await this.secretRef(realm, key).get();
    return snap.exists ? decodeSecret(snap.data() as Doc, this.sealer) : null;
  }

  async putSecret(
    secret: SecretRecord,
    resetToken: (current: TokenState | null) => TokenState | null,
  ): Promise<PutSecretOutcome> {
    const encoded = encodeSecret(secret, this.sealer);
    return this.db.runTransaction(async (tx) => {
      const [realm, existing, token] = await tx.getAll(
        this.realmRef(secret.realm),
        this.secretRef(secret.realm, secret.key),
        this.tokenRef(secret.realm, secret.key),
      );
      if (!realm?.exists) return 'no_realm';
      const current = token?.exists ? decodeTokenState(token.data() as Doc, this.sealer) : null;
      const next = resetToken(current);
      tx.set(this.secretRef(secret.realm, secret.key), encoded);
      if (next === null) tx.delete(this.tokenRef(secret.realm, secret.key));
      else tx.set(this.tokenRef(secret.realm, secret.key), encodeTokenState(next, this.sealer));
      return existing?.exists ? 'replaced' : 'created';
    });
  }

  async listSecrets(page: PageRequest & { realm?: string }): Promise<Page<SecretRecord>> {
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
  }

  async deleteSecret(realm: string, key: string): Promise<boolean> {
    return this.db.runTransaction(async (tx) => {
      const snap = await tx.get(this.secretRef(realm, key));
      tx.delete(this.tokenRef(realm, key));
      if (!snap.exists) return false;
      tx.delete(this.secretRef(realm, key));
      return true;
    });
  }

  async getTokenState(realm: string, key: string): Promise<TokenState | null> {
    const snap = await this.tokenRef(realm, key).get();
    return snap.exists ? decodeTokenState(snap.data() as Doc, this.sealer) : null;
  }

  async mutateTokenState<R>(realm: string, key: string, mutator: TokenMutator<R>): Promise<R> {
    const ref = this.tokenRef(realm, key);
    return this.db.runTransaction(async (tx) => {
      const snap = await tx.get(ref);
      const { next, result } = mutator(
        snap.exists ? decodeTokenState(snap.data() as Doc, this.sealer) : null,
      );
      if (next === null) tx.delete(ref);
      else if (next !== undefined) tx.set(ref, encodeTokenState(next, this.sealer));
      return result;
    });
  }

  async listTokenStates(): Promise<TokenState[]> {
    const snap = await this.db.collection(COLLECTIONS.tokens).orderBy('__name__').get();
    return snap.docs.map((d) => decodeTokenState(d.data(), this.sealer));
  }

  async putClient(client: ClientRecord): Promise<void> {
    await this.clientRef(client.id).set(encodeClient(client));
  }

  async getClient(id: string): Promise<ClientRecord | null> {
    const snap = await this.clientRef(id).get();
    return snap.exists ? decodeClient(snap.data() as Doc) : null;
  }

  async findClientByKeyHash(keyHash: string): Promise<ClientRecord | null> {
    const snap = await this.db.collection(COLLECTIONS.clients).where('keyHash', '==', keyHash).limit(1).get();
    const doc = snap.docs[0];
    return doc === undefined ? null : decodeClient(doc.data());
  }

  async listClients(): Promise<ClientRecord[]> {
    const snap = await this.db.collection(COLLECTIONS.clients).orderBy('createdAt').get();
    return snap.docs.map((d) => decodeClient(d.data()));
  }

  async deleteClient(id: string): Promise<boolean> {
    return this.db.runTransaction(async (tx) => {
      const snap = await tx.get(this.clientRef(id));
      if (!snap.exists) return false;
      tx.delete(this.clientRef(id));
      return true;
    });
  }

  async close(): Promise<void> {
    await this.db.terminate();
  }
}
