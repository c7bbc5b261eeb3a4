/**
 * What a stranger learns and leaves behind (real tokenServer processes, a fake Secret Manager):
 * - an instance that cannot read its admin key from Secret Manager answers strangers "not ready"
 *   (503) without the secret's resource path, its project or the error text; the log has them;
 * - an instance whose master key cannot be read tells admins why in /api/status, and strangers
 *   nothing;
 * - X-Request-Id is used only when it is sane (at most 128 of A-Z a-z 0-9 . _ : -): a 15 KB or
 *   hostile one is replaced by a generated id, never logged.
 */
import { expect } from 'chai';
import { startFakeSecretManager, type FakeSecretManager } from '../fakes/secret-manager';
import { request } from '../helpers/http';
import { startFunction, testEnv, type FunctionProcess } from '../helpers/processes';
import { rawHttp } from '../helpers/raw-http';

const PROJECT = 'demo-hidden-project-4711';
const ADMIN_SECRET = `projects/${PROJECT}/secrets/token-server-admin-key/versions/7`;
const MASTER_SECRET = `projects/${PROJECT}/secrets/token-server-master-key/versions/9`;

interface ErrorBody {
  error: { code: string; message: string };
}

describe('hardening: what strangers learn (real processes, fake Secret Manager)', function () {
  this.timeout(90_000);
  let sm: FakeSecretManager;
  const procs: FunctionProcess[] = [];

  before(async () => {
    // Neither version exists: Secret Manager answers NOT_FOUND (not retried) for both.
    sm = await startFakeSecretManager({ secrets: {} });
  });
  after(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await sm?.close();
  });

  it('answers strangers "not ready" without secret paths, projects or error texts; the log has them', async () => {
    const env = testEnv({
      store: 'memory',
      overrides: {
        TOKEN_SERVER_ADMIN_KEY: undefined,
        TOKEN_SERVER_ADMIN_KEY_SECRET: ADMIN_SECRET,
        TOKEN_SERVER_SECRET_MANAGER_ENDPOINT: sm.endpoint,
      },
    });
    const server = await startFunction({ target: 'tokenServer', env: env.env });
    procs.push(server);
    for (const [path, bearer] of [
      ['/api/realm', undefined],
      ['/api/status', 'x'.repeat(43)],
      ['/api/client', env.adminKey],
    ] as const) {
      const r = await request<ErrorBody>(`${server.url}${path}`, bearer === undefined ? {} : { bearer });
      expect(r.status, `${path}: ${r.text}`).to.equal(503);
      expect(r.body.error.code).to.equal('NOT_READY');
      expect(r.headers['retry-after']).to.match(/^\d+$/);
      for (const hidden of [PROJECT, 'token-server-admin-key', 'versions/7', 'NOT_FOUND', 'SECRET_MANAGER']) {
        expect(r.text, `${path} names ${hidden}`).to.not.include(hidden);
      }
    }
    expect(sm.calls(), 'Secret Manager was asked').to.be.at.least(1);
    expect(server.logs.join('\n'), 'the log says why').to.include(ADMIN_SECRET);
  });

  it('tells admins in /api/status why the master key is missing, and strangers nothing', async () => {
    const env = testEnv({
      store: 'memory',
      overrides: {
        TOKEN_SERVER_MASTER_KEY: undefined,
        TOKEN_SERVER_MASTER_KEY_SECRET: MASTER_SECRET,
        TOKEN_SERVER_SECRET_MANAGER_ENDPOINT: sm.endpoint,
      },
    });
    const server = await startFunction({ target: 'tokenServer', env: env.env });
    procs.push(server);
    const status = await request<{ data: { problems?: { master_key?: string } } }>(
      `${server.url}/api/status`,
      { bearer: env.adminKey },
    );
    expect(status.status, status.text).to.equal(200);
    expect(status.body.data.problems?.master_key).to.include(MASTER_SECRET);
    for (const path of ['/api/status', '/api/token?realm=wx&key=main', '/api/realm']) {
      const r = await request(`${server.url}${path}`, { bearer: 'y'.repeat(43) });
      expect(r.status, path).to.equal(401);
      expect(r.text).to.not.include(PROJECT);
    }
  });

  it('uses a sane X-Request-Id as it is and replaces a 15 KB or hostile one', async () => {
    const env = testEnv({ store: 'memory' });
    const server = await startFunction({ target: 'tokenServer', env: env.env });
    procs.push(server);
    // Just under Node's 16 KiB limit for all headers (past it, Node answers 431 itself).
    const huge = `id${'Z'.repeat(15_000)}`;
    const hostile = 'id"},"severity":"EMERGENCY';
    const sane = 'req-2026.12.01:abc_DEF';
    for (const [id, path] of [
      [huge, '/healthz'],
      [hostile, '/api/realm'],
      [sane, '/api/nope'],
      [huge, '/api/realm'],
    ] as const) {
      const r = await rawHttp(server.url, { method: 'GET', path, headers: { 'x-request-id': id } });
      expect(r.status).to.be.oneOf([200, 401, 404]);
    }
    // The framework-level refusals (a 413 before any route) take the same care.
    const big = await rawHttp(server.url, {
      method: 'POST',
      path: '/api/realm',
      headers: { 'x-request-id': huge, 'content-type': 'application/json' },
      body: 'x'.repeat(70 * 1024),
    });
    expect(big.status).to.equal(413);
    await new Promise((r) => setTimeout(r, 200));
    const logs = server.logs.join('\n');
    expect(logs).to.include(`"requestId":"${sane}"`);
    expect(logs).to.not.include('ZZZZZZZZ');
    expect(logs).to.not.include('EMERGENCY');
    const requestLines = server.logs.filter((l) => l.includes('"event":"request"'));
    expect(requestLines.length).to.be.at.least(5);
    for (const line of requestLines) expect(line.length).to.be.below(2048);
  });
});
