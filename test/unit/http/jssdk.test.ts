/**
 * GET /api/jssdk/signature on both functions, against the ticket fake: the signature is checked
 * against an independent SHA-1 of the JS-SDK string built here, the ticket never appears in an
 * answer or a log line, and bad input is a 400 naming `url`.
 */
import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { parseConfig } from '../../../functions/config';
import { freshState } from '../../../functions/token/decide';
import { createHandler, type HttpHandler } from '../../../functions/http/app';
import { cacheRoutes, fullRoutes } from '../../../functions/http/routes';
import { setLogSink } from '../../../functions/log';
import { createRuntime, type Runtime } from '../../../functions/runtime';
import { MemoryStore } from '../../../functions/store/memory/memory-store';
import { Sealer } from '../../../functions/store/seal';
import { startTicketFake, ticketRealm, WECHAT_APP, type TicketFake } from '../../fakes/tickets';
import { callHandler, type FakeResponse } from '../../helpers/fake-express';

interface Signature {
  timestamp: number;
  nonceStr: string;
  signature: string;
  url: string;
}

describe('GET /api/jssdk/signature', function () {
  this.timeout(30_000);
  let fake: TicketFake;
  let runtime: Runtime;
  let full: HttpHandler;
  let cache: HttpHandler;
  const adminKey = randomBytes(32).toString('base64url');
  const logs: string[] = [];
  let restoreSink: ReturnType<typeof setLogSink>;
  let clientKey: string;
  let otherKey: string;

  before(async () => {
    fake = await startTicketFake();
    restoreSink = setLogSink((line) => logs.push(line));
    const masterKey = randomBytes(32);
    runtime = await createRuntime(
      parseConfig({
        TOKEN_SERVER_STORE: 'memory',
        TOKEN_SERVER_LOG_LEVEL: 'debug',
        TOKEN_SERVER_ALLOW_PRIVATE_UPSTREAMS: 'true',
      }),
      { keys: { adminKey, masterKey, problems: {} }, store: new MemoryStore(new Sealer(masterKey)) },
    );
    full = createHandler({ name: 'tokenServer', routes: fullRoutes(), runtime: async () => runtime });
    cache = createHandler({ name: 'tokenServerCache', routes: cacheRoutes(), runtime: async () => runtime });
    const now = Date.now();
    const { store } = runtime;
    for (const [id, preset] of [
      ['wx', 'wechat_offiaccount'],
      ['wxticket', 'wechat_jsapi_ticket'],
    ] as const) {
      await store.putRealm({
        id,
        comment: '',
        config: ticketRealm(preset, fake.url),
        createdAt: now,
        updatedAt: now,
      });
    }
    await store.putSecret(
      { realm: 'wx', key: 'main', values: { ...WECHAT_APP }, rev: 'r1', createdAt: now, updatedAt: now },
      (cur) => freshState('wx', 'main', 'r1', cur),
    );
    await store.putSecret(
      {
        realm: 'wxticket',
        key: 'main',
        values: {},
        parent: 'wx/main',
        rev: 'r2',
        createdAt: now,
        updatedAt: now,
      },
      (cur) => freshState('wxticket', 'main', 'r2', cur),
    );
    const client = async (realm: string): Promise<string> => {
      const res = await callHandler(full, {
        method: 'POST',
        url: '/api/client',
        bearer: adminKey,
        body: { name: `app-${realm}`, scopes: [{ realm, key: 'main' }] },
      });
      return (res.body as { client_key: string }).client_key;
    };
    clientKey = await client('wxticket');
    otherKey = await client('wx');
  });

  after(async () => {
    setLogSink(restoreSink);
    await fake.close();
  });

  const sign = (handler: HttpHandler, page: string, bearer = clientKey): Promise<FakeResponse> =>
    callHandler(handler, {
      method: 'GET',
      url: `/api/jssdk/signature?realm=wxticket&key=main&url=${encodeURIComponent(page)}`,
      bearer,
    });

  it('signs the page URL without its fragment, as an independent SHA-1 of the JS-SDK string says, on both functions', async () => {
    const page = 'https://shop.example.com/pay/order?id=42&from=menu#/confirm?step=2';
    const before = Math.floor(Date.now() / 1000);
    const first = await sign(full, page);
    expect(first.status, first.text).to.equal(200);
    const body = first.body as Signature;
    expect(Object.keys(body).sort()).to.deep.equal(['nonceStr', 'signature', 'timestamp', 'url']);
    expect(body.url).to.equal('https://shop.example.com/pay/order?id=42&from=menu');
    expect(body.timestamp).to.be.within(before, Math.floor(Date.now() / 1000));
    expect(body.nonceStr).to.match(/^[0-9a-f]{16}$/);

    const ticket = (await runtime.engine.getToken({ realm: 'wxticket', key: 'main' })).token;
    expect(fake.ticketValid(ticket)).to.equal(true);
    const expected = createHash('sha1')
      .update(`jsapi_ticket=${ticket}&noncestr=${body.nonceStr}&timestamp=${body.timestamp}&url=${body.url}`)
      .digest('hex');
    expect(body.signature).to.equal(expected);

    const second = await sign(cache, page);
    expect(second.status).to.equal(200);
    const again = second.body as Signature;
    expect(again.nonceStr).to.not.equal(body.nonceStr);
    expect(again.signature).to.equal(
      createHash('sha1')
        .update(
          `jsapi_ticket=${ticket}&noncestr=${again.nonceStr}&timestamp=${again.timestamp}&url=${again.url}`,
        )
        .digest('hex'),
    );
    expect(fake.calls('wechat_jsapi_ticket')).to.equal(1);
    for (const res of [first, second]) expect(res.text).to.not.include(ticket);
    for (const line of logs) expect(line).to.not.include(ticket);
  });

  it('answers 400 naming url for a missing, relative or non-http URL, and 403 out of scope', async () => {
    for (const page of [
      '/pay/order',
      'ftp://example.com/x',
      'javascript:alert(1)',
      'https://exa mple.com/',
    ]) {
      const res = await sign(full, page);
      expect(res.status, page).to.equal(400);
      expect((res.body as { error: { details?: { field?: string } } }).error.details?.field, page).to.equal(
        'url',
      );
    }
    const none = await callHandler(full, {
      method: 'GET',
      url: '/api/jssdk/signature?realm=wxticket&key=main',
      bearer: clientKey,
    });
    expect(none.status).to.equal(400);
    expect((await sign(full, 'https://example.com/', otherKey)).status).to.equal(403);
    expect((await sign(cache, 'https://example.com/', 'not-a-client-key')).status).to.equal(401);
  });
});
