/**
 * The embedded store: one process, data lost on exit. It keeps the same encoded (sealed) documents
 * as Firestore would, and each operation runs without an await between its read and its write, so
 * it is atomic on Node's single thread.
 */
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
import { TokenWatchers } from './token-watchers';

export class MemoryStore implements Store {
  readonly kind = 'memory' as const;
  private readonly realms = new Map<string, Doc>();
  private readonly secrets = new Map<string, Doc>();
  private readonly tokens = new Map<string, Doc>();
  private readonly clients = new Map<string, Doc>();
  /** Change notifications of token states (watchTokenState). */
  readonly watchers = new TokenWatchers();

  constructor(private readonly sealer: Sealer) {}

  async getRealm(id: string): Promise<RealmRecord | null> {
    const d = this.realms.get(id);
    return d === undefined ? null : decodeRealm(structuredClone(d));
  }

  async putRealm(realm: RealmRecord): Promise<void> {
    this.realms.set(realm.id, structuredClone(encodeRealm(realm)));
  }

  async listRealms(page: PageRequest & { keyword?: string }): Promise<Page<RealmRecord>> {
    const all = [...this.realms.values()]
      .map((d) => decodeRealm(structuredClone(d)))
      .filter((r) => matchesKeyword(r, page.keyword))
      .sort((a, b) => compare(a.id, b.id));
    return pageOf(all, page);
  }

  async deleteRealm(id: string): Promise<DeleteRealmOutcome> {
    if (!this.realms.has(id)) return 'not_found';
    for (const d of this.secrets.values()) if (d.realm === id) return 'in_use';
    this.realms.delete(id);
    return 'deleted';
  }

  async getSecret(realm: string, key: string): Promise<SecretRecord | null> {
    const d = this.secrets.get(secretDocId(realm, key));
    return d === undefined ? null : decodeSecret(structuredClone(d), this.sealer);
  }

  async putSecret(
    secret: SecretRecord,
    resetToken: (current: TokenSummary | null) => TokenState | null,
  ): Promise<PutSecretOutcome> {
    if (!this.realms.has(secret.realm)) return 'no_realm';
    const id = secretDocId(secret.realm, secret.key);
    const encoded = encodeSecret(secret, this.sealer);
    const existed = this.secrets.has(id);
    const current = this.tokens.get(id);
    const next = resetToken(current === undefined ? null : decodeTokenSummary(structuredClone(current)));
    const nextDoc = next === null ? null : encodeTokenState(next, this.sealer);
    this.secrets.set(id, encoded);
    if (nextDoc === null) this.tokens.delete(id);
    else this.tokens.set(id, nextDoc);
    this.watchers.changed(id);
    return existed ? 'replaced' : 'created';
  }

  async listSecrets(page: PageRequest & { realm?: string }): Promise<Page<SecretRecord>> {
    const docs = [...this.secrets.values()]
      .filter((d) => page.realm === undefined || d.realm === page.realm)
      // Document-id order (realm:key), as Firestore lists them.
      .sort((a, b) =>
        compare(secretDocId(String(a.realm), String(a.key)), secretDocId(String(b.realm), String(b.key))),
      );
    const slice = pageOf(docs, page);
    return { total: slice.total, list: slice.list.map((d) => decodeSecret(structuredClone(d), this.sealer)) };
  }

  async deleteSecret(realm: string, key: string): Promise<boolean> {
    const id = secretDocId(realm, key);
    if (this.tokens.delete(id)) this.watchers.changed(id);
    return this.secrets.delete(id);
  }

  async getTokenState(realm: string, key: string): Promise<TokenState | null> {
    const d = this.tokens.get(secretDocId(realm, key));
    return d === undefined ? null : decodeTokenState(structuredClone(d), this.sealer);
  }

  async mutateTokenState<R>(realm: string, key: string, mutator: TokenMutator<R>): Promise<R> {
    const id = secretDocId(realm, key);
    const d = this.tokens.get(id);
    const { next, result } = mutator(
      d === undefined ? null : decodeTokenState(structuredClone(d), this.sealer),
    );
    if (next === null) this.tokens.delete(id);
    else if (next !== undefined) this.tokens.set(id, encodeTokenState(next, this.sealer));
    if (next !== undefined) this.watchers.changed(id);
    return result;
  }

  async listTokenStates(): Promise<TokenSummary[]> {
    return [...this.tokens.values()]
      .map((d) => decodeTokenSummary(structuredClone(d)))
      .sort((a, b) => compare(secretDocId(a.realm, a.key), secretDocId(b.realm, b.key)));
  }

  async putClient(client: ClientRecord): Promise<void> {
    this.clients.set(client.id, encodeClient(client));
  }

  async getClient(id: string): Promise<ClientRecord | null> {
    const d = this.clients.get(id);
    return d === undefined ? null : decodeClient(structuredClone(d));
  }

  async findClientByKeyHash(keyHash: string): Promise<ClientRecord | null> {
    for (const d of this.clients.values()) if (d.keyHash === keyHash) return decodeClient(structuredClone(d));
    return null;
  }

  async listClients(): Promise<ClientRecord[]> {
    return [...this.clients.values()]
      .map((d) => decodeClient(structuredClone(d)))
      .sort((a, b) => a.createdAt - b.createdAt || compare(a.id, b.id));
  }

  async deleteClient(id: string): Promise<boolean> {
    return this.clients.delete(id);
  }

  async close(): Promise<void> {}

  watchTokenState(realm: string, key: string, onChange: () => void): () => void {
    return this.watchers.watch(secretDocId(realm, key), onChange);
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
