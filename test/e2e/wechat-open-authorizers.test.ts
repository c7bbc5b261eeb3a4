/**
 * The authorizer lifecycle of a WeChat Open Platform component against a fake Open Platform that
 * speaks the real formats (test/fakes/wechat-open.ts and wechat-open-authorizers.ts), on a real
 * tokenServer process over the run's store: authorization events pushed encrypted by the fake
 * (authorized → updateauthorized → unauthorized → authorized again; forged, replayed, duplicated,
 * reordered; a slow api_query_auth whose code is kept and finished later), the sync of a few
 * thousand authorizers in pages resumed through its cursor, the recovery of a lost refresh token by
 * sync, and the authorization page URL. Counted at the fake.
 *
 * The authorizer realm is an explicit config equivalent to SPEC §11.3 as far as this branch's
 * templates reach: `${token}` (the component token) and `$key_1` (the authorizer appid); the
 * component appid and `${refresh_token}` are left out until preset wechat_authorizer exists (the
 * fake's api_authorizer_token then checks only what it is given). The refresh token is read back
 * from the store to check what the broker keeps.
 */
import { expect } from 'chai';
import { request, type JsonResponse } from '../helpers/http';
import { allowInLastResponse } from '../helpers/leak-registry';
import { startFunction, testEnv, type FunctionProcess } from '../helpers/processes';
import { openTestStore, putFreshSecret } from '../helpers/test-store';
import { ticketRealm } from '../fakes/tickets';
import { startWechatOpenFake, type Push, type WechatOpenFake } from '../fakes/wechat-open';
import { AuthorizerDirectory, authorizerRealmConfig } from '../fakes/wechat-open-authorizers';
import type { Store } from '../../functions/store/store';

describe('WeChat Open Platform: authorizers (events, sync, authorization URL)', function () {
  this.timeout(300_000);
  const env = testEnv();
  const admin = { bearer: env.adminKey };
  const stamp = Date.now();
  const realm = `comp${stamp}`;
  const authRealm = `auth${stamp}`;
  const COMPONENT_KEY = 'platform';
  const directory = new AuthorizerDirectory();
  let fake: WechatOpenFake;
  let fn: FunctionProcess;
  let store: Store;
  let eventUrl: string;

  const send = (push: Omit<Push, 'ticket'>): Promise<JsonResponse> =>
    request(`${eventUrl}?${new URLSearchParams(push.query).toString()}`, {
      method: 'POST',
      body: push.body,
      headers: { 'content-type': 'text/xml' },
    });
  const nowS = (): number => Math.floor(Date.now() / 1000);
  /** An authorization event as WeChat pushes it, CreateTime `createTime`. */
  const authEvent = (
    infoType: string,
    appid: string,
    createTime: number,
    code?: string,
  ): Omit<Push, 'ticket'> =>
    fake.event(
      {
        InfoType: infoType,
        AuthorizerAppid: appid,
        ...(code === undefined
          ? {}
          : { AuthorizationCode: code, AuthorizationCodeExpiredTime: String(nowS() + 600) }),
      },
      { createTime },
    );
  const authorizer = (appid: string) => store.getSecret(authRealm, appid);
  /**
   * Waits until the authorization event of CreateTime `createTime` (s) is done: on a loaded machine
   * the exchange may outlast the event's answer (the code is then kept and finished after it).
   */
  const applied = async (appid: string, createTime: number): Promise<void> => {
    const until = Date.now() + 60_000;
    for (;;) {
      const { state } = await store.readPushed(authRealm, appid, { open: false });
      if (state?.authorizationAt === createTime * 1000 && state.authorizationDone === true) return;
      if (Date.now() > until) throw new Error(`the event of ${appid} at ${createTime} was not applied`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };
  const tokenOf = (appid: string): Promise<JsonResponse<{ token?: string; error?: { code: string } }>> =>
    request(`${fn.url}/api/token?realm=${authRealm}&key=${appid}`, admin);
  type SyncAnswer = {
    seen: number;
    created: number;
    recovered: number;
    unchanged: number;
    complete: boolean;
    cursor?: string;
  };
  const sync = (body: Record<string, unknown>) =>
    request<SyncAnswer>(`${fn.url}/api/component/${realm}/${COMPONENT_KEY}/sync`, {
      method: 'POST',
      ...admin,
      body,
      timeoutMs: 90_000,
    });
  const COUNTS = ['seen', 'created', 'recovered', 'unchanged'] as const;
  /** Sync calls following the cursor until complete (each stops at its time budget); summed counts. */
  const syncAll = async (pageLimit?: number): Promise<Record<(typeof COUNTS)[number] | 'calls', number>> => {
    const sum = { seen: 0, created: 0, recovered: 0, unchanged: 0, calls: 0 };
    let cursor: string | undefined;
    for (;;) {
      const res = await sync({
        ...(pageLimit === undefined ? {} : { max_pages: pageLimit }),
        ...(cursor === undefined ? {} : { cursor }),
      });
      expect(res.status, res.text).to.equal(200);
      sum.calls++;
      for (const k of COUNTS) sum[k] += res.body[k];
      if (res.body.complete) {
        expect(res.body.cursor).to.equal(undefined);
        return sum;
      }
      if (pageLimit === 1) expect(res.body.seen).to.equal(500);
      cursor = res.body.cursor;
      expect(cursor).to.be.a('string');
    }
  };

  before(async function () {
    if (env.emulatorHost === undefined) this.skip();
    fake = await startWechatOpenFake(directory.routes);
    directory.attach(fake);
    // Generous store deadlines: the machine the suite runs on is shared and often loaded.
    fn = await startFunction({
      target: 'tokenServer',
      env: { ...env.env, TOKEN_SERVER_STORE_TIMEOUT_MS: '60000' },
    });
    store = openTestStore(env, `authorizers-${stamp}`);
    const component = { ...ticketRealm('wechat_component', fake.url), flush_min_interval_ms: 0 };
    for (const [id, config] of [
      [realm, component],
      [authRealm, authorizerRealmConfig(fake.url)],
    ] as const) {
      // The first requests of a new process on a loaded machine may find the store slow to answer.
      let res = await request(`${fn.url}/api/realm`, {
        method: 'POST',
        ...admin,
        body: { id, config },
        timeoutMs: 90_000,
      });
      if (res.status === 503)
        res = await request(`${fn.url}/api/realm`, {
          method: 'POST',
          ...admin,
          body: { id, config },
          timeoutMs: 90_000,
        });
      expect(res.status, res.text).to.equal(200);
    }
    const { appid, secret, token: msgToken, encodingAesKey } = fake.account;
    const put = await request(`${fn.url}/api/secret`, {
      method: 'POST',
      ...admin,
      body: {
        realm,
        key: COMPONENT_KEY,
        key_1: appid,
        key_2: secret,
        key_3: msgToken,
        key_4: encodingAesKey,
        authorizer_realm: authRealm,
      },
    });
    expect(put.status, put.text).to.equal(200);
    eventUrl = `${fn.url}/events/${realm}/${COMPONENT_KEY}`;
    expect((await send(fake.push())).text).to.equal('success');
  });
  after(async () => {
    await fn?.stop();
    await fake?.close();
    await store?.close();
  });

  it('authorized → updateauthorized → unauthorized → authorized again, each through api_query_auth', async () => {
    const appid = 'wxcustomer0001';
    const t0 = nowS();
    const first = directory.authorize(appid);
    expect((await send(authEvent('authorized', appid, t0, first.code))).text).to.equal('success');
    await applied(appid, t0);
    expect(directory.calls('query_auth')).to.equal(1);
    let secret = await authorizer(appid);
    expect(secret?.values).to.deep.equal({ key_1: appid, refresh_token: first.refreshToken });
    expect(secret?.parent).to.equal(`${realm}/${COMPONENT_KEY}`);
    const token = await tokenOf(appid);
    expect(token.status, token.text).to.equal(200);
    expect(directory.calls('authorizer_token')).to.equal(1);

    const second = directory.authorize(appid);
    expect((await send(authEvent('updateauthorized', appid, t0 + 1, second.code))).text).to.equal('success');
    await applied(appid, t0 + 1);
    expect(directory.calls('query_auth')).to.equal(2);
    secret = await authorizer(appid);
    expect(secret?.values.refresh_token).to.equal(second.refreshToken);

    directory.unauthorize(appid);
    expect((await send(authEvent('unauthorized', appid, t0 + 2))).text).to.equal('success');
    secret = await authorizer(appid);
    expect(secret, 'kept as a tombstone').to.not.equal(null);
    expect(secret?.values).to.deep.equal({});
    expect(secret?.revoked?.reason).to.equal('unauthorized');
    const gone = await tokenOf(appid);
    expect(gone.status, gone.text).to.equal(410);
    expect(gone.text).to.include('AUTHORIZER_REVOKED');
    expect(directory.calls('query_auth')).to.equal(2);

    const third = directory.authorize(appid);
    expect((await send(authEvent('authorized', appid, t0 + 3, third.code))).text).to.equal('success');
    await applied(appid, t0 + 3);
    secret = await authorizer(appid);
    expect(secret?.values.refresh_token).to.equal(third.refreshToken);
    expect((await tokenOf(appid)).status).to.equal(200);
  });

  it('duplicated, reordered, forged and replayed authorization events change nothing', async () => {
    const appid = 'wxcustomer0002';
    const t0 = nowS();
    const { code, refreshToken } = directory.authorize(appid);
    const authorized = authEvent('authorized', appid, t0, code);
    expect((await send(authorized)).text).to.equal('success');
    await applied(appid, t0);
    expect((await send(authorized)).text, 'a retry of the same message').to.equal('success');
    const calls = directory.calls('query_auth');
    expect(calls).to.equal(3 + 1);
    expect((await authorizer(appid))?.values.refresh_token).to.equal(refreshToken);

    // unauthorized at t0+5 arrives, then an authorized from t0+4 (delivered late): the tombstone stays.
    expect((await send(authEvent('unauthorized', appid, t0 + 5))).text).to.equal('success');
    const late = directory.authorize(appid);
    expect((await send(authEvent('authorized', appid, t0 + 4, late.code))).text).to.equal('success');
    expect(directory.calls('query_auth'), 'an older event is not exchanged').to.equal(calls);
    expect((await authorizer(appid))?.values).to.deep.equal({});

    const forged = fake.event(
      { InfoType: 'authorized', AuthorizerAppid: appid, AuthorizationCode: late.code },
      { createTime: t0 + 6, signWith: 'not-the-message-token' },
    );
    expect((await send(forged)).status).to.equal(401);
    const replayed = fake.event(
      { InfoType: 'authorized', AuthorizerAppid: appid, AuthorizationCode: late.code },
      { timestamp: nowS() - 400, createTime: t0 + 6 },
    );
    expect((await send(replayed)).status).to.equal(401);
    expect(directory.calls('query_auth')).to.equal(calls);
    expect((await authorizer(appid))?.values).to.deep.equal({});
  });

  it('answers in time when api_query_auth is slow: the code is kept sealed and the exchange finishes', async () => {
    const appid = 'wxcustomer0003';
    const { code, refreshToken } = directory.authorize(appid);
    directory.queryAuthDelayMs = 3_000;
    try {
      const res = await send(authEvent('authorized', appid, nowS(), code));
      expect(res.text).to.equal('success');
      const pending = await store.readPushed(authRealm, appid);
      expect(pending.state?.pendingCode, 'kept until exchanged').to.equal(code);
      expect(await authorizer(appid)).to.equal(null);
      const until = Date.now() + 60_000;
      const done = async (): Promise<boolean> =>
        (await authorizer(appid)) !== null &&
        (await store.readPushed(authRealm, appid, { open: false })).state?.authorizationDone === true;
      while (!(await done()) && Date.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    } finally {
      directory.queryAuthDelayMs = 0;
    }
    expect((await authorizer(appid))?.values.refresh_token).to.equal(refreshToken);
    expect((await store.readPushed(authRealm, appid)).state?.pendingCode).to.equal(undefined);
  });

  it('syncs hundreds of authorizers in pages, resumed through its cursor, then finds them unchanged', async () => {
    const before = directory.size;
    directory.addMany(600);
    const total = directory.size;
    const counts = await syncAll(1);
    const calls = counts.calls;
    expect(calls).to.equal(Math.ceil(total / 500));
    expect(counts.seen).to.equal(total);
    expect(counts.created).to.equal(600);
    expect(counts.created + counts.unchanged + counts.recovered).to.equal(total);
    expect(before).to.be.greaterThan(0);
    expect(directory.calls('authorizer_list')).to.equal(calls);
    expect((await authorizer('wxauth000123'))?.values.refresh_token).to.equal(
      directory.refreshTokenOf('wxauth000123'),
    );

    expect(await syncAll()).to.include({ created: 0, recovered: 0, seen: total, unchanged: total });
  });

  it('recovers a lost refresh token from the list, and leaves a newer one alone', async () => {
    const lost = 'wxauth000007';
    const kept = 'wxauth000008';
    const secret = await authorizer(lost);
    expect(secret).to.not.equal(null);
    if (secret === null) return;
    await putFreshSecret(store, { ...secret, values: { key_1: lost }, rev: `lost${stamp}` });
    const other = await authorizer(kept);
    if (other === null) throw new Error('no authorizer to keep');
    await putFreshSecret(store, {
      ...other,
      values: { key_1: kept, refresh_token: 'rt-newer-than-the-list' },
      rev: `newer${stamp}`,
    });
    expect(await syncAll()).to.include({ recovered: 1, created: 0 });
    expect((await authorizer(lost))?.values.refresh_token).to.equal(directory.refreshTokenOf(lost));
    expect((await authorizer(kept))?.values.refresh_token).to.equal('rt-newer-than-the-list');
  });

  it('answers sync input errors as 400 naming the field', async () => {
    const bad = await sync({ cursor: 'not-a-cursor' });
    expect(bad.status).to.equal(400);
    expect(bad.text).to.contain('cursor');
    const pages = await sync({ max_pages: 0 });
    expect(pages.status).to.equal(400);
    expect(pages.text).to.contain('max_pages');
  });

  it('answers the authorization page URL with a fresh pre_auth_code, and 400 for a bad redirect_uri', async () => {
    const base = `${fn.url}/api/component/${realm}/${COMPONENT_KEY}/authorize-url`;
    const redirect = 'https://vendor.example.com/wechat/authorized?x=1';
    const res = await request<{ url: string }>(
      `${base}?redirect_uri=${encodeURIComponent(redirect)}&auth_type=1`,
      admin,
    );
    allowInLastResponse(fake.account.appid);
    expect(res.status, res.text).to.equal(200);
    const url = new URL(res.body.url);
    expect(`${url.origin}${url.pathname}`).to.equal('https://mp.weixin.qq.com/cgi-bin/componentloginpage');
    expect(url.searchParams.get('component_appid')).to.equal(fake.account.appid);
    expect(url.searchParams.get('pre_auth_code')).to.match(/^preauth@@@/);
    expect(url.searchParams.get('redirect_uri')).to.equal(redirect);
    expect(url.searchParams.get('auth_type')).to.equal('1');
    expect(directory.calls('preauthcode')).to.equal(1);
    for (const query of [
      'redirect_uri=javascript%3Aalert(1)',
      '',
      'redirect_uri=https%3A%2F%2Fa.example&auth_type=9',
    ]) {
      const bad = await request(`${base}?${query}`, admin);
      expect(bad.status, query).to.equal(400);
      expect(bad.text).to.contain(query.includes('auth_type') ? 'auth_type' : 'redirect_uri');
    }
    expect(directory.calls('preauthcode')).to.equal(1);
  });
});
