/**
 * Keys as a deployed instance gets them: admin and master key read from Secret Manager (a local
 * fake speaking its REST API) by a real tokenServer process; and the closed states when keys are
 * missing — admin routes 503, credentials never stored without a master key.
 */
import { expect } from 'chai';
import { startFakeSecretManager, type FakeSecretManager } from '../fakes/secret-manager';
import { SEED_REALM } from '../fakes/seed-realm';
import { request } from '../helpers/http';
import { startFunction, testEnv, type FunctionProcess } from '../helpers/processes';

const ADMIN_SECRET = 'projects/demo-token-server/secrets/token-server-admin-key/versions/1';
const MASTER_SECRET = 'projects/demo-token-server/secrets/token-server-master-key/versions/latest';

interface ErrorBody {
  error: { code: string; message: string };
}

describe('keys at startup (real tokenServer process)', function () {
  this.timeout(90_000);
  let sm: FakeSecretManager;
  const procs: FunctionProcess[] = [];

  before(async () => {
    const keys = testEnv();
    // Payloads as `gcloud secrets versions add --data-file` often stores them: with a newline.
    sm = await startFakeSecretManager({
      secrets: { [ADMIN_SECRET]: `${keys.adminKey}\n`, [MASTER_SECRET]: `${keys.masterKey}\n` },
    });
  });
  after(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await sm.close();
  });

  it('reads the admin and master keys from Secret Manager once, and works with them', async () => {
    const base = testEnv({
      overrides: {
        TOKEN_SERVER_ADMIN_KEY: undefined,
        TOKEN_SERVER_MASTER_KEY: undefined,
        TOKEN_SERVER_ADMIN_KEY_SECRET: ADMIN_SECRET,
        TOKEN_SERVER_MASTER_KEY_SECRET: MASTER_SECRET,
        TOKEN_SERVER_SECRET_MANAGER_ENDPOINT: sm.endpoint,
      },
    });
    const server = await startFunction({ target: 'tokenServer', env: base.env });
    procs.push(server);
    const adminKey = (await fetchPayload(ADMIN_SECRET)).trim();
    const realm = { ...SEED_REALM, id: `sm${Date.now()}` };
    const created = await request(`${server.url}/api/realm`, {
      method: 'POST',
      bearer: adminKey,
      body: realm,
    });
    expect(created.status, created.text).to.equal(200);
    const secret = await request(`${server.url}/api/secret`, {
      method: 'POST',
      bearer: adminKey,
      body: {
        realm: realm.id,
        key: 'k',
        key_1: 'appid-0123456789',
        key_2: 'secret-0123456789',
        key_3: 'client_credential',
      },
    });
    expect(secret.status, secret.text).to.equal(200);
    const wrong = await request(`${server.url}/api/realm`, { bearer: base.adminKey });
    expect(wrong.status).to.equal(401); // the env's generated key is not the one in Secret Manager
    const callsAfter = sm.calls();
    await request(`${server.url}/api/realm`, { bearer: adminKey });
    expect(sm.calls()).to.equal(callsAfter); // read once per instance, not per request
    expect(server.logs.join('\n')).to.not.include(adminKey);
  });

  it('answers 503 on admin routes when no admin key is configured (never open)', async () => {
    const env = testEnv({ overrides: { TOKEN_SERVER_ADMIN_KEY: undefined } });
    const server = await startFunction({ target: 'tokenServer', env: env.env });
    procs.push(server);
    for (const path of ['/api/realm', '/api/status', '/api/client']) {
      const r = await request<ErrorBody>(`${server.url}${path}`, { bearer: 'x'.repeat(40) });
      expect(r.status, path).to.equal(503);
      expect(r.body.error.code).to.equal('NOT_READY');
      expect(r.body.error.message).to.match(/admin key/i);
    }
    const health = await request(`${server.url}/healthz`);
    expect(health.status).to.equal(200);
  });

  it('refuses to store credentials without a master key, and says why', async () => {
    const env = testEnv({ overrides: { TOKEN_SERVER_MASTER_KEY: undefined } });
    const server = await startFunction({ target: 'tokenServer', env: env.env });
    procs.push(server);
    const realm = { ...SEED_REALM, id: `nomaster${Date.now()}` };
    expect(
      (await request(`${server.url}/api/realm`, { method: 'POST', bearer: env.adminKey, body: realm }))
        .status,
    ).to.equal(200);
    const r = await request<ErrorBody>(`${server.url}/api/secret`, {
      method: 'POST',
      bearer: env.adminKey,
      body: { realm: realm.id, key: 'k', key_1: 'appid-0123456789', key_2: 'secret-0123456789' },
    });
    expect(r.status).to.equal(503);
    expect(r.body.error.message).to.match(/master key/i);
    expect(r.text).to.not.include('secret-0123456789');
  });

  it('answers 503 "not ready" when the configuration is invalid; the log names the variable, not its value', async () => {
    const env = testEnv({ overrides: { TOKEN_SERVER_MASTER_KEY: 'not-base64-of-32-bytes' } });
    const server = await startFunction({ target: 'tokenServer', env: env.env, waitFor: 'listening' });
    procs.push(server);
    for (const path of ['/api/realm', '/healthz']) {
      const r = await request<ErrorBody>(`${server.url}${path}`, { bearer: env.adminKey });
      expect(r.status, path).to.equal(503);
      expect(r.body.error.code).to.equal('NOT_READY');
      // The caller cannot be authenticated without a configuration: it learns only "not ready".
      expect(r.text).to.not.include('TOKEN_SERVER_MASTER_KEY');
      expect(r.text).to.not.include('not-base64-of-32-bytes');
    }
    expect(server.logs.join('\n')).to.include('TOKEN_SERVER_MASTER_KEY');
    expect(server.logs.join('\n')).to.not.include('not-base64-of-32-bytes');
  });

  async function fetchPayload(name: string): Promise<string> {
    const res = await fetch(`http://${sm.endpoint}/v1/${name}:access`);
    const body = (await res.json()) as { payload: { data: string } };
    return Buffer.from(body.payload.data, 'base64').toString('utf8');
  }
});
