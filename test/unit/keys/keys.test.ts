import assert from 'node:assert/strict';
import { parseConfig } from '../../../functions/config';
import type { ReadSecret } from '../../../functions/keys/secret-manager';
import {
  constantTimeEqual,
  generateAdminKey,
  generateClientKey,
  generateMasterKey,
  hashClientKey,
  resolveKeys,
  type KeyConfig,
} from '../../../functions/keys/keys';

const ADMIN = 'a'.repeat(40);
const MASTER_BYTES = Buffer.alloc(32, 7);
const MASTER = MASTER_BYTES.toString('base64');

/** A reader that must not be called (environment-only configurations). */
const noSecrets: ReadSecret = () => Promise.reject(new Error('Secret Manager must not be called'));

function config(over: Partial<KeyConfig>): KeyConfig {
  return {
    adminKey: { kind: 'none' },
    masterKey: { kind: 'none' },
    secretManagerEndpoint: undefined,
    ...over,
  };
}

function assertNotContains(text: string | undefined, secret: string): void {
  assert.ok(text !== undefined && !text.includes(secret), `${text} must not contain the value`);
}

describe('keys: resolveKeys from the environment', () => {
  it('takes both keys from environment values, without calling Secret Manager', async () => {
    const cfg = parseConfig({ TOKEN_SERVER_ADMIN_KEY: ADMIN, TOKEN_SERVER_MASTER_KEY: MASTER });
    const keys = await resolveKeys(cfg, { readSecret: noSecrets });
    assert.deepEqual(keys, {
      adminKey: ADMIN,
      masterKey: MASTER_BYTES,
      masterKeys: [{ id: 'default', key: MASTER_BYTES }],
      problems: {},
    });
  });

  it('reports both keys missing when nothing is configured, naming the variables', async () => {
    const keys = await resolveKeys(parseConfig({}), { readSecret: noSecrets });
    assert.equal(keys.adminKey, undefined);
    assert.equal(keys.masterKey, undefined);
    assert.match(keys.problems.adminKey ?? '', /TOKEN_SERVER_ADMIN_KEY or TOKEN_SERVER_ADMIN_KEY_SECRET/);
    assert.match(keys.problems.masterKey ?? '', /TOKEN_SERVER_MASTER_KEY or TOKEN_SERVER_MASTER_KEY_SECRET/);
  });

  it('keeps one key when only the other is missing', async () => {
    const keys = await resolveKeys(config({ masterKey: { kind: 'value', value: MASTER } }), {
      readSecret: noSecrets,
    });
    assert.deepEqual(keys.masterKey, MASTER_BYTES);
    assert.equal(keys.adminKey, undefined);
    assert.equal(typeof keys.problems.adminKey, 'string');
    assert.equal(keys.problems.masterKey, undefined);
  });

  it('rejects invalid values that reach it without echoing them (defence behind parseConfig)', async () => {
    const shortAdmin = 'short-admin-key';
    const badMaster = Buffer.alloc(16, 1).toString('base64');
    const keys = await resolveKeys(
      config({
        adminKey: { kind: 'value', value: shortAdmin },
        masterKey: { kind: 'value', value: badMaster },
      }),
      { readSecret: noSecrets },
    );
    assert.equal(keys.adminKey, undefined);
    assert.equal(keys.masterKey, undefined);
    assert.equal(keys.problems.adminKey, 'TOKEN_SERVER_ADMIN_KEY: must be at least 32 characters');
    assert.match(
      keys.problems.masterKey ?? '',
      /^TOKEN_SERVER_MASTER_KEY: must be the base64 encoding of exactly 32 bytes/,
    );
    assertNotContains(keys.problems.adminKey, shortAdmin);
    assertNotContains(keys.problems.masterKey, badMaster);
  });

  it('rejects an admin key that no Bearer header can carry (spaces, control characters)', async () => {
    for (const value of [
      `${'b'.repeat(20)} ${'c'.repeat(20)}`,
      `${'d'.repeat(40)}\u0000`,
      `${'é'.repeat(40)}`,
    ]) {
      const keys = await resolveKeys(config({ adminKey: { kind: 'value', value } }), {
        readSecret: noSecrets,
      });
      assert.equal(keys.adminKey, undefined);
      assert.equal(
        keys.problems.adminKey,
        'TOKEN_SERVER_ADMIN_KEY: must be visible ASCII characters without spaces',
      );
    }
  });

  it('reports an unexpected reader failure by type only', async () => {
    const leaky: ReadSecret = () => Promise.reject(new TypeError(`boom ${ADMIN}`));
    const keys = await resolveKeys(
      config({ adminKey: { kind: 'secret', name: 'projects/p/secrets/a/versions/1' } }),
      {
        readSecret: leaky,
      },
    );
    assert.equal(keys.adminKey, undefined);
    assert.equal(
      keys.problems.adminKey,
      'TOKEN_SERVER_ADMIN_KEY_SECRET: cannot read Secret Manager version projects/p/secrets/a/versions/1: TypeError',
    );
  });
});

describe('keys: constantTimeEqual', () => {
  it('is true for equal strings and false otherwise, whatever the lengths', () => {
    assert.equal(constantTimeEqual(ADMIN, 'a'.repeat(40)), true);
    assert.equal(constantTimeEqual('', ''), true);
    assert.equal(constantTimeEqual(ADMIN, `${'a'.repeat(39)}b`), false);
    assert.equal(constantTimeEqual(ADMIN, ADMIN.slice(1)), false);
    assert.equal(constantTimeEqual(ADMIN, `${ADMIN}a`), false);
    assert.equal(constantTimeEqual('', ADMIN), false);
    assert.equal(constantTimeEqual('é', 'e\u0301'), false);
  });
});

describe('keys: generated keys', () => {
  it('client keys are tsk_ + 32 random bytes in base64url, different each time', () => {
    const a = generateClientKey();
    assert.match(a, /^tsk_[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(a.slice(4), 'base64url').length, 32);
    assert.notEqual(a, generateClientKey());
  });

  it('client keys are stored as their SHA-256 in hex', () => {
    // SHA-256("abc"), the FIPS 180-2 test vector.
    assert.equal(hashClientKey('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const key = generateClientKey();
    assert.match(hashClientKey(key), /^[0-9a-f]{64}$/);
    assert.equal(hashClientKey(key), hashClientKey(key));
    assert.notEqual(hashClientKey(key), hashClientKey(generateClientKey()));
  });

  it('generated admin and master keys pass the configuration checks and resolve', async () => {
    const admin = generateAdminKey();
    const master = generateMasterKey();
    assert.equal(admin.length, 43);
    assert.equal(Buffer.from(master, 'base64').length, 32);
    const keys = await resolveKeys(
      parseConfig({ TOKEN_SERVER_ADMIN_KEY: admin, TOKEN_SERVER_MASTER_KEY: master }),
      {
        readSecret: noSecrets,
      },
    );
    assert.deepEqual(keys.problems, {});
    assert.equal(keys.adminKey, admin);
    assert.equal(keys.masterKey?.toString('base64'), master);
    assert.notEqual(generateAdminKey(), admin);
    assert.notEqual(generateMasterKey(), master);
  });
});
