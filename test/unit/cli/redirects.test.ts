/**
 * tokenctl never follows a redirect and never prints a URL's userinfo or a literal it refused
 * (SPEC §7): a real local server answers 307 to another local port, which counts whether anything
 * at all arrived there (real fetch, real sockets).
 */
import { expect } from 'chai';
import { ADMIN_KEY, RecordingServer, run } from './harness';

const SECRET = 'S3cr3t-credential-value-8e1f';

describe('tokenctl: redirects, userinfo and refused literals', () => {
  let origin: RecordingServer;
  let elsewhere: RecordingServer;

  beforeEach(async () => {
    elsewhere = await new RecordingServer().start();
    origin = await new RecordingServer().start();
  });
  afterEach(async () => {
    await Promise.all([origin.stop(), elsewhere.stop()]);
  });

  for (const status of [301, 302, 303, 307, 308]) {
    it(`does not follow a cross-origin ${status}: secret add posts nothing anywhere else`, async () => {
      const target = elsewhere.url.replace('http://', 'http://user:L3akyPassw0rd@');
      origin.on('POST', '/api/secret', { status, headers: { location: `${target}/api/secret?x=1` } });
      const r = await run(['secret', 'add', '--realm', 'wx', '--key', 'main', '--stdin'], {
        env: { TOKENCTL_URL: origin.url, TOKENCTL_ADMIN_KEY: ADMIN_KEY },
        stdin: `key_1=${SECRET}\n`,
      });
      expect(r.code).to.equal(1);
      expect(origin.requests).to.have.length(1);
      expect(elsewhere.requests, 'nothing arrived at the redirect target').to.have.length(0);
      expect(r.stderr).to.include(`redirect (${status})`);
      expect(r.stderr, 'the target is named').to.include(`${elsewhere.url}/api/secret`);
      expect(r.stderr).to.not.include('L3akyPassw0rd');
      expect(r.stderr).to.not.include('user:');
      expect(r.stderr + r.stdout).to.not.include(SECRET);
    });
  }

  it('does not follow a same-origin redirect either (GET), and says where it pointed', async () => {
    origin.on('GET', '/api/realm', { status: 307, headers: { location: '/elsewhere/api/realm' } });
    const r = await run(['realm', 'list'], {
      env: { TOKENCTL_URL: origin.url, TOKENCTL_ADMIN_KEY: ADMIN_KEY },
    });
    expect(r.code).to.equal(1);
    expect(origin.requests).to.have.length(1);
    expect(r.stderr).to.include(`${origin.url}/elsewhere/api/realm`);
  });

  it('refuses a server URL with userinfo before any request, without printing it', async () => {
    const url = origin.url.replace('http://', 'http://admin:Pa55word-in-url@');
    for (const argv of [
      ['--url', url, 'realm', 'list'],
      ['--url', 'http://admin:Pa55word-in-url@[bad', 'status'],
    ]) {
      const r = await run(argv, { env: { TOKENCTL_ADMIN_KEY: ADMIN_KEY } });
      expect(r.code, r.stderr).to.equal(2);
      expect(r.stderr).to.not.include('Pa55word-in-url');
    }
    const viaEnv = await run(['realm', 'list'], {
      env: { TOKENCTL_URL: url, TOKENCTL_ADMIN_KEY: ADMIN_KEY },
    });
    expect(viaEnv.code).to.equal(2);
    expect(viaEnv.stderr).to.match(/user name or password/);
    expect(viaEnv.stderr).to.not.include('Pa55word-in-url');
    expect(origin.requests).to.have.length(0);
  });

  it('never echoes an invalid --arg or --url literal', async () => {
    const env = { TOKENCTL_URL: origin.url, TOKENCTL_ADMIN_KEY: ADMIN_KEY };
    const base = ['realm', 'create', 'r', '--token-path', 't', '--expires-in-path', 'e'];
    for (const extra of [
      ['--url', 'https://p.test/t', '--arg', `client_secret=${SECRET}:x`],
      ['--url', 'https://p.test/t', '--arg', SECRET],
      ['--url', 'https://p.test/t', '--arg', `client_secret=body${SECRET}`],
      ['--url', `https://u:${SECRET}@ bad`],
    ]) {
      const r = await run([...base, ...extra], { env });
      expect(r.code, r.stderr).to.equal(2);
      expect(r.stderr + r.stdout, extra.join(' ')).to.not.include(SECRET);
    }
    expect(origin.requests).to.have.length(0);
  });
});
