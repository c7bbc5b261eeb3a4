/**
 * Secret values in the audit log are kept only as HMACs, as Vault's audit devices keep them: HMAC-SHA256
 * under the audit key, first derived from the master key (HKDF with its own salt and label, so the
 * audit key opens nothing and the master key cannot be learned from it), then stored sealed and kept
 * across master-key rotations (audit-key.ts). The same value always hashes alike, so an admin can find the records that set a value (`tokenctl audit hash VALUE`,
 * then `GET /api/audit?hash=`) without any record holding it.
 */
import { createHmac, hkdfSync } from 'node:crypto';

export const AUDIT_HASH_PREFIX = 'hmac-sha256:';
const SALT = 'token-server audit salt v1';
const INFO = 'token-server audit hash';

export type AuditHasher = (value: string) => string;

/** The audit key first derived from a master key (then stored and kept across rotations: audit-key.ts). */
export function auditHashKey(masterKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', masterKey, SALT, INFO, 32));
}

/** HMAC-SHA256 under an audit key, in the form records keep. */
export function hasherOf(key: Buffer): AuditHasher {
  return (value) => AUDIT_HASH_PREFIX + createHmac('sha256', key).update(value, 'utf8').digest('hex');
}
