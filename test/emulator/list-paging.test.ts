/**
 * Cursor paging of every admin list (`/api/realm`, `/api/secret`, `/api/client`, `/api/status`)
 * through the real route table, on the memory store and on the Firestore store (emulator): walking
 * `next_cursor` visits every entry once in order and ends without one; bad `limit`/`cursor` are a
 * 400 naming the field, also a cursor another list or another filter answered; `/api/status` answers its first 100 by default and filters by realm and state.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { ManualClock } from '../../functions/clock';
import { parseConfig } from '../../functions/config';
import { freshState } from '../../functions/token/decide';
import { createHandler, type HttpHandler } from '../../functions/http/app';
import { fullRoutes } from '../../functions/http/routes';
import { setLogSink } from '../../functions/log';
import { createRuntime, type Runtime } from '../../functions/runtime';
import { MemoryStore } from '../../functions/store/memory/memory-store';
import { openStore } from '../../functions/store/open-store';
import { Sealer } from '../../functions/store/seal';
import type { Store } from '../../functions/store/store';
import type { TokenState } from '../../functions/store/types';
import { SEED_REALM } from '../fakes/seed-realm';
import { clearEmulator, emulatorHostFromEnv } from '../helpers/emulator';
import { callHandler, type FakeResponse } from '../helpers/fake-express';
import { TEST_PROJECT_ID } from '../helpers/processes';

interface ListBody {
  data: { list: Array<Record<string, unknown>>; total: number };
  next_cursor?: string;
  success: 'ok';
}

const masterKey = randomBytes(32);
const adminKey = randomBytes(32).toString('base64url');
const sealer = new Sealer(masterKey);

function suite(name: string, fresh: () => Promise<Store>, done: () => Promise<void>): void {
  describe(`list paging: ${name}`, function () {
    this.timeout(120_000);
    let runtime: Runtime;
    let handler: HttpHandler;
    let clock: ManualClock;
    let restoreSink: (() => void) | undefined;

    const call = (method: string, url: string, body?: unknown): Promise<FakeResponse> =>
      callHandler(handler, { method, url, bearer: adminKey, ...(body === undefined ? {} : { body }) });
    const list = async (url: string): Promise<ListBody> => {
      const res = await call('GET', url);
      expect(res.status, res.text).to.equal(200);
      return res.body as ListBody;
    };
    /** Every page of a list, following next_cursor. */
    const walk = async (path: string, query: string): Promise<ListBody[]> => {
      const pages: ListBody[] = [];
      let cursor: string | undefined;
      do {
        const sep = query === '' ? '' : '&';
        const page = await list(
          `${path}?${query}${cursor === undefined ? '' : `${sep}cursor=${encodeURIComponent(cursor)}`}`,
        );
        pages.push(page);
        cursor = page.next_cursor;
        expect(pages.length).to.be.below(100);
      } while (cursor !== undefined);
      return pages;
    };
    const fieldOf = (res: FakeResponse) =>
      (res.body as { error?: { details?: { field?: string } } }).error?.details?.field;

    before(() => {
      const previous = setLogSink(() => undefined);
      restoreSink = () => setLogSink(previous);
    });
    after(async () => {
      restoreSink?.();
      await done();
    });
    beforeEach(async () => {
      clock = new ManualClock(Date.now()); // the store judges by its own (real) time
      const store = await fresh();
      const config = parseConfig({ TOKEN_SERVER_STORE: 'memory' });
      runtime = await createRuntime(config, { keys: { masterKey, adminKey, problems: {} }, clock, store });
      handler = createHandler({ name: 'tokenServer', routes: fullRoutes(), runtime: async () => runtime });
    });

    it('pages realms, secrets and clients by cursor: every entry once, in order, next_cursor absent at the end', async () => {
      for (const id of ['r-c', 'r-a', 'r-e', 'r-b', 'r-d']) {
        expect((await call('POST', '/api/realm', { ...SEED_REALM, id })).status).to.equal(200);
      }
      const realms = await walk('/api/realm', 'limit=2');
      expect(realms.map((p) => p.data.list.map((r) => r.id))).to.deep.equal([
        ['r-a', 'r-b'],
        ['r-c', 'r-d'],
        ['r-e'],
      ]);
      expect(realms.every((p) => p.data.total === 5)).to.equal(true);
      expect(realms.map((p) => p.next_cursor === undefined)).to.deep.equal([false, false, true]);
      // An exact fit ends without a cursor.
      expect((await list('/api/realm?limit=5')).next_cursor).to.equal(undefined);

      for (const [realm, key] of [
        ['r-a', 'k1'],
        ['r-a', 'k2'],
        ['r-a', 'k3'],
        ['r-b', 'k1'],
      ]) {
        const res = await call('POST', '/api/secret', {
          realm,
          key,
          key_1: 'appid-value',
          key_2: 'secret-value',
        });
        expect(res.status, res.text).to.equal(200);
      }
      const secrets = await walk('/api/secret', 'limit=3');
      expect(
        secrets.flatMap((p) => p.data.list.map((s) => `${String(s.realm)}/${String(s.key)}`)),
      ).to.deep.equal(['r-a/k1', 'r-a/k2', 'r-a/k3', 'r-b/k1']);
      expect(secrets).to.have.length(2);
      const ofA = await walk('/api/secret', 'realm=r-a&limit=2');
      expect(ofA.map((p) => [p.data.list.map((s) => s.key), p.data.total])).to.deep.equal([
        [['k1', 'k2'], 3],
        [['k3'], 3],
      ]);
      // The original design's paging still works, and offers a cursor onwards.
      const page2 = await list('/api/secret?page=2&pageSize=2');
      expect(page2.data.list.map((s) => `${String(s.realm)}/${String(s.key)}`)).to.deep.equal([
        'r-a/k3',
        'r-b/k1',
      ]);
      expect(page2.next_cursor).to.equal(undefined);
      const page1 = await list('/api/secret?page=1&pageSize=2');
      const onwards = await list(`/api/secret?limit=2&cursor=${page1.next_cursor}`);
      expect(onwards.data.list).to.deep.equal(page2.data.list);

      const created: string[] = [];
      for (const name of ['one', 'two', 'three']) {
        const res = await call('POST', '/api/client', { name, scopes: [{ realm: 'r-a', key: '*' }] });
        expect(res.status).to.equal(201);
        created.push((res.body as { id: string }).id);
        clock.advance(1_000);
      }
      const clients = await walk('/api/client', 'limit=2');
      expect(clients.flatMap((p) => p.data.list.map((c) => c.id))).to.deep.equal(created);
      expect(JSON.stringify(clients)).to.not.include('keyHash');
    });

    it('answers 400 naming limit or cursor for bad ones, on every list', async () => {
      for (const path of ['/api/realm', '/api/secret', '/api/client', '/api/status']) {
        for (const [query, field] of [
          ['limit=0', 'limit'],
          ['limit=1001', 'limit'],
          ['limit=ten', 'limit'],
          ['cursor=not%20base64!', 'cursor'],
          [`cursor=${Buffer.from('not json').toString('base64url')}`, 'cursor'],
          [`cursor=${Buffer.from('{"createdAt":-1}').toString('base64url')}`, 'cursor'],
          ['cursor=' + 'A'.repeat(2000), 'cursor'],
          [`cursor=${Buffer.from('"a:b"').toString('base64url')}&page=2`, 'page'],
          ['limit=5&pageSize=5', 'pageSize'],
        ] as const) {
          const res = await call('GET', `${path}?${query}`);
          expect(res.status, `${path}?${query}: ${res.text}`).to.equal(400);
          expect(fieldOf(res), `${path}?${query}`).to.equal(field);
        }
        expect((await call('GET', `${path}?limit=1000`)).status).to.equal(200);
      }
      // A cursor of another list is not one of this list.
      const clientCursor = Buffer.from(JSON.stringify({ createdAt: 1, id: 'x' })).toString('base64url');
      expect(fieldOf(await call('GET', `/api/realm?cursor=${clientCursor}`))).to.equal('cursor');
      expect(fieldOf(await call('GET', `/api/secret?cursor=${clientCursor}`))).to.equal('cursor');
      const realmCursor = Buffer.from('"wx"').toString('base64url');
      expect(fieldOf(await call('GET', `/api/client?cursor=${realmCursor}`))).to.equal('cursor');
      expect(fieldOf(await call('GET', `/api/status?state=broken`))).to.equal('state');
    });

    it('/api/status answers its first 100 by default, pages by cursor, and filters by realm and state', async () => {
      const store = runtime.store;
      const now = clock.now();
      const put = (state: TokenState) =>
        store.mutateTokenState(state.realm, state.key, () => ({ next: state, result: null }));
      // 120 in realm "many" (no token yet: due), and in realm "few": one ok, one due, one error.
      for (let i = 0; i < 120; i++) {
        await put(freshState('many', `k${String(i).padStart(3, '0')}`, 'rev', null));
      }
      const ok: TokenState = {
        ...freshState('few', 'ok', 'rev', null),
        token: 'TOKEN-OK',
        fetchedAt: now,
        expiresAt: now + 7_200_000,
        refreshAt: now + 6_600_000,
      };
      await put(ok);
      await put({ ...ok, key: 'due', token: 'TOKEN-DUE', refreshAt: now - 1 });
      await put({
        ...freshState('few', 'error', 'rev', null),
        lastError: { at: now, code: 'UPSTREAM_ERROR', message: 'invalid appid', permanent: true },
        blockedUntil: now + 60_000,
      });

      const first = await list('/api/status');
      expect(first.data.list).to.have.length(100);
      expect(first.data.total).to.equal(123);
      expect(first.next_cursor).to.be.a('string');
      const all = await walk('/api/status', 'limit=50');
      const keys = all.flatMap((p) => p.data.list.map((s) => `${String(s.realm)}/${String(s.key)}`));
      expect(keys).to.have.length(123);
      expect(new Set(keys).size).to.equal(123);
      expect(keys[0]).to.equal('few/due');
      expect(JSON.stringify(all)).to.not.include('TOKEN-');

      const few = await list('/api/status?realm=few');
      expect(few.data.list.map((s) => [s.key, s.state])).to.deep.equal([
        ['due', 'due'],
        ['error', 'error'],
        ['ok', 'ok'],
      ]);
      const error = few.data.list.find((s) => s.key === 'error')!;
      expect(error).to.include({ has_token: false, due_at: null });
      expect(error.blocked_until).to.equal(new Date(now + 60_000).toISOString());
      expect(few.data.list.find((s) => s.key === 'ok')).to.include({
        due_at: new Date(now + 6_600_000).toISOString(),
        backoff_until: null,
      });
      for (const state of ['ok', 'error'] as const) {
        const pages = await walk('/api/status', `state=${state}&limit=10`);
        expect(
          pages.flatMap((p) => p.data.list.map((s) => `${String(s.realm)}/${String(s.key)}`)),
        ).to.deep.equal([`few/${state}`]);
      }
      // 121 due, 10 per page: each page is full until the last; pages can be sparse, never wrong.
      const due = await walk('/api/status', 'state=due&limit=10');
      const dueKeys = due.flatMap((p) => p.data.list.map((s) => `${String(s.realm)}/${String(s.key)}`));
      expect(dueKeys).to.have.length(121);
      expect(due.flatMap((p) => p.data.list).every((s) => s.state === 'due')).to.equal(true);
      const ofMany = await list('/api/status?realm=many&state=due&limit=1000');
      expect([ofMany.data.list.length, ofMany.data.total, ofMany.next_cursor]).to.deep.equal([
        120,
        120,
        undefined,
      ]);
      const withPage = await call('GET', '/api/status?state=due&page=2');
      expect([withPage.status, fieldOf(withPage)]).to.deep.equal([400, 'page']);
    });

    it('refuses a cursor of another filter or another list with 400 naming cursor (issue 22.5)', async () => {
      for (const realm of ['pgs', 'fixed']) {
        expect((await call('POST', '/api/realm', { ...SEED_REALM, id: realm })).status).to.equal(200);
      }
      for (const [realm, key] of [
        ['pgs', 'a'],
        ['pgs', 'b'],
        ['pgs', 'c'],
        ['fixed', 'x'],
        ['fixed', 'y'],
        ['fixed', 'z'],
      ] as const) {
        const res = await call('POST', '/api/secret', {
          realm,
          key,
          key_1: 'appid-value',
          key_2: 'secret-value',
        });
        expect(res.status, res.text).to.equal(200);
      }
      const refused = async (url: string): Promise<string> => {
        const res = await call('GET', url);
        expect([res.status, fieldOf(res)], `${url}: ${res.text}`).to.deep.equal([400, 'cursor']);
        return (res.body as { error: { message: string } }).error.message;
      };
      // The reported case: pgs's cursor on fixed (which sorts before pgs's position) looked like the
      // end of the list (200, no entries, no next_cursor).
      const ofPgs = await list('/api/secret?realm=pgs&limit=1');
      expect(ofPgs.next_cursor).to.be.a('string');
      const cursor = encodeURIComponent(ofPgs.next_cursor!);
      expect(await refused(`/api/secret?realm=fixed&limit=1&cursor=${cursor}`)).to.match(/another filter/);
      expect(await refused(`/api/secret?limit=1&cursor=${cursor}`)).to.match(/another filter/);
      // Its own list and filter go on from it (page/pageSize paging with the same filter too).
      const onwards = await list(`/api/secret?realm=pgs&limit=1&cursor=${cursor}`);
      expect(onwards.data.list.map((e) => e.key)).to.deep.equal(['b']);
      expect((await list(`/api/secret?realm=pgs&pageSize=1&cursor=${cursor}`)).data.list).to.have.length(1);

      // /api/status: a cursor of one realm or state is not one of another, nor of the unfiltered list.
      const status = await list('/api/status?realm=pgs&limit=1');
      const statusCursor = encodeURIComponent(status.next_cursor!);
      await refused(`/api/status?realm=fixed&limit=1&cursor=${statusCursor}`);
      await refused(`/api/status?realm=pgs&state=due&limit=1&cursor=${statusCursor}`);
      await refused(`/api/status?limit=1&cursor=${statusCursor}`);
      expect((await list(`/api/status?realm=pgs&limit=1&cursor=${statusCursor}`)).data.list).to.have.length(
        1,
      );

      // Across routes: the secret list's cursor (the same kind of position) is not the status list's,
      // and the other way round; realm and client lists refuse both.
      expect(await refused(`/api/status?realm=pgs&limit=1&cursor=${cursor}`)).to.match(/another list/);
      await refused(`/api/secret?realm=pgs&limit=1&cursor=${statusCursor}`);
      await refused(`/api/realm?limit=1&cursor=${cursor}`);
      await refused(`/api/client?limit=1&cursor=${cursor}`);
      // The realm list's keyword is its filter.
      const realms = await list('/api/realm?limit=1');
      await refused(`/api/realm?keyword=pgs&limit=1&cursor=${encodeURIComponent(realms.next_cursor!)}`);
    });
  });
}

suite(
  'memory',
  async () => new MemoryStore(sealer),
  async () => undefined,
);

let firestore: Store | undefined;
suite(
  'firestore (emulator)',
  async () => {
    const projectId = process.env.GOOGLE_CLOUD_PROJECT || TEST_PROJECT_ID;
    await clearEmulator(emulatorHostFromEnv(), projectId);
    firestore ??= openStore(
      { store: 'firestore', projectId, emulatorHost: emulatorHostFromEnv() },
      sealer,
      'list-paging',
    );
    return firestore;
  },
  async () => {
    await firestore?.close();
  },
);
