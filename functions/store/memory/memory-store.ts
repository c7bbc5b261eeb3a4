/**
 * The embedded store: one process, data lost on exit. It keeps the same encoded (sealed) documents
 * as Firestore would, and each operation runs without an await between its read and its write, so
 * it is atomic on Node's single thread. Its clock plays the part of Firestore's read times: the
 * store's time, which the engine judges leases, expiry and windows by.
 */
import { systemClock, type Clock } from '../../clock';
import {
  SEALED_COLLECTIONS,
  addCount,
  nextPosition,
  planReseal,
  sealedKeyOfDoc,
  type ResealPage,
  type ResealPosition,
  type SealedCounts,
} from '../reseal';
import type { Sealer } from '../seal';
import {
  decodeClient,
  decodeDueEntry,
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
  compareStrings as compare,
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
  type ProbeCursor,
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
import { decodePushed, encodePushed, type PushedMutator, type PushedRead } from '../pushed';
import type { PushedChangeHook, SideWrite, TokenChangeHook } from '../side-writes';
import { TokenWatchers } from './token-watchers';
import { countChildDocs, type ChildCounts } from '../child-counts';

export class MemoryStore implements Store {
  readonly kind = 'memory' as const;
  private readonly realms = new Map<string, Doc>();
  private readonly secrets = new Map<string, Doc>();
  private readonly tokens = new Map<string, Doc>();
  private readonly clients = new Map<string, Doc>();
  private probeCursor: ProbeCursor | null = null;
  private readonly pushed = new Map<string, Doc>();
  /** Change notifications of token states (watchTokenState). */
  readonly watchers = new TokenWatchers();
  /** Side documents by collection, then id (store/side-writes.ts); read by functions/ops/ stores. */
  readonly sideDocs = new Map<string, Map<string, Doc>>();
  tokenHook?: TokenChangeHook;
  pushedHook?: PushedChangeHook;

  constructor(
    private readonly sealer: Sealer,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Side writes, in the same turn as the change they belong to (so as atomic as it). */
  private addSide(side: readonly SideWrite[] | undefined): void {
    for (const w of side ?? []) {
      let collection = this.sideDocs.get(w.collection);
      if (collection === undefined) this.sideDocs.set(w.collection, (collection = new Map<string, Doc>()));
      const doc = structuredClone(w.doc);
      if (w.stampField !== undefined) doc[w.stampField] = this.clock.now();
      collection.set(w.id, doc);
    }
  }

  async getRealm(id: string): Promise<RealmRecord | null> {
    const d = this.realms.get(id);
    return d === undefined ? null : decodeRealm(structuredClone(d));
  }

  async putRealm(realm: RealmRecord, side?: SideWrite[]): Promise<void> {
    this.realms.set(realm.id, structuredClone(encodeRealm(realm)));
    this.addSide(side);
  }

  async listRealms(page: PageRequest & { keyword?: string }): Promise<Page<RealmRecord>> {
    const all = [...this.realms.values()]
      .map((d) => decodeRealm(structuredClone(d)))
      .filter((r) => matchesKeyword(r, page.keyword))
      .sort((a, b) => compare(a.id, b.id));
    return pageOf(
      all,
      page,
      (r) => r.id,
      (r, after) => compare(r.id, after),
    );
  }

  async deleteRealm(id: string, side?: SideWrite[]): Promise<DeleteRealmOutcome> {
    if (!this.realms.has(id)) return 'not_found';
    for (const d of this.secrets.values()) if (d.realm === id) return 'in_use';
    this.realms.delete(id);
    this.addSide(side);
    return 'deleted';
  }

  async getSecret(realm: string, key: string): Promise<SecretRecord | null> {
    const d = this.secrets.get(secretDocId(realm, key));
    return d === undefined ? null : decodeSecret(structuredClone(d), this.sealer);
  }

  async putSecret(
    secret: SecretRecord,
    resetToken: (current: TokenSummary | null) => TokenState | null,
    side?: SideWrite[],
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
    this.addSide(side);
    this.watchers.changed(id);
    return existed ? 'replaced' : 'created';
  }

  async listSecrets(page: PageRequest & { realm?: string }): Promise<Page<SecretRecord>> {
    const slice = byDocId(this.secrets, page);
    return { ...slice, list: slice.list.map(([, d]) => decodeSecret(structuredClone(d), this.sealer)) };
  }

  async deleteSecret(realm: string, key: string, side?: SideWrite[]): Promise<DeleteSecretOutcome> {
    const id = secretDocId(realm, key);
    const ref = parentRef(realm, key);
    const children = [...this.secrets.values()]
      .filter((d) => d.parent === ref)
      .map((d) => parentRef(String(d.realm), String(d.key)))
      .sort(compare)
      .slice(0, CHILDREN_NAMED);
    if (children.length > 0) return { children };
    if (this.tokens.delete(id)) this.watchers.changed(id);
    if (!this.secrets.delete(id)) return 'not_found';
    this.addSide(side);
    return 'deleted';
  }

  async getTokenState(realm: string, key: string): Promise<TokenState | null> {
    return (await this.readTokenState(realm, key)).state;
  }

  async readTokenState(realm: string, key: string): Promise<TokenRead> {
    return this.readNow(realm, key);
  }

  private readNow(realm: string, key: string): TokenRead {
    const d = this.tokens.get(secretDocId(realm, key));
    return {
      state: d === undefined ? null : decodeTokenState(structuredClone(d), this.sealer),
      now: this.clock.now(),
    };
  }

  /** `from` is not needed: the memory store decides on the current state, in the same turn. */
  async mutateTokenState<R>(realm: string, key: string, mutator: TokenMutator<R>): Promise<R> {
    const id = secretDocId(realm, key);
    const d = this.tokens.get(id);
    const before = d === undefined ? null : decodeTokenState(structuredClone(d), this.sealer);
    const now = this.clock.now();
    const { next, result, stamp } = mutator(before, now);
    if (next === undefined) return result;
    const side = this.tokenHook?.writesFor(before, next, now) ?? [];
    if (next === null) this.tokens.delete(id);
    else this.tokens.set(id, encodeTokenState(next, this.sealer));
    this.addSide(side);
    if (side.length > 0) this.tokenHook?.committed(side);
    this.watchers.changed(id);
    return stamp === undefined ? result : stamp(this.clock.now());
  }

  async readPushed(realm: string, key: string, options?: { open?: boolean }): Promise<PushedRead> {
    const d = this.pushed.get(secretDocId(realm, key));
    return {
      state: d === undefined ? null : decodePushed(structuredClone(d), this.sealer, options?.open ?? true),
      now: this.clock.now(),
    };
  }

  async mutatePushed<R>(realm: string, key: string, mutator: PushedMutator<R>): Promise<R> {
    const id = secretDocId(realm, key);
    const d = this.pushed.get(id);
    const before = d === undefined ? null : decodePushed(structuredClone(d), this.sealer);
    const now = this.clock.now();
    const { next, result } = mutator(before === null ? null : structuredClone(before), now);
    if (next !== undefined) {
      const side = this.pushedHook?.writesFor(before, next, now) ?? [];
      this.pushed.set(id, encodePushed(next, this.sealer));
      this.addSide(side);
      if (side.length > 0) this.pushedHook?.committed(side);
    }
    return result;
  }

  async now(): Promise<number> {
    return this.clock.now();
  }

  async listTokenStates(): Promise<TokenSummary[]> {
    return [...this.tokens.values()]
      .map((d) => decodeTokenSummary(structuredClone(d)))
      .sort((a, b) => compare(secretDocId(a.realm, a.key), secretDocId(b.realm, b.key)));
  }

  async listTokenSummaries(
    page: PageRequest & { realm?: string; countTotal?: boolean },
  ): Promise<Page<TokenSummary>> {
    const slice = byDocId(this.tokens, page);
    return {
      ...slice,
      total: page.countTotal === false ? -1 : slice.total,
      list: slice.list.map(([, d]) => decodeTokenSummary(structuredClone(d))),
    };
  }

  async listDueTokens(query: DueQuery): Promise<DuePage> {
    const { after } = query;
    const due = [...this.tokens.entries()]
      .filter(([, d]) => typeof d.dueAt === 'number' && d.dueAt <= query.now)
      .map(([id, d]) => ({ id, dueAt: d.dueAt as number, d }))
      .sort((a, b) => a.dueAt - b.dueAt || compare(a.id, b.id))
      .filter(
        (e) => after === undefined || e.dueAt > after.dueAt || (e.dueAt === after.dueAt && e.id > after.id),
      )
      .slice(0, query.limit);
    const last = due[due.length - 1];
    return {
      list: due.map((e) => decodeDueEntry(structuredClone(e.d))),
      ...(due.length === query.limit && last !== undefined
        ? { next: { dueAt: last.dueAt, id: last.id } }
        : {}),
    };
  }

  /** Every document of a memory store was written by this version's codec (it does not outlive its process). */
  async backfillDueTimes(_limit: number): Promise<BackfillProgress> {
    return { scanned: 0, updated: 0, done: true };
  }

  countChildren(parent: string, errorCode: string): Promise<ChildCounts> {
    return Promise.resolve(countChildDocs(this.secrets.values(), this.tokens.values(), parent, errorCode));
  }

  async countSealedByKey(): Promise<SealedCounts> {
    const counts: SealedCounts = {};
    for (const collection of SEALED_COLLECTIONS) {
      for (const d of this.docsOf(collection).values()) {
        const id = sealedKeyOfDoc(collection, d);
        if (id !== undefined) addCount(counts, id, 1);
      }
    }
    return counts;
  }

  /** Each document is decided and written in the same turn: nothing can write in between. */
  async resealPage(position: ResealPosition, limit: number): Promise<ResealPage> {
    const docs = this.docsOf(position.collection);
    const after = position.after;
    const ids = [...docs.keys()]
      .filter((id) => after === undefined || id > after)
      .sort(compare)
      .slice(0, limit);
    let resealed = 0;
    let unreadable = 0;
    let written = 0;
    for (const id of ids) {
      const d = docs.get(id);
      if (d === undefined) continue;
      const plan = planReseal(position.collection, d, this.sealer);
      if (plan.kind === 'unreadable') unreadable++;
      if (plan.kind !== 'write') continue;
      docs.set(id, { ...d, ...plan.update });
      written++;
      if (plan.resealed) resealed++;
    }
    const next = nextPosition(position.collection, ids.length === limit, ids[ids.length - 1]);
    return { scanned: ids.length, resealed, unreadable, written, ...(next === undefined ? {} : { next }) };
  }

  private docsOf(collection: ResealPosition['collection']): Map<string, Doc> {
    return collection === 'secrets' ? this.secrets : this.tokens;
  }

  async getProbeCursor(): Promise<ProbeCursor | null> {
    return this.probeCursor === null ? null : { ...this.probeCursor };
  }

  async putProbeCursor(cursor: ProbeCursor | null): Promise<void> {
    this.probeCursor = cursor === null ? null : { ...cursor };
  }

  async putClient(client: ClientRecord, side?: SideWrite[]): Promise<void> {
    this.clients.set(client.id, encodeClient(client));
    this.addSide(side);
  }

  async getClient(id: string): Promise<ClientRecord | null> {
    const d = this.clients.get(id);
    return d === undefined ? null : decodeClient(structuredClone(d));
  }

  async findClientByKeyHash(keyHash: string): Promise<ClientRecord | null> {
    for (const d of this.clients.values()) if (d.keyHash === keyHash) return decodeClient(structuredClone(d));
    return null;
  }

  async listClients(page: PageRequest<ClientPosition>): Promise<Page<ClientRecord, ClientPosition>> {
    const all = [...this.clients.values()]
      .map((d) => decodeClient(structuredClone(d)))
      .sort((a, b) => a.createdAt - b.createdAt || compare(a.id, b.id));
    return pageOf(
      all,
      page,
      (c) => ({ createdAt: c.createdAt, id: c.id }),
      (c, after) => c.createdAt - after.createdAt || compare(c.id, after.id),
    );
  }

  async deleteClient(id: string, side?: SideWrite[]): Promise<boolean> {
    if (!this.clients.delete(id)) return false;
    this.addSide(side);
    return true;
  }

  async close(): Promise<void> {}

  watchTokenState(realm: string, key: string, onChange: (read?: TokenRead) => void): () => void {
    // Like a Firestore snapshot, each report carries the state as it is when delivered.
    return this.watchers.watch(secretDocId(realm, key), () => onChange(this.readNow(realm, key)));
  }
}

/** One page of a collection in document-id order (as Firestore lists it), of one realm or all. */
function byDocId(docs: Map<string, Doc>, page: PageRequest & { realm?: string }): Page<[string, Doc]> {
  const all = [...docs.entries()]
    .filter(([, d]) => page.realm === undefined || d.realm === page.realm)
    .sort(([a], [b]) => compare(a, b));
  return pageOf(
    all,
    page,
    ([id]) => id,
    ([id], after) => compare(id, after),
  );
}
