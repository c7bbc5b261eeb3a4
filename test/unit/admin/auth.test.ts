import { expect } from 'chai';
import { adminApp, errorOf, postRealms, SEED_REALM, type AdminApp } from './admin-harness';

/** One representative request per admin route. */
const ADMIN_REQUESTS: Array<[string, string, unknown?]> = [
  ['GET', '/api/realm'],
  ['POST', '/api/realm', SEED_REALM],
  ['GET', '/api/realm/wxgzh'],
  ['DELETE', '/api/realm/wxgzh'],
  ['GET', '/api/preset'],
  ['POST', '/api/secret', { realm: 'wxgzh', key: 's1', key_1: 'value-one-1234' }],
  ['GET', '/api/secret'],
  ['GET', '/api/secret/wxgzh/s1'],
  ['DELETE', '/api/secret/wxgzh/s1'],
  ['POST', '/api/client', { name: 'app', scopes: [{ realm: 'wxgzh', key: '*' }] }],
  ['GET', '/api/client'],
  ['DELETE', '/api/client/abc'],
];

describe('admin routes: authentication', () => {
  let app: AdminApp;
  afterEach(() => app.close());

  it('answers 401 without an Authorization header, on every admin route', async () => {
    app = await adminApp();
    for (const [method, url, body] of ADMIN_REQUESTS) {
      const res = await app.call(method, url, body, { headers: { authorization: '' } });
      expect(res.status, `${method} ${url}`).to.equal(401);
      expect(errorOf(res).code).to.equal('UNAUTHENTICATED');
    }
  });

  it('answers 401 with a wrong admin key or a non-Bearer scheme', async () => {
    app = await adminApp();
    for (const [method, url, body] of ADMIN_REQUESTS) {
      const wrong = await app.call(method, url, body, { bearer: `${app.adminKey ?? ''}x` });
      expect(wrong.status, `${method} ${url}`).to.equal(401);
    }
    const basic = await app.call('GET', '/api/realm', undefined, {
      headers: { authorization: `Basic ${app.adminKey ?? ''}` },
    });
    expect(basic.status).to.equal(401);
  });

  it('answers 401 to a client key on admin routes', async () => {
    app = await adminApp();
    await postRealms(app, SEED_REALM);
    const created = await app.call('POST', '/api/client', {
      name: 'app',
      scopes: [{ realm: 'wxgzh', key: '*' }],
    });
    const clientKey = (created.body as { client_key: string }).client_key;
    const res = await app.call('GET', '/api/realm', undefined, { bearer: clientKey });
    expect(res.status).to.equal(401);
  });

  it('answers 503 on every admin route when no admin key is configured (never open)', async () => {
    app = await adminApp({ adminKey: null });
    for (const [method, url, body] of ADMIN_REQUESTS) {
      const res = await app.call(method, url, body, { bearer: 'anything-at-all-anything-at-all-anything' });
      expect(res.status, `${method} ${url}`).to.equal(503);
      expect(errorOf(res).code).to.equal('NOT_READY');
      expect(errorOf(res).message).to.match(/admin key/i);
    }
  });

  it('answers 503 for secrets when no master key is configured, naming the missing key', async () => {
    app = await adminApp({ masterKey: null });
    await postRealms(app, SEED_REALM);
    for (const [method, url, body] of [
      ['POST', '/api/secret', { realm: 'wxgzh', key: 's1', key_1: 'value-one-1234' }],
      ['GET', '/api/secret'],
      ['GET', '/api/secret/wxgzh/s1'],
    ] as const) {
      const res = await app.call(method, url, body);
      expect(res.status, `${method} ${url}`).to.equal(503);
      expect(errorOf(res).code).to.equal('NOT_READY');
      expect(errorOf(res).message).to.match(/master key/i);
      expect(res.text).to.not.include('value-one-1234');
    }
    // Realms hold no credentials: they keep working.
    expect((await app.call('GET', '/api/realm/wxgzh')).status).to.equal(200);
  });
});
