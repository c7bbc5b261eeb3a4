/** `tokenctl status`: one row per secret, times absolute and relative, tolerant of the JSON shape. */
import assert from 'node:assert/strict';
import { envFor, listBody, RecordingServer, run } from './harness';

const NOW = Date.parse('2026-11-24T06:00:00.000Z');

describe('tokenctl status', () => {
  let server: RecordingServer;

  beforeEach(async () => {
    server = await new RecordingServer().start();
  });
  afterEach(() => server.stop());

  it('prints realm, key, expires, refresh due, last refresh, last error and calls today', async () => {
    server.on('GET', '/api/status', {
      body: listBody([
        {
          realm: 'wxgzh',
          key: 'main',
          expires_at: '2026-11-24T07:59:59.000Z',
          refresh_at: '2026-11-24T07:45:00.000Z',
          last_refresh_at: '2026-11-24T05:59:59.000Z',
          last_error: null,
          calls_today: 3,
        },
        {
          realm: 'wecom',
          key: 'app1',
          expires_at: null,
          refresh_at: null,
          last_refresh_at: NOW - 2 * 86_400_000 - 3_600_000,
          last_error: {
            code: 'UPSTREAM_ERROR',
            message: 'invalid credential (errcode 40001)',
            permanent: true,
          },
          calls_today: 12,
        },
      ]),
    });
    const result = await run(['status'], { env: envFor(server), now: NOW });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      result.stdout,
      [
        'REALM  KEY   EXPIRES                           REFRESH DUE                       LAST REFRESH                      LAST ERROR                                          CALLS TODAY',
        'wxgzh  main  2026-11-24 07:59:59Z (in 1h 59m)  2026-11-24 07:45:00Z (in 1h 45m)  2026-11-24 05:59:59Z (1s ago)     -                                                   3',
        'wecom  app1  -                                 -                                 2026-11-22 05:00:00Z (2d 1h ago)  UPSTREAM_ERROR: invalid credential (errcode 40001)  12',
        '',
      ].join('\n'),
    );
  });

  it('accepts camelCase fields, epoch milliseconds and a bare list', async () => {
    server.on('GET', '/api/status', {
      body: [{ realm: 'r', key: 'k', expiresAt: NOW + 60_000, lastError: 'boom', callsToday: 1 }],
    });
    const result = await run(['status'], { env: envFor(server), now: NOW });
    assert.match(result.stdout, /^r {6}k {4}2026-11-24 06:01:00Z \(in 1m\)/m);
    assert.match(result.stdout, / boom {8}1\n$/);
  });

  it('--json: exactly the server JSON on stdout', async () => {
    const body = listBody([{ realm: 'r', key: 'k', calls_today: 0 }]);
    server.on('GET', '/api/status', { body });
    const result = await run(['status', '--json'], { env: envFor(server) });
    assert.deepEqual(JSON.parse(result.stdout), body);
    assert.equal(result.stderr, '');
  });

  it('no secrets', async () => {
    server.on('GET', '/api/status', { body: listBody([]) });
    const result = await run(['status'], { env: envFor(server) });
    assert.equal(result.stdout, 'No secrets.\n');
  });

  it("shows a platform secret's pushed ticket and tenants, and a platform customer the platform ended", async () => {
    server.on('GET', '/api/status', {
      body: listBody([
        { realm: 'suites', key: 'main', ticket_state: 'stale', ticket_age_ms: 27 * 60_000, calls_today: 1 },
        { realm: 'suites', key: 'new', ticket_state: 'missing', ticket_age_ms: null, calls_today: 0 },
        {
          realm: 'suites',
          key: 'counted',
          ticket_state: 'ok',
          ticket_age_ms: 3 * 60_000,
          tenants: { total: 15, authorized: 12, unauthorized: 2, needs_reauthorization: 1 },
          calls_today: 1,
        },
        { realm: 'corps', key: 'wwcorp1', authorizer_state: 'authorized', calls_today: 1 },
        { realm: 'corps', key: 'wwcorp2', authorizer_state: 'unauthorized', calls_today: 0 },
      ]),
    });
    const result = await run(['status'], { env: envFor(server), now: NOW });
    assert.match(result.stdout, /^suites\/main: pushed ticket stale, 27 min old$/m);
    assert.match(result.stdout, /^suites\/new: pushed ticket missing$/m);
    assert.match(
      result.stdout,
      /^suites\/counted: pushed ticket ok, 3 min old; tenants: 12 authorized, 2 unauthorized, 1 needing re-authorization$/m,
    );
    assert.match(
      result.stdout,
      /^corps\/wwcorp2: unauthorized by the platform \(its token route answers 410\)$/m,
    );
    assert.doesNotMatch(result.stdout, /corps\/wwcorp1:/);
  });
});
