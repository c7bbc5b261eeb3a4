/** The audit record of an admin change, as the side write its store call commits with it. */
import type { ParsedRequest } from '../../http/types';
import type { Runtime } from '../../runtime';
import type { SideWrite } from '../../store/side-writes';
import { auditWrite, type AuditAction } from './record';

/**
 * `values`: the secret values the change sets, recorded as HMACs only. Without a master key there
 * is no HMAC key: then no value is recorded (the routes that set credentials are closed without a
 * master key; a client key, created without one, is then left out of its record).
 */
export async function adminAudit(
  runtime: Runtime,
  req: ParsedRequest,
  action: AuditAction,
  target: string,
  values: readonly string[] = [],
  details?: Record<string, string | number | boolean>,
): Promise<SideWrite[]> {
  const hash = values.length === 0 ? undefined : await runtime.ops.auditKey.hasher();
  return [
    auditWrite({
      actor: 'admin',
      action,
      target,
      requestId: req.requestId,
      hashes: hash === undefined ? [] : values.map(hash),
      ...(details === undefined ? {} : { details }),
    }),
  ];
}
