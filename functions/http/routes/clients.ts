/**
 * Clients (app credentials), admin only. A client key is generated here, answered once, and stored
 * only as its SHA-256; revocation drops this instance's cached lookup at once, and other instances'
 * within their client cache TTL (at most 60 s).
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { clientPosition, listBody, pageRequest, pagingShape } from '../../admin/paging';
import { clientView } from '../../admin/views';
import { AppError } from '../../errors';
import { adminAudit } from '../../ops/audit/admin';
import { generateClientKey, hashClientKey } from '../../keys/keys';
import { realmIdSchema } from '../../providers/realm-config';
import type { ClientRecord, ClientScope } from '../../store/types';
import { parseOrThrow, CONTROL_CHARS } from '../../validation';
import { resource } from '../respond';
import { ok, type Route } from '../types';

export const MAX_SCOPES = 100;

const scopeSchema = z.strictObject({
  realm: realmIdSchema,
  key: z.union([z.literal('*'), realmIdSchema], {
    error: 'must be "*" or a secret key (1-64 of A-Z a-z 0-9 _ . -)',
  }),
});

export const clientBodySchema = z.strictObject({
  name: z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(100, 'must be at most 100 characters')
    .refine((v) => !CONTROL_CHARS.test(v), 'must not contain control characters'),
  scopes: z
    .array(scopeSchema)
    .min(1, 'needs at least one scope')
    .max(MAX_SCOPES, `must have at most ${MAX_SCOPES} scopes`),
});

export const listQuerySchema = z.strictObject(pagingShape);
export const idParamsSchema = z.strictObject({
  // Firestore reserves document ids of the form __name__: such an id would be a 500, not a 404.
  id: z.string().regex(/^(?!__.*__$)[A-Za-z0-9_-]{1,64}$/, 'is not a client id'),
});

function dedupe(scopes: ClientScope[]): ClientScope[] {
  const seen = new Set<string>();
  return scopes.filter((s) => {
    const id = `${s.realm}\u0000${s.key}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

export const createClientRoute: Route = {
  method: 'POST',
  pattern: '/api/client',
  auth: 'admin',
  handle: async ({ req, runtime }) => {
    if (req.body === undefined) {
      throw new AppError(
        'INVALID_ARGUMENT',
        'A client ({"name", "scopes": [{"realm", "key"}]}) is required as the JSON body',
        {
          details: { field: '(body)' },
        },
      );
    }
    const body = parseOrThrow(clientBodySchema, req.body);
    // Every scope's realm must exist, so that a typo is caught now rather than as a 403 later. The
    // key need not exist yet: secrets may be added (and replaced) after the client is created.
    const realms = [...new Set(body.scopes.map((s) => s.realm))];
    const found = await Promise.all(realms.map((id) => runtime.store.getRealm(id)));
    const missing = realms.filter((_, i) => found[i] === null);
    if (missing.length > 0) {
      const index = body.scopes.findIndex((s) => missing.includes(s.realm));
      throw new AppError('NOT_FOUND', `scopes[${index}].realm: no realm ${missing.join(', ')}`, {
        details: { field: `scopes[${index}].realm`, realms: missing },
      });
    }
    const clientKey = generateClientKey();
    const client: ClientRecord = {
      id: randomUUID(),
      name: body.name,
      scopes: dedupe(body.scopes),
      keyHash: hashClientKey(clientKey),
      createdAt: runtime.clock.now(),
    };
    await runtime.store.putClient(
      client,
      await adminAudit(runtime, req, 'client.create', client.id, [clientKey]),
    );
    const { created_at, ...view } = clientView(client);
    // The only response that ever carries the client key.
    return resource({ ...view, client_key: clientKey, created_at }, 201);
  },
};

export const listClientsRoute: Route = {
  method: 'GET',
  pattern: '/api/client',
  auth: 'admin',
  handle: async ({ req, runtime }) => {
    const q = parseOrThrow(listQuerySchema, { ...req.query });
    const scope = { list: 'GET /api/client', filter: {}, position: clientPosition };
    const page = await runtime.store.listClients(pageRequest(q, scope));
    return { body: listBody(page, page.list.map(clientView), scope) };
  },
};

export const deleteClientRoute: Route = {
  method: 'DELETE',
  pattern: '/api/client/:id',
  auth: 'admin',
  handle: async ({ req, runtime }) => {
    const { id } = parseOrThrow(idParamsSchema, req.params);
    const client = await runtime.store.getClient(id);
    if (
      client === null ||
      !(await runtime.store.deleteClient(id, await adminAudit(runtime, req, 'client.revoke', id)))
    ) {
      throw new AppError('NOT_FOUND', `No client ${id}`, { details: { client: id } });
    }
    runtime.clientCache.forget(client.keyHash);
    return ok({ deleted: true });
  },
};

export const clientRoutes: Route[] = [createClientRoute, listClientsRoute, deleteClientRoute];
