/**
 * `tokenctl component sync|start-push|authorize-url`: sync follows the cursor to the end and sums
 * the counts; start-push and authorize-url call their routes and print what they answer.
 */
import assert from 'node:assert/strict';
import { envFor, errorBody, RecordingServer, run } from './harness';

describe('tokenctl component', () => {
  let server: RecordingServer;

  beforeEach(async () => {
    server = await new RecordingServer().start();
  });
  afterEach(() => server.stop());

  it('sync: posts again with the answered cursor until complete, and sums the counts', async () => {
    const pages = [
      { seen: 500, created: 490, recovered: 2, unchanged: 8, complete: false, cursor: 'c1' },
      { seen: 500, created: 500, recovered: 0, unchanged: 0, complete: false, cursor: 'c2' },
      { seen: 17, created: 0, recovered: 1, unchanged: 16, complete: true },
    ];
    let i = 0;
    server.on('POST', '/api/component/wx_open/platform/sync', () => ({ body: pages[i++] }));
    const result = await run(['component', 'sync', 'wx_open', 'platform', '--json'], { env: envFor(server) });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      server.requests.map((r) => r.body),
      [{}, { cursor: 'c1' }, { cursor: 'c2' }],
    );
    assert.deepEqual(JSON.parse(result.stdout), {
      seen: 1017,
      created: 990,
      recovered: 3,
      unchanged: 24,
      requests: 3,
      complete: true,
    });
    assert.match(result.stderr, /resume: --cursor c2/);
    i = 0;
    const text = await run(['component', 'sync', 'wx_open', 'platform'], { env: envFor(server) });
    assert.match(
      text.stdout,
      /Synced 1017 authorizers in 3 requests: 990 created, 3 recovered, 24 unchanged/,
    );
  });

  it('sync: exits 1 with the server error when a page fails', async () => {
    server.on('POST', '/api/component/wx_open/platform/sync', {
      status: 502,
      body: errorBody('UPSTREAM_ERROR', 'api_get_authorizer_list was refused (61004)'),
    });
    const result = await run(['component', 'sync', 'wx_open', 'platform', '--cursor', 'c9'], {
      env: envFor(server),
    });
    assert.equal(result.code, 1);
    assert.deepEqual(server.requests[0]?.body, { cursor: 'c9' });
    assert.match(result.stderr, /61004/);
  });

  it('start-push and authorize-url call their routes', async () => {
    server.on('POST', '/api/component/wx_open/platform/start-push', {
      body: { realm: 'wx_open', key: 'platform', start_push: 'sent' },
    });
    const url = 'https://mp.weixin.qq.com/cgi-bin/componentloginpage?component_appid=wx1&pre_auth_code=p';
    server.on('GET', '/api/component/wx_open/platform/authorize-url', {
      body: { realm: 'wx_open', key: 'platform', url },
    });
    const push = await run(['component', 'start-push', 'wx_open', 'platform'], { env: envFor(server) });
    assert.equal(push.code, 0, push.stderr);
    assert.match(push.stdout, /Asked WeChat to push/);
    const link = await run(
      [
        'component',
        'authorize-url',
        'wx_open',
        'platform',
        '--redirect',
        'https://a.example/done',
        '--auth-type',
        '1',
      ],
      { env: envFor(server) },
    );
    assert.equal(link.code, 0, link.stderr);
    assert.equal(link.stdout, `${url}\n`);
    const asked = server.requests[1];
    assert.equal(asked?.method, 'GET');
    assert.equal(asked?.query.get('redirect_uri'), 'https://a.example/done');
    assert.equal(asked?.query.get('auth_type'), '1');
    const missing = await run(['component', 'authorize-url', 'wx_open', 'platform'], { env: envFor(server) });
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /--redirect/);
  });
});
