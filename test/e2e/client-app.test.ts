/**
 * A newcomer's app, outside the repository: a scratch folder under the system's temp folder with its
 * own package.json installs the client library as the README says (`npm install` of the checkout's
 * client folder, offline) and requires it by the README's name; then, against a live tokenServer and
 * the fake provider npm start runs, it takes a token, calls a WeChat API with it and signs a page
 * for the JS-SDK (client.jssdkConfig). The README's plain-fetch snippet runs there too, as written,
 * and retries once when the provider rejects its token. Counted at the fake.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { getPreset } from '../../functions/providers/presets';
import { realmFor, startFakeProvider, type FakeProvider } from '../fakes/providers';
import { request } from '../helpers/http';
import { repoRoot, startFunction, testEnv, type FunctionProcess } from '../helpers/processes';

function readme(): string {
  return readFileSync(join(repoRoot(), 'README.md'), 'utf8');
}

/** The package name the README's client example requires. */
function readmeClientName(): string {
  const m = /const \{ TokenClient, adapters \} = require\('([^']+)'\)/.exec(readme());
  if (m?.[1] === undefined) throw new Error('README.md has no client require line');
  return m[1];
}

function readmeFetchSnippet(): string {
  const m = /<!-- fetch-example:start -->\s*```js\n([\s\S]*?)```\s*<!-- fetch-example:end -->/.exec(readme());
  if (m?.[1] === undefined) throw new Error('README.md has no fetch example block');
  return m[1];
}

function run(
  cwd: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe("a newcomer's app: the client library installed outside the repository", function () {
  this.timeout(180_000);
  const env = testEnv();
  const admin = { bearer: env.adminKey };
  let fake: FakeProvider;
  let server: FunctionProcess;
  let app: string;
  let clientKey: string;
  /** What a user's shell has: no test variables, npm offline. */
  let appEnv: NodeJS.ProcessEnv;

  const post = async (path: string, body: unknown): Promise<Record<string, unknown>> => {
    const res = await request<Record<string, unknown>>(`${server.url}${path}`, {
      method: 'POST',
      ...admin,
      body,
    });
    expect(res.status, `${path}: ${res.text}`).to.be.oneOf([200, 201]);
    return res.body;
  };

  before(async () => {
    fake = await startFakeProvider();
    server = await startFunction({ target: 'tokenServer', env: env.env });
    // flush_min_interval_ms 0: the report of the second test is not collapsed into the first test's fetch.
    await post('/api/realm', {
      id: 'wxgzh',
      config: { ...realmFor('wechat_offiaccount', fake.url), flush_min_interval_ms: 0 },
    });
    await post('/api/secret', { realm: 'wxgzh', key: 'main', ...fake.credentials('wechat_offiaccount') });
    await post('/api/realm', {
      id: 'wxticket',
      config: { ...getPreset('wechat_jsapi_ticket')?.config, url: `${fake.url}/cgi-bin/ticket/getticket` },
    });
    await post('/api/secret', { realm: 'wxticket', key: 'main', parent: 'wxgzh/main' });
    const client = await post('/api/client', {
      name: 'newcomer-app',
      scopes: [
        { realm: 'wxgzh', key: 'main' },
        { realm: 'wxticket', key: 'main' },
      ],
    });
    clientKey = String(client.client_key);
    app = mkdtempSync(join(tmpdir(), 'token-server-app-'));
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({ name: 'newcomer-app', version: '1.0.0', private: true }),
    );
    appEnv = {
      PATH: [dirname(process.execPath), '/usr/bin', '/bin'].join(':'),
      HOME: app,
      npm_config_offline: 'true',
      npm_config_update_notifier: 'false',
      npm_config_audit: 'false',
      npm_config_fund: 'false',
      TOKEN_SERVER_URL: server.url,
      TOKEN_SERVER_KEY: clientKey,
      WECHAT_API: fake.url,
    };
  });
  after(async () => {
    await server?.stop();
    await fake?.close();
    if (app !== undefined) rmSync(app, { recursive: true, force: true });
  });

  it('installs with npm offline and works as the README requires it: token, API call, JS-SDK signature', async () => {
    const install = await run(app, 'npm', ['install', join(repoRoot(), 'client')], appEnv);
    expect(install.code, install.stdout + install.stderr).to.equal(0);
    const name = readmeClientName();
    writeFileSync(
      join(app, 'app.js'),
      `const { TokenClient, adapters } = require(${JSON.stringify(name)});
const tokens = new TokenClient({ url: process.env.TOKEN_SERVER_URL, clientKey: process.env.TOKEN_SERVER_KEY, realm: 'wxgzh', key: 'main' });
(async () => {
  const user = await tokens.withToken(async (t) =>
    (await fetch(process.env.WECHAT_API + '/cgi-bin/user/info?openid=o1&access_token=' + t)).json());
  const page = await tokens.jssdkConfig('https://shop.example.com/pay?id=42#top', { realm: 'wxticket', key: 'main' });
  console.log(JSON.stringify({ adapters: Object.keys(adapters), openid: user.openid, page }));
})().catch((err) => { console.error(err); process.exit(1); });
`,
    );
    const result = await run(app, process.execPath, ['app.js'], appEnv);
    expect(result.code, result.stderr).to.equal(0);
    const out = JSON.parse(result.stdout) as {
      adapters: string[];
      openid: string;
      page: { signature: string; url: string };
    };
    expect(out.adapters).to.include.members(['coWechatApi', 'wechatApi', 'easyWechat']);
    expect(out.openid).to.equal('o1');
    expect(out.page.signature).to.match(/^[0-9a-f]{40}$/);
    expect(out.page.url).to.equal('https://shop.example.com/pay?id=42');
    expect(fake.calls('wechat_offiaccount')).to.equal(1);
    expect(fake.apiCalls('/cgi-bin/ticket/getticket')).to.equal(1);
    expect(fake.apiCalls('/cgi-bin/user/info')).to.equal(1);
  });

  it("the README's plain-fetch snippet retries once with a new token when the provider rejects it", async () => {
    // Someone else fetches a token with the same appid; 5 minutes later (the fake's clock) the
    // broker's token is dead at the provider, while the broker still serves it.
    const { key_1: appid, key_2: secret } = fake.credentials('wechat_offiaccount');
    const other = await fetch(
      `${fake.url}/cgi-bin/token?grant_type=client_credential&appid=${appid}&secret=${secret}`,
    );
    expect(other.status).to.equal(200);
    fake.advanceTime(301_000);
    const served = await request<{ token: string }>(`${server.url}/api/token?realm=wxgzh&key=main`, {
      bearer: clientKey,
    });
    expect(fake.tokenValid(served.body.token), 'the broker serves a token the provider killed').to.equal(
      false,
    );
    const tokenCalls = fake.calls('wechat_offiaccount');
    const infoCalls = fake.apiCalls('/cgi-bin/user/info');
    writeFileSync(join(app, 'fetch-example.js'), readmeFetchSnippet());
    const result = await run(app, process.execPath, ['fetch-example.js'], appEnv);
    expect(result.code, result.stderr).to.equal(0);
    expect(JSON.parse(result.stdout)).to.include({ openid: 'o1', subscribe: 1 });
    // One rejected call, one report (one refresh at the provider), one retry that worked.
    expect(fake.apiCalls('/cgi-bin/user/info') - infoCalls).to.equal(2);
    expect(fake.calls('wechat_offiaccount') - tokenCalls).to.equal(1);
  });
});
