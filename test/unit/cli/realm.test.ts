/** `tokenctl realm ...`: the requests they make and what they print. */
import assert from 'node:assert/strict';
import { SEED_REALM } from '../../fakes/seed-realm';
import { envFor, listBody, noFetch, RecordingServer, run, words } from './harness';

const WECOM_CONFIG = {
  url: 'https://qyapi.weixin.qq.com/cgi-bin/gettoken',
  method: 'GET',
  arguments: [
    { name: 'corpid', place: 'url', value: '$key_1' },
    { name: 'corpsecret', place: 'url', value: '$key_2' },
  ],
  token_path: 'access_token',
  expires_in_path: 'expires_in',
  error_path: 'errcode',
  success_values: [0],
  error_message_path: 'errmsg',
};

const WECOM_KEYS = { key_1: 'corpid', key_2: 'corpsecret' };

/** POST /api/realm answers the stored realm, as the server does. */
function echoRealm(server: RecordingServer): void {
  server.on('POST', '/api/realm', (req) => ({ body: req.body }));
}

describe('tokenctl realm', () => {
  let server: RecordingServer;

  beforeEach(async () => {
    server = await new RecordingServer().start();
  });
  afterEach(() => server.stop());

  describe('create', () => {
    it('builds the config from options, in the order of SPEC §4', async () => {
      echoRealm(server);
      const result = await run(
        words(
          'realm create wxgzh --url https://api.weixin.qq.com/cgi-bin/token',
          "--arg appid=url:$key_1 --arg secret=url:${key_2} --arg 'Authorization=header:Bearer ${key_3}:x=y'",
          '--token-path access_token --expires-in-path expires_in --expires-in-unit s',
          `--error-path errcode --success-value 0 --success-value '"ok"' --error-message-path errmsg`,
          "--content-type form --timeout-ms 5000 --comment 'WeChat Official Account'",
        ),
        { env: envFor(server) },
      );
      assert.equal(result.code, 0, result.stderr);
      assert.equal(server.requests.length, 1);
      const req = server.requests[0];
      assert.equal(req?.method, 'POST');
      assert.equal(req?.path, '/api/realm');
      assert.equal(req?.headers['content-type'], 'application/json');
      // The seed realm of SPEC §4 as these options change it, less the two fields they do not set.
      const { invalidates_previous: _invalidates, overlap_ms: _overlap, ...seedConfig } = SEED_REALM.config;
      assert.deepEqual(req?.body, {
        ...SEED_REALM,
        config: {
          ...seedConfig,
          arguments: [
            { name: 'appid', place: 'url', value: '$key_1' },
            { name: 'secret', place: 'url', value: '${key_2}' },
            { name: 'Authorization', place: 'header', value: 'Bearer ${key_3}:x=y' },
          ],
          content_type: 'form',
          success_values: [0, 'ok'],
        },
      });
      // In the order of SPEC §4: url, method, arguments, token_path, content_type, ... timeout_ms.
      assert.deepEqual(Object.keys((req?.body as { config: object }).config), Object.keys(seedConfig));
      assert.match(result.stdout, /^Created realm wxgzh\.\n/);
      assert.match(result.stdout, /\narguments {11}appid=url:\$key_1\n {20}secret=url:\$\{key_2\}\n/);
      assert.equal(result.stderr, '');
    });

    it('says "replaced" when the id existed (the server kept its created_at)', async () => {
      server.on('POST', '/api/realm', (req) => ({
        body: {
          ...(req.body as object),
          created_at: '2026-01-01T00:00:00.000Z',
          updated_at: '2026-02-01T00:00:00.000Z',
        },
      }));
      const result = await run(
        words('realm create wxgzh --url https://provider.test/token --token-path t --expires-in-path e'),
        { env: envFor(server) },
      );
      assert.equal(result.code, 0, result.stderr);
      assert.match(
        result.stdout,
        /^Replaced realm wxgzh \(it existed; its secrets now use this config\)\.\n/,
      );
    });

    it('takes the server URL from before the subcommand, where --url is the provider URL', async () => {
      echoRealm(server);
      const result = await run(
        words(
          `--url ${server.url} realm create r1 --url https://provider.test/token --method post`,
          '--arg client_id=body:$key_1 --token-path data.token --expires-in-path data.ttl',
        ),
        { env: { TOKENCTL_ADMIN_KEY: 'k'.repeat(40) } },
      );
      assert.equal(result.code, 0, result.stderr);
      const body = server.requests[0]?.body as { comment: string; config: Record<string, unknown> };
      assert.equal(body.config.url, 'https://provider.test/token');
      assert.equal(body.config.method, 'POST');
      assert.equal(body.comment, '');
    });

    it('warns (stderr) when no argument refers to a credential', async () => {
      echoRealm(server);
      const result = await run(
        words('realm create pub --url https://p.test/t --token-path t --expires-in-path e'),
        {
          env: envFor(server),
        },
      );
      assert.equal(result.code, 0);
      assert.match(result.stderr, /^warning: no argument refers to \$key_1\.\.\$key_9/);
    });

    it('--preset: reads GET /api/preset ({data: {list}}) and posts that config', async () => {
      server.on('GET', '/api/preset', {
        body: listBody([
          { name: 'wecom', comment: 'WeCom gettoken', keys: WECOM_KEYS, config: WECOM_CONFIG },
          { name: 'dingtalk', comment: 'DingTalk', config: { url: 'https://oapi.dingtalk.com/gettoken' } },
        ]),
      });
      echoRealm(server);
      const result = await run(['realm', 'create', 'wecom_main', '--preset', 'wecom'], {
        env: envFor(server),
      });
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(
        server.requests.map((r) => `${r.method} ${r.path}`),
        ['GET /api/preset', 'POST /api/realm'],
      );
      assert.deepEqual(server.requests[1]?.body, {
        id: 'wecom_main',
        comment: 'WeCom gettoken',
        config: WECOM_CONFIG,
      });
      assert.match(
        result.stdout,
        /\nIts secrets hold key_1=corpid key_2=corpsecret:\n {2}tokenctl secret add --realm wecom_main --key NAME --stdin\n$/,
      );
    });

    it('--preset with --url: posts the preset config with its provider URL replaced', async () => {
      server.on('GET', '/api/preset', {
        body: listBody([
          { name: 'wecom', comment: 'WeCom gettoken', keys: WECOM_KEYS, config: WECOM_CONFIG },
        ]),
      });
      echoRealm(server);
      const result = await run(
        words('realm create wecom_main --preset wecom --url http://127.0.0.1:9/cgi-bin/gettoken'),
        {
          env: envFor(server),
        },
      );
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(server.requests[1]?.body, {
        id: 'wecom_main',
        comment: 'WeCom gettoken',
        config: { ...WECOM_CONFIG, url: 'http://127.0.0.1:9/cgi-bin/gettoken' },
      });
    });

    it('--preset: also accepts presets as an object name → {comment, config}, and --comment wins', async () => {
      server.on('GET', '/api/preset', {
        body: { data: { wecom: { comment: 'WeCom', config: WECOM_CONFIG } } },
      });
      echoRealm(server);
      const result = await run(['realm', 'create', 'w', '--preset', 'wecom', '--comment', 'mine', '--json'], {
        env: envFor(server),
      });
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(JSON.parse(result.stdout), { id: 'w', comment: 'mine', config: WECOM_CONFIG });
    });

    it('--preset with a typo: suggests the nearest name', async () => {
      server.on('GET', '/api/preset', {
        body: listBody([
          { name: 'wecom', comment: '', config: WECOM_CONFIG },
          { name: 'wechat_offiaccount', comment: '', config: WECOM_CONFIG },
        ]),
      });
      const result = await run(['realm', 'create', 'x', '--preset', 'wechat_offiacount'], {
        env: envFor(server),
      });
      assert.equal(result.code, 2);
      assert.match(
        result.stderr,
        /There is no preset "wechat_offiacount"\. Did you mean wechat_offiaccount\?/,
      );
    });

    it('--preset whose URL is a placeholder (OAuth2) requires --url, and posts nothing without it', async () => {
      const oauth2 = { ...WECOM_CONFIG, url: 'https://auth.example.com/oauth2/token' };
      server.on('GET', '/api/preset', {
        body: listBody([{ name: 'oauth2_client_credentials', comment: '', config: oauth2 }]),
      });
      echoRealm(server);
      const result = await run(['realm', 'create', 'o', '--preset', 'oauth2_client_credentials'], {
        env: envFor(server),
      });
      assert.equal(result.code, 2);
      assert.match(result.stderr, /has no real token URL .*give your server's with --url URL/);
      assert.deepEqual(
        server.requests.map((r) => r.method),
        ['GET'],
      );
      const withUrl = await run(
        words('realm create o --preset oauth2_client_credentials --url https://idp.test/token --json'),
        { env: envFor(server) },
      );
      assert.equal(withUrl.code, 0, withUrl.stderr);
      assert.equal(
        (JSON.parse(withUrl.stdout) as { config: { url: string } }).config.url,
        'https://idp.test/token',
      );
    });

    it('prints a hint shared by several provider codes once', async () => {
      const hint = 'The provider refused this server IP address (caller IP allow-list).';
      const config = {
        ...WECOM_CONFIG,
        error_hints: { '40164': hint, '89501': hint, '40001': 'wrong secret' },
      };
      server.on('GET', '/api/realm/wx', { body: { id: 'wx', comment: '', config } });
      const result = await run(['realm', 'get', 'wx'], { env: envFor(server) });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.split(hint).length - 1, 1, result.stdout);
      assert.match(result.stdout, /40164, 89501: The provider refused/);
    });

    it('--fixed-token and --logic-code: the other two kinds of realm', async () => {
      echoRealm(server);
      const fixed = await run(['realm', 'create', 'static', '--fixed-token', '--json'], {
        env: envFor(server),
      });
      assert.equal(fixed.code, 0, fixed.stderr);
      assert.deepEqual(server.requests[0]?.body, { id: 'static', comment: '' });
      const lc = await run(['realm', 'create', 'fn', '--logic-code', 'https://fn.test/token'], {
        env: envFor(server),
      });
      assert.equal(lc.code, 0, lc.stderr);
      assert.deepEqual(server.requests[1]?.body, {
        id: 'fn',
        comment: '',
        logic_code: 'https://fn.test/token',
      });
    });

    it('--preset with an unknown name: exit 2, names the presets, creates nothing', async () => {
      server.on('GET', '/api/preset', {
        body: listBody([{ name: 'wecom', comment: '', config: WECOM_CONFIG }]),
      });
      const result = await run(['realm', 'create', 'x', '--preset', 'wechat'], { env: envFor(server) });
      assert.equal(result.code, 2);
      assert.match(result.stderr, /There is no preset "wechat"\. Presets: wecom\./);
      assert.deepEqual(
        server.requests.map((r) => r.method),
        ['GET'],
      );
    });

    it('--file: a whole realm, or only its config; a different id is refused', async () => {
      echoRealm(server);
      const files = {
        'realm.json': JSON.stringify({ id: 'wecom', comment: 'from file', config: WECOM_CONFIG }),
        'config.json': JSON.stringify(WECOM_CONFIG),
      };
      const whole = await run(['realm', 'create', 'wecom', '--file', 'realm.json'], {
        env: envFor(server),
        files,
      });
      assert.equal(whole.code, 0, whole.stderr);
      assert.deepEqual(server.requests[0]?.body, { id: 'wecom', comment: 'from file', config: WECOM_CONFIG });

      const bare = await run(['realm', 'create', 'other', '--file', 'config.json', '--comment', 'c'], {
        env: envFor(server),
        files,
      });
      assert.equal(bare.code, 0, bare.stderr);
      assert.deepEqual(server.requests[1]?.body, { id: 'other', comment: 'c', config: WECOM_CONFIG });

      const stdin = await run(['realm', 'create', 'viastdin', '--file', '-'], {
        env: envFor(server),
        stdin: files['config.json'],
      });
      assert.equal(stdin.code, 0, stdin.stderr);
      assert.equal((server.requests[2]?.body as { id: string }).id, 'viastdin');

      const mismatch = await run(['realm', 'create', 'notwecom', '--file', 'realm.json'], {
        env: envFor(server),
        files,
      });
      assert.equal(mismatch.code, 2);
      assert.match(mismatch.stderr, /realm.json is for realm "wecom", not "notwecom"/);
      const missing = await run(['realm', 'create', 'x', '--file', 'nope.json'], {
        env: envFor(server),
        files,
      });
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /Cannot read nope.json: ENOENT/);
      assert.equal(server.requests.length, 3);
    });

    it("checks the realm with the server's schema first: exit 2 naming the field, no request", async () => {
      const files = {
        'typo.json': JSON.stringify({ ...WECOM_CONFIG, expire_in_path: 'expires_in' }),
      };
      const bodyOnGet = await run(
        words(
          'realm create r --url https://p.test/t --arg appid=body:$key_1 --token-path t --expires-in-path e',
        ),
        { env: envFor(server), fetch: noFetch },
      );
      assert.equal(bodyOnGet.code, 2, bodyOnGet.stderr);
      assert.match(
        bodyOnGet.stderr,
        /^error: INVALID_ARGUMENT: Invalid realm:\n {2}config\.arguments\[0\]\.place: body arguments need method POST\n/,
      );
      const typo = await run(['realm', 'create', 'r', '--file', 'typo.json'], {
        env: envFor(server),
        files,
        fetch: noFetch,
      });
      assert.equal(typo.code, 2, typo.stderr);
      assert.match(typo.stderr, /config\.expire_in_path: Unknown field/);
      const badPath = await run(
        words('realm create r --url https://p.test/t --token-path a.__proto__.b --expires-in-path e'),
        { env: envFor(server), fetch: noFetch },
      );
      assert.equal(badPath.code, 2, badPath.stderr);
      assert.match(badPath.stderr, /config\.token_path: /);
      assert.equal(server.requests.length, 0);
    });

    it('--file takes what `realm get --json` wrote; --default-expires-in replaces --expires-in-path', async () => {
      echoRealm(server);
      const saved = JSON.stringify({
        data: { id: 'wecom', comment: 'saved', config: WECOM_CONFIG, created_at: '2026-11-24T00:00:00.000Z' },
        success: 'ok',
      });
      const fromGet = await run(['realm', 'create', 'wecom', '--file', 'saved.json'], {
        env: envFor(server),
        files: { 'saved.json': saved },
      });
      assert.equal(fromGet.code, 0, fromGet.stderr);
      assert.deepEqual(server.requests[0]?.body, { id: 'wecom', comment: 'saved', config: WECOM_CONFIG });

      const oauth = await run(
        words(
          'realm create oauth --url https://idp.test/oauth2/token --method POST --content-type form',
          "--arg grant_type=body:client_credentials --arg 'Authorization=header:Basic ${key_1}'",
          '--token-path access_token --default-expires-in 3600',
        ),
        { env: envFor(server) },
      );
      assert.equal(oauth.code, 0, oauth.stderr);
      const config = (server.requests[1]?.body as { config: Record<string, unknown> }).config;
      assert.equal(config.default_expires_in, 3600);
      assert.equal(config.expires_in_path, undefined);
    });

    it('refuses mixed sources and incomplete options, before any request', async () => {
      const cases: Array<[string[], RegExp]> = [
        [['--preset', 'wecom', '--token-path', 't'], /not several \(got --preset, --token-path\)/],
        [['--preset', 'wecom', '--file', 'f.json'], /not several \(got --preset, --file\)/],
        [
          ['--url', 'https://p.test/t', '--token-path', 't'],
          /needs --expires-in-path \(or --default-expires-in\)/,
        ],
        [
          ['--url', 'https://p.test/t', '--method', 'PUT', '--token-path', 't', '--expires-in-path', 'e'],
          /--method must be GET or POST/,
        ],
        [['--token-path', 't', '--expires-in-path', 'e'], /needs --url/],
        [['--url', 'not a url', '--token-path', 't', '--expires-in-path', 'e'], /--url is not a valid URL/],
        [
          ['--url', 'https://p.test', '--token-path', 't', '--expires-in-path', 'e', '--success-value', '0'],
          /--success-value needs --error-path/,
        ],
        [['--arg', 'appid=url:'], /value of "appid" is empty.*single-quote/],
        [['--expires-in-unit', 'h'], /Allowed choices are s, ms/],
      ];
      for (const [extra, message] of cases) {
        const result = await run(['realm', 'create', 'r', ...extra], { env: envFor(server), fetch: noFetch });
        assert.equal(result.code, 2, `${extra.join(' ')}: ${result.stderr}`);
        assert.match(result.stderr, message);
      }
      assert.equal(server.requests.length, 0);
    });
  });

  it('list: passes page, pageSize and keyword; prints an aligned table and a page footer', async () => {
    server.on('GET', '/api/realm', {
      body: listBody(
        [
          {
            id: 'wxgzh',
            comment: 'WeChat Official Account',
            config: { url: 'https://api.weixin.qq.com/cgi-bin/token', method: 'GET' },
          },
          { id: 'fs', comment: '飞书', config: { url: 'https://open.feishu.cn/x', method: 'POST' } },
        ],
        12,
      ),
    });
    const result = await run(['realm', 'list', '--keyword', 'w x', '--page', '1', '--page-size', '2'], {
      env: envFor(server),
    });
    assert.equal(result.code, 0, result.stderr);
    const query = server.requests[0]?.query;
    assert.equal(query?.get('page'), '1');
    assert.equal(query?.get('pageSize'), '2');
    assert.equal(query?.get('keyword'), 'w x');
    assert.equal(
      result.stdout,
      'ID     COMMENT                  METHOD  URL\n' +
        'wxgzh  WeChat Official Account  GET     https://api.weixin.qq.com/cgi-bin/token\n' +
        'fs     飞书                     POST    https://open.feishu.cn/x\n' +
        'Showing 2 of 12 realms (page 1); see more with --page 2.\n',
    );
  });

  it('list: says so when there are none, and sends no empty query parameters', async () => {
    server.on('GET', '/api/realm', { body: listBody([]) });
    const result = await run(['realm', 'list'], { env: envFor(server) });
    assert.equal(result.stdout, 'No realms.\n');
    assert.equal([...(server.requests[0]?.query.keys() ?? [])].length, 0);
  });

  it('get: shows fields with the arguments in --arg syntax; escapes the id in the path', async () => {
    server.on('GET', '/api/realm/a.b-c_1', {
      body: { data: { id: 'a.b-c_1', comment: 'x', config: WECOM_CONFIG }, success: 'ok' },
    });
    const result = await run(['realm', 'get', 'a.b-c_1'], { env: envFor(server) });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      result.stdout,
      [
        'id                  a.b-c_1',
        'comment             x',
        'url                 https://qyapi.weixin.qq.com/cgi-bin/gettoken',
        'method              GET',
        'arguments           corpid=url:$key_1',
        '                    corpsecret=url:$key_2',
        'token_path          access_token',
        'expires_in_path     expires_in',
        'error_path          errcode',
        'success_values      [0]',
        'error_message_path  errmsg',
        '',
      ].join('\n'),
    );
  });

  it('delete: DELETE /api/realm/:id', async () => {
    server.on('DELETE', '/api/realm/wxgzh', { status: 204 });
    const result = await run(['realm', 'delete', 'wxgzh'], { env: envFor(server) });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'Deleted realm wxgzh.\n');
    assert.equal(server.requests[0]?.method, 'DELETE');
  });

  it('presets: a table of name, the keys a secret holds, and comment', async () => {
    server.on('GET', '/api/preset', {
      body: listBody([
        { name: 'wecom', comment: 'WeCom gettoken', keys: WECOM_KEYS, config: WECOM_CONFIG },
        {
          name: 'feishu_tenant',
          comment: 'Feishu',
          config: { url: 'https://open.feishu.cn/t', method: 'POST' },
        },
      ]),
    });
    const result = await run(['realm', 'presets'], { env: envFor(server) });
    assert.equal(
      result.stdout,
      'NAME           KEYS                           COMMENT\n' +
        'wecom          key_1=corpid key_2=corpsecret  WeCom gettoken\n' +
        'feishu_tenant                                 Feishu\n',
    );
  });
});
