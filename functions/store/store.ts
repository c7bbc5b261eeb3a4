/**
 * The Store: everything the engine and the admin routes keep. Two implementations (Firestore and
 * memory) pass one contract suite (test/emulator/store-contract.ts). Every operation that must be
 * atomic is one method here, so callers never hand-roll a read-then-write.
 */
import type { ChildCounts } from './child-counts';
import type { TokenMutator } from '../token/types';
import type { ResealPage, ResealPosition, SealedCounts } from './reseal-types';
import type { PushedMutator, PushedRead } from './pushed';
import type { PushedChangeHook, SideWrite, TokenChangeHook } from './side-writes';
import type {
  ClientPosition,
  ClientRecord,
  Page,
  PageRequest,
  RealmRecord,
  SecretRecord,
  TokenState,
  TokenSummary,
} from './types';

export type { Mutation, TokenMutator } from '../token/types';

/** A token state as read, with the store's time of the read: every cross-instance judgement uses it. */
export interface TokenRead {
  state: TokenState | null;
  /** Store time (epoch ms) at which the document was read; never the instance's clock. */
  now: number;
}

export interface DuePosition {
  dueAt: number;
  id: string;
}

export interface DueQuery {
  now: number;
  limit: number;
  after?: DuePosition;
}

/** A due token document as the due scan reads it (a projection: never the sealed token). */
export interface DueEntry {
  realm: string;
  key: string;
  dueAt: number;
}

export interface DuePage {
  list: DueEntry[];
  /** Where the next page starts, when this one was full. */
  next?: DuePosition;
}

export interface BackfillProgress {
  /** Documents looked at by this call. */
  scanned: number;
  /** Of those, documents that got a `dueAt`. */
  updated: number;
  /** Every document has been looked at (now or by an earlier call). */
  done: boolean;
}

/**
 * Where the probe round (engine/probe.ts) goes on: in realm `realm`, after the secret key `key`
 * (from its first secret when absent). Realms and keys are visited in id order.
 */
export interface ProbeCursor {
  realm: string;
  key?: string;
}

export type PutSecretOutcome = 'created' | 'replaced' | 'no_realm';
export type DeleteRealmOutcome = 'deleted' | 'not_found' | 'in_use';
/** A secret that other secrets name as their parent is not deleted: `children` names some of them. */
export type DeleteSecretOutcome = 'deleted' | 'not_found' | { children: string[] };
/** How many children a refused delete names. */
export const CHILDREN_NAMED = 10;

export interface Store {
  readonly kind: 'firestore' | 'memory';

  getRealm(id: string): Promise<RealmRecord | null>;
  /**
   * `side` (here and in every change below): documents written in the same commit as the change,
   * and only when the change is made (not on 'not_found', 'in_use', 'no_realm' or false).
   */
  putRealm(realm: RealmRecord, side?: SideWrite[]): Promise<void>;
  /** keyword matches id or comment, case-insensitively. Ordered by id. */
  /** With `countTotal: false` the total is not counted (answered as -1), for callers that scan on. */
  listRealms(page: PageRequest & { keyword?: string; countTotal?: boolean }): Promise<Page<RealmRecord>>;
  /** Atomically refuses while any secret uses the realm. */
  deleteRealm(id: string, side?: SideWrite[]): Promise<DeleteRealmOutcome>;

  getSecret(realm: string, key: string): Promise<SecretRecord | null>;
  /**
   * Atomically: checks that the realm exists, writes the secret, and replaces its token state with
   * resetToken(current) (the caller discards the cached token but may keep counters). The current
   * state is given without its token, so a token sealed under an older master key cannot block it.
   */
  putSecret(
    secret: SecretRecord,
    resetToken: (current: TokenSummary | null) => TokenState | null,
    side?: SideWrite[],
  ): Promise<PutSecretOutcome>;
  /** Ordered by document id (realm:key); positions are document ids. */
  listSecrets(page: PageRequest & { realm?: string; countTotal?: boolean }): Promise<Page<SecretRecord>>;
  /** Deletes the secret and its token state together; atomically refuses while secrets name it as parent. */
  deleteSecret(realm: string, key: string, side?: SideWrite[]): Promise<DeleteSecretOutcome>;

  getTokenState(realm: string, key: string): Promise<TokenState | null>;
  /**
   * The same read, with the store's time of the read (what expiry, leases and windows are judged
   * by). `withLookups`: a read started beside a client-key lookup (TokenEngine.readAhead), which the
   * Firestore store sends in one call with it (firestore/batched-gets.ts).
   */
  readTokenState(realm: string, key: string, options?: { withLookups?: boolean }): Promise<TokenRead>;
  /**
   * Read-modify-write of one token state, atomic for that document (Firestore: a compare-and-set
   * with a precondition on the read's update time, decided again on conflict). The mutator gets the
   * store's time of its read. `from`, a readTokenState answer for this document, may stand in for
   * the first read (Firestore: one round trip fewer; written only if the document is still as it
   * was read, else decided again on a new read); the memory store always decides on the current
   * state.
   */
  mutateTokenState<R>(realm: string, key: string, mutator: TokenMutator<R>, from?: TokenRead): Promise<R>;
  /** The store's time now (Firestore: a read's readTime): for judgements on listings (status). */
  now(): Promise<number>;
  /**
   * Every token state, without the tokens (nothing is decrypted). It reads the whole collection:
   * nothing in the service calls it (status pages with listTokenSummaries, the refresh queries
   * listDueTokens); it is for tests and one-off tools.
   */
  listTokenStates(): Promise<TokenSummary[]>;
  /**
   * A page of token states without the tokens, by document id (realm:key), of one realm or all.
   * With `countTotal: false` the total is not counted (answered as -1), for callers that scan on.
   */
  listTokenSummaries(
    page: PageRequest & { realm?: string; countTotal?: boolean },
  ): Promise<Page<TokenSummary>>;
  /**
   * The due scan: token documents with `dueAt <= now`, by due time then id, at most `limit`, after
   * `after`; only the fields DUE_ENTRY_FIELDS (a projection: reads cost one per entry, and nothing
   * sealed is transferred).
   */
  listDueTokens(query: DueQuery): Promise<DuePage>;
  /**
   * Writes `dueAt` on up to `limit` token documents that lack it (written by a version before it
   * existed), continuing where the previous call stopped (a progress marker in the store). Once
   * every document has been looked at, it costs one read per call and does nothing.
   */
  backfillDueTimes(limit: number): Promise<BackfillProgress>;
  /** Where the previous probe round stopped (null: at the start); one small document. */
  getProbeCursor(): Promise<ProbeCursor | null>;
  /** Where the next probe round starts (null: at the first realm). */
  putProbeCursor(cursor: ProbeCursor | null): Promise<void>;

  /**
   * Master-key rotation (store/reseal.ts). Sealed values per key id, counted without reading them
   * (Firestore: count() aggregations on `sealedWith`, one query per key id in use).
   */
  countSealedByKey(): Promise<SealedCounts>;
  /**
   * A platform secret's tenants (store/child-counts.ts), counted without reading them (Firestore:
   * count() aggregations): the secrets naming `parent` ("REALM/KEY"), its tombstones, and the token
   * states of their realm whose lastError.code is `errorCode`. Optional (a wrapping store without
   * it: status rows go without `tenants`).
   */
  countChildren?(parent: string, errorCode: string): Promise<ChildCounts>;
  /**
   * Up to `limit` documents from `position` (in collection, then document-id order), each one
   * whose value is not under the current key sealed again by compare-and-set: a document written
   * in between is decided again on what is there now, never overwritten with an older value.
   */
  resealPage(position: ResealPosition, limit: number): Promise<ResealPage>;

  putClient(client: ClientRecord, side?: SideWrite[]): Promise<void>;
  getClient(id: string): Promise<ClientRecord | null>;
  findClientByKeyHash(keyHash: string): Promise<ClientRecord | null>;
  /** Ordered by creation time, then id. */
  listClients(page: PageRequest<ClientPosition>): Promise<Page<ClientRecord, ClientPosition>>;
  deleteClient(id: string, side?: SideWrite[]): Promise<boolean>;

  /**
   * Side writes of token state changes (webhook events, report audits): asked for every decided
   * change of mutateTokenState and written in the same commit. Set by the runtime (runtime.ts).
   */
  tokenHook?: TokenChangeHook;

  /**
   * Side writes of pushed-values changes (ticket webhook events): asked for every decided change of
   * mutatePushed and written in the same commit. Set by the runtime (ops/ops.ts).
   */
  pushedHook?: PushedChangeHook;

  /**
   * A secret's pushed values (store/pushed.ts), with the store's time of the read; `open: false`
   * without the ticket itself (nothing is opened).
   */
  readPushed(realm: string, key: string, options?: { open?: boolean }): Promise<PushedRead>;
  /** Read-modify-write of a secret's pushed values, atomic for that document. */
  mutatePushed<R>(realm: string, key: string, mutator: PushedMutator<R>): Promise<R>;

  close(): Promise<void>;

  /**
   * Optional: calls onChange soon after the token state of realm/key is written or deleted (by any
   * instance), and once when the watch starts; returns the function that stops watching. Each call
   * carries the state as the notification saw it, with the store's time of that snapshot (a read
   * like readTokenState's), or nothing when it could not be decoded. Waiters sleep until a change
   * or their poll delay (store/token-watch.ts). Stores without it are polled.
   */
  watchTokenState?(realm: string, key: string, onChange: (read?: TokenRead) => void): () => void;

  /**
   * Optional: prepares what a first hit would otherwise wait for (the Firestore client's modules
   * and connection), unless an operation already did; never fails.
   */
  warm?(): Promise<void>;

  /**
   * Optional: starts, in the background, what a miss needs beyond a hit (the Firestore store's gRPC
   * client and channel beside a REST one, for the lease's write and the waiters' listeners); the
   * engine calls it when a request misses, the HTTP functions when an instance is first idle.
   * Never fails, returns at once.
   */
  warmMiss?(): void;
}

export { secretDocId } from './doc-id';

/** A secret as a parent reference: "REALM/KEY". */
export function parentRef(realm: string, key: string): string {
  return `${realm}/${key}`;
}

export const COLLECTIONS = {
  realms: 'realms',
  secrets: 'secrets',
  tokens: 'tokens',
  clients: 'clients',
  /** Each client again under its key hash: a client-key lookup is a get (FirestoreStore). */
  clientKeys: 'clientKeys',
  /** The store's own bookkeeping (the dueAt backfill's progress, the probe round's cursor). */
  meta: 'meta',
} as const;

/** The document (in COLLECTIONS.meta) where backfillDueTimes keeps its progress. */
export const BACKFILL_DOC = 'dueAtBackfill';
/** The document (in COLLECTIONS.meta) where the probe round keeps its cursor (getProbeCursor). */
export const PROBE_CURSOR_DOC = 'probeCursor';

/**
 * One page of a list already in its order (the memory store, and Firestore lists filtered in
 * memory): entries after `after` (by `positionOf`) or from `offset`, at most `limit`, and the
 * position of the last one when more follow.
 */
export function pageOf<T, P = string>(
  all: T[],
  page: PageRequest<P>,
  positionOf: (item: T) => P,
  compareTo: (item: T, position: P) => number,
): Page<T, P> {
  const after = page.after;
  const start =
    after === undefined
      ? (page.offset ?? 0)
      : (() => {
          const i = all.findIndex((item) => compareTo(item, after) > 0);
          return i < 0 ? all.length : i;
        })();
  const list = all.slice(start, start + page.limit);
  const last = list[list.length - 1];
  const more = start + page.limit < all.length;
  return { list, total: all.length, ...(more && last !== undefined ? { next: positionOf(last) } : {}) };
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function matchesKeyword(realm: RealmRecord, keyword: string | undefined): boolean {
  if (keyword === undefined || keyword === '') return true;
  const k = keyword.toLowerCase();
  return realm.id.toLowerCase().includes(k) || realm.comment.toLowerCase().includes(k);
}
