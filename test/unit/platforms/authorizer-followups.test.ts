/**
 * The scheduled refresh finishes a WeChat component's leftovers by itself (platforms/
 * authorizer-followups.ts), in one process over the memory store, against the fake Open Platform
 * (test/fakes/wechat-open.ts + wechat-open-authorizers.ts), counting its calls:
 * - authorization codes kept sealed by events whose exchange did not finish (the instance that
 *   received them died): two runs at once exchange each live code once (api_query_auth), drop an
 *   expired one without a call, and a later run finds nothing left;
 * - a sync that stopped with a kept cursor: two runs at once go on from it, one of them pages the
 *   rest (api_get_authorizer_list once a page), the cursor is cleared, a later run pages nothing;
 * - an event whose exchange is late lists its authorizer on the component's document.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { ManualClock } from '../../../functions/clock';
import { parseConfig } from '../../../functions/config';
import { setLogSink } from '../../../functions/log';
import { handleAuthorizationEvent } from '../../../functions/platforms/authorization-events';
import { finishAuthorizerFollowUps } from '../../../functions/platforms/authorizer-followups';
import { syncAuthorizers } from '../../../functions/platforms/authorizer-sync';
import { loadComponent, type Component } from '../../../functions/platforms/component-api';
import { createRuntime, type Runtime } from '../../../functions/runtime';
import { runScheduledRefresh } from '../../../functions/scheduled';
import { MemoryStore } from '../../../functions/store/memory/memory-store';
import { Sealer } from '../../../functions/store/seal';
import { freshState } from '../../../functions/token/decide';
import { ticketRealm } from '../../fakes/tickets';
import { startWechatOpenFake, type WechatOpenFake } from '../../fakes/wechat-open';
import { AuthorizerDirectory, authorizerRealmConfig } from '../../fakes/wechat-open-authorizers';

const COMP = 'wx_component';
const AUTH = 'wx_authorizers';
const RUN = { jobName: 'authorizer-followups-test', scheduleTime: '2026-12-07T00:00:00Z' };

describe('scheduled refresh: kept authorization codes and unfinished syncs of WeChat components', function () {
  this.timeout(20_000);
  let fake: WechatOpenFake;
  let directory: AuthorizerDirectory;
  let clock: ManualClock;
  let store: MemoryStore;
  /** Two instances on one store (the scheduled runs of two instances at once). */
  let a: Runtime;
  let b: Runtime;
  let component: Component;
  let restoreSink: () => void;

  before(() => {
    const previous = setLogSink(() => undefined);
    restoreSink = () => setLogSink(previous);
  });
  after(() => restoreSink());

  beforeEach(async () => {
    directory = new AuthorizerDirectory();
    fake = await startWechatOpenFake(directory.routes);
    directory.attach(fake);
    // Store time follows real time: the fake's codes expire by the real clock.
    clock = new ManualClock(Date.now());
    const masterKey = randomBytes(32);
    store = new MemoryStore(new Sealer(masterKey), clock);
    const config = parseConfig({
      TOKEN_SERVER_STORE: 'memory',
      TOKEN_SERVER_ALLOW_PRIVATE_UPSTREAMS: 'true',
    });
    const runtime = () =>
      createRuntime(config, { keys: { masterKey, problems: { adminKey: 'not needed here' } }, clock, store });
    [a, b] = await Promise.all([runtime(), runtime()]);
    const now = clock.now();
    await store.putRealm({
      id: COMP,
      comment: '',
      config: ticketRealm('wechat_component', fake.url),
      createdAt: now,
      updatedAt: now,
    });
    await store.putRealm({
      id: AUTH,
      comment: '',
      config: authorizerRealmConfig(fake.url),
      createdAt: now,
      updatedAt: now,
    });
    const { appid, secret, token, encodingAesKey } = fake.account;
    await store.putSecret(
      {
        realm: COMP,
        key: 'main',
        values: { key_1: appid, key_2: secret, key_3: token, key_4: encodingAesKey, authorizer_realm: AUTH },
        rev: 'r1',
        createdAt: now,
        updatedAt: now,
      },
      (cur) => freshState(COMP, 'main', 'r1', cur),
    );
    const { ticket } = fake.push();
    await store.mutatePushed(COMP, 'main', (cur) => ({
      next: { ...(cur ?? { realm: COMP, key: 'main' }), ticket, ticketCreatedAt: now, ticketArrivedAt: now },
      result: undefined,
    }));
    const loaded = await loadComponent(store, COMP, 'main');
    if (loaded === null) throw new Error('no component');
    component = loaded;
  });
  afterEach(async () => {
    await fake.close();
  });

  /** What an event leaves when its instance died after keeping the code (authorization-events.ts). */
  async function keptCode(appid: string, code: string, expiresAt: number): Promise<void> {
    await store.mutatePushed(AUTH, appid, () => ({
      next: {
        realm: AUTH,
        key: appid,
        authorizationAt: clock.now() - 1_000,
        authorizationEvent: 'authorized',
        authorizationDone: false,
        pendingCode: code,
        pendingCodeExpiresAt: expiresAt,
      },
      result: undefined,
    }));
    await store.mutatePushed(COMP, 'main', (cur) => ({
      next: {
        ...(cur ?? { realm: COMP, key: 'main' }),
        pendingAuthorizers: [...(cur?.pendingAuthorizers ?? []), appid],
      },
      result: undefined,
    }));
  }

  it('exchanges each kept code once across two runs at once, drops an expired one, then has nothing left', async () => {
    const first = directory.authorize('wxkept000001');
    const second = directory.authorize('wxkept000002');
    const expired = directory.authorize('wxkept000003');
    await keptCode('wxkept000001', first.code, clock.now() + 600_000);
    await keptCode('wxkept000002', second.code, clock.now() + 600_000);
    await keptCode('wxkept000003', expired.code, clock.now() - 1);

    const [ra, rb] = await Promise.all([finishAuthorizerFollowUps(a), finishAuthorizerFollowUps(b)]);
    expect(ra.components + rb.components, 'one run claims the component').to.equal(1);
    expect(ra.codesStored + rb.codesStored).to.equal(2);
    expect(ra.codesDropped + rb.codesDropped).to.equal(1);
    expect(directory.calls('query_auth'), 'one exchange per live code').to.equal(2);
    expect((await store.getSecret(AUTH, 'wxkept000001'))?.values.refresh_token).to.equal(first.refreshToken);
    expect((await store.getSecret(AUTH, 'wxkept000002'))?.values.refresh_token).to.equal(second.refreshToken);
    expect(await store.getSecret(AUTH, 'wxkept000003')).to.equal(null);
    for (const appid of ['wxkept000001', 'wxkept000002', 'wxkept000003']) {
      const { state } = await store.readPushed(AUTH, appid);
      expect(state?.pendingCode, appid).to.equal(undefined);
      expect(state?.authorizationDone, appid).to.equal(true);
    }
    const { state } = await store.readPushed(COMP, 'main', { open: false });
    expect(state?.pendingAuthorizers).to.equal(undefined);
    expect(state?.followUpUntil, 'the claim is released').to.equal(undefined);

    // The tokenServerRefresh handler runs it too, and now finds nothing to do.
    await runScheduledRefresh(a, RUN);
    expect(directory.calls('query_auth')).to.equal(2);
  });

  it('keeps a code whose exchange fails transiently for the next run', async () => {
    const kept = directory.authorize('wxkept000004');
    await keptCode('wxkept000004', kept.code, clock.now() + 600_000);
    // WeChat unreachable: the component token cannot even be fetched.
    await fake.close();
    const down = await finishAuthorizerFollowUps(a);
    expect(down).to.include({ components: 1, codesStored: 0, codesKept: 1 });
    expect((await store.readPushed(COMP, 'main', { open: false })).state?.pendingAuthorizers).to.deep.equal([
      'wxkept000004',
    ]);
  });

  it('goes on with a sync that stopped with a kept cursor, once across two runs at once', async () => {
    directory.addMany(1_200);
    const deps = {
      engine: a.engine,
      allowPrivate: true,
      store,
      now: () => Date.now(),
      audit: () => [],
    };
    const started = await syncAuthorizers(deps, component, { deadline: Date.now() + 10_000, maxPages: 1 });
    expect(started).to.include({ complete: false, created: 500 });
    expect((await store.readPushed(COMP, 'main', { open: false })).state?.syncCursor).to.equal(
      started.cursor,
    );
    expect(directory.calls('authorizer_list')).to.equal(1);

    const [ra, rb] = await Promise.all([finishAuthorizerFollowUps(a), finishAuthorizerFollowUps(b)]);
    expect(ra.syncsCompleted + rb.syncsCompleted).to.equal(1);
    expect(directory.calls('authorizer_list'), 'pages 2 and 3, once').to.equal(3);
    for (const appid of ['wxauth000000', 'wxauth000500', 'wxauth001199'])
      expect((await store.getSecret(AUTH, appid))?.values.refresh_token, appid).to.equal(
        directory.refreshTokenOf(appid),
      );
    const { state } = await store.readPushed(COMP, 'main', { open: false });
    expect(state?.syncCursor).to.equal(undefined);
    expect(state?.followUpUntil).to.equal(undefined);

    await finishAuthorizerFollowUps(a);
    expect(directory.calls('authorizer_list')).to.equal(3);
  });

  it('lists the authorizer of an event whose exchange is late on the component document', async () => {
    const late = directory.authorize('wxlate000001');
    directory.queryAuthDelayMs = 500;
    const outcome = await handleAuthorizationEvent(
      {
        engine: a.engine,
        allowPrivate: true,
        store,
        now: () => clock.now(),
        answerWithinMs: 20,
        requestId: 'r',
      },
      component,
      {
        InfoType: 'authorized',
        AuthorizerAppid: 'wxlate000001',
        AuthorizationCode: late.code,
        CreateTime: String(Math.floor(clock.now() / 1000)),
      },
      clock.now(),
    );
    expect(outcome).to.equal('pending');
    expect((await store.readPushed(COMP, 'main', { open: false })).state?.pendingAuthorizers).to.deep.equal([
      'wxlate000001',
    ]);
    // The background exchange finishes it; the scheduled run then only drops the entry, with no call.
    const until = Date.now() + 10_000;
    while ((await store.getSecret(AUTH, 'wxlate000001')) === null && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const run = await finishAuthorizerFollowUps(a);
    expect(run).to.include({ components: 1, codesStored: 0, codesDropped: 1 });
    expect(directory.calls('query_auth')).to.equal(1);
  });
});
