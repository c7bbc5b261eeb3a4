/**
 * The audit HMAC key across master-key rotations (ops/audit/audit-key.ts): the key is stored sealed,
 * first derived as earlier versions derived it (records from before hash alike), counted and resealed
 * with the other sealed values, and the same after the old master key is removed, so `tokenctl audit
 * hash VALUE` still finds old records. Without the reseal, removing the old key would lose it: that
 * is why GET /api/keys counts it.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { ManualClock } from '../../functions/clock';
import { AuditKey, AUDIT_KEY_PATH } from '../../functions/ops/audit/audit-key';
import { auditHashKey, hasherOf } from '../../functions/ops/audit/hash';
import { AUDIT_KEY_COLLECTION, AUDIT_KEY_DOC } from '../../functions/ops/ops-store';
import { MemoryOps } from '../../functions/ops/memory-ops';
import { MemoryStore } from '../../functions/store/memory/memory-store';
import { Sealer } from '../../functions/store/seal';

describe('audit HMAC key across master-key rotation', () => {
  const K1 = randomBytes(32);
  const K2 = randomBytes(32);
  const VALUE = `an-app-secret-${randomBytes(8).toString('hex')}`;

  it('keeps one audit key from before the rotation to after the old master key is removed', async () => {
    const clock = new ManualClock();
    const k1Only = new Sealer([{ id: 'k1', key: K1 }]);
    const store = new MemoryStore(k1Only, clock);
    const ops = new MemoryOps(store, k1Only, clock);
    const before = new AuditKey(ops, k1Only, K1);
    expect(await before.keyId()).to.equal(undefined);
    const h1 = (await before.hasher())?.(VALUE);
    // What every earlier version recorded under K1: old records are found with the stored key.
    expect(h1).to.equal(hasherOf(auditHashKey(K1))(VALUE));
    expect(await before.keyId()).to.equal('k1');
    const raw = JSON.stringify(store.sideDocs.get(AUDIT_KEY_COLLECTION)?.get(AUDIT_KEY_DOC));
    expect(raw).to.not.include(auditHashKey(K1).toString('base64'));

    // Rotated: k2 current, k1 still configured. Same hashes; the key is still under k1 until resealed.
    const rotated = new Sealer([
      { id: 'k2', key: K2 },
      { id: 'k1', key: K1 },
    ]);
    const during = new AuditKey(ops, rotated, K2);
    expect((await during.hasher())?.(VALUE)).to.equal(h1);
    expect(await during.keyId()).to.equal('k1');
    await during.reseal();
    expect(await during.keyId()).to.equal('k2');
    await during.reseal(); // nothing left to do: unchanged
    expect(await during.keyId()).to.equal('k2');

    // k1 removed: the stored key opens under k2 and hashes as before.
    const k2Only = new Sealer([{ id: 'k2', key: K2 }]);
    const after = new AuditKey(ops, k2Only, K2);
    expect((await after.hasher())?.(VALUE)).to.equal(h1);
    expect(hasherOf(auditHashKey(K2))(VALUE)).to.not.equal(h1); // not merely re-derived from k2
  });

  it('an unresealed key is not opened once its master key is gone, and two instances share one key', async () => {
    const clock = new ManualClock();
    const k1Only = new Sealer([{ id: 'k1', key: K1 }]);
    const store = new MemoryStore(k1Only, clock);
    const ops = new MemoryOps(store, k1Only, clock);
    const [a, b] = [new AuditKey(ops, k1Only, K1), new AuditKey(ops, k1Only, K1)];
    const [ha, hb] = await Promise.all([a.hasher(), b.hasher()]);
    expect(ha?.(VALUE)).to.equal(hb?.(VALUE));
    const k2Only = new Sealer([{ id: 'k2', key: K2 }]);
    const lost = await new AuditKey(ops, k2Only, K2).hasher().catch((err: unknown) => err);
    expect(lost).to.be.instanceOf(Error);
    expect(AUDIT_KEY_PATH).to.equal(`${AUDIT_KEY_COLLECTION}/${AUDIT_KEY_DOC}`);
    expect(await new AuditKey(ops, k1Only, undefined).hasher()).to.equal(undefined);
  });
});
