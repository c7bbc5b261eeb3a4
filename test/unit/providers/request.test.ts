import { expect } from 'chai';
import { AppError } from '../../../functions/errors';
import { parseRealmConfig, type RealmConfig } from '../../../functions/providers/realm-config';
import { buildRequest } from '../../../functions/providers/request';
import type { JsonObject } from '../../../functions/store/types';

function config(fields: JsonObject): RealmConfig {
  return parseRealmConfig({ token_path: 'access_token', expires_in_path: 'expires_in', ...fields });
}

/** An OAuth2-style token endpoint: a form POST with these arguments. */
function formPost(args: JsonObject[]): RealmConfig {
  return config({
    url: 'https://auth.example.com/oauth2/token',
    method: 'POST',
    content_type: 'form',
    arguments: args,
  });
}

const VALUES = { key_1: 'app id&=1', key_2: 'sec/ret+ü', key_3: 'read write' };

describe('providers/request', () => {
  it('puts url arguments into the query string, keeping the query already in the URL', () => {
    const req = buildRequest(
      config({
        url: 'https://api.example.com/cgi-bin/token?fixed=1&keep=a%20b#frag',
        method: 'GET',
        arguments: [
          { name: 'grant_type', place: 'url', value: 'client_credential' },
          { name: 'appid', place: 'url', value: '$key_1' },
          { name: 'secret', place: 'url', value: '$key_2' },
          { name: 'n', place: 'url', value: 7 },
        ],
      }),
      VALUES,
    );
    expect(req.method).to.equal('GET');
    expect(req.body).to.equal(undefined);
    const url = new URL(req.url);
    expect(url.search.startsWith('?fixed=1&keep=a%20b&')).to.equal(true);
    expect(url.hash).to.equal('');
    expect(url.searchParams.get('appid')).to.equal('app id&=1');
    expect(url.searchParams.get('secret')).to.equal('sec/ret+ü');
    expect(url.searchParams.get('grant_type')).to.equal('client_credential');
    expect(url.searchParams.get('n')).to.equal('7');
    expect(req.headers['Content-Type']).to.equal(undefined);
    expect(req.headers.Accept).to.equal('application/json');
  });

  it('encodes body arguments as JSON, keeping numbers and booleans typed', () => {
    const req = buildRequest(
      config({
        url: 'https://api.example.com/cgi-bin/stable_token',
        method: 'POST',
        arguments: [
          { name: 'appid', place: 'body', value: '$key_1' },
          { name: 'secret', place: 'body', value: '$key_2' },
          { name: 'force_refresh', place: 'body', value: false },
          { name: 'n', place: 'body', value: 3 },
          { name: '__proto__', place: 'body', value: 'x' },
        ],
      }),
      VALUES,
    );
    expect(req.method).to.equal('POST');
    expect(req.headers['Content-Type']).to.equal('application/json');
    const parsed = JSON.parse(req.body ?? '') as Record<string, unknown>;
    expect(Object.prototype.hasOwnProperty.call(parsed, '__proto__')).to.equal(true);
    expect(parsed).to.deep.include({ appid: 'app id&=1', secret: 'sec/ret+ü', force_refresh: false, n: 3 });
    expect(req.url).to.equal('https://api.example.com/cgi-bin/stable_token');
  });

  it('encodes body arguments as a form when content_type is form', () => {
    const req = buildRequest(
      formPost([
        { name: 'grant_type', place: 'body', value: 'client_credentials' },
        { name: 'client_id', place: 'body', value: '$key_1' },
        { name: 'client_secret', place: 'body', value: '$key_2' },
        { name: 'scope', place: 'body', value: '$key_3', optional: true },
      ]),
      VALUES,
    );
    expect(req.headers['Content-Type']).to.equal('application/x-www-form-urlencoded');
    const form = new URLSearchParams(req.body);
    expect(form.get('grant_type')).to.equal('client_credentials');
    expect(form.get('client_id')).to.equal('app id&=1');
    expect(form.get('client_secret')).to.equal('sec/ret+ü');
    expect(form.get('scope')).to.equal('read write');
  });

  it('leaves out an optional argument whose credential is missing, and fails on a required one', () => {
    const cfg = formPost([
      { name: 'client_id', place: 'body', value: '$key_1' },
      { name: 'scope', place: 'body', value: '$key_3', optional: true },
    ]);
    const req = buildRequest(cfg, { key_1: 'id' });
    expect(new URLSearchParams(req.body).has('scope')).to.equal(false);
    expect(() => buildRequest(cfg, { key_3: 'scope' }))
      .to.throw(AppError)
      .with.property('code', 'INVALID_ARGUMENT');
  });

  it('sends header arguments, a header argument overriding a default header', () => {
    const req = buildRequest(
      formPost([
        { name: 'Authorization', place: 'header', value: 'Basic ${basic:key_1:key_2}' },
        { name: 'X-Api-Key', place: 'header', value: '$key_3' },
        { name: 'accept', place: 'header', value: 'application/vnd.x+json' },
        { name: 'grant_type', place: 'body', value: 'client_credentials' },
      ]),
      VALUES,
    );
    expect(req.headers.Authorization).to.equal(
      `Basic ${Buffer.from('app id&=1:sec/ret+ü').toString('base64')}`,
    );
    expect(req.headers['X-Api-Key']).to.equal('read write');
    expect(req.headers.accept).to.equal('application/vnd.x+json');
    expect(req.headers.Accept).to.equal(undefined);
    expect(req.body).to.equal('grant_type=client_credentials');
  });

  it('refuses a credential that would put CR/LF into a header, without echoing it', () => {
    const cfg = config({
      url: 'https://api.example.com/token',
      method: 'GET',
      arguments: [{ name: 'X-Token', place: 'header', value: 'Bearer $key_1' }],
    });
    for (const bad of ['a\r\nInjected: yes', 'a\nb', 'a\u0000b', '令牌']) {
      try {
        buildRequest(cfg, { key_1: bad });
        expect.fail('expected an error');
      } catch (err) {
        expect(err).to.be.instanceOf(AppError);
        expect((err as AppError).code).to.equal('INVALID_ARGUMENT');
        expect((err as AppError).message)
          .to.include('X-Token')
          .and.not.include(bad);
      }
    }
  });

  it('sends an empty JSON object for a POST without body arguments', () => {
    const req = buildRequest(config({ url: 'https://api.example.com/token', method: 'POST' }), {});
    expect(req.body).to.equal('{}');
    expect(req.headers['Content-Type']).to.equal('application/json');
  });
});
