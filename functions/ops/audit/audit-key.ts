/**
 * The audit HMAC key, kept apart from the master key ring so that audit hashes outlive a master-key
 * rotation: one random-strength key per database, stored sealed under the current master key
 * (collection `auditKey`), opened once per instance when a value is first hashed. It starts as the
 * key every earlier version derived from the master key (hash.ts), so records written before it
 * was stored hash alike. A rotation reseals it with everything else (POST /api/keys/reseal;
 * GET /api/keys counts it under its key id): its value never changes, so `tokenctl audit hash
 * VALUE` finds records from before any number of rotations, also after the old key is removed.
 */
import { DEFAULT_KEY_ID } from '../../keys/master-keys';
import { sealedKeyId, type Sealer } from '../../store/seal';
import type { OpsStore } from '../ops-store';
import { auditHashKey, hasherOf, type AuditHasher } from './hash';

/** The sealed key's associated data: its document's path. */
export const AUDIT_KEY_PATH = 'auditKey/hmac';

export class AuditKey {
  private loading: Promise<AuditHasher> | undefined;

  constructor(
    private readonly ops: OpsStore,
    private readonly sealer: Sealer,
    /** The current master key (undefined: none, and no hash). */
    private readonly masterKey: Buffer | undefined,
  ) {}

  /** The hasher under the stored key, creating it on first use; undefined without a master key. */
  hasher(): Promise<AuditHasher | undefined> {
    const masterKey = this.masterKey;
    if (masterKey === undefined) return Promise.resolve(undefined);
    this.loading ??= this.load(masterKey).catch((err: unknown) => {
      this.loading = undefined; // a database that could not be reached is asked again next time
      throw err;
    });
    return this.loading;
  }

  private async load(masterKey: Buffer): Promise<AuditHasher> {
    const stored =
      (await this.ops.getAuditKey()) ??
      (await this.ops.createAuditKey(
        this.sealer.seal(auditHashKey(masterKey).toString('base64'), AUDIT_KEY_PATH),
      ));
    return hasherOf(Buffer.from(this.sealer.open(stored, AUDIT_KEY_PATH), 'base64'));
  }

  /** The master key id the stored key is sealed under; undefined while none is stored. */
  async keyId(): Promise<string | undefined> {
    const stored = await this.ops.getAuditKey();
    return stored === null ? undefined : (sealedKeyId(stored) ?? DEFAULT_KEY_ID);
  }

  /** Seals the stored key again under the current master key if it is under another (its value unchanged). */
  async reseal(): Promise<void> {
    const stored = await this.ops.getAuditKey();
    if (stored === null || !this.sealer.isStale(stored)) return;
    await this.ops.replaceAuditKey(this.sealer.reseal(stored, AUDIT_KEY_PATH));
  }
}
