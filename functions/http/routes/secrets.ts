/**
 * Secrets (one set of credentials at a provider), admin only: the HTTP layer. Values are sealed by
 * the store and answered masked (admin/views.ts); saving one is admin/save-secret.ts.
 */
import { z } from 'zod';
import { listBody, pageRequest, pagingShape, secretPosition } from '../../admin/paging';
import { saveSecret, secretBodySchema } from '../../admin/save-secret';
import { parentInUse } from '../../admin/secret-parent';
import { secretView } from '../../admin/views';
import { AppError } from '../../errors';
import { adminAudit } from '../../ops/audit/admin';
import { realmIdSchema } from '../../providers/realm-config';
import type { Runtime } from '../../runtime';
import { parseOrThrow } from '../../validation';
import { resource } from '../respond';
import { ok, type Route, type RouteLogFields } from '../types';

export { MAX_VALUE_LENGTH, secretBodySchema } from '../../admin/save-secret';

export const listQuerySchema = z.strictObject({ ...pagingShape, realm: realmIdSchema.optional() });
export const secretParamsSchema = z.strictObject({ realm: realmIdSchema, key: realmIdSchema });

/** The secret named by the path (/api/secret/:realm/:key), which the request's log line names too. */
function secretNamed(params: unknown, logFields: RouteLogFields): { realm: string; key: string } {
  const named = parseOrThrow(secretParamsSchema, params);
  logFields.realm = named.realm;
  logFields.key = named.key;
  return named;
}

/** Every secret route reads or writes sealed values: without a master key it is closed (503). */
function requireMasterKey(runtime: Runtime): void {
  if (runtime.keys.masterKey !== undefined) return;
  throw new AppError(
    'NOT_READY',
    runtime.keys.problems.masterKey ??
      'No master key is configured (TOKEN_SERVER_MASTER_KEY or TOKEN_SERVER_MASTER_KEY_SECRET): secrets cannot be stored or read',
  );
}

function noSecret(realm: string, key: string): AppError {
  return new AppError('NOT_FOUND', `No secret ${realm}/${key}`, { details: { realm, key } });
}

export const putSecretRoute: Route = {
  method: 'POST',
  pattern: '/api/secret',
  auth: 'admin',
  handle: async ({ req, runtime, logFields }) => {
    requireMasterKey(runtime);
    if (req.body === undefined) {
      throw new AppError(
        'INVALID_ARGUMENT',
        'A secret ({"realm", "key", "key_1", ...}) is required as the JSON body',
        {
          details: { field: '(body)' },
        },
      );
    }
    const body = parseOrThrow(secretBodySchema, req.body);
    logFields.realm = body.realm;
    logFields.key = body.key;
    const { secret, warnings } = await saveSecret(runtime, req, body);
    runtime.existingEdgeCache()?.forget(body.realm, body.key);
    return resource({ ...secretView(secret), warnings });
  },
};

export const listSecretsRoute: Route = {
  method: 'GET',
  pattern: '/api/secret',
  auth: 'admin',
  handle: async ({ req, runtime, logFields }) => {
    const q = parseOrThrow(listQuerySchema, { ...req.query });
    requireMasterKey(runtime);
    if (q.realm !== undefined) logFields.realm = q.realm;
    const scope = { list: 'GET /api/secret', filter: { realm: q.realm }, position: secretPosition };
    const page = await runtime.store.listSecrets({
      ...pageRequest(q, scope),
      ...(q.realm === undefined ? {} : { realm: q.realm }),
    });
    return { body: listBody(page, page.list.map(secretView), scope) };
  },
};

export const getSecretRoute: Route = {
  method: 'GET',
  pattern: '/api/secret/:realm/:key',
  auth: 'admin',
  handle: async ({ req, runtime, logFields }) => {
    const { realm, key } = secretNamed(req.params, logFields);
    requireMasterKey(runtime);
    const secret = await runtime.store.getSecret(realm, key);
    if (secret === null) throw noSecret(realm, key);
    return resource(secretView(secret));
  },
};

export const deleteSecretRoute: Route = {
  method: 'DELETE',
  pattern: '/api/secret/:realm/:key',
  auth: 'admin',
  handle: async ({ req, runtime, logFields }) => {
    const { realm, key } = secretNamed(req.params, logFields);
    const outcome = await runtime.store.deleteSecret(
      realm,
      key,
      await adminAudit(runtime, req, 'secret.delete', `${realm}/${key}`),
    );
    if (outcome === 'not_found') throw noSecret(realm, key);
    if (outcome !== 'deleted') throw parentInUse(realm, key, outcome.children);
    runtime.existingEdgeCache()?.forget(realm, key);
    return ok({ deleted: true });
  },
};

export const secretRoutes: Route[] = [putSecretRoute, listSecretsRoute, getSecretRoute, deleteSecretRoute];
