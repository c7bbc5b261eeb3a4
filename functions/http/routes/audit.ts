/**
 * The audit log, admin only: GET /api/audit (newest first, paged by cursor, filtered by action,
 * target, since and hash) and POST /api/audit/hash, which answers the HMAC a value is recorded as,
 * so that the records that set it can be found without the log holding it.
 */
import { z } from 'zod';
import { listBody, pageRequest, pagingShape } from '../../admin/paging';
import { AppError } from '../../errors';
import { AUDIT_ACTIONS, auditView } from '../../ops/audit/record';
import type { AuditPosition } from '../../ops/ops-store';
import type { Runtime } from '../../runtime';
import { parseOrThrow } from '../../validation';
import { resource } from '../respond';
import type { Route } from '../types';

const emptyAsAbsent = (v: unknown): unknown => (v === '' ? undefined : v);

export const auditQuerySchema = z.strictObject({
  ...pagingShape,
  action: z.preprocess(
    emptyAsAbsent,
    z.enum(AUDIT_ACTIONS, { error: `must be one of ${AUDIT_ACTIONS.join(', ')}` }).optional(),
  ),
  target: z.preprocess(emptyAsAbsent, z.string().max(200, 'must be at most 200 characters').optional()),
  since: z.preprocess(
    emptyAsAbsent,
    z.iso.datetime({ offset: true, error: 'must be an ISO-8601 time (2026-12-06T20:00:00Z)' }).optional(),
  ),
  hash: z.preprocess(
    emptyAsAbsent,
    z
      .string()
      .regex(/^hmac-sha256:[0-9a-f]{64}$/, 'must be an HMAC as POST /api/audit/hash answers it')
      .optional(),
  ),
});

export const auditHashBodySchema = z.strictObject({
  value: z.string().min(1, 'must not be empty').max(8192, 'must be at most 8192 characters'),
});

const auditPosition: z.ZodType<AuditPosition> = z.strictObject({
  s: z.number().int().min(0),
  n: z.number().int().min(0).max(999_999_999),
  id: z.string().regex(/^[0-9a-f-]{36}$/),
});

async function requireHasher(runtime: Runtime): Promise<(value: string) => string> {
  const hash = await runtime.ops.auditKey.hasher();
  if (hash !== undefined) return hash;
  throw new AppError(
    'NOT_READY',
    runtime.keys.problems.masterKey ??
      'No master key is configured: audit hashes are keyed from it (TOKEN_SERVER_MASTER_KEY)',
  );
}

export const listAuditRoute: Route = {
  method: 'GET',
  pattern: '/api/audit',
  auth: 'admin',
  handle: async ({ req, runtime }) => {
    const q = parseOrThrow(auditQuerySchema, { ...req.query });
    const filter = { action: q.action, target: q.target, since: q.since, hash: q.hash };
    const scope = { list: 'GET /api/audit', filter, position: auditPosition };
    const page = await runtime.ops.store.listAudit({
      ...pageRequest(q, scope),
      ...(q.action === undefined ? {} : { action: q.action }),
      ...(q.target === undefined ? {} : { target: q.target }),
      ...(q.since === undefined ? {} : { since: Date.parse(q.since) }),
      ...(q.hash === undefined ? {} : { hash: q.hash }),
    });
    return { body: listBody(page, page.list.map(auditView), scope) };
  },
};

export const auditHashRoute: Route = {
  method: 'POST',
  pattern: '/api/audit/hash',
  auth: 'admin',
  handle: async ({ req, runtime }) => {
    if (req.body === undefined) {
      throw new AppError('INVALID_ARGUMENT', 'A value ({"value": "..."}) is required as the JSON body', {
        details: { field: 'value' },
      });
    }
    const { value } = parseOrThrow(auditHashBodySchema, req.body);
    return resource({ hash: (await requireHasher(runtime))(value) });
  },
};

export const auditRoutes: Route[] = [listAuditRoute, auditHashRoute];
