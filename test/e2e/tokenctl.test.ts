/**
 * tokenctl end to end: the real binary (`node lib/cli/index.js`, spawned) against a real tokenServer
 * process (stock Functions Framework) and a fake WeChat-style provider on 127.0.0.1 that counts its
 * calls. Covers every exit code with a real cause, --json on stdout only, credentials kept out of
 * argv and output, and `TOKEN=$(tokenctl token get ...)` in a shell.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SPEC_PRESET_NAMES } from '../fakes/spec-presets';
import { getFreePort } from '../helpers/ports';
import { startFunction, testEnv, type FunctionProcess, type TestEnv } from '../helpers/processes';
import { tokenctl, tokenctlPath, type CliResult } from '../helpers/tokenctl';

const APPID = 'wxe2e0000000000001';
const APPSECRET = 'e2e-app-secret-that-must-never-be-printed';
const WRONG_SECRET = 'e2e-wrong-secret-value-000000';

/** A WeChat-like /cgi-bin/token: right credentials get tok-N (N counts calls), wrong ones errcode 40001. */
interface FakeWeChat {
  url: string;
  calls: number;
  stop(): Promise<void>;
}

async function startFakeWeChat(): Promise<FakeWeChat> {
  const fake = { url: '', calls: 0, stop: () => Promise.resolve() };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    res.setHeader('content-type', 'application/json');
    if (url.pathname !== '/cgi-bin/token') {
      res.statusCode = 404;
      res.end('{}');
      return;
    }
    fake.calls++;
    const ok = url.searchParams.get('appid') === APPID && url.searchParams.get('secret') === APPSECRET;
    res.end(
      JSON.stringify(
        ok
          ? { access_token: `tok-${fake.calls}`, expires_in: 7200 }
          : { errcode: 40001, errmsg: 'invalid credential, access_token is invalid or not latest' },
      ),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.stop = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return fake;
}

/** A list answer: `{"data": X, "success": "ok"}` → X. */
function data(stdout: string): Record<string, unknown> {
  const body = JSON.parse(stdout) as Record<string, unknown>;
  assert.equal(body.success, 'ok', stdout);
  return body.data as Record<string, unknown>;
}

/** One resource: `--json` prints the resource itself (SPEC §7), so `jq -r .client_key` works. */
function resource(stdout: string): Record<string, unknown> {
  const body = JSON.parse(stdout) as Record<string, unknown>;
  assert.ok(!('data' in body) && !('success' in body), `not a bare resource: ${stdout}`);
  return body;
}

describe('tokenctl against a running tokenServer', function () {
  this.timeout(120_000);
  let env: TestEnv;
  let server: FunctionProcess;
  let fake: FakeWeChat;
  let admin: Record<string, string>;
  /** Ids unique to this run, so that a shared emulator holds nothing of an earlier run. */
  const run = Date.now().toString(36);
  const REALM = `wx_${run}`;
  const PRESET_REALM = `wecom_${run}`;

  before(async () => {
    fake = await startFakeWeChat();
    env = testEnv();
    server = await startFunction({ target: 'tokenServer', env: env.env });
    admin = { TOKENCTL_URL: server.url, TOKENCTL_ADMIN_KEY: env.adminKey };
  });

  after(async () => {
    await server?.stop();
    await fake?.stop();
  });

  function expectOk(result: CliResult, what: string): void {
    assert.equal(result.code, 0, `${what}: exit ${result.code}\n${result.stderr}`);
  }

  function expectNoCredential(result: CliResult): void {
    for (const value of [APPSECRET, WRONG_SECRET]) {
      assert.ok(!result.stdout.includes(value), 'a credential value on stdout');
      assert.ok(!result.stderr.includes(value), 'a credential value on stderr');
    }
  }

  it('realm presets lists the built-in presets (--json parses, nothing else on stdout)', async () => {
    const result = await tokenctl(['realm', 'presets', '--json'], admin);
    expectOk(result, 'realm presets');
    const list = data(result.stdout).list as Array<{ name: string }>;
    const names = list.map((p) => p.name);
    for (const name of SPEC_PRESET_NAMES) {
      assert.ok(names.includes(name), `preset ${name}`);
    }
    const table = await tokenctl(['realm', 'presets'], admin);
    assert.match(table.stdout, /^NAME +KEYS +COMMENT\n/);
  });

  it('realm create (options and --preset), get and list', async () => {
    const created = await tokenctl(
      [
        'realm',
        'create',
        REALM,
        '--url',
        `${fake.url}/cgi-bin/token`,
        '--arg',
        'grant_type=url:client_credential',
        '--arg',
        'appid=url:$key_1',
        '--arg',
        'secret=url:$key_2',
        '--token-path',
        'access_token',
        '--expires-in-path',
        'expires_in',
        '--error-path',
        'errcode',
        '--success-value',
        '0',
        '--error-message-path',
        'errmsg',
        '--comment',
        'fake WeChat',
      ],
      admin,
    );
    expectOk(created, 'realm create');
    assert.match(created.stdout, new RegExp(`^Created realm ${REALM}\\.\\n`));

    const preset = await tokenctl(['realm', 'create', PRESET_REALM, '--preset', 'wecom'], admin);
    expectOk(preset, 'realm create --preset');

    const got = await tokenctl(['realm', 'get', REALM, '--json'], admin);
    expectOk(got, 'realm get');
    const realm = resource(got.stdout);
    assert.equal(realm.id, REALM);
    assert.equal((realm.config as { url: string }).url, `${fake.url}/cgi-bin/token`);

    const listed = await tokenctl(['realm', 'list', '--keyword', run, '--page-size', '100'], admin);
    expectOk(listed, 'realm list');
    assert.match(listed.stdout, new RegExp(`^${REALM} +fake WeChat +GET +${fake.url}/cgi-bin/token$`, 'm'));
  });

  it('secret add --stdin and --from-env keep credentials out of argv and output', async () => {
    const args = ['secret', 'add', '--realm', REALM, '--key', 'main', '--stdin'];
    const viaStdin = await tokenctl(args, admin, `key_1=${APPID}\nkey_2=${APPSECRET}\n`);
    expectOk(viaStdin, 'secret add --stdin');
    assert.ok(!args.join(' ').includes(APPSECRET));
    expectNoCredential(viaStdin);
    assert.match(viaStdin.stdout, /^key_2 +e2e-\*\*\*\*$/m);

    const viaEnv = await tokenctl(['secret', 'add', '--realm', REALM, '--key', 'bad', '--from-env'], {
      ...admin,
      TOKENCTL_KEY_1: APPID,
      TOKENCTL_KEY_2: WRONG_SECRET,
    });
    expectOk(viaEnv, 'secret add --from-env');
    expectNoCredential(viaEnv);

    const listed = await tokenctl(['secret', 'list', '--realm', REALM, '--json'], admin);
    expectOk(listed, 'secret list');
    assert.deepEqual((data(listed.stdout).list as Array<{ key: string }>).map((s) => s.key).sort(), [
      'bad',
      'main',
    ]);
    expectNoCredential(listed);
  });

  it('client create, then token get with the client key prints the bare token', async () => {
    const created = await tokenctl(
      ['client', 'create', '--name', `e2e-${run}`, '--scope', `${REALM}/*`, '--json'],
      admin,
    );
    expectOk(created, 'client create');
    const clientKey = resource(created.stdout).client_key;
    assert.equal(typeof clientKey, 'string');
    const app = { TOKENCTL_URL: server.url, TOKENCTL_CLIENT_KEY: clientKey as string };

    const callsBefore = fake.calls;
    const first = await tokenctl(['token', 'get', '--realm', REALM, '--key', 'main'], app);
    expectOk(first, 'token get');
    assert.match(first.stdout, /^tok-\d+\n$/);
    assert.equal(first.stderr, '');
    const second = await tokenctl(['token', 'get', '--realm', REALM, '--key', 'main'], app);
    assert.equal(second.stdout, first.stdout, 'the same token until it is due');
    assert.equal(fake.calls, callsBefore + 1, 'one upstream call for both');

    const json = await tokenctl(
      ['token', 'get', '--realm', REALM, '--key', 'main', '--flush', '--json'],
      app,
    );
    expectOk(json, 'token get --flush --json');
    const answer = JSON.parse(json.stdout) as { token: unknown; expires_in: unknown; expires_at: unknown };
    assert.equal(typeof answer.token, 'string');
    assert.equal(typeof answer.expires_in, 'number');
    assert.equal(typeof answer.expires_at, 'string');

    // In a shell, as the help says: TOKEN=$(tokenctl token get ...)
    const shell = await new Promise<CliResult>((resolve) => {
      const child = spawn(
        'sh',
        ['-c', 'TOKEN=$("$NODE" "$CLI" token get --realm "$REALM" --key main) && printf "[%s]" "$TOKEN"'],
        { env: { ...app, PATH: process.env.PATH ?? '', NODE: process.execPath, CLI: tokenctlPath(), REALM } },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
    expectOk(shell, 'TOKEN=$(...)');
    assert.match(shell.stdout, /^\[tok-\d+\]$/);

    // Out of the client's scope: the server answers 403 → exit 1.
    const denied = await tokenctl(['token', 'get', '--realm', PRESET_REALM, '--key', 'x'], app);
    assert.equal(denied.code, 1, denied.stderr);
    assert.match(denied.stderr, /^error: PERMISSION_DENIED \(HTTP 403\)/);

    // Revoked: this instance forgets the key at once → 401 → exit 3.
    const clientId = resource(created.stdout).id as string;
    const revoked = await tokenctl(['client', 'revoke', clientId], admin);
    expectOk(revoked, 'client revoke');
    const after = await tokenctl(['token', 'get', '--realm', REALM, '--key', 'main'], app);
    assert.equal(after.code, 3, after.stderr);
    assert.match(after.stderr, /UNAUTHENTICATED \(HTTP 401\)/);
  });

  it('a provider error: exit 1 with the error on stderr, then shown by status', async () => {
    const failed = await tokenctl(['token', 'get', '--realm', REALM, '--key', 'bad'], admin);
    assert.equal(failed.code, 1, failed.stderr);
    assert.equal(failed.stdout, '');
    assert.match(failed.stderr, /^error: UPSTREAM_ERROR \(HTTP 502\)/);
    expectNoCredential(failed);

    const status = await tokenctl(['status'], admin);
    expectOk(status, 'status');
    assert.match(status.stdout, /^REALM +KEY +EXPIRES +REFRESH DUE +LAST REFRESH +LAST ERROR +CALLS TODAY\n/);
    assert.match(status.stdout, new RegExp(`^${REALM} +main +\\d{4}-\\d\\d-\\d\\d .*\\(in 1h \\d+m\\)`, 'm'));
    assert.match(status.stdout, new RegExp(`^${REALM} +bad +- .*UPSTREAM_ERROR`, 'm'));

    const json = await tokenctl(['status', '--json'], admin);
    expectOk(json, 'status --json');
    const rows = data(json.stdout).list as Array<{ realm: string; key: string }>;
    assert.ok(rows.some((r) => r.realm === REALM && r.key === 'main'));
  });

  it('exit 1: unknown realm (404) and a realm still in use (409)', async () => {
    const missing = await tokenctl(['realm', 'get', `nope_${run}`], admin);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^error: NOT_FOUND \(HTTP 404\)/);
    const inUse = await tokenctl(['realm', 'delete', REALM], admin);
    assert.equal(inUse.code, 1);
    assert.match(inUse.stderr, /^error: CONFLICT \(HTTP 409\)/);
  });

  it('exit 2: a usage error; exit 3: a wrong admin key, and no server', async () => {
    const usage = await tokenctl(['realm', 'create', 'x', '--arg', 'appid:url'], admin);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /NAME=PLACE:VALUE/);

    const wrongKey = await tokenctl(['realm', 'list'], { ...admin, TOKENCTL_ADMIN_KEY: 'not-the-admin-key' });
    assert.equal(wrongKey.code, 3);
    assert.match(wrongKey.stderr, /UNAUTHENTICATED \(HTTP 401\)/);

    const port = await getFreePort();
    const nobody = await tokenctl(['status'], { ...admin, TOKENCTL_URL: `http://127.0.0.1:${port}` });
    assert.equal(nobody.code, 3);
    assert.match(nobody.stderr, /ECONNREFUSED/);
  });

  it('cleanup through the CLI: secret delete, realm delete', async () => {
    for (const key of ['main', 'bad']) {
      expectOk(await tokenctl(['secret', 'delete', REALM, key], admin), `secret delete ${key}`);
    }
    expectOk(await tokenctl(['realm', 'delete', REALM], admin), 'realm delete');
    expectOk(await tokenctl(['realm', 'delete', PRESET_REALM, '--json'], admin), 'realm delete --json');
    const gone = await tokenctl(['realm', 'get', REALM], admin);
    assert.equal(gone.code, 1);
  });
});
