/** `tokenctl client ...` and `tokenctl token get`. */
import assert from 'node:assert/strict';
import { ADMIN_KEY, envFor, listBody, RecordingServer, run } from './harness';

const CLIENT_KEY = 'ck_live_0123456789abcdef0123456789abcdef';
const TOKEN_ANSWER = {
  token: 'ACCESS-TOKEN-42',
  expires_in: 7_199_000,
  expires_at: '2026-11-24T08:00:00.000Z',
  source: 'database',
};

describe('tokenctl client', () => {
  let server: RecordingServer;

  beforeEach(async () => {
    server = await new RecordingServer().start();
    server.on('POST', '/api/client', (req) => ({
      body: { id: 'c-1', ...(req.body as object), client_key: CLIENT_KEY },
    }));
  });
  afterEach(() => server.stop());

  it('create: posts name and scopes; prints the key once, with a warning that it is shown once', async () => {
    const result = await run(
      ['client', 'create', '--name', 'billing-app', '--scope', 'wxgzh/main', '--scope', 'feishu/*'],
      { env: envFor(server) },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(server.requests[0]?.body, {
      name: 'billing-app',
      scopes: [
        { realm: 'wxgzh', key: 'main' },
        { realm: 'feishu', key: '*' },
      ],
    });
    assert.equal(
      result.stdout,
      'id          c-1\n' +
        'name        billing-app\n' +
        'scopes      wxgzh/main, feishu/*\n' +
        `client key  ${CLIENT_KEY}\n` +
        '\nThis client key is shown only once: store it now. The server keeps only its hash.\n',
    );
  });

  it("create --json: the server's JSON and nothing else on stdout", async () => {
    const result = await run(['client', 'create', '--name', 'a', '--scope', 'r/k', '--json'], {
      env: envFor(server),
    });
    assert.equal(result.code, 0);
    assert.deepEqual(JSON.parse(result.stdout), {
      id: 'c-1',
      name: 'a',
      scopes: [{ realm: 'r', key: 'k' }],
      client_key: CLIENT_KEY,
    });
    assert.equal(result.stderr, '');
  });

  it('list and revoke', async () => {
    server.on('GET', '/api/client', {
      body: listBody([
        {
          id: 'c-1',
          name: 'billing-app',
          scopes: [{ realm: 'wxgzh', key: '*' }],
          created_at: 1_795_500_000_000,
        },
      ]),
    });
    server.on('DELETE', '/api/client/c%2F1', { status: 204 });
    const list = await run(['client', 'list'], { env: envFor(server), now: 1_795_500_000_000 + 90_000 });
    assert.equal(
      list.stdout,
      'ID   NAME         SCOPES   CREATED\n' +
        'c-1  billing-app  wxgzh/*  2026-11-24 06:00:00Z (1m 30s ago)\n',
    );
    const revoke = await run(['client', 'revoke', 'c/1'], { env: envFor(server) });
    assert.equal(revoke.code, 0, revoke.stderr);
    assert.equal(
      revoke.stdout,
      'Revoked client c/1 (effective everywhere within 30 s, TOKEN_SERVER_CLIENT_CACHE_MS).\n',
    );
    assert.equal(server.requests[1]?.method, 'DELETE');
  });
});

describe('tokenctl token get', () => {
  let server: RecordingServer;

  beforeEach(async () => {
    server = await new RecordingServer().start();
    server.on('GET', '/api/token', { body: TOKEN_ANSWER });
  });
  afterEach(() => server.stop());

  it('prints the bare token and a newline, for $(...)', async () => {
    const result = await run(['token', 'get', '--realm', 'wxgzh', '--key', 'main'], { env: envFor(server) });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'ACCESS-TOKEN-42\n');
    assert.equal(result.stderr, '');
    const req = server.requests[0];
    assert.equal(req?.query.get('realm'), 'wxgzh');
    assert.equal(req?.query.get('key'), 'main');
    assert.equal(req?.query.get('flush'), 'false');
    assert.equal(req?.headers.authorization, `Bearer ${ADMIN_KEY}`);
  });

  it('--flush and --json: the whole answer', async () => {
    const result = await run(['token', 'get', '--realm', 'wxgzh', '--key', 'main', '--flush', '--json'], {
      env: envFor(server),
    });
    assert.deepEqual(JSON.parse(result.stdout), TOKEN_ANSWER);
    assert.equal(server.requests[0]?.query.get('flush'), 'true');
  });

  it('uses a client key: TOKENCTL_CLIENT_KEY over TOKENCTL_ADMIN_KEY, --admin-key over both', async () => {
    const env = { ...envFor(server), TOKENCTL_CLIENT_KEY: CLIENT_KEY };
    await run(['token', 'get', '--realm', 'r', '--key', 'k'], { env });
    await run(['token', 'get', '--realm', 'r', '--key', 'k', '--admin-key', 'flag-admin'], { env });
    await run(['token', 'get', '--realm', 'r', '--key', 'k', '--client-key', 'flag-client'], { env });
    assert.deepEqual(
      server.requests.map((r) => r.headers.authorization),
      [`Bearer ${CLIENT_KEY}`, 'Bearer flag-admin', 'Bearer flag-client'],
    );
    const both = await run(
      ['token', 'get', '--realm', 'r', '--key', 'k', '--admin-key', 'a', '--client-key', 'c'],
      {
        env,
      },
    );
    assert.equal(both.code, 2);
    assert.match(both.stderr, /either --admin-key or --client-key/);
    assert.equal(server.requests.length, 3);
  });

  it('a client key alone is enough (no admin key anywhere)', async () => {
    const result = await run(['token', 'get', '--realm', 'r', '--key', 'k'], {
      env: { TOKENCTL_URL: server.url, TOKENCTL_CLIENT_KEY: CLIENT_KEY },
    });
    assert.equal(result.code, 0, result.stderr);
  });

  it('403 out of scope → 1; an answer without a token → 1', async () => {
    server.on('GET', '/api/token', (req) =>
      req.query.get('realm') === 'other'
        ? { status: 403, body: { error: { code: 'PERMISSION_DENIED', message: 'Out of scope.' } } }
        : { body: { expires_in: 1 } },
    );
    const denied = await run(['token', 'get', '--realm', 'other', '--key', 'k'], { env: envFor(server) });
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /PERMISSION_DENIED \(HTTP 403\): Out of scope\./);
    const empty = await run(['token', 'get', '--realm', 'r', '--key', 'k'], { env: envFor(server) });
    assert.equal(empty.code, 1);
    assert.equal(empty.stdout, '');
    assert.match(empty.stderr, /UNEXPECTED_RESPONSE/);
  });
});
