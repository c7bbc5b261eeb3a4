/**
 * Leak-proofing, end to end: one realistic flow over every route of both functions (admin API, token
 * API with client and admin keys, flush, invalid-token reports, provider failures, a provider that
 * echoes the credentials it was sent, status, refresh, revocation, deletes), with every response body
 * and every log line captured. No credential value (nor a derived form such as the HTTP Basic
 * header), client key after its creation, admin key or master key appears anywhere, tokens appear
 * only in token-route response bodies, and no stored document holds any of them in plain text.
 *
 * This test checks its own flow directly. The same rules are checked over the whole `npm test` run
 * by test/helpers/leak-registry.ts (the root afterAll hook in mocha-setup.ts); this test also proves
 * that the run-wide registry saw its secrets.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startFakeProvider, realmFor, type FakeProvider } from '../fakes/providers';
import { snapshotDatabase } from '../helpers/db-snapshot';
import { clearEmulator, emulatorHostFromEnv } from '../helpers/emulator';
import { request, type JsonResponse, type RequestOptions } from '../helpers/http';
import { FRAGMENT, registerSecret, registryCounts } from '../helpers/leak-registry';
import { startFunction, testEnv, type FunctionProcess, type TestEnv } from '../helpers/processes';
import { rawHttp } from '../helpers/raw-http';

interface TokenBody {
  token: string;
  expires_in: number;
  source: string;
}

const WECHAT = 'wechat_offiaccount';
const OAUTH = 'oauth2_client_credentials_basic';
const FEISHU = 'feishu_tenant';

/** A hostile provider that echoes whatever it was sent (query, headers, body) in its error message. */
async function startEchoProvider(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const echo = `${req.url ?? ''} ${JSON.stringify(req.headers)} ${Buffer.concat(chunks).toString('utf8')}`;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ errcode: 40001, errmsg: `invalid credential: you sent ${echo}` }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A run of FRAGMENT (8) characters of `value` that `text` contains (SPEC §4), or undefined. */
function runOf(text: string, value: string): string | undefined {
  for (let i = 0; i + FRAGMENT <= value.length; i++) {
    const run = value.slice(i, i + FRAGMENT);
    if (text.includes(run)) return run;
  }
  return undefined;
}

describe('leak-proofing: every route, every log line, every response body', function () {
  this.timeout(120_000);
  let env: TestEnv;
  let fake: FakeProvider;
  let echo: { url: string; close: () => Promise<void> };
  let full: FunctionProcess;
  let cache: FunctionProcess;
  /** Every exchange of this test: URL and body. */
  const seen: Array<{ what: string; text: string; tokenRoute: boolean }> = [];

  async function call<T = unknown>(
    p: FunctionProcess,
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<JsonResponse<T>> {
    const res = await request<T>(`${p.url}${path}`, { method, bearer: env.adminKey, ...options });
    seen.push({
      what: `${method} ${path} on ${p.target} → ${res.status}`,
      text: res.text,
      tokenRoute: /^\/api\/token(\?|$)/.test(path),
    });
    return res;
  }

  before(async () => {
    const host = emulatorHostFromEnv();
    env = testEnv({ store: 'firestore', overrides: { TOKEN_SERVER_LOG_LEVEL: 'debug' } });
    await clearEmulator(host, env.projectId);
    [fake, echo] = await Promise.all([startFakeProvider(), startEchoProvider()]);
    [full, cache] = await Promise.all([
      startFunction({ target: 'tokenServer', env: env.env }),
      startFunction({ target: 'tokenServerCache', env: env.env }),
    ]);
  });

  after(async () => {
    await Promise.all([full?.stop(), cache?.stop()]);
    await Promise.all([fake?.close(), echo?.close()]);
  });

  it('never shows a secret where it must not be', async () => {
    const before = registryCounts();
    const credential = (prefix: string) => `${prefix}-${randomBytes(18).toString('base64url')}`;
    const wx = { id: credential('wxid'), secret: credential('wxsecret') };
    const oauth = { id: credential('client'), secret: credential('oauthsecret') };
    const feishu = { id: credential('cli'), secret: credential('fssecret') };
    const echoed = { id: credential('echoid'), secret: credential('echosecret') };
    fake.setCredentials(WECHAT, wx);
    fake.setCredentials(OAUTH, oauth);
    fake.setCredentials(FEISHU, feishu);
    const basic = Buffer.from(`${oauth.id}:${oauth.secret}`).toString('base64');
    const echoBasic = Buffer.from(`${echoed.id}:${echoed.secret}`).toString('base64');
    registerSecret(basic, 'credential', 'the leak test (HTTP Basic of an OAuth2 secret)');
    registerSecret(echoBasic, 'credential', 'the leak test (HTTP Basic of the echo secret)');
    const credentials = [wx.id, wx.secret, oauth.id, oauth.secret, feishu.id, feishu.secret, basic];
    credentials.push(echoed.id, echoed.secret, echoBasic);

    // --- anonymous and admin reads
    for (const p of [full, cache]) expect((await call(p, 'GET', '/healthz')).status).to.equal(200);
    expect((await call(full, 'GET', '/api/preset')).status).to.equal(200);
    await call(full, 'GET', '/api/openapi.json');

    // --- realms and secrets
    const realms: Array<[string, Record<string, unknown>]> = [
      ['wx', realmFor(WECHAT, fake.url)],
      ['oauth', realmFor(OAUTH, fake.url)],
      ['feishu', realmFor(FEISHU, fake.url)],
      [
        'echo',
        {
          ...realmFor(OAUTH, fake.url),
          url: `${echo.url}/oauth2/token`,
          error_path: 'errcode',
          success_values: [0],
          error_message_path: 'errmsg',
        },
      ],
    ];
    for (const [id, config] of realms) {
      const r = await call(full, 'POST', '/api/realm', { body: { id, comment: `leak test ${id}`, config } });
      expect(r.status, r.text).to.equal(200);
    }
    const secrets: Array<[string, Record<string, string>]> = [
      ['wx', { key_1: wx.id, key_2: wx.secret, key_3: 'client_credential' }],
      ['oauth', { key_1: oauth.id, key_2: oauth.secret }],
      ['feishu', { key_1: feishu.id, key_2: feishu.secret }],
      ['echo', { key_1: echoed.id, key_2: echoed.secret, key_3: credential('scope') }],
    ];
    for (const [realm, values] of secrets) {
      const r = await call(full, 'POST', '/api/secret', { body: { realm, key: 'main', ...values } });
      expect(r.status, r.text).to.equal(200);
    }
    credentials.push(secrets[3]?.[1].key_3 ?? '');
    for (const path of [
      '/api/realm',
      '/api/realm/wx',
      '/api/secret',
      '/api/secret?realm=oauth',
      '/api/secret/feishu/main',
    ]) {
      expect((await call(full, 'GET', path)).status, path).to.equal(200);
    }

    // --- a client
    const created = await call<{ id: string; client_key: string }>(full, 'POST', '/api/client', {
      body: {
        name: 'billing-app',
        scopes: [
          { realm: 'wx', key: '*' },
          { realm: 'oauth', key: 'main' },
          { realm: 'feishu', key: 'main' },
          { realm: 'echo', key: 'main' },
        ],
      },
    });
    expect(created.status, created.text).to.equal(201);
    const clientKey = created.body.client_key;
    const creation = created.text;
    expect((await call(full, 'GET', '/api/client')).status).to.equal(200);

    // --- tokens, with the client key and the admin key, on both functions, every way of asking
    const tokens = new Set<string>();
    const asClient = { bearer: clientKey };
    for (const realm of ['wx', 'oauth', 'feishu']) {
      for (const p of [full, cache]) {
        const got = await call<TokenBody>(p, 'GET', `/api/token?realm=${realm}&key=main`, asClient);
        expect(got.status, got.text).to.equal(200);
        tokens.add(got.body.token);
        const posted = await call<TokenBody>(p, 'POST', '/api/token', {
          ...asClient,
          body: { realm, key: 'main' },
        });
        expect(posted.status, posted.text).to.equal(200);
        const asGetBody = await call<TokenBody>(p, 'GET', '/api/token', { body: { realm, key: 'main' } });
        expect(asGetBody.status, asGetBody.text).to.equal(200);
      }
      const flushed = await call<TokenBody>(
        full,
        'GET',
        `/api/token?realm=${realm}&key=main&flush=true`,
        asClient,
      );
      expect(flushed.status, flushed.text).to.equal(200);
      tokens.add(flushed.body.token);
      const reported = await call<TokenBody>(
        cache,
        'GET',
        `/api/token?realm=${realm}&key=main&invalid_token=${encodeURIComponent(flushed.body.token)}`,
        asClient,
      );
      expect(reported.status, reported.text).to.equal(200);
      tokens.add(reported.body.token);
    }
    // Out of scope, unknown and wrong keys: errors that must not echo what was sent.
    expect(
      (await call(full, 'GET', '/api/token?realm=wx&key=main', { bearer: `${clientKey}x` })).status,
    ).to.equal(401);
    expect((await call(full, 'GET', '/api/realm', asClient)).status).to.equal(401);
    expect((await call(full, 'GET', `/api/realm?keyword=${encodeURIComponent(wx.secret)}`)).status).to.equal(
      200,
    );

    // --- provider failures: stale-if-error, a hard failure, and a provider that echoes credentials
    fake.setMode(WECHAT, 'errcode:40125');
    const stale = await call<TokenBody>(full, 'GET', '/api/token?realm=wx&key=main&flush=true', asClient);
    expect(stale.status, stale.text).to.equal(200);
    fake.setMode(WECHAT, null);
    fake.setMode(FEISHU, 'html');
    await call(
      full,
      'GET',
      '/api/token?realm=feishu&key=main&invalid_token=' + encodeURIComponent([...tokens][2] ?? ''),
      asClient,
    );
    fake.setMode(FEISHU, null);
    for (const p of [full, cache]) {
      const failed = await call<{ error: { details?: { providerMessage?: string } } }>(
        p,
        'GET',
        '/api/token?realm=echo&key=main',
        asClient,
      );
      expect(failed.status, failed.text).to.equal(502);
      // The provider's message is passed on, with every credential value in it blanked out.
      expect(failed.body.error.details?.providerMessage ?? '').to.include('invalid credential');
    }
    // A wrong secret: the provider refuses it (and remembers), the answer names the code only.
    const wrong = credential('wrongsecret');
    credentials.push(wrong);
    expect(
      (
        await call(full, 'POST', '/api/secret', {
          body: { realm: 'wx', key: 'wrong', key_1: wx.id, key_2: wrong, key_3: 'client_credential' },
        })
      ).status,
    ).to.equal(200);
    expect((await call(full, 'GET', '/api/token?realm=wx&key=wrong')).status).to.equal(502);
    expect((await call(full, 'GET', '/api/token?realm=wx&key=wrong')).status).to.equal(502);

    // --- operations
    expect((await call(full, 'GET', '/api/status')).status).to.equal(200);
    expect((await call(full, 'POST', '/api/refresh', { body: {} })).status).to.equal(200);
    // Hostile input whose bodies hold credentials: malformed JSON, too large, wrong type.
    for (const raw of [
      `{"realm": "wx", "key": "main", "key_1": "${wx.secret}"`,
      `{"realm":"wx","key":"x","key_1":"${wx.secret}","pad":"${'p'.repeat(70_000)}"}`,
    ]) {
      const r = await rawHttp(full.url, {
        method: 'POST',
        path: '/api/secret',
        headers: { authorization: `Bearer ${env.adminKey}`, 'content-type': 'application/json' },
        body: raw,
      });
      seen.push({ what: `raw POST /api/secret → ${r.status}`, text: r.text, tokenRoute: false });
      expect(r.status).to.be.oneOf([400, 413]);
    }
    const typed = await rawHttp(full.url, {
      method: 'POST',
      path: '/api/secret',
      headers: { authorization: `Bearer ${env.adminKey}`, 'content-type': 'text/plain' },
      body: `key_1=${wx.secret}`,
    });
    seen.push({
      what: `raw POST /api/secret text/plain → ${typed.status}`,
      text: typed.text,
      tokenRoute: false,
    });
    const badValue = await call(full, 'POST', '/api/secret', {
      body: {
        realm: 'wx',
        key: 'main',
        key_1: wx.secret,
        key_2: 12345,
        key_3: `${wx.secret}${'v'.repeat(5000)}`,
      },
    });
    expect(badValue.status).to.equal(400);

    // --- revocation and deletes
    expect((await call(full, 'DELETE', `/api/client/${created.body.id}`)).status).to.equal(200);
    expect((await call(full, 'GET', '/api/token?realm=wx&key=main', asClient)).status).to.equal(401);
    for (const [realm] of secrets)
      expect((await call(full, 'DELETE', `/api/secret/${realm}/main`)).status).to.equal(200);
    expect((await call(full, 'DELETE', '/api/secret/wx/wrong')).status).to.equal(200);
    for (const [id] of realms) expect((await call(full, 'DELETE', `/api/realm/${id}`)).status).to.equal(200);

    // ---------------------------------------------------------------------------------------------
    // The checks.
    const logs = [...full.logs, ...cache.logs];
    expect(logs.length, 'the processes logged the flow').to.be.greaterThan(40);
    const forbiddenEverywhere: Array<[string, string]> = [
      ...credentials.map((v): [string, string] => ['a credential value', v]),
      ['the admin key', env.adminKey],
      ['the master key', env.masterKey],
    ];
    // Not the value, nor any run of 8 of its characters (a cut-off or partial echo).
    for (const [what, value] of forbiddenEverywhere) {
      expect(value.length).to.be.greaterThan(8);
      for (const line of logs)
        expect(runOf(line, value), `${what} in a log line: ${line}`).to.equal(undefined);
      for (const s of seen) expect(runOf(s.text, value), `${what} in ${s.what}`).to.equal(undefined);
    }
    // The client key: in its creation response, and nowhere else (not even 8 of its characters).
    expect(creation).to.include(clientKey);
    for (const line of logs)
      expect(runOf(line, clientKey), 'the client key in a log line').to.equal(undefined);
    for (const s of seen) {
      if (s.text !== creation)
        expect(runOf(s.text, clientKey), `the client key in ${s.what}`).to.equal(undefined);
    }
    // Tokens: in token-route response bodies only.
    expect(tokens.size).to.be.at.least(3);
    for (const token of tokens) {
      for (const line of logs) expect(line, 'a token in a log line').to.not.include(token);
      for (const s of seen) if (!s.tokenRoute) expect(s.text, `a token in ${s.what}`).to.not.include(token);
    }

    // The run-wide registry saw this flow's secrets (so the root afterAll check covers them too).
    const after = registryCounts();
    expect(after.secrets.credential - before.secrets.credential).to.be.at.least(8);
    expect(after.secrets['client key'] - before.secrets['client key']).to.equal(1);
    expect(after.secrets.token - before.secrets.token).to.be.at.least(3);
    expect(after.responses - before.responses).to.be.at.least(seen.length);
  });

  it('stores none of them in plain text', async () => {
    const stored = JSON.stringify(await snapshotDatabase());
    for (const [what, value] of [
      ['the admin key', env.adminKey],
      ['the master key', env.masterKey],
    ] as const) {
      expect(runOf(stored, value), what).to.equal(undefined);
    }
    // The flow above deleted what it made; make one of each and look at the raw documents.
    const secret = `s-${randomBytes(18).toString('base64url')}`;
    fake.setCredentials(WECHAT, { id: 'wx-leak-appid', secret });
    await call(full, 'POST', '/api/realm', { body: { id: 'wx', config: realmFor(WECHAT, fake.url) } });
    await call(full, 'POST', '/api/secret', {
      body: { realm: 'wx', key: 'main', key_1: 'wx-leak-appid', key_2: secret, key_3: 'client_credential' },
    });
    const client = await call<{ client_key: string }>(full, 'POST', '/api/client', {
      body: { name: 'x', scopes: [{ realm: 'wx', key: '*' }] },
    });
    const token = await call<TokenBody>(full, 'GET', '/api/token?realm=wx&key=main');
    expect(token.status, token.text).to.equal(200);
    const raw = JSON.stringify(await snapshotDatabase());
    expect(raw, 'the snapshot holds the token document').to.include('tokens/wx:main');
    for (const [what, value] of [
      ['a credential', secret],
      ['the client key', client.body.client_key],
      ['the token', token.body.token],
    ] as const) {
      expect(runOf(raw, value), what).to.equal(undefined);
    }
    expect(raw, 'the token').to.not.include(token.body.token);
  });
});
