import { expect } from 'chai';
import { extractToken, MAX_TOKEN_BYTES } from '../../../functions/providers/extract';
import { cleanProviderText } from '../../../functions/providers/redact';
import { IP_ALLOWLIST_HINT, ProviderFailure } from '../../../functions/providers/failure';
import { parseRealmConfig, type RealmConfig } from '../../../functions/providers/realm-config';
import type { JsonObject } from '../../../functions/store/types';

const WECHAT: JsonObject = {
  url: 'https://api.weixin.qq.com/cgi-bin/token',
  method: 'GET',
  token_path: 'access_token',
  expires_in_path: 'expires_in',
  error_path: 'errcode',
  error_message_path: 'errmsg',
  transient_error_values: [-1],
  error_hints: { '40164': IP_ALLOWLIST_HINT },
};

function cfg(changes: JsonObject = {}): RealmConfig {
  return parseRealmConfig({ ...WECHAT, ...changes });
}

function failureOf(fn: () => unknown): ProviderFailure {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(ProviderFailure);
    return err as ProviderFailure;
  }
  return expect.fail('expected a ProviderFailure');
}

const SECRET_TOKEN = 'TOKEN-THAT-MUST-NOT-LEAK';

describe('providers/extract', () => {
  it('reads the token and the lifetime in seconds', () => {
    expect(extractToken(cfg(), 200, JSON.stringify({ access_token: 'tok', expires_in: 7200 }))).to.deep.equal(
      {
        token: 'tok',
        lifetimeMs: 7_200_000,
      },
    );
  });

  it('reads a lifetime in milliseconds, from a nested path, and as a numeric string', () => {
    const config = cfg({ token_path: 'data.token', expires_in_path: 'data.ttl', expires_in_unit: 'ms' });
    expect(
      extractToken(config, 201, JSON.stringify({ data: { token: 't', ttl: 90_000 } })).lifetimeMs,
    ).to.equal(90_000);
    expect(
      extractToken(cfg(), 200, JSON.stringify({ access_token: 't', expires_in: '7200' })).lifetimeMs,
    ).to.equal(7_200_000);
  });

  it('accepts an error code that is a success value, comparing loosely', () => {
    expect(
      extractToken(
        cfg(),
        200,
        JSON.stringify({ errcode: 0, errmsg: 'ok', access_token: 't', expires_in: 60 }),
      ).token,
    ).to.equal('t');
    expect(
      extractToken(cfg(), 200, JSON.stringify({ errcode: '0', access_token: 't', expires_in: 60 })).token,
    ).to.equal('t');
    const okString = cfg({ error_path: 'status', success_values: ['ok', 'OK'] });
    expect(
      extractToken(okString, 200, JSON.stringify({ status: 'OK', access_token: 't', expires_in: 60 })).token,
    ).to.equal('t');
    expect(
      extractToken(cfg(), 200, JSON.stringify({ errcode: null, access_token: 't', expires_in: 60 })).token,
    ).to.equal('t');
  });

  it('turns a provider error code in an HTTP-200 body into a permanent failure with code, message and hint', () => {
    const f = failureOf(() =>
      extractToken(cfg(), 200, JSON.stringify({ errcode: 40164, errmsg: 'invalid ip 1.2.3.4' })),
    );
    expect(f.code).to.equal('UPSTREAM_ERROR');
    expect(f.status).to.equal(502);
    expect(f.kind).to.equal('permanent');
    expect(f.providerCode).to.equal('40164');
    expect(f.providerMessage).to.equal('invalid ip 1.2.3.4');
    expect(f.hint).to.equal(IP_ALLOWLIST_HINT);
    expect(f.details).to.deep.equal({
      reason: 'provider_error',
      transient: false,
      httpStatus: 200,
      providerCode: '40164',
      providerMessage: 'invalid ip 1.2.3.4',
      hint: IP_ALLOWLIST_HINT,
    });
  });

  it('classifies transient_error_values as transient, loosely', () => {
    expect(failureOf(() => extractToken(cfg(), 200, '{"errcode":-1,"errmsg":"system busy"}')).kind).to.equal(
      'transient',
    );
    expect(failureOf(() => extractToken(cfg(), 200, '{"errcode":"-1"}')).kind).to.equal('transient');
    expect(failureOf(() => extractToken(cfg(), 200, '{"errcode":40013}')).kind).to.equal('permanent');
  });

  it('treats every non-2xx status as an error: 5xx, 408 and 429 transient, other 4xx permanent', () => {
    const cases: Array<[number, 'transient' | 'permanent']> = [
      [500, 'transient'],
      [502, 'transient'],
      [503, 'transient'],
      [429, 'transient'],
      [408, 'transient'],
      [400, 'permanent'],
      [401, 'permanent'],
      [403, 'permanent'],
      [404, 'permanent'],
      [302, 'permanent'],
    ];
    for (const [status, kind] of cases) {
      const f = failureOf(() =>
        extractToken(cfg(), status, JSON.stringify({ access_token: SECRET_TOKEN, expires_in: 7200 })),
      );
      expect(f.kind, String(status)).to.equal(kind);
      expect(f.httpStatus).to.equal(status);
      expect(f.message).to.include(String(status)).and.not.include(SECRET_TOKEN);
    }
    expect(failureOf(() => extractToken(cfg(), 302, '')).reason).to.equal('redirect');
  });

  it('reads a provider error from a non-2xx JSON body (DingTalk v1, OAuth2)', () => {
    const ding = cfg({
      error_path: 'code',
      success_values: [],
      error_message_path: 'message',
      token_path: 'accessToken',
    });
    const f = failureOf(() =>
      extractToken(ding, 400, '{"code":"invalidClientIdOrSecret","message":"bad client","requestid":"r"}'),
    );
    expect(f.kind).to.equal('permanent');
    expect(f.providerCode).to.equal('invalidClientIdOrSecret');
    expect(f.providerMessage).to.equal('bad client');
    expect(f.httpStatus).to.equal(400);
    const oauth = cfg({
      error_path: 'error',
      success_values: [],
      error_message_path: 'error_description',
      transient_error_values: ['temporarily_unavailable'],
    });
    const g = failureOf(() => extractToken(oauth, 401, '{"error":"invalid_client"}'));
    expect(g.providerCode).to.equal('invalid_client');
    expect(g.kind).to.equal('permanent');
    expect(failureOf(() => extractToken(oauth, 400, '{"error":"temporarily_unavailable"}')).kind).to.equal(
      'transient',
    );
  });

  it('says "not JSON" with the length, never the body', () => {
    const html = `<html>${SECRET_TOKEN}</html>`;
    const f = failureOf(() => extractToken(cfg(), 200, html));
    expect(f.reason).to.equal('not_json');
    expect(f.kind).to.equal('permanent');
    expect(f.message)
      .to.include('not JSON')
      .and.include(`${html.length} bytes`)
      .and.not.include(SECRET_TOKEN);
    const g = failureOf(() => extractToken(cfg(), 502, html));
    expect(g.kind).to.equal('transient');
    expect(g.message).to.include('not JSON').and.not.include(SECRET_TOKEN);
    expect(failureOf(() => extractToken(cfg(), 200, '')).reason).to.equal('not_json');
  });

  it('refuses JSON that is not an object', () => {
    for (const body of ['[]', '"tok"', '42', 'null']) {
      expect(failureOf(() => extractToken(cfg(), 200, body)).reason, body).to.equal('not_object');
    }
  });

  it('refuses a missing, empty, non-string, oversized or control-character token', () => {
    const cases: Array<[unknown, string]> = [
      [undefined, 'no_token'],
      [null, 'no_token'],
      ['', 'no_token'],
      [12345, 'bad_token'],
      [{ t: 1 }, 'bad_token'],
      ['x'.repeat(MAX_TOKEN_BYTES + 1), 'bad_token'],
      ['é'.repeat(MAX_TOKEN_BYTES / 2 + 1), 'bad_token'],
      ['tok\nen', 'bad_token'],
    ];
    for (const [token, reason] of cases) {
      const f = failureOf(() =>
        extractToken(cfg(), 200, JSON.stringify({ access_token: token, expires_in: 7200 })),
      );
      expect(f.reason, JSON.stringify(token)?.slice(0, 20)).to.equal(reason);
      expect(f.kind).to.equal('permanent');
    }
    expect(
      extractToken(cfg(), 200, JSON.stringify({ access_token: 'x'.repeat(MAX_TOKEN_BYTES), expires_in: 1 }))
        .token,
    ).to.have.length(MAX_TOKEN_BYTES);
  });

  it('refuses an unusable lifetime: zero, negative, not a number, or over 366 days', () => {
    for (const lifetime of [0, -1, 'soon', '', true, 1e12, 366 * 86_400 + 1, [7200], '7200s']) {
      const f = failureOf(() =>
        extractToken(cfg(), 200, JSON.stringify({ access_token: SECRET_TOKEN, expires_in: lifetime })),
      );
      expect(f.reason, String(lifetime)).to.equal('bad_lifetime');
      expect(f.message).to.not.include(SECRET_TOKEN);
    }
    expect(
      extractToken(cfg(), 200, JSON.stringify({ access_token: 't', expires_in: 366 * 86_400 })).lifetimeMs,
    ).to.equal(366 * 86_400_000);
  });

  it('uses default_expires_in when the answer has no lifetime, and fails without one', () => {
    const withDefault = cfg({ default_expires_in: 3600 });
    expect(extractToken(withDefault, 200, '{"access_token":"t"}').lifetimeMs).to.equal(3_600_000);
    expect(extractToken(withDefault, 200, '{"access_token":"t","expires_in":null}').lifetimeMs).to.equal(
      3_600_000,
    );
    expect(extractToken(withDefault, 200, '{"access_token":"t","expires_in":60}').lifetimeMs).to.equal(
      60_000,
    );
    expect(
      failureOf(() => extractToken(withDefault, 200, '{"access_token":"t","expires_in":-5}')).reason,
    ).to.equal('bad_lifetime');
    expect(failureOf(() => extractToken(cfg(), 200, '{"access_token":"t"}')).reason).to.equal('no_lifetime');
    const noPath = parseRealmConfig({ ...WECHAT, expires_in_path: undefined, default_expires_in: 60 });
    expect(extractToken(noPath, 200, '{"access_token":"t","expires_in":99999}').lifetimeMs).to.equal(60_000);
  });

  it('keeps provider messages short and free of control characters, once cleaned (after redaction)', () => {
    const raw = failureOf(() =>
      extractToken(cfg(), 200, JSON.stringify({ errcode: 1, errmsg: `a\r\nb${'x'.repeat(1000)}` })),
    );
    expect(raw.providerMessage?.length, 'extract keeps the raw text for redaction').to.equal(1004);
    const f = raw.redacted((text, max) => cleanProviderText(text, (t) => t, max));
    expect(f.providerMessage?.startsWith('a b')).to.equal(true);
    expect(f.providerMessage?.length).to.be.at.most(301);
  });
});

describe('providers/extract: realms without error rules (the original design format)', () => {
  const ORIGINAL = parseRealmConfig({
    url: 'https://api.weixin.qq.com/cgi-bin/token',
    method: 'GET',
    token_path: 'access_token',
    content_type: 'json',
    expires_in_path: 'expires_in',
  });
  const fail = (status: number, body: unknown) =>
    failureOf(() => extractToken(ORIGINAL, status, JSON.stringify(body)));

  it('reports errcode/errmsg as the provider code and message, permanent', () => {
    const f = fail(200, { errcode: 40001, errmsg: 'invalid credential' });
    expect(f.providerCode).to.equal('40001');
    expect(f.providerMessage).to.equal('invalid credential');
    expect(f.kind).to.equal('permanent');
    expect(f.reason).to.equal('provider_error');
    expect(f.message).to.include('40001').and.include('invalid credential');
  });

  it('counts errcode -1 (busy), HTTP 429 and 5xx as transient', () => {
    expect(fail(200, { errcode: -1, errmsg: 'system error' }).kind).to.equal('transient');
    expect(fail(429, { code: 99991400, msg: 'too many requests' })).to.include({
      kind: 'transient',
      providerCode: '99991400',
      providerMessage: 'too many requests',
    });
    expect(fail(503, { error: 'temporarily_unavailable' }).kind).to.equal('transient');
  });

  it('reads code/msg, code/message, error/error_description and a nested error object', () => {
    expect(fail(200, { code: 10003, msg: 'invalid app_id' })).to.include({ providerCode: '10003' });
    expect(fail(400, { code: 'InvalidAuthentication', message: 'bad key' })).to.include({
      providerCode: 'InvalidAuthentication',
      providerMessage: 'bad key',
    });
    expect(
      fail(401, { error: 'invalid_client', error_description: 'Client authentication failed' }),
    ).to.include({
      providerCode: 'invalid_client',
      providerMessage: 'Client authentication failed',
      kind: 'permanent',
    });
    expect(fail(403, { error: { code: 403, message: 'forbidden' } })).to.include({
      providerCode: '403',
      providerMessage: 'forbidden',
    });
  });

  it('gives the IP allow-list hint for 40164 and 60020 without a preset', () => {
    expect(fail(200, { errcode: 40164, errmsg: 'invalid ip' }).hint).to.equal(IP_ALLOWLIST_HINT);
    expect(fail(200, { errcode: 60020, errmsg: 'not allow' }).hint).to.equal(IP_ALLOWLIST_HINT);
    expect(fail(200, { errcode: 40001, errmsg: 'x' }).hint).to.equal(undefined);
  });

  it('takes a token even when success fields come with it, and says no_token when nothing explains its absence', () => {
    expect(
      extractToken(
        ORIGINAL,
        200,
        JSON.stringify({ errcode: 0, errmsg: 'ok', access_token: 't', expires_in: 7200 }),
      ),
    ).to.deep.equal({ token: 't', lifetimeMs: 7_200_000 });
    expect(fail(200, { errcode: 0, errmsg: 'ok' }).reason).to.equal('no_token');
    expect(fail(200, { something: 'else' }).reason).to.equal('no_token');
  });
});
