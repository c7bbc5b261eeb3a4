/**
 * The webhook event types, and nothing else: no imports, so that the console's bundle
 * (console/src/views/webhooks.ts) takes the server's list itself rather than a copy of it.
 */
export const WEBHOOK_EVENTS = [
  'token.refresh_failed',
  'token.recovered',
  'ticket.stale',
  'ticket.recovered',
  'authorizer.authorized',
  'authorizer.unauthorized',
  'credential.needs_reauthorization',
  'budget.exhausted',
  'quota.foreign_use',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];
