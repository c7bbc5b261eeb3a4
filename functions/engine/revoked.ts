/**
 * The token route's answer for a tombstoned secret (store/types.ts SecretRecord.revoked): the
 * platform ended this tenant (WeChat `unauthorized`, WeCom `cancel_auth`), so there is nothing to
 * fetch until it authorizes again. 410, not 404: the secret is known, and gone on purpose.
 */
import { AppError } from '../errors';
import type { SecretRecord } from '../store/types';

export function revokedError(
  realm: string,
  key: string,
  revoked: NonNullable<SecretRecord['revoked']>,
): AppError {
  return new AppError(
    'AUTHORIZER_REVOKED',
    `${realm}/${key} was revoked by the platform (${revoked.reason}); it is served again after the customer authorizes again`,
    { details: { realm, key, reason: revoked.reason, revoked_at: new Date(revoked.at).toISOString() } },
  );
}
