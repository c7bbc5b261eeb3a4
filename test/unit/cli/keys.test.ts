/** `tokenctl keys status|reseal`: counts per key id, and a reseal that follows the cursor to the end. */
import assert from 'node:assert/strict';
import { envFor, errorBody, RecordingServer, run } from './harness';

describe('tokenctl keys', () => {
  let server: RecordingServer;

  beforeEach(async () => {
    server = await new RecordingServer().start();
  });
  afterEach(() => server.stop());

  it('status: one row per key id, old keys with what to do, ids no longer configured flagged', async () => {
    const status = { current: 'k2', keys: ['k2', 'default'], counts: { k2: 120, default: 3, k0: 1 } };
    server.on('GET', '/api/keys', { body: status });
    const result = await run(['keys', 'status'], { env: envFor(server) });
    assert.equal(result.code, 0, result.stderr);
    const rows = result.stdout
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s{2,}/));
    assert.deepEqual(rows, [
      ['KEY ID', 'ROLE', 'SEALED VALUES'],
      ['k2', 'current', '120'],
      ['default', 'old', '3', 'run `tokenctl keys reseal`'],
      ['k0', 'NOT CONFIGURED', '1', 'run `tokenctl keys reseal`'],
    ]);
    const json = await run(['keys', 'status', '--json'], { env: envFor(server) });
    assert.deepEqual(JSON.parse(json.stdout), status);
  });

  it('reseal: posts page after page with the answered cursor until complete, and sums them', async () => {
    const pages = [
      { resealed: 200, scanned: 200, unreadable: 0, complete: false, cursor: 'c1' },
      { resealed: 150, scanned: 200, unreadable: 1, complete: false, cursor: 'c2' },
      { resealed: 0, scanned: 17, unreadable: 0, complete: true },
    ];
    let i = 0;
    server.on('POST', '/api/keys/reseal', () => ({ body: pages[i++] }));
    const result = await run(['keys', 'reseal', '--limit', '200', '--json'], { env: envFor(server) });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      server.requests.map((r) => r.body),
      [{ limit: 200 }, { limit: 200, cursor: 'c1' }, { limit: 200, cursor: 'c2' }],
    );
    assert.deepEqual(JSON.parse(result.stdout), {
      resealed: 350,
      scanned: 417,
      unreadable: 1,
      pages: 3,
      complete: true,
    });
    assert.match(result.stderr, /resume: --cursor c2/);
  });

  it('reseal: resumes from --cursor, and exits 1 with the server error when a page fails', async () => {
    server.on('POST', '/api/keys/reseal', {
      status: 503,
      body: errorBody('UNAVAILABLE', 'The database is not reachable right now; try again shortly'),
    });
    const result = await run(['keys', 'reseal', '--cursor', 'c9'], { env: envFor(server) });
    assert.equal(result.code, 1);
    assert.deepEqual(server.requests[0]?.body, { cursor: 'c9' });
    assert.match(result.stderr, /not reachable/);
  });
});
