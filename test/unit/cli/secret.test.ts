/** `tokenctl secret ...`: credentials travel by stdin or environment, and are never printed. */
import assert from 'node:assert/strict';
import {
  envFor,
  listBody,
  noFetch,
  RecordingServer,
  run,
  words,
  type RecordedRequest,
  type RunResult,
} from './harness';

const APPID = 'wx1234567890abcdef';
const APPSECRET = 'S3cr3t-value-that-must-never-be-printed';

/** The server's answer: every key_N masked to its first 4 characters. */
function maskedEcho(req: RecordedRequest): { body: unknown } {
  const body = req.body as Record<string, string>;
  const masked: Record<string, string> = { realm: body.realm ?? '', key: body.key ?? '' };
  for (const [name, value] of Object.entries(body)) {
    if (/^key_\d$/.test(name)) masked[name] = `${value.slice(0, 4)}****`;
  }
  return { body: { ...masked, updated_at: '2026-11-24T05:00:00.000Z' } };
}

function assertNoCredentialPrinted(result: { stdout: string; stderr: string }): void {
  for (const value of [APPID, APPSECRET]) {
    assert.ok(!result.stdout.includes(value), 'a credential value on stdout');
    assert.ok(!result.stderr.includes(value), 'a credential value on stderr');
  }
}

describe('tokenctl secret', () => {
  let server: RecordingServer;

  beforeEach(async () => {
    server = await new RecordingServer().start();
    server.on('POST', '/api/secret', maskedEcho);
  });
  afterEach(() => server.stop());

  /** The command succeeded, and its (first) request carried `body`. */
  function assertPosted(result: RunResult, body: Record<string, unknown>): void {
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(server.requests[0]?.body, body);
  }

  it('add --stdin: key_N=value lines (values kept as they are, comments skipped); argv holds no value', async () => {
    const argv = ['secret', 'add', '--realm', 'wxgzh', '--key', 'main', '--stdin'];
    const stdin = `# WeChat\nkey_1=${APPID}\r\nKEY_2=${APPSECRET}\n\nTOKENCTL_KEY_3=client=credential \n`;
    const result = await run(argv, { env: envFor(server), stdin });
    assertPosted(result, {
      realm: 'wxgzh',
      key: 'main',
      key_1: APPID,
      key_2: APPSECRET,
      key_3: 'client=credential ',
    });
    assert.ok(!argv.some((a) => a.includes(APPID) || a.includes(APPSECRET)));
    assertNoCredentialPrinted(result);
    assert.equal(
      result.stdout,
      'Saved secret wxgzh/main.\n' +
        'realm       wxgzh\n' +
        'key         main\n' +
        'key_1       wx12****\n' +
        'key_2       S3cr****\n' +
        'key_3       clie****\n' +
        'updated_at  2026-11-24 05:00:00Z (1h ago)\n',
    );
  });

  it('add --stdin: a JSON object', async () => {
    const result = await run(['secret', 'add', '--realm', 'wxgzh', '--key', 'main', '--stdin', '--json'], {
      env: envFor(server),
      stdin: JSON.stringify({ key_1: APPID, key_2: APPSECRET }),
    });
    assertPosted(result, { realm: 'wxgzh', key: 'main', key_1: APPID, key_2: APPSECRET });
    const printed = JSON.parse(result.stdout) as Record<string, string>;
    assert.equal(printed.key_2, 'S3cr****');
    assertNoCredentialPrinted(result);
  });

  it('add --parent: a dependent secret needs no credentials; a malformed parent is a usage error', async () => {
    const result = await run(words('secret add --realm wxticket --key main --parent wxgzh/main --json'), {
      env: envFor(server),
    });
    assertPosted(result, { realm: 'wxticket', key: 'main', parent: 'wxgzh/main' });
    const bad = await run(['secret', 'add', '--realm', 'wxticket', '--key', 'main', '--parent', 'wxgzh'], {
      env: envFor(server),
    });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /REALM\/KEY/);
    assert.equal(server.requests.length, 1);
  });

  it("add --stdin: the original design's secret JSON as it is, realm and key included", async () => {
    const original = {
      realm: 'wxgzh',
      key: 'wxgzh_secret',
      key_1: APPID,
      key_2: APPSECRET,
      key_3: 'client_credential',
    };
    const result = await run(['secret', 'add', '--stdin', '--json'], {
      env: envFor(server),
      stdin: JSON.stringify(original),
    });
    assertPosted(result, original);
    const printed = JSON.parse(result.stdout) as Record<string, string>;
    assert.equal(printed.realm, 'wxgzh');
    assert.ok(!('data' in printed), '--json prints the resource itself');
    assertNoCredentialPrinted(result);
  });

  it('add --stdin: a realm on stdin that differs from --realm is a usage error, and no request is made', async () => {
    const result = await run(['secret', 'add', '--realm', 'other', '--stdin'], {
      env: envFor(server),
      stdin: JSON.stringify({ realm: 'wxgzh', key: 'k', key_1: APPID }),
    });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--realm other and the realm "wxgzh" on stdin differ/);
    assert.equal(server.requests.length, 0);
    assertNoCredentialPrinted(result);
  });

  it('add --token [--expires-in]: a fixed-token secret', async () => {
    const result = await run(
      words('secret add --realm static --key partner --token fixed-token-1 --expires-in 3600'),
      { env: envFor(server) },
    );
    assertPosted(result, { realm: 'static', key: 'partner', token: 'fixed-token-1', expires_in: 3600 });
    const lone = await run(
      ['secret', 'add', '--realm', 'static', '--key', 'p', '--expires-in', '60', '--key-1', 'x'],
      {
        env: envFor(server),
      },
    );
    assert.equal(lone.code, 2);
    assert.match(lone.stderr, /--expires-in goes with --token/);
  });

  it('add --from-env: TOKENCTL_KEY_1..9', async () => {
    const result = await run(['secret', 'add', '--realm', 'wecom', '--key', 'app1', '--from-env'], {
      env: { ...envFor(server), TOKENCTL_KEY_1: APPID, TOKENCTL_KEY_2: APPSECRET, TOKENCTL_KEY_9: 'nine' },
    });
    assertPosted(result, { realm: 'wecom', key: 'app1', key_1: APPID, key_2: APPSECRET, key_9: 'nine' });
    assertNoCredentialPrinted(result);
  });

  it('add --key-1 ..: values from options', async () => {
    const result = await run(
      ['secret', 'add', '--realm', 'r', '--key', 'k', '--key-1', APPID, '--key-3', 'three'],
      { env: envFor(server) },
    );
    assertPosted(result, { realm: 'r', key: 'k', key_1: APPID, key_3: 'three' });
  });

  it("add: prints the server's warnings on stderr", async () => {
    server.on('POST', '/api/secret', (req) => ({
      body: {
        ...(maskedEcho(req).body as object),
        warnings: ['realm wxgzh uses $key_3, which this secret lacks'],
      },
    }));
    const result = await run(['secret', 'add', '--realm', 'wxgzh', '--key', 'k', '--from-env'], {
      env: { ...envFor(server), TOKENCTL_KEY_1: APPID },
    });
    assert.equal(result.code, 0);
    assert.equal(result.stderr, 'warning: realm wxgzh uses $key_3, which this secret lacks\n');
  });

  it('add: bad input exits 2 without a request, and the message never quotes a value', async () => {
    const cases: Array<[string[], Record<string, string>, string | undefined, RegExp]> = [
      [['--stdin'], {}, `key_1=${APPID}\nappsecret=${APPSECRET}\n`, /stdin line 2: expected key_N=value/],
      [['--stdin'], {}, `key_1=${APPID}\nkey_1=${APPSECRET}\n`, /stdin line 2: key_1 is given twice/],
      [['--stdin'], {}, `key_0=${APPSECRET}\n`, /There is no key_0/],
      [['--stdin'], {}, `{"key_1": "${APPSECRET}"`, /not valid JSON/],
      [['--stdin'], {}, `{"key_1": "${APPID}", "secret": "${APPSECRET}"}`, /unexpected field "secret"/],
      [['--stdin'], {}, '{"key_1": 12}', /key_1 must be a string/],
      [['--stdin'], {}, '\n# nothing\n', /No credentials found \(stdin\)/],
      [['--stdin'], {}, 'key_1=\n', /key_1 is empty/],
      [['--from-env'], {}, undefined, /none of TOKENCTL_KEY_1 .. TOKENCTL_KEY_9 is set/],
      [['--from-env'], { TOKENCTL_KEY_2: '' }, undefined, /key_2 is empty/],
      [['--from-env', '--stdin'], { TOKENCTL_KEY_1: APPID }, '', /one way only \(got --from-env, --stdin\)/],
      [
        ['--key-1', 'x', '--from-env'],
        { TOKENCTL_KEY_1: APPID },
        undefined,
        /one way only \(got --key-N, --from-env\)/,
      ],
    ];
    for (const [extra, env, stdin, message] of cases) {
      const result = await run(['secret', 'add', '--realm', 'r', '--key', 'k', ...extra], {
        env: { ...envFor(server), ...env },
        stdin,
        fetch: noFetch,
      });
      assert.equal(result.code, 2, `${extra.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assertNoCredentialPrinted(result);
    }
    assert.equal(server.requests.length, 0);
  });

  it('list: --realm filter, masked values and update times', async () => {
    server.on('GET', '/api/secret', {
      body: listBody([
        {
          realm: 'wxgzh',
          key: 'main',
          key_1: 'wx12****',
          key_2: 'S3cr****',
          updated_at: '2026-11-24T05:59:00.000Z',
        },
        { realm: 'wxgzh', key: 'backup', key_1: 'wx98****' },
      ]),
    });
    const result = await run(['secret', 'list', '--realm', 'wxgzh'], { env: envFor(server) });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(server.requests[0]?.query.get('realm'), 'wxgzh');
    assert.equal(
      result.stdout,
      'REALM  KEY     VALUES                         UPDATED\n' +
        'wxgzh  main    key_1=wx12**** key_2=S3cr****  2026-11-24 05:59:00Z (1m ago)\n' +
        'wxgzh  backup  key_1=wx98****                 -\n',
    );
  });

  it('get and delete: /api/secret/:realm/:key', async () => {
    server.on('GET', '/api/secret/wxgzh/main', { body: { realm: 'wxgzh', key: 'main', key_1: 'wx12****' } });
    server.on('DELETE', '/api/secret/wxgzh/main', { body: { success: 'ok' } });
    const got = await run(['secret', 'get', 'wxgzh', 'main'], { env: envFor(server) });
    assert.equal(got.stdout, 'realm  wxgzh\nkey    main\nkey_1  wx12****\n');
    const deleted = await run(['secret', 'delete', 'wxgzh', 'main', '--json'], { env: envFor(server) });
    assert.deepEqual(JSON.parse(deleted.stdout), { success: 'ok' });
    assert.deepEqual(
      server.requests.map((r) => `${r.method} ${r.path}`),
      ['GET /api/secret/wxgzh/main', 'DELETE /api/secret/wxgzh/main'],
    );
  });
});
