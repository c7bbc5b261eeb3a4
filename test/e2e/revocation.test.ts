/**
 * Revoking a client key takes effect at once on the instance that handled it, and on every other
 * instance within TOKEN_SERVER_CLIENT_CACHE_MS (default 30 s; 1 s here so the test is quick).
 */
import { expect } from 'chai';
import { startFakeProvider, realmFor, type FakeProvider } from '../fakes/providers';
import { request } from '../helpers/http';
import { startFunction, testEnv, type FunctionProcess } from '../helpers/processes';

describe('client key revocation across instances', function () {
  this.timeout(60_000);
  const env = testEnv({ overrides: { TOKEN_SERVER_CLIENT_CACHE_MS: '1000' } });
  let fake: FakeProvider;
  let a: FunctionProcess;
  let b: FunctionProcess;

  before(async () => {
    fake = await startFakeProvider();
    [a, b] = await Promise.all([
      startFunction({ target: 'tokenServer', env: env.env }),
      startFunction({ target: 'tokenServerCache', env: env.env }),
    ]);
  });
  after(async () => {
    await Promise.all([a.stop(), b.stop()]);
    await fake.close();
  });

  it('stops a revoked key at once where revoked and within the cache time elsewhere', async () => {
    const admin = { bearer: env.adminKey };
    const realm = `rev${Date.now()}`;
    expect(
      (
        await request(`${a.url}/api/realm`, {
          method: 'POST',
          ...admin,
          body: { id: realm, config: realmFor('wecom', fake.url) },
        })
      ).status,
    ).to.equal(200);
    const creds = fake.credentials('wecom');
    expect(
      (
        await request(`${a.url}/api/secret`, {
          method: 'POST',
          ...admin,
          body: { realm, key: 'k', ...creds },
        })
      ).status,
    ).to.equal(200);
    const created = await request<{ id: string; client_key: string }>(`${a.url}/api/client`, {
      method: 'POST',
      ...admin,
      body: { name: 'app', scopes: [{ realm, key: '*' }] },
    });
    expect(created.status).to.equal(201);
    const { id, client_key: clientKey } = created.body;
    const tokenPath = `/api/token?realm=${realm}&key=k`;
    expect((await request(`${a.url}${tokenPath}`, { bearer: clientKey })).status).to.equal(200);
    expect((await request(`${b.url}${tokenPath}`, { bearer: clientKey })).status).to.equal(200); // b caches the key

    expect((await request(`${a.url}/api/client/${id}`, { method: 'DELETE', ...admin })).status).to.equal(200);
    expect((await request(`${a.url}${tokenPath}`, { bearer: clientKey })).status).to.equal(401); // at once on a
    await new Promise((r) => setTimeout(r, 1_200));
    expect((await request(`${b.url}${tokenPath}`, { bearer: clientKey })).status).to.equal(401); // b, after its cache time
  });
});
