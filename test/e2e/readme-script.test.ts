/**
 * The README's tokenctl provisioning script, run as written by bash against a live tokenServer and a
 * fake WeChat: if the README drifts from the CLI, this fails.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startFakeProvider, type FakeProvider } from '../fakes/providers';
import { repoRoot, startFunction, testEnv, type FunctionProcess } from '../helpers/processes';

function readmeScript(): string {
  const readme = readFileSync(join(repoRoot(), 'README.md'), 'utf8');
  const m = /<!-- tokenctl-example:start -->\s*```sh\n([\s\S]*?)```\s*<!-- tokenctl-example:end -->/.exec(
    readme,
  );
  if (m?.[1] === undefined) throw new Error('README.md has no tokenctl example block');
  return m[1];
}

function run(
  script: string,
  env: NodeJS.ProcessEnv,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { env, cwd: repoRoot(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

describe('README tokenctl script', function () {
  this.timeout(90_000);
  let fake: FakeProvider;
  let server: FunctionProcess;
  const env = testEnv();

  before(async () => {
    fake = await startFakeProvider();
    server = await startFunction({ target: 'tokenServer', env: env.env });
  });
  after(async () => {
    await server.stop();
    await fake.close();
  });

  it('runs as written from a checkout: realm from a preset, secret from stdin, client key, token', async () => {
    const creds = fake.credentials('wechat_offiaccount');
    // As written, from the repository folder: no tokenctl on PATH (a fresh clone has none), only
    // node and npm's own folder. npm is told to stay offline, so npx can only run the checkout's.
    const home = join(tmpdir(), `readme-home-${process.pid}`);
    mkdirSync(home, { recursive: true });
    const result = await run(readmeScript(), {
      PATH: [dirname(process.execPath), '/usr/bin', '/bin'].join(':'),
      HOME: home,
      npm_config_offline: 'true',
      npm_config_update_notifier: 'false',
      ADMIN: env.adminKey,
      TOKENCTL_URL: server.url,
      WECHAT_URL: `${fake.url}/cgi-bin/token`,
      WX_APPID: creds.key_1,
      WX_APPSECRET: creds.key_2,
    });
    expect(result.status, result.stderr).to.equal(0);
    const token = fake.currentToken('wechat_offiaccount');
    expect(token).to.be.a('string');
    expect(result.stdout).to.include(`got a token of ${token!.length} characters`);
    expect(result.stdout).to.match(/wxgzh\s+main/);
    expect(fake.calls('wechat_offiaccount')).to.equal(1);
    // The credentials never appear in what the script printed.
    expect(result.stdout + result.stderr).to.not.include(creds.key_2);
  });
});
