/** Response bodies of the audit and webhook routes (http/routes/audit.ts, webhooks.ts), for the OpenAPI document. */
import { z } from 'zod';
import { AUDIT_ACTIONS } from '../ops/audit/record';
import { WEBHOOK_EVENTS } from '../ops/webhooks/events';
import { listEnvelope } from './api-schemas';

const timestamp = z.iso.datetime();

export const auditRecordSchema = z.strictObject({
  id: z.string(),
  at: timestamp.describe('Store time of the commit that made the change'),
  actor: z.string().describe('"admin", or "client:<id>" for a client’s flush or report'),
  action: z.enum(AUDIT_ACTIONS),
  target: z
    .string()
    .describe('"realm/key", a realm id, a client id, a webhook id, or "master-key:<id>" (keys.reseal)'),
  request_id: z.string(),
  outcome: z.literal('ok'),
  hashes: z.array(z.string()).describe('HMACs of the secret values the change set (POST /api/audit/hash)'),
  details: z
    .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
    .optional()
    .describe(
      'What a change that sets no value did (keys.reseal: collection, scanned, resealed, unreadable, complete)',
    ),
});

export const webhookViewSchema = z.strictObject({
  id: z.string(),
  url: z.string(),
  events: z.array(z.enum(WEBHOOK_EVENTS)),
  comment: z.string(),
  created_at: timestamp,
});

export const OPS_RESPONSE_COMPONENTS = {
  AuditRecord: auditRecordSchema,
  AuditList: listEnvelope(auditRecordSchema),
  AuditHash: z.strictObject({ hash: z.string() }),
  Webhook: webhookViewSchema,
  WebhookCreated: webhookViewSchema.extend({
    secret: z.string().describe('The signing secret: the only time it is shown'),
  }),
  WebhookList: listEnvelope(webhookViewSchema),
} as const;
