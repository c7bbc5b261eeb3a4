/**
 * The WeChat-compatible routes (SPEC §4.6) on both functions, against a fake WeChat/WeCom platform:
 * answers in the provider's format with lifetimes in whole seconds, the error-code mapping, and
 * SDKs switched to the broker by configuration alone (node-easywechat's AccessToken pointed at the
 * broker's compat URL, for WeChat and WeCom), counted at the fake: only the broker fetches tokens.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OfficialAccount, Work } from 'node-easywechat';
import { Wechat } from 'wechat-jssdk';
import OfficialAccessToken from 'node-easywechat/dist/OfficialAccount/AccessToken';
import WorkAccessToken from 'node-easywechat/dist/Work/AccessToken';
import HttpClient from 'node-easywechat/dist/Core/HttpClient/HttpClient';
import { getPreset } from '../../functions/providers/presets';
import { startWechatPlatform, type WechatPlatform } from '../fakes/wechat-platform';
import { brokerCaller, brokerSecretFor, type BrokerSecret } from '../helpers/adoption';
import { request } from '../helpers/http';
import { startFunction, testEnv, type FunctionProcess } from '../helpers/processes';

type Body = Record<string, unknown>;

/** The WeChat realm's flush interval: a flush within it of the last fetch gets that token. */
const FLUSH_MIN_MS = 2_000;
/** The short realm's overlap: how long the broker accepts a replaced token on the ticket routes. */
const SHORT_OVERLAP_MS = 3_000;

describe('WeChat-compatible routes', function () {
  this.timeout(120_000);
  const env = testEnv();
  const admin = { bearer: env.adminKey };
  const stamp = Date.now().toString(36);
  const wx = { id: 'wx-compat-app', secret: `wx-compat-secret-${randomBytes(8).toString('hex')}` };
  const ww = { id: 'ww-compat-corp', secret: `ww-compat-secret-${randomBytes(8).toString('hex')}` };
  const realms = {
    wx: `cwx${stamp}`,
    wecom: `cww${stamp}`,
    bad: `cbad${stamp}`,
    /** Tickets of wx/app (preset wechat_jsapi_ticket at the platform, caller brokerCaller(ticket)). */
    ticket: `ctk${stamp}`,
    /** A WeChat realm with a short overlap and its ticket realm: a replaced token dies soon. */
    short: `csh${stamp}`,
    shortTicket: `cst${stamp}`,
  };
  let platform: WechatPlatform;
  let full: FunctionProcess;
  let cache: FunctionProcess;
  let wxSecret: BrokerSecret;
  /** A client key scoped to every test secret; `narrow` only to the WeChat one. */
  let clientKey: string;
  let narrow: string;

  async function createClient(scopes: { realm: string; key: string }[]): Promise<string> {
    const res = await request<{ data?: { client_key?: string }; client_key?: string }>(
      `${full.url}/api/client`,
      {
        method: 'POST',
        ...admin,
        body: { name: `compat-${scopes.length}`, scopes },
      },
    );
    const key = res.body.data?.client_key ?? res.body.client_key;
    if (key === undefined) throw new Error(`POST /api/client: ${res.status} ${res.text}`);
    return key;
  }

  async function post(path: string, body: unknown): Promise<void> {
    const res = await request(`${full.url}${path}`, { method: 'POST', ...admin, body });
    expect(res.status, `${path}: ${res.text}`).to.equal(200);
  }

  before(async () => {
    platform = await startWechatPlatform({ wechat: [wx], wecom: [ww] });
    [full, cache] = await Promise.all([
      startFunction({ target: 'tokenServer', env: env.env }),
      startFunction({ target: 'tokenServerCache', env: env.env }),
    ]);
    wxSecret = await brokerSecretFor({
      adminUrl: full.url,
      adminKey: env.adminKey,
      platformUrl: platform.url,
      overlapMs: 300_000,
      realm: realms.wx,
      appid: wx.id,
      secret: wx.secret,
      config: { flush_min_interval_ms: FLUSH_MIN_MS },
    });
    const wecom = getPreset('wecom');
    await post('/api/realm', {
      id: realms.wecom,
      config: { ...wecom?.config, url: `${platform.url}/app/${brokerCaller(realms.wecom)}/cgi-bin/gettoken` },
    });
    await post('/api/secret', { realm: realms.wecom, key: 'app', key_1: ww.id, key_2: ww.secret });
    // A secret whose app secret the platform refuses (its provider error must come through).
    await post('/api/realm', {
      id: realms.bad,
      config: {
        ...getPreset('wechat_offiaccount')?.config,
        url: `${platform.url}/app/broker-bad/cgi-bin/token`,
      },
    });
    await post('/api/secret', {
      realm: realms.bad,
      key: 'app',
      key_1: wx.id,
      key_2: 'not-the-app-secret-at-all',
    });
    for (const [ticketRealm, parent] of [
      [realms.ticket, realms.wx],
      [realms.shortTicket, realms.short],
    ] as const) {
      if (parent === realms.short) {
        await brokerSecretFor({
          adminUrl: full.url,
          adminKey: env.adminKey,
          platformUrl: platform.url,
          overlapMs: SHORT_OVERLAP_MS,
          realm: realms.short,
          appid: wx.id,
          secret: wx.secret,
          config: { flush_min_interval_ms: 0 },
        });
      }
      await post('/api/realm', {
        id: ticketRealm,
        config: {
          ...getPreset('wechat_jsapi_ticket')?.config,
          url: `${platform.url}/app/${brokerCaller(ticketRealm)}/cgi-bin/ticket/getticket`,
        },
      });
      await post('/api/secret', { realm: ticketRealm, key: 'app', parent: `${parent}/app` });
    }
    clientKey = await createClient([
      { realm: realms.wx, key: 'app' },
      { realm: realms.wecom, key: 'app' },
      { realm: realms.bad, key: 'app' },
      { realm: realms.ticket, key: 'app' },
    ]);
    narrow = wxSecret.clientKey;
  });
  after(async () => {
    await Promise.all([full?.stop(), cache?.stop()]);
    await platform?.close();
  });

  const get = async (fn: FunctionProcess, path: string): Promise<Body> => {
    const res = await request<Body>(`${fn.url}${path}`);
    expect(res.status, `${path}: ${res.text}`).to.equal(200);
    return res.body;
  };
  const wechatTokenPath = (key: string, appid = wx.id, realm = realms.wx) =>
    `/wechat/${realm}/app/cgi-bin/token?grant_type=client_credential&appid=${appid}&secret=${encodeURIComponent(key)}`;

  it("answers the broker's token in WeChat's and WeCom's formats, in whole seconds, on both functions", async () => {
    for (const fn of [full, cache]) {
      const api = await request<{ token: string; expires_in: number }>(
        `${fn.url}/api/token?realm=${realms.wx}&key=app`,
        { bearer: clientKey },
      );
      const wechat = await get(fn, wechatTokenPath(clientKey));
      expect(Object.keys(wechat).sort()).to.deep.equal(['access_token', 'expires_in']);
      expect(wechat.access_token).to.equal(api.body.token);
      expect(platform.isValid(wechat.access_token as string)).to.equal(true);
      const seconds = wechat.expires_in as number;
      expect(Number.isInteger(seconds)).to.equal(true);
      // Capped as /api/token caps it (WeChat: the overlap after which a refresh would kill it).
      const apiSeconds = api.body.expires_in / 1000;
      expect(seconds)
        .to.be.within(Math.floor(apiSeconds) - 2, Math.ceil(apiSeconds))
        .and.greaterThan(0);

      const wecom = await get(
        fn,
        `/wecom/${realms.wecom}/app/cgi-bin/gettoken?corpid=${ww.id}&corpsecret=${encodeURIComponent(clientKey)}`,
      );
      expect(wecom.errcode).to.equal(0);
      expect(wecom.errmsg).to.equal('ok');
      expect(wecom.access_token).to.equal(platform.currentToken(ww.id));
      expect(Number.isInteger(wecom.expires_in)).to.equal(true);
    }
    // One fetch per secret for both functions and every request.
    expect(platform.counts(brokerCaller(realms.wx)).tokenCalls).to.equal(1);
    expect(platform.counts(brokerCaller(realms.wecom)).tokenCalls).to.equal(1);
  });

  it("answers the secret's token on both ticket routes", async () => {
    // Ticket secrets (children of a token secret) are another module's; the routes answer whatever
    // token the named secret has, so any secret shows it: here the WeCom one.
    const key = encodeURIComponent(clientKey);
    for (const fn of [full, cache]) {
      const wechat = await get(
        fn,
        `/wechat/${realms.wecom}/app/cgi-bin/ticket/getticket?type=jsapi&access_token=${key}`,
      );
      const wecom = await get(fn, `/wecom/${realms.wecom}/app/cgi-bin/get_jsapi_ticket?access_token=${key}`);
      for (const answer of [wechat, wecom]) {
        expect(answer).to.include({ errcode: 0, errmsg: 'ok', ticket: platform.currentToken(ww.id) });
        expect(Number.isInteger(answer.expires_in)).to.equal(true);
        expect(answer.expires_in).to.be.within(6_000, 7_200);
      }
      const noKey = await get(fn, `/wecom/${realms.wecom}/app/cgi-bin/get_jsapi_ticket`);
      expect(noKey.errcode).to.equal(41001);
      const wrongType = await get(
        fn,
        `/wechat/${realms.wecom}/app/cgi-bin/ticket/getticket?type=wx_card&access_token=${key}`,
      );
      expect(wrongType.errcode).to.equal(40097);
    }
  });

  it('stable_token: force_refresh is a flush, collapsed within the flush interval', async () => {
    await new Promise((resolve) => setTimeout(resolve, FLUSH_MIN_MS + 200));
    const before = platform.counts(brokerCaller(realms.wx)).tokenCalls;
    const body = { grant_type: 'client_credential', appid: wx.id, secret: clientKey };
    const plain = await request<Body>(`${cache.url}/wechat/${realms.wx}/app/cgi-bin/stable_token`, {
      method: 'POST',
      body,
    });
    expect(platform.counts(brokerCaller(realms.wx)).tokenCalls).to.equal(before);
    const [a, b] = await Promise.all(
      [full, cache].map((fn) =>
        request<Body>(`${fn.url}/wechat/${realms.wx}/app/cgi-bin/stable_token`, {
          method: 'POST',
          body: { ...body, force_refresh: true },
        }),
      ),
    );
    expect(a?.body.access_token).to.be.a('string').and.not.equal(plain.body.access_token);
    expect(b?.body.access_token).to.equal(a?.body.access_token);
    expect(platform.counts(brokerCaller(realms.wx)).tokenCalls).to.equal(before + 1);
  });

  it('maps every error to the provider code of SPEC §4.6', async () => {
    const wrongKey = await get(cache, wechatTokenPath('tsk_not-a-real-client-key-at-all'));
    expect(wrongKey.errcode).to.equal(40125);
    expect(wrongKey.errmsg).to.match(/client key of the broker/);
    const wrongWecomKey = await get(
      cache,
      `/wecom/${realms.wecom}/app/cgi-bin/gettoken?corpid=${ww.id}&corpsecret=nope`,
    );
    expect(wrongWecomKey.errcode).to.equal(40001);
    expect(wrongWecomKey.errmsg).to.match(/client key of the broker/);
    expect((await get(cache, wechatTokenPath(clientKey, 'wx-someone-else'))).errcode).to.equal(40013);
    expect((await get(full, wechatTokenPath(narrow, ww.id, realms.wecom))).errcode).to.equal(48001);
    expect((await get(cache, wechatTokenPath(clientKey, wx.id, `nosuch${stamp}`))).errcode).to.equal(48001);
    expect(
      (await get(cache, `/wechat/${realms.wx}/app/cgi-bin/token?grant_type=client_credential&appid=${wx.id}`))
        .errcode,
    ).to.equal(41004);
    expect(
      (await get(cache, `/wechat/${realms.wx}/app/cgi-bin/token?appid=${wx.id}&secret=x`)).errcode,
    ).to.equal(40002);
    // The provider refused the broker's app secret: its own code and message come through.
    const refused = await get(cache, wechatTokenPath(clientKey, wx.id, realms.bad));
    expect(refused.errcode).to.equal(40125);
    expect(refused.errmsg).to.match(/invalid appsecret/);
    expect(refused.errmsg).to.not.match(/client key/);
  });

  it('node-easywechat (OfficialAccount and Work) switches by configuration: its AccessToken URL is the broker', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'easywechat-compat-'));
    const official = new OfficialAccount({
      app_id: wx.id,
      secret: clientKey,
      token: '',
      aes_key: '',
      http: { baseURL: `${platform.url}/app/easywechat-compat/`, throw: false },
      file_cache: { path: cacheDir, dirMode: 0o700, fileMode: 0o600, ext: '.cache' },
    });
    official.setAccessToken(
      new OfficialAccessToken(
        wx.id,
        clientKey,
        undefined,
        official.getCache(),
        HttpClient.create({ baseURL: `${cache.url}/wechat/${realms.wx}/app/` }),
      ),
    );
    const work = new Work({
      corp_id: ww.id,
      secret: clientKey,
      token: '',
      aes_key: '',
      http: { baseURL: `${platform.url}/app/easywechat-work-compat/`, throw: false },
      file_cache: { path: cacheDir, dirMode: 0o700, fileMode: 0o600, ext: '.cache' },
    });
    work.setAccessToken(
      new WorkAccessToken(
        ww.id,
        clientKey,
        undefined,
        work.getCache(),
        HttpClient.create({ baseURL: `${cache.url}/wecom/${realms.wecom}/app/` }),
      ),
    );
    const wxBefore = platform.counts(brokerCaller(realms.wx)).tokenCalls;
    for (let i = 0; i < 5; i++) {
      const user = (
        await official.getClient().get('cgi-bin/user/info', { params: { openid: 'o1' } })
      ).toObject();
      expect(user).to.include({ subscribe: 1, openid: 'o1' });
      const member = (
        await work.getClient().get('cgi-bin/user/get', { params: { userid: 'u1' } })
      ).toObject();
      expect(member).to.include({ errcode: 0, userid: 'u1' });
    }
    for (const caller of ['easywechat-compat', 'easywechat-work-compat']) {
      expect(platform.counts(caller)).to.include({ tokenCalls: 0, apiCalls: 5, apiOk: 5 });
    }
    expect(platform.counts(brokerCaller(realms.wx)).tokenCalls).to.equal(wxBefore);
  });
  it("wechat-jssdk switches by configuration: accessTokenUrl and ticketUrl are the broker's compat routes", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wechat-jssdk-compat-'));
    await get(cache, wechatTokenPath(clientKey)); // the broker has a token (this test may run alone)
    const before = platform.counts(brokerCaller(realms.wx)).tokenCalls;
    const ticketsBefore = platform.counts(brokerCaller(realms.ticket)).apiCalls;
    const signedBy = async (n: number) => {
      const wechat = new Wechat({
        appId: wx.id,
        appSecret: clientKey,
        wechatToken: 'unused',
        accessTokenUrl: `${cache.url}/wechat/${realms.wx}/app/cgi-bin/token`,
        ticketUrl: `${cache.url}/wechat/${realms.ticket}/app/cgi-bin/ticket/getticket`,
        storeOptions: { fileStorePath: join(dir, `wechat-info-${n}.json`), noInterval: true },
      });
      const token = await wechat.jssdk.getAccessToken();
      expect(token.access_token).to.equal(platform.currentToken(wx.id));
      return wechat.jssdk.getSignature(`https://example.com/page?x=${n}`);
    };
    // Three app instances, each with its own SDK store: one ticket fetch at the platform for all.
    for (const n of [1, 2, 3]) {
      const signed = await signedBy(n);
      expect(signed.signature).to.match(/^[0-9a-f]{40}$/);
      expect(signed).to.not.have.property('errcode');
    }
    // The SDK took its token and its ticket from the broker (no call of its own).
    expect(platform.counts(brokerCaller(realms.ticket)).apiCalls).to.equal(ticketsBefore + 1);
    expect(platform.counts(brokerCaller(realms.wx)).tokenCalls).to.equal(before);
    const ticket = await get(
      full,
      `/wechat/${realms.ticket}/app/cgi-bin/ticket/getticket?type=jsapi&access_token=${encodeURIComponent(clientKey)}`,
    );
    expect(ticket.errcode, 'a client key scoped to the ticket still works').to.equal(0);
    const outOfScope = await get(
      full,
      `/wechat/${realms.ticket}/app/cgi-bin/ticket/getticket?type=jsapi&access_token=${encodeURIComponent(narrow)}`,
    );
    expect(outOfScope.errcode).to.equal(48001);
  });

  it('ticket routes: the parent token, or the one it replaced until its overlap ends; any other token is refused without a call', async () => {
    const ticketPath = (token: string, realm = realms.shortTicket) =>
      `/wechat/${realm}/app/cgi-bin/ticket/getticket?type=jsapi&access_token=${encodeURIComponent(token)}`;
    const wecomPath = (token: string) =>
      `/wecom/${realms.shortTicket}/app/cgi-bin/get_jsapi_ticket?access_token=${encodeURIComponent(token)}`;
    const tickets = () => platform.counts(brokerCaller(realms.shortTicket)).apiCalls;
    const tokenCalls = () => platform.counts(brokerCaller(realms.short)).tokenCalls;
    const shortToken = async (flush: boolean): Promise<string> => {
      const res = await request<{ token: string }>(
        `${full.url}/api/token?realm=${realms.short}&key=app${flush ? '&flush=true' : ''}`,
        admin,
      );
      expect(res.status, res.text).to.equal(200);
      return res.body.token;
    };
    const first = await shortToken(false);
    const ticketsAtStart = tickets();
    for (const fn of [full, cache]) {
      for (const path of [ticketPath(first), wecomPath(first)]) {
        const answer = await get(fn, path);
        expect(answer, path).to.include({ errcode: 0, errmsg: 'ok' });
        expect(answer.ticket).to.be.a('string');
      }
    }
    expect(tickets()).to.equal(ticketsAtStart + 1);
    // Not the parent of another ticket secret: wx/app's token is not short/app's.
    const other = await get(full, wechatTokenPath(clientKey));
    const notItsParent = await get(full, ticketPath(other.access_token as string));
    expect(notItsParent.errcode).to.equal(40001);

    // The parent's token is replaced: the old one is still served until the overlap ends.
    const second = await shortToken(true);
    expect(second).to.not.equal(first);
    const replacedAt = Date.now();
    for (const fn of [full, cache]) {
      expect((await get(fn, ticketPath(first))).errcode).to.equal(0);
      expect((await get(fn, ticketPath(second))).errcode).to.equal(0);
    }
    expect(Date.now() - replacedAt, 'the overlap test needs a faster machine').to.be.lessThan(
      SHORT_OVERLAP_MS,
    );
    await new Promise((resolve) => setTimeout(resolve, SHORT_OVERLAP_MS - (Date.now() - replacedAt) + 300));
    const calls = { tickets: tickets(), tokens: tokenCalls() };
    const wrong = [first, 'not-a-token-of-anybody-at-all', `${second}x`];
    for (const fn of [full, cache]) {
      for (const token of wrong) {
        const refused = await get(fn, ticketPath(token));
        expect(refused.errcode, token).to.equal(40001);
        expect(refused.errmsg).to.match(/client key of the broker or the current access token/);
        expect(refused).to.not.have.property('ticket');
        expect((await get(fn, wecomPath(token))).errcode).to.equal(40001);
      }
      // A client key's shape keeps the wrong-key answer of the other routes.
      expect((await get(fn, ticketPath('tsk_not-a-real-client-key-at-all'))).errcode).to.equal(40125);
      expect((await get(fn, ticketPath(second))).errcode).to.equal(0);
    }
    // Refusals cost no provider call: neither a ticket nor a token.
    expect({ tickets: tickets(), tokens: tokenCalls() }).to.deep.equal(calls);
  });
});
