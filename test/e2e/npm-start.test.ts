/**
 * `npm start` as a newcomer meets it, in a fresh copy of the repository (the files git knows,
 * node_modules linked as `npm install` would leave it, no data, a user's environment without the
 * test run's variables): a bad configuration is said once, by variable name, and npm start exits
 * non-zero without starting anything; a port in use is named with the variable that moves it, by
 * `npm start` before it builds; and started on the memory store, the README's quick start runs as
 * written against it (its banner prints the exports tokenctl reads).
 *
 * `npm start` is `npm run build && node lib/scripts/start.js`. The build is the one `npm test` has
 * just made (lib/ is copied), so that this test does not pay for a second full tsc run: the script
 * is started as npm start starts it.
 */
import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { getFreePort } from '../helpers/ports';
import { repoRoot } from '../helpers/processes';

interface Run {
  code: number | null;
  output: string;
}

/** Runs a command in `cwd` with a user's environment (no test variables), collecting its output. */
function runIn(
  cwd: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    const timer = setTimeout(() => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

function count(text: string, word: string): number {
  return text.split(word).length - 1;
}

describe('npm start in a fresh copy of the repository', function () {
  this.timeout(240_000);
  let copy: string;
  let ports: Record<string, string>;

  /** What a user's shell has: PATH and HOME, none of the test run's variables. */
  const userEnv = (extra: Record<string, string>): NodeJS.ProcessEnv => ({
    PATH: [dirname(process.execPath), '/usr/bin', '/bin'].join(':'),
    HOME: copy,
    npm_config_update_notifier: 'false',
    npm_config_offline: 'true',
    ...ports,
    ...extra,
  });

  before(async () => {
    const root = repoRoot();
    copy = mkdtempSync(join(tmpdir(), 'token-server-clone-'));
    const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], {
      cwd: root,
      encoding: 'utf8',
    })
      .split('\0')
      .filter((f) => f !== '' && f !== 'node_modules');
    for (const file of files) {
      mkdirSync(dirname(join(copy, file)), { recursive: true });
      try {
        cpSync(join(root, file), join(copy, file));
      } catch {
        // a file git knows but the checkout deleted
      }
    }
    symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'));
    cpSync(join(root, 'lib'), join(copy, 'lib'), { recursive: true });
    ports = {
      TOKEN_SERVER_PORT: String(await getFreePort()),
      TOKEN_SERVER_CACHE_PORT: String(await getFreePort()),
      FAKE_PROVIDER_PORT: String(await getFreePort()),
    };
  });
  after(() => {
    if (copy !== undefined) rmSync(copy, { recursive: true, force: true });
  });

  it('says a bad admin key once, by variable name, and exits non-zero', async () => {
    const result = await runIn(
      copy,
      process.execPath,
      ['lib/scripts/start.js'],
      userEnv({ TOKEN_SERVER_ADMIN_KEY: 'short' }),
      120_000,
    );
    expect(result.code, result.output).to.not.equal(0);
    expect(result.code, 'it ended on its own, not by the timeout').to.not.equal(null);
    expect(count(result.output, 'TOKEN_SERVER_ADMIN_KEY'), result.output).to.equal(1);
    expect(result.output).to.include('at least 32 characters');
    expect(result.output, 'nothing was started').to.not.match(/healthz|Firestore emulator|is running/);
  });

  it('names the variable that moves a port in use', async () => {
    const busy: Server = createServer();
    await new Promise<void>((resolve) => busy.listen(Number(ports.FAKE_PROVIDER_PORT), resolve));
    try {
      const result = await runIn(copy, process.execPath, ['lib/scripts/start.js'], userEnv({}), 60_000);
      expect(result.code, result.output).to.equal(1);
      expect(result.output).to.include(`Port ${ports.FAKE_PROVIDER_PORT} is already in use`);
      expect(result.output).to.include('FAKE_PROVIDER_PORT');
      expect(result.output.trim().split('\n'), result.output).to.have.length(1);
    } finally {
      await new Promise<void>((resolve) => busy.close(() => resolve()));
    }
  });

  it('npm start checks the ports before building: lib/ of a running instance is not rewritten', async () => {
    const busy: Server = createServer();
    await new Promise<void>((resolve) => busy.listen(Number(ports.TOKEN_SERVER_PORT), resolve));
    const marker = join(copy, 'lib', 'scripts', 'start.js');
    const before = statSync(marker).mtimeMs;
    try {
      const npm = join(dirname(process.execPath), 'npm');
      const result = await runIn(copy, npm, ['start', '--silent'], userEnv({}), 60_000);
      expect(result.code, result.output).to.not.equal(0);
      expect(result.output).to.include(`Port ${ports.TOKEN_SERVER_PORT} is already in use`);
      expect(result.output).to.include('TOKEN_SERVER_PORT');
      expect(result.output, 'no build was started').to.not.match(/tsc -p|> token-server@\S+ build/);
      expect(statSync(marker).mtimeMs, 'lib/ untouched').to.equal(before);
    } finally {
      await new Promise<void>((resolve) => busy.close(() => resolve()));
    }
  });

  it("runs the README quick start as written (memory store): answers end with a newline, the 8081 call is the README's 404", async () => {
    const readme = readFileSync(join(copy, 'README.md'), 'utf8');
    const block = /<!-- quick-start:start -->\s*```sh\n([\s\S]*?)```\s*<!-- quick-start:end -->/.exec(
      readme,
    )?.[1];
    if (block === undefined) throw new Error('README.md has no quick-start block');
    const script = block
      .split('\n')
      .filter((line) => !line.startsWith('export ADMIN='))
      .join('\n')
      .replaceAll('127.0.0.1:8080', `127.0.0.1:${ports.TOKEN_SERVER_PORT}`)
      .replaceAll('127.0.0.1:8081', `127.0.0.1:${ports.TOKEN_SERVER_CACHE_PORT}`)
      .replaceAll('127.0.0.1:8099', `127.0.0.1:${ports.FAKE_PROVIDER_PORT}`);
    const child = spawn(process.execPath, ['lib/scripts/start.js'], {
      cwd: copy,
      env: userEnv({ TOKEN_SERVER_STORE: 'memory' }),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let banner = '';
    child.stdout.on('data', (c: Buffer) => (banner += c.toString('utf8')));
    child.stderr.on('data', () => undefined);
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      const deadline = Date.now() + 120_000;
      while (!banner.includes('Press Ctrl-C to stop.') && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(banner).to.include('Press Ctrl-C to stop.');
      const adminKey = /export ADMIN='([^']+)'/.exec(banner)?.[1];
      expect(adminKey, banner).to.be.a('string');
      expect(banner).to.include(
        `export TOKENCTL_URL=http://127.0.0.1:${ports.TOKEN_SERVER_PORT} TOKENCTL_ADMIN_KEY='${adminKey}'`,
      );
      const result = await runIn(copy, 'bash', ['-c', script], userEnv({ ADMIN: adminKey ?? '' }), 60_000);
      expect(result.code, result.output).to.equal(0);
      const answers = result.output.split('\n').filter((line) => line !== '');
      // Each curl's answer on its own line: realm, secret, token (8080), the 8081 call.
      expect(answers, result.output).to.have.length(4);
      const [realm, secret, token, cached] = answers.map(
        (line) => JSON.parse(line) as Record<string, unknown>,
      );
      expect(realm).to.include({ id: 'wxgzh' });
      expect(secret).to.include({ realm: 'wxgzh', key: 'main' });
      expect(token).to.include({ source: 'upstream' });
      expect(token?.token).to.be.a('string');
      // Memory store: tokenServerCache has its own (empty) data, as the README says.
      expect((cached?.error as { code?: string } | undefined)?.code, answers[3]).to.equal('NOT_FOUND');
    } finally {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGINT');
      await exited;
    }
  });
});
