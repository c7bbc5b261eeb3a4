/** SPEC §7 exit codes, each produced by a real case: 0, 1 (server error), 2 (usage, no request), 3. */
import assert from 'node:assert/strict';
import { getFreePort } from '../../helpers/ports';
import { ADMIN_KEY, envFor, errorBody, listBody, noFetch, RecordingServer, run } from './harness';

describe('tokenctl exit codes', () => {
  let server: RecordingServer;

  beforeEach(async () => {
    server = await new RecordingServer().start();
  });
  afterEach(() => server.stop());

  it('0: success, with the admin key as bearer', async () => {
    server.on('GET', '/api/realm', { body: listBody([]) });
    const result = await run(['realm', 'list'], { env: envFor(server) });
    assert.equal(result.code, 0);
    assert.equal(result.stderr, '');
    assert.equal(server.requests.length, 1);
    assert.equal(server.requests[0]?.headers.authorization, `Bearer ${ADMIN_KEY}`);
  });

  it("1: the server answers 404; stderr carries the server's code and message", async () => {
    server.on('GET', '/api/realm/nope', {
      status: 404,
      body: errorBody('NOT_FOUND', 'Realm "nope" does not exist.', { realm: 'nope' }),
    });
    const result = await run(['realm', 'get', 'nope'], { env: envFor(server) });
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^error: NOT_FOUND \(HTTP 404\): Realm "nope" does not exist\.\n/);
    assert.match(result.stderr, /details: \{"realm":"nope"\}/);
  });

  it('1: a 409 conflict, a 400 validation answer and a 503 with Retry-After', async () => {
    server.on('DELETE', '/api/realm/used', {
      status: 409,
      body: errorBody('CONFLICT', 'Secrets still use realm "used".'),
    });
    server.on('POST', '/api/client', {
      status: 400,
      body: errorBody('INVALID_ARGUMENT', 'scopes[0].realm: unknown realm', { field: 'scopes[0].realm' }),
    });
    server.on('GET', '/api/token', {
      status: 503,
      headers: { 'retry-after': '2' },
      body: errorBody('REFRESH_IN_PROGRESS', 'Another instance is refreshing this token.'),
    });
    const conflict = await run(['realm', 'delete', 'used'], { env: envFor(server) });
    assert.equal(conflict.code, 1);
    assert.match(conflict.stderr, /CONFLICT \(HTTP 409\)/);
    const invalid = await run(['client', 'create', '--name', 'a', '--scope', 'x/y'], { env: envFor(server) });
    assert.equal(invalid.code, 1, 'answered by the server, so 1 and not 2');
    assert.match(invalid.stderr, /INVALID_ARGUMENT.*scopes\[0\]\.realm/);
    const busy = await run(['token', 'get', '--realm', 'r', '--key', 'k'], { env: envFor(server) });
    assert.equal(busy.code, 1);
    assert.match(busy.stderr, /REFRESH_IN_PROGRESS \(HTTP 503\): .*Retry after 2 s\./);
  });

  it('1: an answer that is not a token-server error body (wrong URL)', async () => {
    server.on('GET', '/api/status', { status: 404, body: '<html>Not Found</html>' });
    const result = await run(['status'], { env: envFor(server) });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /HTTP_404 \(HTTP 404\): .*not a token-server error body/);
  });

  describe('2: usage errors, with no request made', () => {
    const cases: Array<[string, string[], RegExp]> = [
      ['a missing --realm', ['secret', 'add', '--key', 'k', '--key-1', 'v'], /Give --realm/],
      [
        'bad --arg syntax',
        ['realm', 'create', 'r', '--url', 'https://x.test', '--arg', 'appid:url'],
        /NAME=PLACE:VALUE/,
      ],
      [
        'a bad --arg place',
        ['realm', 'create', 'r', '--arg', 'a=query:1'],
        /PLACE must be url, body or header/,
      ],
      ['an unknown option', ['realm', 'list', '--colour'], /unknown option '--colour'/],
      ['an unknown command', ['realm', 'destroy', 'x'], /unknown command 'destroy'/],
      ['an invalid realm id', ['realm', 'get', 'no/slash'], /Realm id "no\/slash" is not valid/],
      ['a bad --page', ['realm', 'list', '--page', '0'], /--page <n>.*Expected a whole number/],
      ['a bad --scope', ['client', 'create', '--name', 'a', '--scope', 'wxgzh'], /Expected REALM\/KEY/],
      ['a group without a subcommand', ['realm'], /Usage: tokenctl realm/],
      ['no realm config source', ['realm', 'create', 'r'], /Give the realm config/],
      [
        'no credential source',
        ['secret', 'add', '--realm', 'r', '--key', 'k'],
        /--stdin, --from-env, --key-1 VALUE \.\.\., or --token/,
      ],
    ];
    for (const [name, argv, message] of cases) {
      it(name, async () => {
        const result = await run(argv, { env: envFor(server), fetch: noFetch });
        assert.equal(result.code, 2, result.stderr);
        assert.match(result.stderr, message);
        assert.equal(result.stdout, '');
        assert.equal(server.requests.length, 0);
      });
    }

    it('no server URL', async () => {
      const result = await run(['realm', 'list'], { env: { TOKENCTL_ADMIN_KEY: ADMIN_KEY }, fetch: noFetch });
      assert.equal(result.code, 2);
      assert.match(result.stderr, /No server URL: pass --url URL or set TOKENCTL_URL/);
    });

    it('no admin key', async () => {
      const result = await run(['status'], { env: { TOKENCTL_URL: server.url }, fetch: noFetch });
      assert.equal(result.code, 2);
      assert.match(result.stderr, /No admin key: set TOKENCTL_ADMIN_KEY/);
    });

    it('a server URL that is not http(s)', async () => {
      const result = await run(['status', '--url', 'ftp://example.test'], {
        env: { TOKENCTL_ADMIN_KEY: ADMIN_KEY },
        fetch: noFetch,
      });
      assert.equal(result.code, 2);
      assert.match(result.stderr, /must start with http:\/\/ or https:\/\//);
    });
  });

  it('3: connection refused', async () => {
    const port = await getFreePort();
    const result = await run(['realm', 'list'], {
      env: { TOKENCTL_URL: `http://127.0.0.1:${port}`, TOKENCTL_ADMIN_KEY: ADMIN_KEY },
    });
    assert.equal(result.code, 3);
    assert.equal(result.stdout, '');
    assert.match(
      result.stderr,
      new RegExp(`UNREACHABLE: Cannot reach the server at http://127.0.0.1:${port}: ECONNREFUSED`),
    );
  });

  it('3: the server answers 401', async () => {
    server.on('GET', '/api/client', {
      status: 401,
      body: errorBody('UNAUTHENTICATED', 'Missing or wrong bearer key.'),
    });
    const result = await run(['client', 'list'], { env: { ...envFor(server), TOKENCTL_ADMIN_KEY: 'wrong' } });
    assert.equal(result.code, 3);
    assert.match(result.stderr, /UNAUTHENTICATED \(HTTP 401\): Missing or wrong bearer key\. Check the key/);
    assert.doesNotMatch(result.stderr, /wrong"/);
  });

  it('0: --help prints usage with an example on stdout', async () => {
    const result = await run(['token', 'get', '--help'], { fetch: noFetch });
    assert.equal(result.code, 0);
    assert.match(result.stdout, /Usage: tokenctl token get \[options\]/);
    assert.match(result.stdout, /Examples:\n {2}\$ TOKEN=\$\(tokenctl token get --realm wxgzh --key main\)/);
    assert.equal(result.stderr, '');
  });
});
