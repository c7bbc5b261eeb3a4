/**
 * One contract, two stores: every behaviour the engine and the admin routes rely on is checked
 * against the memory store and the Firestore store (emulator), so they cannot drift apart.
 */
import { expect } from 'chai';
import { freshState } from '../../functions/token/decide';
import { MemoryStore } from '../../functions/store/memory/memory-store';
import { FIRESTORE_TRANSPORTS } from '../../functions/store/firestore/transport';
import { openStore } from '../../functions/store/open-store';
import { Sealer } from '../../functions/store/seal';
import type { Store } from '../../functions/store/store';
import type { ClientRecord, RealmRecord, SecretRecord, TokenState } from '../../functions/store/types';
import { clearEmulator, emulatorHostFromEnv } from '../helpers/emulator';
import { TEST_PROJECT_ID } from '../helpers/processes';

const sealer = new Sealer(Buffer.alloc(32, 3));

function realm(id: string, comment = ''): RealmRecord {
  return {
    id,
    comment,
    config: { url: 'https://example.com/token', nested: { a: [1, 'x', null] } },
    createdAt: 1,
    updatedAt: 2,
  };
}

function secret(realmId: string, key: string, rev = 'r1'): SecretRecord {
  return {
    realm: realmId,
    key,
    values: { key_1: `id-${key}`, key_2: 'pa55word' },
    rev,
    createdAt: 10,
    updatedAt: 11,
  };
}

/** Client `id`, named after itself, whose key hashes to `h<id>`. */
function client(id: string, scopes: ClientRecord['scopes'], createdAt: number): ClientRecord {
  return { id, name: id, scopes, keyHash: `h${id}`, createdAt };
}

/** `fresh()` gives an empty store before each case; `done()` releases resources at the end. */
function contract(name: string, fresh: () => Promise<Store>, done: () => Promise<void>): void {
  describe(`store contract: ${name}`, function () {
    this.timeout(60_000);
    let store: Store;

    beforeEach(async () => {
      store = await fresh();
    });
    after(done);

    it('puts, gets, replaces and lists realms with paging and keyword', async () => {
      expect(await store.getRealm('a')).to.equal(null);
      for (const id of ['c', 'a', 'b'])
        await store.putRealm(realm(id, id === 'b' ? 'WeChat Official' : 'other'));
      expect(await store.getRealm('a')).to.deep.equal(realm('a', 'other'));
      await store.putRealm({ ...realm('a', 'replaced'), updatedAt: 5 });
      expect((await store.getRealm('a'))?.comment).to.equal('replaced');
      const page = await store.listRealms({ offset: 1, limit: 1 });
      expect(page).to.deep.equal({ total: 3, list: [realm('b', 'WeChat Official')], next: 'b' });
      const found = await store.listRealms({ offset: 0, limit: 10, keyword: 'wechat' });
      expect(found.list.map((r) => r.id)).to.deep.equal(['b']);
      expect(
        (await store.listRealms({ offset: 0, limit: 10, keyword: 'THER' })).list.map((r) => r.id),
      ).to.deep.equal(['c']);
    });

    it('refuses to delete a realm in use, deletes it once free', async () => {
      await store.putRealm(realm('r'));
      expect(await store.deleteRealm('missing')).to.equal('not_found');
      expect(await store.putSecret(secret('r', 'k'), () => null)).to.equal('created');
      expect(await store.deleteRealm('r')).to.equal('in_use');
      expect(await store.deleteSecret('r', 'k')).to.equal('deleted');
      expect(await store.deleteRealm('r')).to.equal('deleted');
      expect(await store.getRealm('r')).to.equal(null);
    });

    it('stores secrets (round trip of values), refuses an unknown realm, and resets the token state atomically', async () => {
      expect(await store.putSecret(secret('nope', 'k'), () => null)).to.equal('no_realm');
      expect(await store.getSecret('nope', 'k')).to.equal(null);
      await store.putRealm(realm('r'));
      expect(await store.putSecret(secret('r', 'k'), (cur) => freshState('r', 'k', 'r1', cur))).to.equal(
        'created',
      );
      expect(await store.getSecret('r', 'k')).to.deep.equal(secret('r', 'k'));
      await store.mutateTokenState('r', 'k', (cur) => ({
        next: { ...cur!, token: 'T', generation: cur!.generation + 1, callsDay: '2026-11-24', callsToday: 4 },
        result: null,
      }));
      const before = await store.getTokenState('r', 'k');
      expect(before?.token).to.equal('T');
      expect(
        await store.putSecret(secret('r', 'k', 'r2'), (cur) => freshState('r', 'k', 'r2', cur)),
      ).to.equal('replaced');
      const after = await store.getTokenState('r', 'k');
      expect(after?.token).to.equal(undefined);
      expect(after?.secretRev).to.equal('r2');
      expect(after?.generation).to.equal(before!.generation + 1);
      expect(after?.callsToday).to.equal(4);
    });

    it('lists secrets by realm with paging in document-id order, and deletes a secret with its token', async () => {
      await store.putRealm(realm('r'));
      await store.putRealm(realm('s'));
      for (const k of ['b', 'a', 'c'])
        await store.putSecret(secret('r', k), (cur) => freshState('r', k, 'r1', cur));
      await store.putSecret(secret('s', 'z'), (cur) => freshState('s', 'z', 'r1', cur));
      const all = await store.listSecrets({ offset: 0, limit: 10 });
      expect(all.total).to.equal(4);
      expect(all.list.map((s) => `${s.realm}/${s.key}`)).to.deep.equal(['r/a', 'r/b', 'r/c', 's/z']);
      const page = await store.listSecrets({ offset: 1, limit: 1, realm: 'r' });
      expect(page.total).to.equal(3);
      expect(page.list.map((s) => s.key)).to.deep.equal(['b']);
      expect(await store.deleteSecret('r', 'b')).to.equal('deleted');
      expect(await store.deleteSecret('r', 'b')).to.equal('not_found');
      expect(await store.getTokenState('r', 'b')).to.equal(null);
      expect((await store.listTokenStates()).map((t) => t.key)).to.deep.equal(['a', 'c', 'z']);
    });

    it('pages every list by cursor: each page after the last entry of the one before, next absent on the last', async () => {
      for (const id of ['c', 'a', 'b']) await store.putRealm(realm(id));
      const realms = [await store.listRealms({ limit: 2 })];
      realms.push(await store.listRealms({ limit: 2, after: realms[0]!.next! }));
      expect(realms.map((p) => [p.list.map((r) => r.id), p.next, p.total])).to.deep.equal([
        [['a', 'b'], 'b', 3],
        [['c'], undefined, 3],
      ]);
      expect((await store.listRealms({ limit: 3 })).next).to.equal(undefined);
      expect((await store.listRealms({ limit: 5, after: 'c' })).list).to.deep.equal([]);
      // A position that is not an entry (deleted meanwhile) still continues after it.
      expect((await store.listRealms({ limit: 5, after: 'aa' })).list.map((r) => r.id)).to.deep.equal([
        'b',
        'c',
      ]);

      for (const [r, k] of [
        ['a', 'x'],
        ['a', 'y'],
        ['a', 'z'],
        ['b', 'x'],
      ] as const) {
        await store.putSecret(secret(r, k), (cur) => freshState(r, k, 'r1', cur));
      }
      const ofA = await store.listSecrets({ limit: 2, realm: 'a' });
      expect([ofA.list.map((s) => s.key), ofA.next, ofA.total]).to.deep.equal([['x', 'y'], 'a:y', 3]);
      const restOfA = await store.listSecrets({ limit: 2, realm: 'a', after: 'a:y' });
      expect([restOfA.list.map((s) => s.key), restOfA.next]).to.deep.equal([['z'], undefined]);
      const all = await store.listSecrets({ limit: 10, after: 'a:z' });
      expect([all.list.map((s) => `${s.realm}/${s.key}`), all.total]).to.deep.equal([['b/x'], 4]);
      const offset = await store.listSecrets({ limit: 2, offset: 2 });
      expect(offset.list.map((s) => `${s.realm}/${s.key}`)).to.deep.equal(['a/z', 'b/x']);

      const tokens = await store.listTokenSummaries({ limit: 2, realm: 'a' });
      expect([tokens.list.map((t) => t.key), tokens.next, tokens.total]).to.deep.equal([
        ['x', 'y'],
        'a:y',
        3,
      ]);
      const uncounted = await store.listTokenSummaries({ limit: 5, after: 'a:y', countTotal: false });
      expect([uncounted.list.map((t) => `${t.realm}/${t.key}`), uncounted.total]).to.deep.equal([
        ['a/z', 'b/x'],
        -1,
      ]);

      for (const [id, createdAt] of [
        ['c3', 5],
        ['c1', 5],
        ['c2', 1],
      ] as const) {
        await store.putClient(client(id, [], createdAt));
      }
      const first = await store.listClients({ limit: 2 });
      expect([first.list.map((c) => c.id), first.next]).to.deep.equal([
        ['c2', 'c1'],
        { createdAt: 5, id: 'c1' },
      ]);
      const second = await store.listClients({ limit: 2, after: first.next! });
      expect([second.list.map((c) => c.id), second.next, second.total]).to.deep.equal([['c3'], undefined, 3]);
    });

    it('finds due tokens by due time in pages, never the ones not due', async () => {
      const at = (key: string, refreshAt: number): TokenState => ({
        realm: 'r',
        key,
        secretRev: 'x',
        generation: 1,
        token: `tok-${key}`,
        expiresAt: refreshAt + 1_000,
        refreshAt,
      });
      for (const [key, refreshAt] of [
        ['e', 50],
        ['d', 10],
        ['c', 30],
        ['b', 30],
        ['late', 500],
      ] as const) {
        await store.mutateTokenState('r', key, () => ({ next: at(key, refreshAt), result: null }));
      }
      await store.mutateTokenState('r', 'new', () => ({
        next: { realm: 'r', key: 'new', secretRev: 'x', generation: 0 },
        result: null,
      }));
      const first = await store.listDueTokens({ now: 100, limit: 3 });
      expect(first.list).to.deep.equal([
        { realm: 'r', key: 'new', dueAt: 0 },
        { realm: 'r', key: 'd', dueAt: 10 },
        { realm: 'r', key: 'b', dueAt: 30 },
      ]);
      expect(first.next).to.deep.equal({ dueAt: 30, id: 'r:b' });
      const second = await store.listDueTokens({ now: 100, limit: 3, after: first.next! });
      expect(second.list.map((e) => e.key)).to.deep.equal(['c', 'e']);
      expect(second.next).to.equal(undefined);
      expect((await store.listDueTokens({ now: 5, limit: 3 })).list.map((e) => e.key)).to.deep.equal(['new']);
      // Every document of this version carries its due time: nothing to backfill.
      const progress = await store.backfillDueTimes(100);
      expect(progress).to.include({ updated: 0, done: true });
    });

    it("keeps the probe round's cursor, and forgets it when told (null)", async () => {
      expect(await store.getProbeCursor()).to.equal(null);
      await store.putProbeCursor({ realm: 'wx', key: 'k-200' });
      expect(await store.getProbeCursor()).to.deep.equal({ realm: 'wx', key: 'k-200' });
      await store.putProbeCursor({ realm: 'wy' });
      expect(await store.getProbeCursor()).to.deep.equal({ realm: 'wy' });
      await store.putProbeCursor(null);
      expect(await store.getProbeCursor()).to.equal(null);
    });

    it("keeps a secret's parent, and refuses to delete a parent while children name it", async () => {
      await store.putRealm(realm('wx'));
      await store.putRealm(realm('ticket'));
      await store.putSecret(secret('wx', 'main'), (cur) => freshState('wx', 'main', 'r1', cur));
      for (const k of ['b', 'a']) {
        const child = { ...secret('ticket', k), values: {}, parent: 'wx/main' };
        await store.putSecret(child, (cur) => freshState('ticket', k, 'r1', cur));
      }
      expect((await store.getSecret('ticket', 'a'))?.parent).to.equal('wx/main');
      expect((await store.getSecret('wx', 'main'))?.parent).to.equal(undefined);
      expect(await store.deleteSecret('wx', 'main')).to.deep.equal({ children: ['ticket/a', 'ticket/b'] });
      expect(await store.getSecret('wx', 'main')).to.not.equal(null);
      expect(await store.deleteSecret('ticket', 'a')).to.equal('deleted');
      expect(await store.deleteSecret('ticket', 'b')).to.equal('deleted');
      expect(await store.deleteSecret('wx', 'main')).to.equal('deleted');
    });

    it('mutates token state atomically under concurrency (no lost update)', async () => {
      const base: TokenState = { realm: 'r', key: 'k', secretRev: 'x', generation: 0 };
      await Promise.all(
        // The emulator resolves contention slowly (seconds per round): a handful of writers proves the point.
        Array.from({ length: 8 }, () =>
          store.mutateTokenState('r', 'k', (cur) => {
            const s = cur ?? base;
            return { next: { ...s, generation: s.generation + 1 }, result: s.generation };
          }),
        ),
      );
      expect((await store.getTokenState('r', 'k'))?.generation).to.equal(8);
    });

    it('decides a compare-and-set on an earlier read, and again on the new state when it changed since', async () => {
      const base: TokenState = { realm: 'r', key: 'from', secretRev: 'x', generation: 0 };
      const bump = (seen: Array<number | null>) => (cur: TokenState | null) => {
        seen.push(cur?.generation ?? null);
        const s = cur ?? base;
        return { next: { ...s, generation: s.generation + 1 }, result: s.generation };
      };
      // Unchanged since the read (absent, then present): decided once, written.
      for (const expected of [0, 1]) {
        const read = await store.readTokenState('r', 'from');
        const seen: Array<number | null> = [];
        expect(await store.mutateTokenState('r', 'from', bump(seen), read)).to.equal(expected);
        expect(seen).to.deep.equal([expected === 0 ? null : expected]);
      }
      // Changed since the read: the write from the old read is refused and decided again.
      const stale = await store.readTokenState('r', 'from');
      await store.mutateTokenState('r', 'from', bump([]));
      const seen: Array<number | null> = [];
      expect(await store.mutateTokenState('r', 'from', bump(seen), stale)).to.equal(3);
      expect(seen.at(-1)).to.equal(3);
      expect((await store.getTokenState('r', 'from'))?.generation).to.equal(4);
    });

    it('lets exactly one of many concurrent callers take a lease', async () => {
      const winners = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          store.mutateTokenState('r', 'lease', (cur) => {
            if (cur?.lease !== undefined) return { result: false };
            return {
              next: {
                realm: 'r',
                key: 'lease',
                secretRev: 'x',
                generation: 0,
                lease: { id: `l${i}`, owner: 'o', until: 9e15, baseGeneration: 0 },
              },
              result: true,
            };
          }),
        ),
      );
      expect(winners.filter(Boolean)).to.have.length(1);
    });

    it('keeps every optional token field, deletes with next: null, and leaves the state alone with next undefined', async () => {
      const full: TokenState = {
        realm: 'r',
        key: 'k',
        secretRev: 'x',
        generation: 3,
        token: 'tok',
        fetchedAt: 1,
        expiresAt: 2,
        refreshAt: 3,
        overlapMs: 4,
        lease: { id: 'l', owner: 'o', until: 5, baseGeneration: 2 },
        lastError: {
          at: 6,
          code: 'UPSTREAM_ERROR',
          message: 'm',
          httpStatus: 200,
          providerCode: '40013',
          providerMessage: 'pm',
          permanent: true,
          leaseId: 'l',
        },
        blockedUntil: 7,
        callsDay: '2026-11-24',
        callsToday: 8,
        lastRefreshAt: 9,
      };
      await store.mutateTokenState('r', 'k', () => ({ next: full, result: null }));
      expect(await store.getTokenState('r', 'k')).to.deep.equal(full);
      // Listings carry everything but the token (nothing is decrypted for them).
      const { token: _token, ...summary } = full;
      expect(await store.listTokenStates()).to.deep.equal([{ ...summary, hasToken: true }]);
      expect(await store.mutateTokenState('r', 'k', (cur) => ({ result: cur?.generation }))).to.equal(3);
      expect(await store.getTokenState('r', 'k')).to.deep.equal(full);
      await store.mutateTokenState('r', 'k', () => ({ next: null, result: null }));
      expect(await store.getTokenState('r', 'k')).to.equal(null);
    });

    it('stores clients, finds them by key hash, lists and deletes them', async () => {
      await store.putClient(client('c2', [{ realm: 'r', key: '*' }], 2));
      await store.putClient(client('c1', [{ realm: 'r', key: 'k' }], 1));
      expect((await store.findClientByKeyHash('hc2'))?.id).to.equal('c2');
      expect(await store.findClientByKeyHash('nope')).to.equal(null);
      expect((await store.getClient('c1'))?.scopes).to.deep.equal([{ realm: 'r', key: 'k' }]);
      expect((await store.listClients({ limit: 10 })).list.map((c) => c.id)).to.deep.equal(['c1', 'c2']);
      expect(await store.deleteClient('c1')).to.equal(true);
      expect(await store.deleteClient('c1')).to.equal(false);
      expect(await store.getClient('c1')).to.equal(null);
      expect(await store.findClientByKeyHash('hc1')).to.equal(null);
      expect((await store.findClientByKeyHash('hc2'))?.id).to.equal('c2');
    });

    it('reports token state changes to a watch (once at the start, then per write) until it is stopped', async () => {
      await store.putRealm(realm('r'));
      await store.putSecret(secret('r', 'w'), (cur) => freshState('r', 'w', 'r1', cur));
      let reports = 0;
      const stop = store.watchTokenState?.('r', 'w', () => reports++);
      expect(stop).to.be.a('function');
      const until = async (n: number) => {
        const deadline = Date.now() + 20_000;
        while (reports < n && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
        expect(reports).to.be.at.least(n);
      };
      await until(1);
      const first = reports;
      await store.mutateTokenState('r', 'w', (cur) => ({ next: { ...cur!, token: 'T1' }, result: null }));
      await until(first + 1);
      // Deleting the secret deletes its token state: reported too.
      const afterWrite = reports;
      await store.mutateTokenState('r', 'w', () => ({ result: null }));
      await store.putSecret(secret('r', 'other'), (cur) => freshState('r', 'other', 'r1', cur));
      await store.deleteSecret('r', 'w');
      await until(afterWrite + 1);
      stop?.();
      const stopped = reports;
      await store.putSecret(secret('r', 'w'), (cur) => freshState('r', 'w', 'r1', cur));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(reports).to.equal(stopped);
    });

    it('refuses to store or read credentials without a master key', async () => {
      const keyless = new MemoryStore(new Sealer(undefined));
      await keyless.putRealm(realm('r'));
      let code: string | undefined;
      try {
        await keyless.putSecret(secret('r', 'k'), () => null);
      } catch (err) {
        code = (err as { code?: string }).code;
      }
      expect(code).to.equal('NOT_READY');
    });
  });
}

contract(
  'memory',
  async () => new MemoryStore(sealer),
  async () => undefined,
);

/** The Firestore store over each transport (store/firestore/transport.ts), the default first. */
for (const transport of FIRESTORE_TRANSPORTS) {
  let firestore: Store | undefined;
  contract(
    `firestore (emulator, ${transport})`,
    async () => {
      const host = emulatorHostFromEnv();
      const projectId = process.env.GOOGLE_CLOUD_PROJECT || TEST_PROJECT_ID;
      await clearEmulator(host, projectId);
      firestore ??= openStore(
        { store: 'firestore', projectId, emulatorHost: host, firestoreTransport: transport },
        sealer,
        `store-contract-${transport}`,
      );
      return firestore;
    },
    async () => {
      await firestore?.close();
    },
  );
}
