/**
 * Secret values in the audit log are kept only as HMACs, as Vault's audit devices keep them: HMAC-SHA256
 * under a key derived from the master key (HKDF with its own salt and label, so the audit key opens
 * nothing and the master key cannot be learned from it). The same value always hashes alike under
 * one master key, so an admin can find the records that set a value (`tokenctl audit hash VALUE`,
 * then `GET /api/audit?hash=`) without any record holding it.
 */
import { createHmac, hkdfSync } from 'node:crypto';

export const AUDIT_HASH_PREFIX = 'hmac-sha256:';
const SALT = 'token-server audit salt v1';
const INFO = 'token-server audit hash';

export type AuditHasher = (value: string) => string;

/** The hasher of one master key; undefined without one (changes that set values are closed then anyway). */
export function auditHasher(masterKey: Buffer | undefined): AuditHasher | undefined {
  if (masterKey === undefined) return undefined;
  const key = Buffer.from(hkdfSync('sha256', masterKey, SALT, INFO, 32));
  return (value) => AUDIT_HASH_PREFIX + createHmac('sha256', key).update(value, 'utf8').digest('hex');
}
