/**
 * The sealer with several master keys: each value names its key, opens with it whatever key is
 * current, and reseal moves it to the current key; values of the single-key version stay readable.
 */
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import type { Doc } from '../../../functions/store/codec';
import { planReseal } from '../../../functions/store/reseal';
import { Sealer, sealedKeyId } from '../../../functions/store/seal';

const K1 = Buffer.alloc(32, 1);
const K2 = Buffer.alloc(32, 2);
const AAD = 'secrets/r:k';

/** A value exactly as the single-key version sealed it (v1.<nonce>.<body>), built here independently. */
function sealedByOldVersion(plaintext: string, key: Buffer, aad: string): string {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `v1.${nonce.toString('base64url')}.${body.toString('base64url')}`;
}

describe('sealer with several master keys', () => {
  const old = new Sealer(K1);
  const rotated = new Sealer([
    { id: 'k2', key: K2 },
    { id: 'default', key: K1 },
  ]);

  it('opens values of the single-key version under the key default', () => {
    const v1 = sealedByOldVersion('credential-value', K1, AAD);
    assert.equal(old.open(v1, AAD), 'credential-value');
    assert.equal(rotated.open(v1, AAD), 'credential-value');
    assert.equal(sealedKeyId(v1), 'default');
  });

  it('seals under the current key, naming it, and the single-key form still seals as before', () => {
    const sealed = rotated.seal('credential-value', AAD);
    assert.match(sealed, /^v2\.k2\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    assert.equal(sealedKeyId(sealed), 'k2');
    assert.match(old.seal('x', AAD), /^v1\.[^.]+\.[^.]+$/);
    // The single-key sealer cannot open it, and says which key it needs (never a key).
    assert.throws(() => old.open(sealed, AAD), /sealed under master key "k2", which is not configured/);
  });

  it('opens each value with the key it names, not the current one', () => {
    const underK1 = old.seal('a', AAD);
    const underK2 = rotated.seal('b', AAD);
    const k1First = new Sealer([
      { id: 'default', key: K1 },
      { id: 'k2', key: K2 },
    ]);
    assert.equal(k1First.open(underK1, AAD), 'a');
    assert.equal(k1First.open(underK2, AAD), 'b');
  });

  it('refuses a value whose key id was changed, or that was moved to another document', () => {
    const sealed = rotated.seal('secret', AAD);
    assert.throws(() => rotated.open(sealed.replace('v2.k2.', 'v2.default.'), AAD), /could not be opened/);
    assert.throws(() => rotated.open(sealed, 'secrets/r:other'), /could not be opened/);
  });

  it('plans a reseal: stale values sealed again under the current key, current ones left alone', () => {
    const stale: Doc = { realm: 'r', key: 'k', values: old.seal('{"key_1":"v"}', AAD) };
    const plan = planReseal('secrets', stale, rotated);
    assert.equal(plan.kind, 'write');
    if (plan.kind !== 'write') return;
    assert.equal(plan.resealed, true);
    assert.equal(plan.update.sealedWith, 'k2');
    assert.equal(sealedKeyId(String(plan.update.values)), 'k2');
    assert.equal(rotated.open(String(plan.update.values), AAD), '{"key_1":"v"}');
    assert.deepEqual(planReseal('secrets', { ...stale, ...plan.update }, rotated), { kind: 'current' });
    // Already under the current key but written before the marker existed: only the marker.
    const unmarked = { realm: 'r', key: 'k', values: rotated.seal('{}', AAD) };
    assert.deepEqual(planReseal('secrets', unmarked, rotated), {
      kind: 'write',
      update: { sealedWith: 'k2' },
      resealed: false,
    });
    // A token document without a token: marked null once.
    assert.deepEqual(planReseal('tokens', { realm: 'r', key: 'k' }, rotated), {
      kind: 'write',
      update: { sealedWith: null },
      resealed: false,
    });
    assert.deepEqual(planReseal('tokens', { realm: 'r', key: 'k', sealedWith: null }, rotated), {
      kind: 'current',
    });
    // Under a key that is not configured: left as it is.
    const k3 = new Sealer([{ id: 'k3', key: Buffer.alloc(32, 3) }]).seal('x', AAD);
    assert.deepEqual(planReseal('secrets', { realm: 'r', key: 'k', values: k3 }, rotated), {
      kind: 'unreadable',
    });
  });
});
