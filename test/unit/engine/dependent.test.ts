/**
 * Dependent secrets in one process, against the ticket fake's wire formats (every ticket preset):
 * the child's ticket is fetched with the parent's token, one call each however many ask; a parent
 * token killed at the fake heals with one parent refresh and one retry of the child; the parent
 * cannot be deleted while a child names it; cycles and missing parents are clear errors.
 */
import { expect } from 'chai';
import { ManualClock } from '../../../functions/clock';
import { TokenEngine } from '../../../functions/engine/engine';
import { freshState } from '../../../functions/token/decide';
import { AppError } from '../../../functions/errors';
import { MemoryStore } from '../../../functions/store/memory/memory-store';
import { Sealer } from '../../../functions/store/seal';
import type { Store } from '../../../functions/store/store';
import type { JsonObject } from '../../../functions/store/types';
import { startTicketFake, ticketRealm, WECHAT_APP, WECOM_APP, type TicketFake } from '../../fakes/tickets';
import { adminApp, errorOf, postRealms, resourceOf, type AdminApp } from '../admin/admin-harness';

const CASES = [
  { child: 'wechat_jsapi_ticket', parent: 'wechat_offiaccount', family: 'wechat', values: WECHAT_APP },
  { child: 'wecom_jsapi_ticket', parent: 'wecom', family: 'wecom', values: WECOM_APP },
  { child: 'wecom_agent_ticket', parent: 'wecom', family: 'wecom', values: WECOM_APP },
] as const;

/** A preset's realm on the fake; flushes and invalid_token reports never wait for the 10 s window here. */
function realmOn(preset: string, fakeUrl: string): JsonObject {
  return { ...ticketRealm(preset, fakeUrl), flush_min_interval_ms: 0 };
}

async function put(
  store: Store,
  realm: string,
  key: string,
  config: JsonObject,
  values: Record<string, string>,
  parent?: string,
): Promise<void> {
  const now = clock.now();
  if ((await store.getRealm(realm)) === null) {
    await store.putRealm({ id: realm, comment: '', config, createdAt: now, updatedAt: now });
  }
  const rev = `rev-${realm}-${key}`;
  await store.putSecret(
    { realm, key, values, ...(parent === undefined ? {} : { parent }), rev, createdAt: now, updatedAt: now },
    (cur) => freshState(realm, key, rev, cur),
  );
}

/** Noon UTC on a fixed day: the budget counts below never cross a UTC day. */
const clock = new ManualClock(Date.UTC(2026, 10, 24, 12, 0, 0));

function engineOn(store: Store): TokenEngine {
  return new TokenEngine({
    store,
    clock,
    random: Math.random,
    instanceId: 'dependent-test',
    leaseMs: 15_000,
    waitMs: 20_000,
    allowPrivateUpstreams: true,
    firstPollDelayMs: 20,
  });
}

async function rejection(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('dependent secrets (tickets) against the ticket fake', function () {
  this.timeout(30_000);
  let fake: TicketFake;
  let store: Store;
  let engine: TokenEngine;

  before(async () => {
    fake = await startTicketFake();
  });
  after(() => fake.close());
  beforeEach(() => {
    fake.reset();
    store = new MemoryStore(new Sealer(Buffer.alloc(32, 9)), clock);
    engine = engineOn(store);
  });

  for (const c of CASES) {
    it(`${c.child}: one parent call and one ticket call for 50 concurrent requests; a parent killed mid-run heals with one parent refresh and one retry`, async () => {
      await put(store, 'parent', 'main', realmOn(c.parent, fake.url), { ...c.values });
      await put(store, 'ticket', 'main', realmOn(c.child, fake.url), {}, 'parent/main');

      const served = await Promise.all(
        Array.from({ length: 50 }, () => engine.getToken({ realm: 'ticket', key: 'main' })),
      );
      expect(new Set(served.map((s) => s.token)).size).to.equal(1);
      const ticket = served[0]!.token;
      expect(fake.ticketValid(ticket)).to.equal(true);
      expect(fake.calls(c.parent)).to.equal(1);
      expect(fake.calls(c.child)).to.equal(1);

      // Killed from outside: the cached parent token is dead, the child's next fetch is told so.
      const parentToken = fake.currentToken(c.family)!;
      fake.kill(parentToken);
      const healed = await Promise.all(
        Array.from({ length: 20 }, () => engine.getToken({ realm: 'ticket', key: 'main', flush: true })),
      );
      expect(new Set(healed.map((s) => s.token)).size).to.equal(1);
      expect(healed[0]!.token).to.not.equal(ticket);
      expect(fake.ticketValid(healed[0]!.token)).to.equal(true);
      expect(fake.calls(c.parent), 'parent refreshed once').to.equal(2);
      expect(fake.calls(c.child), 'the rejected call and its one retry').to.equal(3);
      const parentNow = await engine.getToken({ realm: 'parent', key: 'main' });
      expect(parentNow.token).to.not.equal(parentToken);
      expect(fake.tokenValid(parentNow.token)).to.equal(true);
      // The retry is counted in the child's budget: first fetch, the flush, its retry.
      expect((await store.getTokenState('ticket', 'main'))?.callsToday).to.equal(3);
    });
  }

  it('a retry that is rejected again is the provider error, with one parent refresh only', async () => {
    await put(store, 'parent', 'main', realmOn('wechat_offiaccount', fake.url), { ...WECHAT_APP });
    await put(store, 'ticket', 'main', realmOn('wechat_jsapi_ticket', fake.url), {}, 'parent/main');
    fake.failNext('wechat_jsapi_ticket', 40001, 2);
    const err = await rejection(engine.getToken({ realm: 'ticket', key: 'main' }));
    expect(err.code).to.equal('UPSTREAM_ERROR');
    expect(err.details?.providerCode).to.equal('40001');
    expect(fake.calls('wechat_offiaccount')).to.equal(2);
    expect(fake.calls('wechat_jsapi_ticket')).to.equal(2);
  });

  it('a parent that cannot get a token fails the child with the parent error, without calling the ticket API', async () => {
    await put(store, 'parent', 'main', ticketRealm('wechat_offiaccount', fake.url), {
      ...WECHAT_APP,
      key_2: 'wrong-appsecret',
    });
    await put(store, 'ticket', 'main', ticketRealm('wechat_jsapi_ticket', fake.url), {}, 'parent/main');
    const err = await rejection(engine.getToken({ realm: 'ticket', key: 'main' }));
    expect(err.code).to.equal('UPSTREAM_ERROR');
    expect(err.message).to.include('parent secret parent/main');
    expect(err.details?.providerCode).to.equal('40125');
    expect(fake.calls('wechat_jsapi_ticket')).to.equal(0);
  });

  it('a missing parent and a cycle of parents (written behind the admin API) are clear errors at request time', async () => {
    await put(store, 'ticket', 'orphan', ticketRealm('wechat_jsapi_ticket', fake.url), {}, 'parent/gone');
    const missing = await rejection(engine.getToken({ realm: 'ticket', key: 'orphan' }));
    expect(missing.code).to.equal('NOT_FOUND');
    expect(missing.message).to.include('no secret parent/gone');
    await put(store, 'ticket', 'a', ticketRealm('wechat_jsapi_ticket', fake.url), {}, 'ticket/b');
    await put(store, 'ticket', 'b', ticketRealm('wechat_jsapi_ticket', fake.url), {}, 'ticket/a');
    const cycle = await rejection(engine.getToken({ realm: 'ticket', key: 'a' }));
    expect(cycle.code).to.equal('INVALID_ARGUMENT');
    expect(cycle.message).to.include('ticket/a → ticket/b → ticket/a');
    expect(fake.calls('wechat_jsapi_ticket')).to.equal(0);
  });
});

describe('admin routes: parents', () => {
  let app: AdminApp;
  beforeEach(async () => {
    app = await adminApp();
    const realm = (id: string, preset: string) => ({
      id,
      config: ticketRealm(preset, 'https://example.com'),
    });
    await postRealms(app, realm('wx', 'wechat_offiaccount'), realm('wxticket', 'wechat_jsapi_ticket'));
    expect(
      (await app.call('POST', '/api/secret', { realm: 'wx', key: 'main', ...WECHAT_APP })).status,
    ).to.equal(200);
  });
  afterEach(() => app.close());

  /** Saves the wxticket secret `key` as a child of `parent`. */
  const postChild = (key: string, parent: string) =>
    app.call('POST', '/api/secret', { realm: 'wxticket', key, parent });

  it('stores a child with no credentials, shows its parent, and warns about a missing one', async () => {
    const child = await postChild('main', 'wx/main');
    expect(child.status).to.equal(200);
    expect(resourceOf(child)).to.include({ realm: 'wxticket', key: 'main', parent: 'wx/main' });
    expect(resourceOf<{ warnings: string[] }>(child).warnings).to.deep.equal([]);
    const got = await app.call('GET', '/api/secret/wxticket/main');
    expect(resourceOf<{ parent?: string }>(got).parent).to.equal('wx/main');
    const orphan = await app.call('POST', '/api/secret', { realm: 'wxticket', key: 'other' });
    expect(resourceOf<{ warnings: string[] }>(orphan).warnings.join(' ')).to.include('names no parent');
  });

  it('refuses a parent that does not exist (404), is malformed, is itself, or closes a cycle (400), naming parent', async () => {
    const refusals = [
      ['main', 'wx/nope', 404], // missing
      ['main', 'wx', 400], // malformed
      ['a', 'wxticket/a', 400], // itself
    ] as const;
    for (const [key, parent, status] of refusals) {
      const res = await postChild(key, parent);
      expect(res.status, parent).to.equal(status);
      expect(errorOf(res).details?.field, parent).to.equal('parent');
    }
    expect((await postChild('a', 'wx/main')).status).to.equal(200);
    expect((await postChild('b', 'wxticket/a')).status).to.equal(200);
    const cycle = await postChild('a', 'wxticket/b');
    expect(cycle.status).to.equal(400);
    expect(errorOf(cycle).details?.field).to.equal('parent');
    expect(errorOf(cycle).message).to.include('wxticket/a → wxticket/b → wxticket/a');
  });

  it('refuses to delete a parent while a child names it (409 naming the children), then deletes it', async () => {
    for (const key of ['page', 'agent']) {
      expect((await postChild(key, 'wx/main')).status).to.equal(200);
    }
    const refused = await app.call('DELETE', '/api/secret/wx/main');
    expect(refused.status).to.equal(409);
    expect(errorOf(refused).code).to.equal('CONFLICT');
    expect(errorOf(refused).details?.children).to.deep.equal(['wxticket/agent', 'wxticket/page']);
    expect(errorOf(refused).message).to.include('wxticket/agent, wxticket/page');
    expect((await app.call('GET', '/api/secret/wx/main')).status).to.equal(200);
    expect((await app.call('DELETE', '/api/secret/wxticket/page')).status).to.equal(200);
    expect((await app.call('DELETE', '/api/secret/wxticket/agent')).status).to.equal(200);
    expect((await app.call('DELETE', '/api/secret/wx/main')).status).to.equal(200);
  });
});
