/**
 * Webhooks, admin only: create (the signing secret is answered once), list, get, delete. A webhook's
 * URL passes the provider URL guard (providers/url-guard.ts) when created and again, resolved, at
 * every delivery (ops/webhooks/deliver.ts). Creating and deleting are audited in the same commit.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { listBody, pageRequest, pagingShape } from '../../admin/paging';
import { AppError } from '../../errors';
import { adminAudit } from '../../ops/audit/admin';
import type { WebhookRecord } from '../../ops/ops-store';
import { WEBHOOK_EVENTS } from '../../ops/webhooks/events';
import { checkUpstreamUrl } from '../../providers/url-guard';
import type { Runtime } from '../../runtime';
import { parseOrThrow } from '../../validation';
import { resource } from '../respond';
import { ok, type Route } from '../types';

/** Webhooks are few: every delivery reads them all. */
export const MAX_WEBHOOKS = 100;
const WEBHOOK_ID = /^wh_[A-Za-z0-9_-]{22}$/;

export const webhookBodySchema = z.strictObject({
  url: z.string().min(1, 'must not be empty').max(2048, 'must be at most 2048 characters'),
  events: z
    .array(z.enum(WEBHOOK_EVENTS, { error: `must be one of ${WEBHOOK_EVENTS.join(', ')}` }))
    .min(1, 'needs at least one event')
    .max(WEBHOOK_EVENTS.length, `must have at most ${WEBHOOK_EVENTS.length} events`),
  comment: z
    .string()
    .max(200, 'must be at most 200 characters')
    // eslint-disable-next-line no-control-regex
    .refine((v) => !/[\u0000-\u001f\u007f]/.test(v), 'must not contain control characters')
    .optional(),
});
export const listQuerySchema = z.strictObject(pagingShape);
export const idParamsSchema = z.strictObject({ id: z.string().regex(WEBHOOK_ID, 'is not a webhook id') });

function webhookView(w: WebhookRecord): Record<string, unknown> {
  return {
    id: w.id,
    url: w.url,
    events: w.events,
    comment: w.comment,
    created_at: new Date(w.createdAt).toISOString(),
  };
}

/** Webhook secrets are sealed under the master key: without one, webhooks are closed (503). */
function requireMasterKey(runtime: Runtime): void {
  if (runtime.keys.masterKey !== undefined) return;
  throw new AppError(
    'NOT_READY',
    runtime.keys.problems.masterKey ??
      'No master key is configured: webhook signing secrets cannot be stored (TOKEN_SERVER_MASTER_KEY)',
  );
}

function notFound(id: string): AppError {
  return new AppError('NOT_FOUND', `No webhook ${id}`, { details: { webhook: id } });
}

/** The guard's refusal, naming this body's field. */
function checkUrl(url: string, allowPrivate: boolean): void {
  try {
    checkUpstreamUrl(url, { allowPrivate });
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    throw new AppError(
      'INVALID_ARGUMENT',
      err.message.replace(/^config\.url: upstream refused/, 'url: refused'),
      {
        details: { field: 'url' },
      },
    );
  }
}

export const createWebhookRoute: Route = {
  method: 'POST',
  pattern: '/api/webhook',
  auth: 'admin',
  handle: async ({ req, runtime }) => {
    requireMasterKey(runtime);
    if (req.body === undefined) {
      throw new AppError(
        'INVALID_ARGUMENT',
        'A webhook ({"url", "events", "comment"}) is required as the JSON body',
        {
          details: { field: '(body)' },
        },
      );
    }
    const body = parseOrThrow(webhookBodySchema, req.body);
    checkUrl(body.url, runtime.config.allowPrivateUpstreams);
    const existing = await runtime.ops.store.listWebhooks({ limit: 1 });
    if (existing.total >= MAX_WEBHOOKS) {
      throw new AppError('CONFLICT', `At most ${MAX_WEBHOOKS} webhooks: delete one first`, {
        details: { limit: MAX_WEBHOOKS },
      });
    }
    const webhook: WebhookRecord = {
      id: `wh_${randomUUID().replace(/-/g, '').slice(0, 22).padEnd(22, '0')}`,
      url: body.url,
      events: [...new Set(body.events)],
      comment: body.comment ?? '',
      secret: `whsec_${randomBytes(32).toString('base64url')}`,
      createdAt: runtime.clock.now(),
    };
    await runtime.ops.store.createWebhook(
      webhook,
      await adminAudit(runtime, req, 'webhook.create', webhook.id, [webhook.secret]),
    );
    // The only response that ever carries the signing secret.
    return resource({ ...webhookView(webhook), secret: webhook.secret }, 201);
  },
};

export const listWebhooksRoute: Route = {
  method: 'GET',
  pattern: '/api/webhook',
  auth: 'admin',
  handle: async ({ req, runtime }) => {
    requireMasterKey(runtime);
    const q = parseOrThrow(listQuerySchema, { ...req.query });
    const scope = { list: 'GET /api/webhook', filter: {}, position: z.string().regex(WEBHOOK_ID) };
    const page = await runtime.ops.store.listWebhooks(pageRequest(q, scope));
    return { body: listBody(page, page.list.map(webhookView), scope) };
  },
};

export const getWebhookRoute: Route = {
  method: 'GET',
  pattern: '/api/webhook/:id',
  auth: 'admin',
  handle: async ({ req, runtime }) => {
    requireMasterKey(runtime);
    const { id } = parseOrThrow(idParamsSchema, req.params);
    const webhook = await runtime.ops.store.getWebhook(id);
    if (webhook === null) throw notFound(id);
    return resource(webhookView(webhook));
  },
};

export const deleteWebhookRoute: Route = {
  method: 'DELETE',
  pattern: '/api/webhook/:id',
  auth: 'admin',
  handle: async ({ req, runtime }) => {
    const { id } = parseOrThrow(idParamsSchema, req.params);
    if (!(await runtime.ops.store.deleteWebhook(id, await adminAudit(runtime, req, 'webhook.delete', id)))) {
      throw notFound(id);
    }
    return ok({ deleted: true });
  },
};

export const webhookRoutes: Route[] = [
  createWebhookRoute,
  listWebhooksRoute,
  getWebhookRoute,
  deleteWebhookRoute,
];
