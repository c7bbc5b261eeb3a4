import assert from 'node:assert/strict';
import { parseConfig, type Config } from '../../../functions/config';
import { AppError } from '../../../functions/errors';
import { crc32c } from '../../../functions/keys/crc32c';
import { resolveKeys } from '../../../functions/keys/keys';
import { readSecretVersion } from '../../../functions/keys/secret-manager';
import { startFakeSecretManager, type FakeSecretManager } from '../../fakes/secret-manager';

const ADMIN = 'admin-key-from-secret-manager-0123456789';
const MASTER_BYTES = Buffer.alloc(32, 9);
const MASTER = MASTER_BYTES.toString('base64');

const ADMIN_V = 'projects/demo/secrets/admin/versions/1';
const MASTER_V = 'projects/demo/secrets/master/versions/3';
const NEWLINE_ADMIN_V = 'projects/demo/secrets/admin-nl/versions/1';
const NEWLINE_MASTER_V = 'projects/demo/secrets/master-nl/versions/1';
/** A rotation's version: the new key first, the old one kept, as README "Rotating keys" adds it. */
const LIST_MASTER_V = 'projects/demo/secrets/master-list/versions/2';
const NEW_MASTER_BYTES = Buffer.alloc(32, 8);
const SHORT_ADMIN_V = 'projects/demo/secrets/short-admin/versions/1';
const BAD_MASTER_V = 'projects/demo/secrets/bad-master/versions/1';
const FORBIDDEN_V = 'projects/demo/secrets/forbidden/versions/1';
const MISSING_V = 'projects/demo/secrets/missing/versions/1';
const DAMAGED_V = 'projects/demo/secrets/damaged/versions/1';
const UNCHECKED_V = 'projects/demo/secrets/unchecked/versions/1';
const FLAKY_V = 'projects/demo/secrets/flaky/versions/1';
const DOWN_V = 'projects/demo/secrets/down/versions/1';

const SHORT_ADMIN = 'too-short-admin-key';
const BAD_MASTER = Buffer.alloc(31, 1).toString('base64');

async function expectNotReady(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof AppError, `expected an AppError, got ${String(err)}`);
    assert.equal(err.code, 'NOT_READY');
    return err;
  }
  assert.fail('expected a NOT_READY AppError');
}

describe('keys: crc32c', () => {
  it('matches the CRC-32C check values', () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
    assert.equal(crc32c(Buffer.alloc(0)), 0);
    // RFC 3720 B.4: 32 bytes of zeros.
    assert.equal(crc32c(Buffer.alloc(32, 0)), 0x8a9136aa);
  });
});

/** Each fragment must appear in the text. */
function assertContains(text: string | undefined, ...fragments: string[]): void {
  for (const f of fragments) assert.ok(text?.includes(f), `${text} should contain ${f}`);
}

function assertNotContains(text: string | undefined, secret: string): void {
  assert.ok(text !== undefined && !text.includes(secret), `${text} must not contain the value`);
}

describe('keys: Secret Manager without an endpoint (gRPC, Application Default Credentials)', () => {
  let saved: string | undefined;
  before(() => {
    saved = process.env.GOOGLE_APPLICATION_CREDENTIALS;
    process.env.GOOGLE_APPLICATION_CREDENTIALS = '/nonexistent/token-server-test/adc.json';
  });
  after(() => {
    if (saved === undefined) delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
    else process.env.GOOGLE_APPLICATION_CREDENTIALS = saved;
  });

  it('turns missing credentials into NOT_READY, without an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const err = await expectNotReady(
        readSecretVersion(ADMIN_V, { variable: 'TOKEN_SERVER_ADMIN_KEY_SECRET', timeoutMs: 2_000 }),
      );
      assertContains(err.message, 'TOKEN_SERVER_ADMIN_KEY_SECRET', ADMIN_V);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('keys: Secret Manager (fake REST endpoint)', () => {
  let fake: FakeSecretManager;

  before(async () => {
    fake = await startFakeSecretManager({
      secrets: {
        [ADMIN_V]: ADMIN,
        [MASTER_V]: MASTER,
        [NEWLINE_ADMIN_V]: `${ADMIN}\n`,
        [NEWLINE_MASTER_V]: `${MASTER}\r\n`,
        [LIST_MASTER_V]: `k2:${NEW_MASTER_BYTES.toString('base64')},${MASTER}\n`,
        [SHORT_ADMIN_V]: SHORT_ADMIN,
        [BAD_MASTER_V]: BAD_MASTER,
        [DAMAGED_V]: ADMIN,
        [UNCHECKED_V]: ADMIN,
        [FLAKY_V]: ADMIN,
        [DOWN_V]: ADMIN,
        'projects/demo/secrets/rotated/versions/1': 'old',
        'projects/demo/secrets/rotated/versions/2': 'new',
      },
      forbidden: [FORBIDDEN_V],
      badChecksum: [DAMAGED_V],
      noChecksum: [UNCHECKED_V],
      unavailable: { [FLAKY_V]: 2, [DOWN_V]: 1_000 },
    });
  });

  after(async () => {
    await fake.close();
  });

  describe('readSecretVersion', () => {
    /** The NOT_READY error reading `version` from the fake as V_SECRET ends in. */
    const refusalOf = (version: string) =>
      expectNotReady(readSecretVersion(version, { endpoint: fake.endpoint, variable: 'V_SECRET' }));

    it('returns the payload bytes, verified against dataCrc32c', async () => {
      const before = fake.calls(ADMIN_V);
      const data = await readSecretVersion(ADMIN_V, { endpoint: fake.endpoint });
      assert.equal(data.toString('utf8'), ADMIN);
      assert.equal(fake.calls(ADMIN_V), before + 1);
    });

    it('accepts a payload without a checksum (the field is optional)', async () => {
      const data = await readSecretVersion(UNCHECKED_V, { endpoint: fake.endpoint });
      assert.equal(data.toString('utf8'), ADMIN);
    });

    it('resolves versions/latest as the service does', async () => {
      const data = await readSecretVersion('projects/demo/secrets/rotated/versions/latest', {
        endpoint: fake.endpoint,
      });
      assert.equal(data.toString('utf8'), 'new');
    });

    it('refuses a payload that does not match its checksum, without the payload in the error', async () => {
      const err = await refusalOf(DAMAGED_V);
      assertContains(err.message, 'V_SECRET', DAMAGED_V, 'DATA_LOSS');
      assertNotContains(err.message, ADMIN);
    });

    it('names the variable, the secret and NOT_FOUND for a missing version', async () => {
      const err = await refusalOf(MISSING_V);
      assert.match(err.message, /^V_SECRET: cannot read Secret Manager version /);
      assertContains(err.message, MISSING_V, 'NOT_FOUND');
      assert.deepEqual(err.details, { variable: 'V_SECRET', secret: MISSING_V, reason: 'NOT_FOUND' });
    });

    it('names PERMISSION_DENIED and hints at the IAM role', async () => {
      const err = await refusalOf(FORBIDDEN_V);
      assertContains(err.message, FORBIDDEN_V, 'PERMISSION_DENIED', 'roles/secretmanager.secretAccessor');
    });

    it('retries UNAVAILABLE with backoff and then succeeds', async () => {
      const data = await readSecretVersion(FLAKY_V, { endpoint: fake.endpoint });
      assert.equal(data.toString('utf8'), ADMIN);
      assert.equal(fake.calls(FLAKY_V), 3);
    });

    it('gives up on UNAVAILABLE when the time budget is spent', async () => {
      const started = Date.now();
      const err = await expectNotReady(
        readSecretVersion(DOWN_V, { endpoint: fake.endpoint, timeoutMs: 1_000 }),
      );
      const elapsed = Date.now() - started;
      assertContains(err.message, DOWN_V);
      assert.ok(fake.calls(DOWN_V) > 1, 'retried at least once');
      assert.ok(elapsed < 5_000, `gave up after ${elapsed} ms`);
    });

    it('reports an unreachable endpoint', async () => {
      const err = await expectNotReady(
        readSecretVersion(ADMIN_V, { endpoint: '127.0.0.1:1', variable: 'V_SECRET' }),
      );
      assertContains(err.message, 'V_SECRET', ADMIN_V, 'ECONNREFUSED');
    });

    it('refuses an endpoint that is not host:port', async () => {
      const err = await expectNotReady(
        readSecretVersion(ADMIN_V, { endpoint: 'localhost', variable: 'V_SECRET' }),
      );
      assertContains(err.message, 'host:port');
    });
  });

  describe('resolveKeys', () => {
    function configFor(admin: string, master: string): Config {
      return parseConfig({
        TOKEN_SERVER_ADMIN_KEY_SECRET: admin,
        TOKEN_SERVER_MASTER_KEY_SECRET: master,
        TOKEN_SERVER_SECRET_MANAGER_ENDPOINT: fake.endpoint,
      });
    }

    it('reads the admin key and the master key, each once per call', async () => {
      const admin = fake.calls(ADMIN_V);
      const master = fake.calls(MASTER_V);
      const keys = await resolveKeys(configFor(ADMIN_V, MASTER_V));
      assert.deepEqual(keys, {
        adminKey: ADMIN,
        masterKey: MASTER_BYTES,
        masterKeys: [{ id: 'default', key: MASTER_BYTES }],
        problems: {},
      });
      assert.equal(fake.calls(ADMIN_V), admin + 1);
      assert.equal(fake.calls(MASTER_V), master + 1);
    });

    it('reads a key list from a version: the first key current, a bare one named default', async () => {
      const keys = await resolveKeys(configFor(ADMIN_V, LIST_MASTER_V));
      assert.deepEqual(keys.masterKey, NEW_MASTER_BYTES);
      assert.deepEqual(keys.masterKeys, [
        { id: 'k2', key: NEW_MASTER_BYTES },
        { id: 'default', key: MASTER_BYTES },
      ]);
    });

    it('drops the trailing newline that gcloud --data-file often keeps', async () => {
      const keys = await resolveKeys(configFor(NEWLINE_ADMIN_V, NEWLINE_MASTER_V));
      assert.deepEqual(keys, {
        adminKey: ADMIN,
        masterKey: MASTER_BYTES,
        masterKeys: [{ id: 'default', key: MASTER_BYTES }],
        problems: {},
      });
    });

    it('a missing secret leaves that key undefined with a problem naming the variable', async () => {
      const keys = await resolveKeys(configFor(MISSING_V, MASTER_V));
      assert.equal(keys.adminKey, undefined);
      assert.deepEqual(keys.masterKey, MASTER_BYTES);
      assert.match(keys.problems.adminKey ?? '', /^TOKEN_SERVER_ADMIN_KEY_SECRET: /);
      assertContains(keys.problems.adminKey, MISSING_V, 'NOT_FOUND');
      assert.equal(keys.problems.masterKey, undefined);
    });

    it('a forbidden secret leaves that key undefined with a problem', async () => {
      const keys = await resolveKeys(configFor(ADMIN_V, FORBIDDEN_V));
      assert.equal(keys.adminKey, ADMIN);
      assert.equal(keys.masterKey, undefined);
      assert.match(keys.problems.masterKey ?? '', /^TOKEN_SERVER_MASTER_KEY_SECRET: /);
      assertContains(keys.problems.masterKey, FORBIDDEN_V, 'PERMISSION_DENIED');
    });

    it('invalid payloads (short admin key, bad master key) become problems that do not echo them', async () => {
      const keys = await resolveKeys(configFor(SHORT_ADMIN_V, BAD_MASTER_V));
      assert.equal(keys.adminKey, undefined);
      assert.equal(keys.masterKey, undefined);
      assert.equal(
        keys.problems.adminKey,
        `TOKEN_SERVER_ADMIN_KEY_SECRET: the payload of Secret Manager version ${SHORT_ADMIN_V} must be at least 32 characters`,
      );
      assertContains(
        keys.problems.masterKey,
        'TOKEN_SERVER_MASTER_KEY_SECRET',
        BAD_MASTER_V,
        'base64 encoding of exactly 32 bytes',
      );
      assertNotContains(keys.problems.adminKey, SHORT_ADMIN);
      assertNotContains(keys.problems.masterKey, BAD_MASTER);
    });

    it('a mix of environment value and secret reads only the secret', async () => {
      const calls = fake.calls();
      const cfg = parseConfig({
        TOKEN_SERVER_ADMIN_KEY: ADMIN,
        TOKEN_SERVER_MASTER_KEY_SECRET: MASTER_V,
        TOKEN_SERVER_SECRET_MANAGER_ENDPOINT: fake.endpoint,
      });
      const keys = await resolveKeys(cfg);
      assert.deepEqual(keys, {
        adminKey: ADMIN,
        masterKey: MASTER_BYTES,
        masterKeys: [{ id: 'default', key: MASTER_BYTES }],
        problems: {},
      });
      assert.equal(fake.calls(), calls + 1);
    });
  });
});
