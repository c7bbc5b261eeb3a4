/**
 * The original design's users, end to end: its realm and secret payloads pasted as they are (no
 * error rules, no extensions), through the HTTP API and through the real tokenctl binary, against
 * real function processes (tokenServer and tokenServerCache on one store) and fakes on 127.0.0.1
 * that count their calls: the fake WeChat/WeCom provider, and a fake custom token function for a
 * logic_code realm. Also the third kind, fixed-token realms.
 */
import { expect } from 'chai';
import { join } from 'node:path';
import { startFakeLogicCode, type FakeLogicCode } from '../fakes/logic-code';
import { startFakeProvider, type FakeProvider } from '../fakes/providers';
import { request, type JsonResponse } from '../helpers/http';
import { repoRoot, startFunction, testEnv, type FunctionProcess, type TestEnv } from '../helpers/processes';
import { tokenctl } from '../helpers/tokenctl';

/** SPEC §4's example realm minus the extensions: what a user of the original design has. */
function originalRealm(id: string, url: string, args: Array<[string, string]>): Record<string, unknown> {
  return {
    id,
    comment: 'pasted from the original design',
    config: {
      url,
      method: 'GET',
      arguments: args.map(([name, value]) => ({ name, place: 'url', value })),
      token_path: 'access_token',
      content_type: 'json',
      expires_in_path: 'expires_in',
    },
  };
}

/** The answer is the resource itself, not `{"data": ..., "success": "ok"}`. */
function bare(res: JsonResponse): Record<string, unknown> {
  expect(res.status, res.text).to.be.within(200, 299);
  const body = res.body as Record<string, unknown>;
  expect(body, res.text).to.not.have.any.keys('data', 'success');
  return body;
}

interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

describe("the original design's realms and secrets, as they are", function () {
  this.timeout(180_000);
  let env: TestEnv;
  let server: FunctionProcess;
  let cache: FunctionProcess;
  let fake: FakeProvider;
  let fn: FakeLogicCode;
  let cli: Record<string, string>;
  const run = Date.now().toString(36);
  const admin = (method: string, path: string, body?: unknown) =>
    request(`${server.url}${path}`, {
      method,
      bearer: env.adminKey,
      ...(body === undefined ? {} : { body }),
    });
  const token = (fnUrl: string, query: string) =>
    request<{ token: string; expires_in: number; source: string } & ErrorBody>(
      `${fnUrl}/api/token?${query}`,
      {
        bearer: env.adminKey,
      },
    );

  before(async () => {
    fake = await startFakeProvider();
    fn = await startFakeLogicCode({ key1: 'lc-appid-0001', key2: 'lc-secret-must-not-leak' });
    env = testEnv();
    [server, cache] = await Promise.all([
      startFunction({ target: 'tokenServer', env: env.env }),
      startFunction({ target: 'tokenServerCache', env: env.env }),
    ]);
    cli = { TOKENCTL_URL: server.url, TOKENCTL_ADMIN_KEY: env.adminKey };
  });
  after(async () => {
    await Promise.all([server?.stop(), cache?.stop()]);
    await fake?.close();
    await fn?.close();
  });

  describe('config realms without error rules', () => {
    const WX = `wx_${run}`;
    const WW = `ww_${run}`;

    it('are saved with a warning and answered bare; a wrong secret is a 502 with the provider code and message', async () => {
      const saved = bare(
        await admin(
          'POST',
          '/api/realm',
          originalRealm(WW, `${fake.url}/cgi-bin/gettoken`, [
            ['corpid', '$key_1'],
            ['corpsecret', '$key_2'],
          ]),
        ),
      );
      expect(saved.id).to.equal(WW);
      expect(saved.warnings).to.be.an('array').with.length(1);
      expect((saved.warnings as string[])[0]).to.include('no error rules');
      const got = bare(await admin('GET', `/api/realm/${WW}`));
      expect(got.config).to.deep.equal(
        (
          originalRealm(WW, `${fake.url}/cgi-bin/gettoken`, [
            ['corpid', '$key_1'],
            ['corpsecret', '$key_2'],
          ]) as { config: unknown }
        ).config,
      );

      const corp = fake.credentials('wecom');
      const secret = bare(
        await admin('POST', '/api/secret', {
          realm: WW,
          key: 'main',
          key_1: corp.key_1,
          key_2: 'a-wrong-corpsecret',
        }),
      );
      expect(secret.key_2).to.equal('a-wr****');
      bare(await admin('GET', `/api/secret/${WW}/main`));

      const before = fake.calls('wecom');
      const wrong = await token(server.url, `realm=${WW}&key=main`);
      expect(wrong.status, wrong.text).to.equal(502);
      expect(wrong.body.error.code).to.equal('UPSTREAM_ERROR');
      expect(wrong.body.error.details).to.include({ providerCode: '40001', transient: false });
      expect(String(wrong.body.error.details?.providerMessage)).to.include('invalid credential');
      expect(wrong.body.error.message).to.include('40001');
      expect(fake.calls('wecom') - before, 'a permanent error is not retried').to.equal(1);

      // Remembered: the same 502 without another call, saying how to clear it.
      const again = await token(server.url, `realm=${WW}&key=main`);
      expect(again.status).to.equal(502);
      expect(again.body.error.details).to.include({ providerCode: '40001', negativeCache: true });
      expect(again.body.error.message).to.include('re-saving the secret');
      expect(fake.calls('wecom') - before).to.equal(1);

      // Re-saving the secret clears it: the right one gets a token.
      bare(await admin('POST', '/api/secret', { realm: WW, key: 'main', ...corp }));
      const ok = await token(server.url, `realm=${WW}&key=main`);
      expect(ok.status, ok.text).to.equal(200);
      expect(fake.tokenValid(ok.body.token)).to.equal(true);
    });

    it('retry errcode -1 (busy) and read an IP allow-list refusal with its hint', async () => {
      bare(
        await admin(
          'POST',
          '/api/realm',
          originalRealm(WX, `${fake.url}/cgi-bin/token`, [
            ['appid', '$key_1'],
            ['secret', '$key_2'],
            ['grant_type', '$key_3'],
          ]),
        ),
      );
      const creds = fake.credentials('wechat_offiaccount');
      bare(
        await admin('POST', '/api/secret', { realm: WX, key: 'main', ...creds, key_3: 'client_credential' }),
      );

      const before = fake.calls('wechat_offiaccount');
      fake.failNext('wechat_offiaccount', 'busy', 2);
      const served = await token(server.url, `realm=${WX}&key=main`);
      expect(served.status, served.text).to.equal(200);
      expect(served.body.source).to.equal('upstream');
      expect(fake.calls('wechat_offiaccount') - before, 'two busy answers, then the token').to.equal(3);
      expect(fake.tokenValid(served.body.token)).to.equal(true);

      bare(
        await admin('POST', '/api/secret', { realm: WX, key: 'ip', ...creds, key_3: 'client_credential' }),
      );
      fake.failNext('wechat_offiaccount', 'errcode:40164');
      const refused = await token(server.url, `realm=${WX}&key=ip`);
      expect(refused.status).to.equal(502);
      expect(refused.body.error.details).to.include({ providerCode: '40164' });
      expect(String(refused.body.error.details?.hint)).to.include('allow-list');
      const repeated = await token(server.url, `realm=${WX}&key=ip`);
      expect(String(repeated.body.error.details?.hint), 'the remembered error keeps its hint').to.include(
        'allow-list',
      );
    });

    it('go through tokenctl as they are: realm --file, the secret JSON on stdin, --json bare', async () => {
      const id = `cli_${run}`;
      const file = join(repoRoot(), 'lib', `original-realm-${run}.json`);
      const { writeFileSync, unlinkSync } = await import('node:fs');
      writeFileSync(
        file,
        JSON.stringify(
          originalRealm(id, `${fake.url}/cgi-bin/token`, [
            ['appid', '$key_1'],
            ['secret', '$key_2'],
            ['grant_type', '$key_3'],
          ]),
        ),
      );
      try {
        const created = await tokenctl(['realm', 'create', id, '--file', file, '--json'], cli);
        expect(created.code, created.stderr).to.equal(0);
        expect(JSON.parse(created.stdout)).to.include({ id }).and.not.have.any.keys('data', 'success');
        expect(created.stderr).to.include('warning: This realm has no error rules');
      } finally {
        unlinkSync(file);
      }
      const creds = fake.credentials('wechat_offiaccount');
      // The original design's secret JSON, realm and key included, as it is: no --realm, no --key.
      const original = JSON.stringify({ realm: id, key: 'main', ...creds, key_3: 'client_credential' });
      const added = await tokenctl(['secret', 'add', '--stdin', '--json'], cli, original);
      expect(added.code, added.stderr).to.equal(0);
      const secret = JSON.parse(added.stdout) as Record<string, unknown>;
      expect(secret).to.include({ realm: id, key: 'main' }).and.not.have.any.keys('data', 'success');
      expect(added.stdout + added.stderr).to.not.include(creds.key_2);

      const got = await tokenctl(['token', 'get', '--realm', id, '--key', 'main'], cli);
      expect(got.code, got.stderr).to.equal(0);
      expect(fake.tokenValid(got.stdout.trim())).to.equal(true);

      const wrong = JSON.stringify({
        realm: id,
        key: 'bad',
        key_1: creds.key_1,
        key_2: 'wrong-secret-value',
        key_3: 'client_credential',
      });
      expect((await tokenctl(['secret', 'add', '--stdin'], cli, wrong)).code).to.equal(0);
      const failed = await tokenctl(['token', 'get', '--realm', id, '--key', 'bad'], cli);
      expect(failed.code).to.equal(1);
      expect(failed.stderr).to.include('UPSTREAM_ERROR').and.include('40125');

      const client = await tokenctl(
        ['client', 'create', '--name', 'app', '--scope', `${id}/main`, '--json'],
        cli,
      );
      expect(client.code, client.stderr).to.equal(0);
      expect((JSON.parse(client.stdout) as { client_key?: unknown }).client_key).to.be.a('string');
    });
  });

  describe('logic_code realms', () => {
    const LC = `lc_${run}`;

    it('POST the secret to the token function and serve its token with every guarantee', async () => {
      const saved = bare(
        await admin('POST', '/api/realm', { id: LC, comment: 'custom FaaS', logic_code: fn.url }),
      );
      expect(saved).to.include({ id: LC, logic_code: fn.url });
      expect(saved).to.not.have.property('config');
      bare(
        await admin('POST', '/api/secret', {
          realm: LC,
          key: 'main',
          key_1: 'lc-appid-0001',
          key_2: 'lc-secret-must-not-leak',
        }),
      );

      // A crowd of requests for a token nobody has: one call to the function.
      const answers = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          token(i % 2 === 0 ? server.url : cache.url, `realm=${LC}&key=main`),
        ),
      );
      for (const a of answers) expect(a.status, a.text).to.equal(200);
      expect(fn.calls()).to.equal(1);
      expect(new Set(answers.map((a) => a.body.token))).to.deep.equal(new Set(fn.issued()));
      expect(fn.bodies()[0]).to.deep.equal({
        realm: LC,
        key: 'main',
        key_1: 'lc-appid-0001',
        key_2: 'lc-secret-must-not-leak',
      });
      const first = answers[0]?.body;
      expect(first?.expires_in).to.be.within(7_100_000, 7_200_000);

      // Busy and a crash are transient: retried within the request (which has no token to fall back on).
      bare(
        await admin('POST', '/api/secret', {
          realm: LC,
          key: 'retry',
          key_1: 'lc-appid-0001',
          key_2: 'lc-secret-must-not-leak',
        }),
      );
      fn.failNext('busy');
      fn.failNext('http500');
      const retried = await token(server.url, `realm=${LC}&key=retry`);
      expect(retried.status, retried.text).to.equal(200);
      expect(retried.body.source).to.equal('upstream');
      expect(fn.calls()).to.equal(4);
      expect(fn.issued()).to.include(retried.body.token);

      // A wrong secret: the function's error fields are reported as the provider's.
      bare(
        await admin('POST', '/api/secret', {
          realm: LC,
          key: 'bad',
          key_1: 'lc-appid-0001',
          key_2: 'not-it',
        }),
      );
      const wrong = await token(server.url, `realm=${LC}&key=bad`);
      expect(wrong.status).to.equal(502);
      expect(wrong.body.error.details).to.include({ providerCode: '40001' });
      expect(wrong.text).to.not.include('not-it');
    });

    it('are refused when the URL is not http(s), and warn when it is the broker itself', async () => {
      const refused = await admin('POST', '/api/realm', {
        id: `${LC}x`,
        logic_code: 'ftp://127.0.0.1/token',
      });
      expect(refused.status).to.equal(400);
      expect((refused.body as ErrorBody).error.details?.field).to.equal('logic_code');
      const self = bare(
        await admin('POST', '/api/realm', { id: `${LC}self`, logic_code: `${server.url}/api/token` }),
      );
      expect((self.warnings as string[]).join(' ')).to.include('this token-server itself');
    });
  });

  describe('fixed-token realms', () => {
    const FX = `fx_${run}`;

    it('serve the token the secret carries, one day at a time, and answer 409 to a flush', async () => {
      const saved = bare(await admin('POST', '/api/realm', { id: FX, comment: 'static keys' }));
      expect(saved).to.not.have.any.keys('config', 'logic_code');
      expect(saved.warnings).to.deep.equal([]);

      const missing = await admin('POST', '/api/secret', { realm: FX, key: 'k' });
      expect(missing.status).to.equal(400);
      expect((missing.body as ErrorBody).error.details?.field).to.equal('token');

      const added = await tokenctl(
        ['secret', 'add', '--realm', FX, '--key', 'forever', '--token', 'fixed-token-value-0001', '--json'],
        cli,
      );
      expect(added.code, added.stderr).to.equal(0);
      expect(JSON.parse(added.stdout)).to.include({ realm: FX, key: 'forever', token: 'fixe****' });

      const got = await token(server.url, `realm=${FX}&key=forever`);
      expect(got.status, got.text).to.equal(200);
      expect(got.body).to.include({ token: 'fixed-token-value-0001', source: 'database' });
      // The documented constant, exactly: not the one-day deadline measured again at answer time.
      expect(got.body.expires_in).to.equal(86_400_000);
      const fromCache = await token(cache.url, `realm=${FX}&key=forever`);
      const memory = await token(cache.url, `realm=${FX}&key=forever`);
      expect(fromCache.body.token).to.equal('fixed-token-value-0001');
      expect(memory.body.source).to.equal('memory');
      expect([fromCache.body.expires_in, memory.body.expires_in]).to.deep.equal([86_400_000, 86_400_000]);

      for (const query of ['flush=true', 'invalid_token=fixed-token-value-0001']) {
        const conflict = await token(server.url, `realm=${FX}&key=forever&${query}`);
        expect(conflict.status, `${query}: ${conflict.text}`).to.equal(409);
        expect(conflict.body.error.message).to.include('fixed-token realm');
      }

      // With a lifetime: served for what remains of it; the original's JSON on stdin works too.
      const original = JSON.stringify({
        realm: FX,
        key: 'hour',
        token: 'fixed-token-value-0002',
        expires_in: 3600,
      });
      expect((await tokenctl(['secret', 'add', '--stdin'], cli, original)).code).to.equal(0);
      const hour = await token(server.url, `realm=${FX}&key=hour`);
      expect(hour.body.expires_in).to.be.within(3_600_000 - 60_000, 3_600_000);

      // A config realm's secret may not carry a token.
      const wrongKind = await admin('POST', '/api/secret', {
        realm: `wx_${run}`,
        key: 'z',
        key_1: 'x',
        token: 'y',
      });
      expect(wrongKind.status).to.equal(400);
      expect((wrongKind.body as ErrorBody).error.details?.field).to.equal('token');
    });

    it('point a newcomer the right way: Bearer missing, admin routes on tokenServerCache, flush=yes', async () => {
      const noBearer = await request<ErrorBody>(`${server.url}/api/realm`, {
        headers: { authorization: env.adminKey },
      });
      expect(noBearer.status).to.equal(401);
      expect(noBearer.body.error.message).to.include('Bearer');
      expect(noBearer.text).to.not.include(env.adminKey);
      const onCache = await request<ErrorBody>(`${cache.url}/api/realm`, { bearer: env.adminKey });
      expect(onCache.status).to.equal(404);
      expect(onCache.body.error.message).to.include('is on tokenServer');
      const yes = await token(server.url, `realm=${FX}&key=forever&flush=yes`);
      expect(yes.status).to.equal(400);
      expect(yes.body.error.message).to.include('flush: must be one of true, false');
    });

    it('say that an unknown realm is unknown', async () => {
      const unknown = await token(server.url, `realm=nope_${run}&key=main`);
      expect(unknown.status).to.equal(404);
      expect(unknown.body.error.message).to.include(`Unknown realm nope_${run}`);
    });
  });
});
