/**
 * A Store that counts the Firestore document reads and writes its calls cost, as Firestore bills
 * them: a document get is 1 read; a query is 1 read per document returned (at least 1); a
 * transaction costs 1 read per document read on every attempt (Firestore re-runs contended
 * transactions, and so the mutator, which is where they are counted) and 1 write per document
 * written when it commits.
 */
import { TokenEngine } from '../functions/engine/engine';
import type { Runtime } from '../functions/runtime';
import type { PushedMutator } from '../functions/store/pushed';
import type { Store, TokenMutator, TokenRead } from '../functions/store/store';
import type { Page, TokenState } from '../functions/store/types';

/**
 * A page read as the Firestore store reads it: the page's documents plus one to learn whether more
 * follow (a query returning nothing still bills 1), and the count() aggregation for the total
 * (1 read per 1,000 index entries, at least 1) unless it was not asked for (total -1).
 */
function pageReads(page: Page<unknown, unknown>): number {
  const docs = Math.max(1, page.list.length + (page.next === undefined ? 0 : 1));
  return docs + (page.total < 0 ? 0 : Math.max(1, Math.ceil(page.total / 1000)));
}

export interface Counts {
  reads: number;
  writes: number;
  transactions: number;
  /** Calls per Store method. */
  calls: Record<string, number>;
  /** Reads per Store method. */
  readsBy: Record<string, number>;
}

export function emptyCounts(): Counts {
  return { reads: 0, writes: 0, transactions: 0, calls: {}, readsBy: {} };
}

export class CountingStore implements Store {
  counts: Counts = emptyCounts();

  constructor(readonly inner: Store) {}

  get kind(): Store['kind'] {
    return this.inner.kind;
  }

  /** The counts so far, and a fresh start. */
  take(): Counts {
    const c = this.counts;
    this.counts = emptyCounts();
    return c;
  }

  private count(method: string, reads: number, writes = 0): void {
    this.counts.calls[method] = (this.counts.calls[method] ?? 0) + 1;
    this.counts.readsBy[method] = (this.counts.readsBy[method] ?? 0) + reads;
    this.counts.reads += reads;
    this.counts.writes += writes;
  }

  async getRealm(...a: Parameters<Store['getRealm']>) {
    this.count('getRealm', 1);
    return this.inner.getRealm(...a);
  }
  async putRealm(...a: Parameters<Store['putRealm']>) {
    this.count('putRealm', 0, 1);
    return this.inner.putRealm(...a);
  }
  async listRealms(...a: Parameters<Store['listRealms']>) {
    const page = await this.inner.listRealms(...a);
    // A keyword search reads every realm.
    this.count('listRealms', a[0].keyword ? Math.max(1, page.total) : pageReads(page));
    return page;
  }
  async deleteRealm(...a: Parameters<Store['deleteRealm']>) {
    this.count('deleteRealm', 2, 1);
    return this.inner.deleteRealm(...a);
  }
  async getSecret(...a: Parameters<Store['getSecret']>) {
    this.count('getSecret', 1);
    return this.inner.getSecret(...a);
  }
  async putSecret(...a: Parameters<Store['putSecret']>) {
    this.count('putSecret', 3, 2);
    return this.inner.putSecret(...a);
  }
  async listSecrets(...a: Parameters<Store['listSecrets']>) {
    const page = await this.inner.listSecrets(...a);
    this.count('listSecrets', pageReads(page));
    return page;
  }
  async deleteSecret(...a: Parameters<Store['deleteSecret']>) {
    this.count('deleteSecret', 1, 2);
    return this.inner.deleteSecret(...a);
  }
  async getTokenState(...a: Parameters<Store['getTokenState']>) {
    this.count('getTokenState', 1);
    return this.inner.getTokenState(...a);
  }
  async readTokenState(...a: Parameters<Store['readTokenState']>) {
    this.count('getTokenState', 1);
    return this.inner.readTokenState(...a);
  }
  async mutateTokenState<R>(
    realm: string,
    key: string,
    mutator: TokenMutator<R>,
    from?: TokenRead,
  ): Promise<R> {
    this.counts.calls.mutateTokenState = (this.counts.calls.mutateTokenState ?? 0) + 1;
    this.counts.transactions++;
    let wrote = false;
    let attempts = 0;
    const result = await this.inner.mutateTokenState(
      realm,
      key,
      (current: TokenState | null, now: number) => {
        // Every attempt reads the document once, but the first when the caller's read stands in.
        if (attempts++ > 0 || from === undefined) {
          this.counts.reads++;
          this.counts.readsBy.mutateTokenState = (this.counts.readsBy.mutateTokenState ?? 0) + 1;
        }
        const m = mutator(current, now);
        wrote = m.next !== undefined;
        return m;
      },
      from,
    );
    if (wrote) this.counts.writes++;
    return result;
  }
  async readPushed(...a: Parameters<Store['readPushed']>) {
    this.count('readPushed', 1);
    return this.inner.readPushed(...a);
  }
  /** A transaction: 1 read per attempt (the mutator runs once per attempt), 1 write when it writes. */
  async mutatePushed<R>(realm: string, key: string, mutator: PushedMutator<R>): Promise<R> {
    this.counts.calls.mutatePushed = (this.counts.calls.mutatePushed ?? 0) + 1;
    this.counts.transactions++;
    let wrote = false;
    const result = await this.inner.mutatePushed<R>(realm, key, (current, now) => {
      this.counts.reads++;
      this.counts.readsBy.mutatePushed = (this.counts.readsBy.mutatePushed ?? 0) + 1;
      const m = mutator(current, now);
      wrote = m.next !== undefined;
      return m;
    });
    if (wrote) this.counts.writes++;
    return result;
  }
  async now() {
    this.count('now', 1);
    return this.inner.now();
  }
  async listTokenStates() {
    const all = await this.inner.listTokenStates();
    this.count('listTokenStates', Math.max(1, all.length));
    return all;
  }
  async listTokenSummaries(...a: Parameters<Store['listTokenSummaries']>) {
    const page = await this.inner.listTokenSummaries(...a);
    this.count('listTokenSummaries', pageReads(page));
    return page;
  }
  async listDueTokens(...a: Parameters<Store['listDueTokens']>) {
    const page = await this.inner.listDueTokens(...a);
    this.count('listDueTokens', Math.max(1, page.list.length));
    return page;
  }
  async backfillDueTimes(...a: Parameters<Store['backfillDueTimes']>) {
    const progress = await this.inner.backfillDueTimes(...a);
    // Once an instance has seen it finished, a call reads nothing; before, the progress marker
    // and the documents looked at (and writes: the dueAt fields and the marker).
    const idle = progress.done && progress.scanned === 0;
    this.count('backfillDueTimes', idle ? 0 : 1 + progress.scanned, idle ? 0 : 1 + progress.updated);
    return progress;
  }
  async countSealedByKey() {
    const counts = await this.inner.countSealedByKey();
    // Per collection: one read and one count() per key id in use, the total and the empty count.
    this.count('countSealedByKey', 2 * (2 * Object.keys(counts).length + 3));
    return counts;
  }
  async resealPage(...a: Parameters<Store['resealPage']>) {
    const page = await this.inner.resealPage(...a);
    this.count('resealPage', Math.max(1, page.scanned), page.written);
    return page;
  }

  async getProbeCursor() {
    this.count('getProbeCursor', 1);
    return this.inner.getProbeCursor();
  }
  async putProbeCursor(...a: Parameters<Store['putProbeCursor']>) {
    this.count('putProbeCursor', 0, 1);
    return this.inner.putProbeCursor(...a);
  }
  async putClient(...a: Parameters<Store['putClient']>) {
    this.count('putClient', 0, 1);
    return this.inner.putClient(...a);
  }
  async getClient(...a: Parameters<Store['getClient']>) {
    this.count('getClient', 1);
    return this.inner.getClient(...a);
  }
  async findClientByKeyHash(...a: Parameters<Store['findClientByKeyHash']>) {
    this.count('findClientByKeyHash', 1);
    return this.inner.findClientByKeyHash(...a);
  }
  async listClients(...a: Parameters<Store['listClients']>) {
    const page = await this.inner.listClients(...a);
    this.count('listClients', pageReads(page));
    return page;
  }
  async deleteClient(...a: Parameters<Store['deleteClient']>) {
    this.count('deleteClient', 1, 1);
    return this.inner.deleteClient(...a);
  }
  async close() {
    return this.inner.close();
  }
}

/**
 * Makes a runtime read and write through `store` (a counting wrapper of the store it was built
 * on): its routes through runtime.store, its token requests through an engine on `store`. The ops
 * store and its hooks stay the inner store's.
 */
export function serveThrough(runtime: Runtime, store: Store): void {
  runtime.store = store;
  runtime.engine = new TokenEngine({
    store,
    clock: runtime.clock,
    random: runtime.random,
    instanceId: runtime.instanceId,
    leaseMs: runtime.config.leaseMs,
    waitMs: runtime.config.waitMs,
    allowPrivateUpstreams: runtime.config.allowPrivateUpstreams,
  });
}
