/**
 * Counting for the ops scenarios (issue 25): a CountingStore (bench/counting-store.ts, the same
 * billing model) that also counts what the audit log and webhooks add — the side writes an admin
 * change commits with it, the outbox entries and report audits a token state change commits, and
 * the ops store's own reads and writes (webhook delivery: take, list, settle; the audit key) — and a
 * runtime wired to it. With `ops: false` the same runtime commits no side writes at all: the cost
 * before the audit log and webhooks existed.
 */
import { parseConfig } from '../../functions/config';
import { createHandler, type HttpHandler } from '../../functions/http/app';
import { cacheRoutes, fullRoutes } from '../../functions/http/routes';
import type { OpsStore } from '../../functions/ops/ops-store';
import { createRuntime, type Runtime } from '../../functions/runtime';
import { resolveKeys } from '../../functions/keys/keys';
import { FirestoreStore } from '../../functions/store/firestore/firestore-store';
import { openStore } from '../../functions/store/open-store';
import { Sealer } from '../../functions/store/seal';
import type { SideWrite } from '../../functions/store/side-writes';
import type { Store } from '../../functions/store/store';
import type { Page } from '../../functions/store/types';
import { CountingStore, serveThrough } from '../counting-store';
import type { Stack } from '../stack';

/** The CountingStore plus the side writes of each change (dropped, not counted, with `ops` off). */
export class SideCountingStore extends CountingStore {
  constructor(
    inner: Store,
    private readonly ops: boolean,
  ) {
    super(inner);
  }

  /** Adds `n` reads and `w` writes under a method name of its own (e.g. ops.claimOutbox). */
  add(method: string, reads: number, writes: number): void {
    this.counts.calls[method] = (this.counts.calls[method] ?? 0) + 1;
    this.counts.readsBy[method] = (this.counts.readsBy[method] ?? 0) + reads;
    this.counts.reads += reads;
    this.counts.writes += writes;
  }

  /** The side writes a change commits: counted (1 write each) with ops on, dropped with ops off. */
  private side(side: SideWrite[] | undefined): SideWrite[] | undefined {
    if (!this.ops || side === undefined) return undefined;
    if (side.length > 0) this.add('sideWrites', 0, side.length);
    return side;
  }

  override async putRealm(...[realm, side]: Parameters<Store['putRealm']>) {
    return super.putRealm(realm, this.side(side));
  }
  override async deleteRealm(...[id, side]: Parameters<Store['deleteRealm']>) {
    return super.deleteRealm(id, this.side(side));
  }
  override async putSecret(...[secret, reset, side]: Parameters<Store['putSecret']>) {
    return super.putSecret(secret, reset, this.side(side));
  }
  override async deleteSecret(...[realm, key, side]: Parameters<Store['deleteSecret']>) {
    return super.deleteSecret(realm, key, this.side(side));
  }
  override async putClient(...[client, side]: Parameters<Store['putClient']>) {
    return super.putClient(client, this.side(side));
  }
  override async deleteClient(...[id, side]: Parameters<Store['deleteClient']>) {
    return super.deleteClient(id, this.side(side));
  }
}

/** A page's reads as the Firestore ops store makes them: its documents + 1 to see more, + the count(). */
function pageReads(page: Page<unknown, unknown>): number {
  return Math.max(1, page.list.length + (page.next === undefined ? 0 : 1)) + 1;
}

/**
 * Counts the ops store's calls into `counts` (on the instance: the delivery code holds this object),
 * by what firestore-ops.ts does: a get is 1 read, a query 1 per document (min 1), a write 1.
 */
function countOps(ops: OpsStore, counts: SideCountingStore): void {
  const o = ops as unknown as Record<string, unknown>;
  const wrap = <A extends unknown[], R>(
    name: keyof OpsStore,
    cost: (args: A, result: R) => [reads: number, writes: number],
  ): void => {
    const original = (o[name] as (...args: A) => Promise<R>).bind(ops);
    o[name] = async (...args: A): Promise<R> => {
      const result = await original(...args);
      const [reads, writes] = cost(args, result);
      counts.add(`ops.${name}`, reads, writes);
      return result;
    };
  };
  wrap<[unknown, SideWrite[]], void>('createWebhook', ([, side]) => [0, 1 + side.length]);
  wrap<[string], unknown>('getWebhook', () => [1, 0]);
  wrap<[unknown], Page<unknown, unknown>>('listWebhooks', (_a, page) => [pageReads(page), 0]);
  wrap<[unknown], Page<unknown, unknown>>('listAudit', (_a, page) => [pageReads(page), 0]);
  wrap<[string, SideWrite[]], boolean>('deleteWebhook', ([, side], done) => [1, done ? 1 + side.length : 0]);
  wrap<[], string | null>('getAuditKey', () => [1, 0]);
  wrap<[string], string>('createAuditKey', ([sealed], stored) => [1, stored === sealed ? 1 : 0]);
  wrap<[string], void>('replaceAuditKey', () => [0, 1]);
  wrap<[SideWrite[]], void>('recordSide', ([side]) => [0, side.length]);
  // The clock document's read, then the due entries (ids only; a query of none bills 1).
  wrap<[number], string[]>('dueOutbox', (_a, ids) => [1 + Math.max(1, ids.length), 0]);
  wrap<[string, number], unknown>('claimOutbox', (_a, taken) => [1, taken === null ? 0 : 1]);
  wrap<[string, unknown], void>('settleOutbox', () => [0, 1]);
}

export interface CountedInstance {
  runtime: Runtime;
  store: SideCountingStore;
  /** tokenServer's routes. */
  server: HttpHandler;
  /** tokenServerCache's routes (memory hits), on the same runtime. */
  cache: HttpHandler;
  close(): Promise<void>;
}

/** Counted instances made so far (each gets its own Firestore app). */
let instances = 0;

/**
 * A runtime on its own connection to the stack's Firestore, built by createRuntime from `env` (its
 * keys, its Firestore store with the ops store and hooks on it), whose store and engine are then the
 * counting ones. `ops: false`: the token hooks removed and admin side writes dropped.
 */
export async function countedInstance(
  stack: Stack,
  ops: boolean,
  env: NodeJS.ProcessEnv = stack.env.env,
): Promise<CountedInstance> {
  const config = parseConfig(env);
  // A Firestore app of its own: close() terminates it, and a later runtime built under the default
  // name ('token-server', e.g. the platform scenario's) must not be handed the terminated client.
  const keys = await resolveKeys(config);
  const own = openStore(
    config,
    new Sealer(keys.masterKeys ?? keys.masterKey),
    `bench-counted-${++instances}`,
  );
  const runtime = await createRuntime(config, { keys, store: own });
  if (!(runtime.store instanceof FirestoreStore)) throw new Error('the bench runs on Firestore');
  const inner = runtime.store;
  const store = new SideCountingStore(inner, ops);
  if (ops) {
    // The side writes of token state changes, counted once committed (1 write each).
    const hook = inner.tokenHook;
    if (hook !== undefined) {
      inner.tokenHook = {
        writesFor: (before, after, now) => hook.writesFor(before, after, now),
        committed: (writes) => {
          if (writes.length > 0) store.add('tokenSideWrites', 0, writes.length);
          hook.committed(writes);
        },
      };
    }
  } else {
    inner.tokenHook = undefined;
    inner.pushedHook = undefined;
  }
  countOps(runtime.ops.store, store);
  serveThrough(runtime, store);
  const handler = (fn: 'tokenServer' | 'tokenServerCache') =>
    createHandler({
      name: fn,
      routes: fn === 'tokenServer' ? fullRoutes() : cacheRoutes(),
      runtime: async () => runtime,
    });
  return {
    runtime,
    store,
    server: handler('tokenServer'),
    cache: handler('tokenServerCache'),
    close: () => inner.close(),
  };
}
