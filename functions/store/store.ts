/**
 * The Store: everything the engine and the admin routes keep. Two implementations (Firestore and
 * memory) pass one contract suite (test/emulator/store-contract.ts). Every operation that must be
 * atomic is one method here, so callers never hand-roll a read-then-write.
 */
import type {
  ClientRecord,
  Page,
  PageRequest,
  RealmRecord,
  SecretRecord,
  TokenState,
  TokenSummary,
} from './types';

/** What a mutator decides: write `next` (null deletes, undefined leaves as is) and return `result`. */
export interface Mutation<R> {
  next?: TokenState | null;
  result: R;
}

/**
 * A pure function of the current state. It may run more than once (Firestore retries contended
 * transactions), so it must not have side effects.
 */
export type TokenMutator<R> = (current: TokenState | null) => Mutation<R>;

export type PutSecretOutcome = 'created' | 'replaced' | 'no_realm';
export type DeleteRealmOutcome = 'deleted' | 'not_found' | 'in_use';

export interface Store {
  readonly kind: 'firestore' | 'memory';

  getRealm(id: string): Promise<RealmRecord | null>;
  putRealm(realm: RealmRecord): Promise<void>;
  /** keyword matches id or comment, case-insensitively. Ordered by id. */
  listRealms(page: PageRequest & { keyword?: string }): Promise<Page<RealmRecord>>;
  /** Atomically refuses while any secret uses the realm. */
  deleteRealm(id: string): Promise<DeleteRealmOutcome>;

  getSecret(realm: string, key: string): Promise<SecretRecord | null>;
  /**
   * Atomically: checks that the realm exists, writes the secret, and replaces its token state with
   * resetToken(current) (the caller discards the cached token but may keep counters). The current
   * state is given without its token, so a token sealed under an older master key cannot block it.
   */
  putSecret(
    secret: SecretRecord,
    resetToken: (current: TokenSummary | null) => TokenState | null,
  ): Promise<PutSecretOutcome>;
  /** Ordered by document id (realm:key). */
  listSecrets(page: PageRequest & { realm?: string }): Promise<Page<SecretRecord>>;
  /** Deletes the secret and its token state together. */
  deleteSecret(realm: string, key: string): Promise<boolean>;

  getTokenState(realm: string, key: string): Promise<TokenState | null>;
  /** Read-modify-write of one token state in a transaction. */
  mutateTokenState<R>(realm: string, key: string, mutator: TokenMutator<R>): Promise<R>;
  /** Every token state, without the tokens (nothing is decrypted). */
  listTokenStates(): Promise<TokenSummary[]>;

  putClient(client: ClientRecord): Promise<void>;
  getClient(id: string): Promise<ClientRecord | null>;
  findClientByKeyHash(keyHash: string): Promise<ClientRecord | null>;
  listClients(): Promise<ClientRecord[]>;
  deleteClient(id: string): Promise<boolean>;

  close(): Promise<void>;

  /**
   * Optional: calls onChange soon after the token state of realm/key is written or deleted (by any
   * instance), and once when the watch starts; returns the function that stops watching. Waiters
   * sleep until a change or their poll delay (store/token-watch.ts). Stores without it are polled.
   */
  watchTokenState?(realm: string, key: string, onChange: () => void): () => void;
}

/** The id of a secret's documents: realm and key ids cannot contain ':' so this is unambiguous. */
export function secretDocId(realm: string, key: string): string {
  return `${realm}:${key}`;
}

export const COLLECTIONS = {
  realms: 'realms',
  secrets: 'secrets',
  tokens: 'tokens',
  clients: 'clients',
} as const;

export function pageOf<T>(all: T[], page: PageRequest): Page<T> {
  return { list: all.slice(page.offset, page.offset + page.limit), total: all.length };
}

export function matchesKeyword(realm: RealmRecord, keyword: string | undefined): boolean {
  if (keyword === undefined || keyword === '') return true;
  const k = keyword.toLowerCase();
  return realm.id.toLowerCase().includes(k) || realm.comment.toLowerCase().includes(k);
}
