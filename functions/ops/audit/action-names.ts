/**
 * The audit actions, and nothing else: no imports, so that the console's bundle
 * (console/src/views/audit.ts) takes the server's list itself rather than a copy of it.
 */
export const AUDIT_ACTIONS = [
  'realm.put',
  'realm.delete',
  'secret.put',
  'secret.delete',
  'client.create',
  'client.revoke',
  'webhook.create',
  'webhook.delete',
  'token.flush',
  'token.report',
  'keys.reseal',
  'component.sync',
  'event.authorized',
  'event.unauthorized',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];
