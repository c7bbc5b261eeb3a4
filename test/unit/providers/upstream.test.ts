/**
 * fetchToken against the fake provider, for every preset: success (token and lifetime in ms), the
 * provider's typical errors, and every way an upstream can misbehave.
 */
import { expect } from 'chai';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppError } from '../../../functions/errors';
import { ProviderFailure } from '../../../functions/providers/failure';
import { parseRealmConfig, type RealmConfig } from '../../../functions/providers/realm-config';
import { fetchToken } from '../../../functions/providers/upstream';
import type { JsonObject } from '../../../functions/store/types';
import { realmFor, type FakeMode, type FakePresetName, type FakeProvider } from '../../fakes/providers';
import { useFakeProvider } from './fake-provider-suite';

const PRIVATE = { allowPrivate: true };

async function failureOf(promise: Promise<unknown>): Promise<ProviderFailure> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(ProviderFailure);
    return err as ProviderFailure;
  }
  return expect.fail('expected a ProviderFailure');
}

interface PresetCase {
  preset: FakePresetName;
  lifetimeMs: number;
  /** The error a wrong secret gets: provider code, HTTP status. */
  badSecret: { code: string; status: number };
  /** A permanent provider error to inject, and the code expected. */
  permanent: { mode: FakeMode; code: string; status: number };
  busy: { code?: string; status: number };
}

type Answer = [code: string, status: number];

/** One row per preset: lifetime, then the provider code and HTTP status of each error kind. */
function row(
  preset: FakePresetName,
  lifetimeMs: number,
  bad: Answer,
  perm: Answer,
  busy: Answer,
): PresetCase {
  return {
    preset,
    lifetimeMs,
    badSecret: { code: bad[0], status: bad[1] },
    permanent: { mode: `errcode:${perm[0]}`, code: perm[0], status: perm[1] },
    busy: { code: busy[0], status: busy[1] },
  };
}

// prettier-ignore
const CASES: PresetCase[] = [
  //   preset                             lifetime    wrong secret                   permanent error                        busy
  row('wechat_offiaccount',              7_200_000, ['40125', 200],                 ['40013', 200],                        ['-1', 200]),
  row('wechat_stable',                   7_200_000, ['40125', 200],                 ['45009', 200],                        ['-1', 200]),
  row('wecom',                           7_200_000, ['40001', 200],                 ['40013', 200],                        ['-1', 200]),
  row('dingtalk',                        7_200_000, ['40089', 200],                 ['40089', 200],                        ['-1', 200]),
  row('dingtalk_v1',                     7_200_000, ['invalidClientIdOrSecret', 400], ['Forbidden.AccessDenied', 400],     ['ServiceUnavailable', 503]),
  row('feishu_tenant',                   7_200_000, ['10014', 200],                 ['10003', 200],                        ['99991400', 429]),
  row('lark_tenant',                     7_200_000, ['10014', 200],                 ['10003', 200],                        ['99991400', 429]),
  row('oauth2_client_credentials',       3_600_000, ['invalid_client', 400],        ['unauthorized_client', 400],          ['temporarily_unavailable', 503]),
  row('oauth2_client_credentials_basic', 3_600_000, ['invalid_client', 401],        ['invalid_scope', 400],                ['temporarily_unavailable', 503]),
];

describe('providers/upstream fetchToken against the fake provider', function () {
  this.timeout(20_000);
  let fake: FakeProvider;
  useFakeProvider((started) => (fake = started));

  function configFor(preset: FakePresetName, changes: JsonObject = {}): RealmConfig {
    return parseRealmConfig({ ...realmFor(preset, fake.url), ...changes });
  }

  for (const c of CASES) {
    describe(c.preset, () => {
      it('fetches a token with its lifetime in milliseconds', async () => {
        const result = await fetchToken(configFor(c.preset), fake.credentials(c.preset), PRIVATE);
        expect(result.token).to.equal(fake.currentToken(c.preset));
        expect(result.lifetimeMs).to.equal(c.lifetimeMs);
        expect(fake.calls(c.preset)).to.equal(1);
        expect(fake.calls(c.preset, fake.credentials(c.preset).key_1)).to.equal(1);
      });

      it('reports a wrong secret as a permanent failure with the provider code, never echoing the secret', async () => {
        const wrong = { key_1: fake.credentials(c.preset).key_1 ?? '', key_2: 'wrong-secret-value' };
        const f = await failureOf(fetchToken(configFor(c.preset), wrong, PRIVATE));
        expect(f.kind).to.equal('permanent');
        expect(f.code).to.equal('UPSTREAM_ERROR');
        expect(f.providerCode).to.equal(c.badSecret.code);
        expect(f.httpStatus).to.equal(c.badSecret.status);
        expect(JSON.stringify({ m: f.message, d: f.details })).to.not.include('wrong-secret-value');
      });

      it('reports a permanent provider error as permanent', async () => {
        fake.failNext(c.preset, c.permanent.mode);
        const f = await failureOf(fetchToken(configFor(c.preset), fake.credentials(c.preset), PRIVATE));
        expect(f.kind).to.equal('permanent');
        expect(f.providerCode).to.equal(c.permanent.code);
        expect(f.httpStatus).to.equal(c.permanent.status);
      });

      it('reports "busy" as transient', async () => {
        fake.failNext(c.preset, 'busy');
        const f = await failureOf(fetchToken(configFor(c.preset), fake.credentials(c.preset), PRIVATE));
        expect(f.kind).to.equal('transient');
        expect(f.httpStatus).to.equal(c.busy.status);
        if (c.busy.code !== undefined) expect(f.providerCode).to.equal(c.busy.code);
        // the next call works again
        const ok = await fetchToken(configFor(c.preset), fake.credentials(c.preset), PRIVATE);
        expect(ok.token).to.be.a('string');
      });
    });
  }

  describe('WeChat / WeCom specifics', () => {
    it('40013 in an HTTP-200 body is permanent, -1 transient', async () => {
      fake.failNext('wechat_offiaccount', 'errcode:40013');
      const f = await failureOf(
        fetchToken(configFor('wechat_offiaccount'), fake.credentials('wechat_offiaccount'), PRIVATE),
      );
      expect(f.details).to.deep.include({ httpStatus: 200, providerCode: '40013', transient: false });
      expect(f.providerMessage).to.include('invalid appid');
      fake.failNext('wechat_offiaccount', 'errcode:-1');
      const g = await failureOf(
        fetchToken(configFor('wechat_offiaccount'), fake.credentials('wechat_offiaccount'), PRIVATE),
      );
      expect(g.details).to.deep.include({ providerCode: '-1', transient: true });
    });

    for (const [preset, code] of [
      ['wechat_offiaccount', '40164'],
      ['wechat_offiaccount', '89503'],
      ['wechat_stable', '89501'],
      ['wecom', '60020'],
    ] as Array<[FakePresetName, string]>) {
      it(`${preset} ${code} (caller IP not allow-listed) carries the VPC connector + Cloud NAT hint`, async () => {
        fake.setMode(preset, `errcode:${code}`);
        const f = await failureOf(fetchToken(configFor(preset), fake.credentials(preset), PRIVATE));
        expect(f.kind).to.equal('permanent');
        expect(f.providerCode).to.equal(code);
        expect(f.hint).to.include('Cloud NAT').and.include('static');
        expect(f.details?.hint).to.equal(f.hint);
      });
    }

    it('an unknown appid is 40013', async () => {
      const f = await failureOf(
        fetchToken(configFor('wechat_offiaccount'), { key_1: 'nobody', key_2: 'x-secret' }, PRIVATE),
      );
      expect(f.providerCode).to.equal('40013');
    });

    it('a secret lacking key_2 fails before any call, naming the key', async () => {
      try {
        await fetchToken(configFor('wecom'), { key_1: 'ww-corpid-1' }, PRIVATE);
        expect.fail('expected an error');
      } catch (err) {
        expect(err).to.be.instanceOf(AppError);
        expect((err as AppError).code).to.equal('INVALID_ARGUMENT');
        expect((err as AppError).message).to.include('key_2');
      }
      expect(fake.calls()).to.equal(0);
    });
  });

  describe('OAuth2 specifics', () => {
    it('sends Basic credentials in the header and not in the body (basic preset)', async () => {
      await fetchToken(
        configFor('oauth2_client_credentials_basic'),
        fake.credentials('oauth2_client_credentials_basic'),
        PRIVATE,
      );
      const [req] = fake.requests('oauth2_client_credentials_basic');
      expect(req?.headers.authorization).to.equal(
        `Basic ${Buffer.from('client-1:client-secret-1').toString('base64')}`,
      );
      expect(new URLSearchParams(req?.body).has('client_secret')).to.equal(false);
      expect(new URLSearchParams(req?.body).has('scope')).to.equal(false);
    });

    it('sends the optional scope when key_3 is set', async () => {
      await fetchToken(
        configFor('oauth2_client_credentials'),
        { ...fake.credentials('oauth2_client_credentials'), key_3: 'read:x' },
        PRIVATE,
      );
      const [req] = fake.requests('oauth2_client_credentials');
      const form = new URLSearchParams(req?.body);
      expect(form.get('scope')).to.equal('read:x');
      expect(form.get('client_id')).to.equal('client-1');
      expect(req?.headers['content-type']).to.equal('application/x-www-form-urlencoded');
    });

    it('falls back to default_expires_in (3600 s) when expires_in is absent', async () => {
      fake.setLifetime('oauth2_client_credentials', null);
      const result = await fetchToken(
        configFor('oauth2_client_credentials'),
        fake.credentials('oauth2_client_credentials'),
        PRIVATE,
      );
      expect(result.lifetimeMs).to.equal(3_600_000);
      const [req] = fake.requests('oauth2_client_credentials');
      expect(req).to.not.equal(undefined);
    });

    it('invalid_client is 401 with Basic and 400 with body credentials, both permanent', async () => {
      const cases = [
        ['oauth2_client_credentials_basic', 401],
        ['oauth2_client_credentials', 400],
      ] as const;
      for (const [preset, status] of cases) {
        const f = await failureOf(
          fetchToken(configFor(preset), { key_1: 'client-1', key_2: 'nope-nope' }, PRIVATE),
        );
        expect([f.httpStatus, f.providerCode, f.kind], preset).to.deep.equal([
          status,
          'invalid_client',
          'permanent',
        ]);
        expect(f.providerMessage, preset).to.be.a('string');
      }
    });
  });

  describe('Feishu / DingTalk specifics', () => {
    it('Feishu: a code in an HTTP-200 body is an error with its msg', async () => {
      fake.failNext('feishu_tenant', 'errcode:10003');
      const f = await failureOf(
        fetchToken(configFor('feishu_tenant'), fake.credentials('feishu_tenant'), PRIVATE),
      );
      expect(f.details).to.deep.include({
        httpStatus: 200,
        providerCode: '10003',
        providerMessage: 'invalid param',
      });
    });

    it('DingTalk v1: non-2xx JSON errors carry code and message', async () => {
      const f = await failureOf(
        fetchToken(configFor('dingtalk_v1'), { key_1: 'x-app', key_2: 'x-secret' }, PRIVATE),
      );
      expect(f.httpStatus).to.equal(400);
      expect(f.providerCode).to.equal('invalidClientIdOrSecret');
      expect(f.providerMessage).to.be.a('string').and.not.equal('');
    });
  });

  describe('misbehaving upstreams (WeCom route)', () => {
    const creds = (): Record<string, string> => fake.credentials('wecom');

    it('hang: UPSTREAM_TIMEOUT, transient, within the timeout', async () => {
      fake.failNext('wecom', 'hang');
      const started = Date.now();
      const f = await failureOf(fetchToken(configFor('wecom', { timeout_ms: 300 }), creds(), PRIVATE));
      const took = Date.now() - started;
      expect(f.code).to.equal('UPSTREAM_TIMEOUT');
      expect(f.status).to.equal(504);
      expect(f.kind).to.equal('transient');
      expect(took).to.be.at.least(290).and.below(1500);
    });

    it('the caller may shorten the timeout (timeoutMs)', async () => {
      fake.failNext('wecom', 'hang');
      const started = Date.now();
      const f = await failureOf(
        fetchToken(configFor('wecom', { timeout_ms: 10_000 }), creds(), { ...PRIVATE, timeoutMs: 200 }),
      );
      expect(f.code).to.equal('UPSTREAM_TIMEOUT');
      expect(Date.now() - started).to.be.below(1500);
    });

    it('trickle: a body that never finishes hits the overall timeout', async () => {
      fake.failNext('wecom', 'trickle');
      const started = Date.now();
      const f = await failureOf(fetchToken(configFor('wecom', { timeout_ms: 500 }), creds(), PRIVATE));
      expect(f.code).to.equal('UPSTREAM_TIMEOUT');
      expect(f.kind).to.equal('transient');
      expect(Date.now() - started)
        .to.be.at.least(490)
        .and.below(2000);
    });

    it('latency under the timeout is fine', async () => {
      fake.setLatency('wecom', 150);
      const result = await fetchToken(configFor('wecom', { timeout_ms: 2000 }), creds(), PRIVATE);
      expect(result.lifetimeMs).to.equal(7_200_000);
    });

    for (const mode of ['huge', 'huge_chunked'] as FakeMode[]) {
      it(`${mode}: a multi-MB body is a permanent "response too large"`, async () => {
        fake.failNext('wecom', mode);
        const f = await failureOf(fetchToken(configFor('wecom'), creds(), PRIVATE));
        expect(f.kind).to.equal('permanent');
        expect(f.reason).to.equal('too_large');
        expect(f.message).to.include('too large');
      });
    }

    it('html with 200: permanent, "not JSON"', async () => {
      fake.failNext('wecom', 'html');
      const f = await failureOf(fetchToken(configFor('wecom'), creds(), PRIVATE));
      expect([f.kind, f.reason, f.httpStatus]).to.deep.equal(['permanent', 'not_json', 200]);
      expect(f.message).to.include('not JSON').and.not.include('<html');
    });

    it('html with 502: transient', async () => {
      fake.failNext('wecom', 'html502');
      const f = await failureOf(fetchToken(configFor('wecom'), creds(), PRIVATE));
      expect([f.kind, f.httpStatus]).to.deep.equal(['transient', 502]);
    });

    it('http500: transient', async () => {
      fake.failNext('wecom', 'http500', 2);
      const f = await failureOf(fetchToken(configFor('wecom'), creds(), PRIVATE));
      expect([f.kind, f.httpStatus]).to.deep.equal(['transient', 500]);
      await failureOf(fetchToken(configFor('wecom'), creds(), PRIVATE));
      expect((await fetchToken(configFor('wecom'), creds(), PRIVATE)).token).to.be.a('string');
      expect(fake.calls('wecom')).to.equal(3);
    });

    it('no_token: permanent', async () => {
      fake.failNext('wecom', 'no_token');
      const f = await failureOf(fetchToken(configFor('wecom'), creds(), PRIVATE));
      expect([f.kind, f.reason]).to.deep.equal(['permanent', 'no_token']);
    });

    for (const mode of ['bad_lifetime', 'bad_lifetime:absurd', 'bad_lifetime:text'] as FakeMode[]) {
      it(`${mode}: permanent, never leaking the token`, async () => {
        fake.failNext('wecom', mode);
        const f = await failureOf(fetchToken(configFor('wecom'), creds(), PRIVATE));
        expect([f.kind, f.reason]).to.deep.equal(['permanent', 'bad_lifetime']);
        const token = fake.currentToken('wecom') ?? 'none';
        expect(JSON.stringify({ m: f.message, d: f.details })).to.not.include(token);
      });
    }

    it('big_token: permanent', async () => {
      fake.failNext('wecom', 'big_token');
      const f = await failureOf(fetchToken(configFor('wecom'), creds(), PRIVATE));
      expect([f.kind, f.reason]).to.deep.equal(['permanent', 'bad_token']);
    });

    it('redirect: permanent, not followed', async () => {
      let followed = false;
      const target = http.createServer((_req, res) => {
        followed = true;
        res.end('{"access_token":"stolen","expires_in":7200}');
      });
      await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
      const port = (target.address() as AddressInfo).port;
      fake.failNext('wecom', `redirect:http://127.0.0.1:${port}/elsewhere`);
      const f = await failureOf(fetchToken(configFor('wecom'), creds(), PRIVATE));
      target.close();
      expect([f.kind, f.reason, f.httpStatus]).to.deep.equal(['permanent', 'redirect', 302]);
      expect(followed).to.equal(false);
    });

    it('connection refused: transient network failure without the URL or credentials', async () => {
      const dead = http.createServer();
      await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
      const port = (dead.address() as AddressInfo).port;
      await new Promise<void>((resolve) => dead.close(() => resolve()));
      const config = parseRealmConfig({ ...realmFor('wecom', `http://127.0.0.1:${port}`) });
      const f = await failureOf(fetchToken(config, creds(), PRIVATE));
      expect([f.kind, f.reason]).to.deep.equal(['transient', 'network']);
      expect(f.message).to.include('ECONNREFUSED');
      expect(f.message).to.not.include('ww-corpsecret-1').and.not.include('/cgi-bin');
    });

    it('a cancelled call is a transient failure', async () => {
      fake.failNext('wecom', 'hang');
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 100);
      const f = await failureOf(
        fetchToken(configFor('wecom'), creds(), { ...PRIVATE, signal: controller.signal }),
      );
      expect([f.kind, f.reason]).to.deep.equal(['transient', 'aborted']);
    });

    it('redacts credential values that a provider echoes in its message', async () => {
      const config = configFor('wecom', { error_message_path: 'errmsg' });
      fake.failNext('wecom', 'errcode:40001');
      // the fake's message does not echo; check redaction through a message that does
      const echo = http.createServer((_req, res) => {
        res.setHeader('Content-Type', 'application/json');
        res.end(
          JSON.stringify({ errcode: 40001, errmsg: 'invalid corpsecret ww-corpsecret-1 for ww-corpid-1' }),
        );
      });
      await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
      const port = (echo.address() as AddressInfo).port;
      const f = await failureOf(
        fetchToken({ ...config, url: `http://127.0.0.1:${port}/cgi-bin/gettoken` }, creds(), PRIVATE),
      );
      echo.close();
      // "corpsecret" is a run of 10 of the credential's characters: blanked too (SPEC §4).
      expect(f.providerMessage).to.equal('invalid **** **** for ****');
      expect(f.message).to.not.include('ww-corpsecret-1');
    });

    it('redacts derived credentials too: an echoed HTTP Basic blob, and URL-encoded values', async () => {
      const values = { key_1: 'client id/1', key_2: 'p@ss+word=1' };
      const blob = Buffer.from(`${values.key_1}:${values.key_2}`).toString('base64');
      const echo = http.createServer((req, res) => {
        res.setHeader('Content-Type', 'application/json');
        res.end(
          JSON.stringify({
            errcode: 40001,
            errmsg: `bad ${req.headers.authorization ?? ''} at ${req.url ?? ''}`,
          }),
        );
      });
      await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
      const port = (echo.address() as AddressInfo).port;
      const config = parseRealmConfig({
        url: `http://127.0.0.1:${port}/token`,
        method: 'GET',
        arguments: [
          { name: 'Authorization', place: 'header', value: 'Basic ${basic:key_1:key_2}' },
          { name: 'secret', place: 'url', value: '$key_2' },
        ],
        token_path: 'access_token',
        expires_in_path: 'expires_in',
        error_path: 'errcode',
        error_message_path: 'errmsg',
      });
      const f = await failureOf(fetchToken(config, values, PRIVATE));
      echo.close();
      expect(f.providerMessage).to.equal('bad Basic **** at /token?secret=****');
      for (const secret of [blob, values.key_2, encodeURIComponent(values.key_2)]) {
        expect(JSON.stringify(f.toBody())).to.not.include(secret);
      }
    });

    it('refuses a private upstream unless allowPrivate', async () => {
      try {
        await fetchToken(configFor('wecom'), creds(), { allowPrivate: false });
        expect.fail('expected a refusal');
      } catch (err) {
        expect(err).to.be.instanceOf(AppError);
        expect((err as AppError).code).to.equal('INVALID_ARGUMENT');
      }
      expect(fake.calls()).to.equal(0);
    });
  });
});
