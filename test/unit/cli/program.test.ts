/** The command tree as a whole: help with an example everywhere, --json everywhere, global options. */
import assert from 'node:assert/strict';
import type { Command } from 'commander';
import { buildProgram } from '../../../cli/program';
import { ADMIN_KEY, envFor, listBody, noFetch, RecordingServer, run } from './harness';

function leaves(cmd: Command, path: string[] = []): string[][] {
  const subs = cmd.commands.filter((c) => c.name() !== 'help');
  if (subs.length === 0) return [path];
  return subs.flatMap((c) => leaves(c, [...path, c.name()]));
}

const silentIo = {
  stdout: () => undefined,
  stderr: () => undefined,
  env: {},
  readStdin: () => Promise.resolve(''),
  readFile: () => Promise.resolve(''),
  fetch: noFetch,
  now: () => 0,
};

describe('tokenctl program', () => {
  const commands = leaves(buildProgram(silentIo));

  it('has the commands of the README ("tokenctl: the admin CLI")', () => {
    assert.deepEqual(commands.map((c) => c.join(' ')).sort(), [
      'audit hash',
      'audit list',
      'client create',
      'client list',
      'client revoke',
      'component authorize-url',
      'component start-push',
      'component sync',
      'keys reseal',
      'keys status',
      'realm create',
      'realm delete',
      'realm get',
      'realm list',
      'realm presets',
      'secret add',
      'secret delete',
      'secret get',
      'secret list',
      'status',
      'token get',
      'webhook add',
      'webhook delete',
      'webhook list',
    ]);
  });

  for (const path of leaves(buildProgram(silentIo))) {
    it(`${path.join(' ')} --help: usage, --json and an example`, async () => {
      const result = await run([...path, '--help'], { fetch: noFetch });
      assert.equal(result.code, 0);
      // A command with an alias shows it after a bar (`webhook add|create`).
      assert.match(result.stdout, new RegExp(`^Usage: tokenctl ${path.join(' ')}(\\|\\S+)? `));
      assert.match(result.stdout, /--json/);
      assert.match(result.stdout, /\nExamples:\n {2}\$ \S/);
      assert.equal(result.stderr, '');
    });
  }

  describe('with a server', () => {
    let server: RecordingServer;

    beforeEach(async () => {
      server = await new RecordingServer().start();
    });
    afterEach(() => server.stop());

    it('--json on list commands: stdout is exactly one JSON document, stderr empty', async () => {
      const body = listBody([{ id: 'x', name: 'n', realm: 'r', key: 'k', comment: '', config: {} }]);
      for (const path of ['/api/realm', '/api/secret', '/api/client', '/api/preset', '/api/status']) {
        server.on('GET', path, { body });
      }
      for (const argv of [
        ['realm', 'list'],
        ['secret', 'list'],
        ['client', 'list'],
        ['status'],
        ['realm', 'presets'],
      ]) {
        const after = await run([...argv, '--json'], { env: envFor(server) });
        const before = await run(['--json', ...argv], { env: envFor(server) });
        for (const result of [after, before]) {
          assert.equal(result.code, 0, `${argv.join(' ')}: ${result.stderr}`);
          assert.deepEqual(JSON.parse(result.stdout), body);
          assert.equal(result.stderr, '');
        }
      }
    });

    it('--url and --admin-key before or after the subcommand; flags win over the environment', async () => {
      server.on('GET', '/api/client', { body: listBody([]) });
      const env = { TOKENCTL_URL: 'http://127.0.0.1:9/unused', TOKENCTL_ADMIN_KEY: 'env-key' };
      const after = await run(['client', 'list', '--url', server.url, '--admin-key', 'flag-key'], { env });
      const before = await run(['--url', server.url, '--admin-key', 'flag-key', 'client', 'list'], { env });
      assert.equal(after.code, 0, after.stderr);
      assert.equal(before.code, 0, before.stderr);
      assert.deepEqual(
        server.requests.map((r) => r.headers.authorization),
        ['Bearer flag-key', 'Bearer flag-key'],
      );
    });

    it('keeps the path of the base URL (a Cloud Functions URL such as .../tokenServer)', async () => {
      server.on('GET', '/tokenServer/api/realm/r', { body: { id: 'r', comment: '', config: {} } });
      const result = await run(['realm', 'get', 'r'], {
        env: { TOKENCTL_URL: `${server.url}/tokenServer/`, TOKENCTL_ADMIN_KEY: ADMIN_KEY },
      });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(server.requests[0]?.path, '/tokenServer/api/realm/r');
    });

    it('an error with --json: stdout stays empty, the error is on stderr', async () => {
      const result = await run(['realm', 'get', 'missing', '--json'], { env: envFor(server) });
      assert.equal(result.code, 1);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, /^error: NOT_FOUND/);
    });
  });
});
