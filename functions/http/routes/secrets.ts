/**
 * Secrets (one set of credentials at a provider), admin only. Values are sealed by the store and
 * answered masked (admin/views.ts). Replacing a secret gives it a new rev and a fresh token state,
 * which discards the cached token and a remembered permanent error but keeps the daily call count.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { listBody, pageRequest, pagingShape, secretPosition } from '../../admin/paging';
import { secretView } from '../../admin/views';
import { freshState } from '../../token/decide';
import { AppError } from '../../errors';
import { adminAudit } from '../../ops/audit/admin';
import { checkParent, parentInUse, parentRefSchema, parentWarnings } from '../../engine/dependent';
import { EXPIRES_IN_VALUE, fixedTokenState, TOKEN_VALUE } from '../../engine/fixed-token';
import { MAX_TOKEN_BYTES } from '../../providers/extract';
import { tokenConfigOf } from '../../providers/logic-code';
import {
  MAX_LIFETIME_MS,
  realmIdSchema,
  realmKind,
  requiredKeys,
  type RealmConfig,
} from '../../providers/realm-config';
import { KEY_NAMES } from '../../providers/template';
import { AUTHORIZER_REALM_VALUE } from '../../platforms/authorizer-secrets';
import type { Runtime } from '../../runtime';
import type { RealmRecord, SecretRecord } from '../../store/types';
import { parseOrThrow, CONTROL_CHARS } from '../../validation';
import { resource } from '../respond';
import { ok, type Route, type RouteLogFields } from '../types';

export const MAX_VALUE_LENGTH = 4096;

const valueSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(MAX_VALUE_LENGTH, `must be at most ${MAX_VALUE_LENGTH} characters`);

export const secretBodySchema = z.strictObject({
  realm: realmIdSchema,
  key: realmIdSchema,
  // A fixed-token realm's secrets carry the token itself, and optionally its lifetime in seconds.
  token: z
    .string()
    .min(1, 'must not be empty')
    .max(MAX_TOKEN_BYTES, `must be at most ${MAX_TOKEN_BYTES} characters`)
    .refine((v) => !CONTROL_CHARS.test(v), 'must not contain control characters')
    .optional(),
  expires_in: z
    .number()
    .int('must be a whole number of seconds')
    .min(1, 'must be at least 1 (leave it out for a token that does not expire)')
    .max(MAX_LIFETIME_MS / 1000, 'must be at most 366 days')
    .optional(),
  ...(Object.fromEntries(KEY_NAMES.map((name) => [name, valueSchema.optional()])) as Record<
    (typeof KEY_NAMES)[number],
    z.ZodOptional<typeof valueSchema>
  >),
  parent: parentRefSchema.optional(),
  // A component secret (preset wechat_component): the realm where its authorizers are kept (§11.3).
  [AUTHORIZER_REALM_VALUE]: realmIdSchema.optional(),
});

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

function noRealm(realm: string): AppError {
  return new AppError('NOT_FOUND', `No realm ${realm}`, { details: { field: 'realm', realm } });
}

/** A fixed-token realm's secret needs its token; any other realm's secret may not carry one. */
function checkTokenFields(
  realm: RealmRecord,
  fixed: boolean,
  body: { token?: string | undefined; expires_in?: number | undefined },
): void {
  if (fixed && body.token === undefined) {
    throw new AppError(
      'INVALID_ARGUMENT',
      `token: required: realm ${realm.id} is a fixed-token realm, its secrets carry the token ("token", and "expires_in" in seconds if it expires)`,
      { details: { field: 'token' } },
    );
  }
  if (!fixed) {
    const field =
      body.token !== undefined ? 'token' : body.expires_in !== undefined ? 'expires_in' : undefined;
    if (field !== undefined) {
      throw new AppError(
        'INVALID_ARGUMENT',
        `${field}: only the secrets of a fixed-token realm (one with neither config nor logic_code) carry a token; realm ${realm.id} fetches its tokens`,
        { details: { field } },
      );
    }
  }
}

function noSecret(realm: string, key: string): AppError {
  return new AppError('NOT_FOUND', `No secret ${realm}/${key}`, { details: { realm, key } });
}

/** What a token request with this secret would lack, said when the secret is added. */
function warningsFor(
  realm: RealmRecord,
  key: string,
  values: Record<string, string>,
  parent?: string,
): string[] {
  if (realmKind(realm) === 'fixed_token') {
    return Object.keys(values).some((name) => name.startsWith('key_'))
      ? [
          `Realm ${realm.id} is a fixed-token realm: only the token is served, key_1 .. key_9 are kept but unused`,
        ]
      : [];
  }
  let config: RealmConfig | undefined;
  try {
    config = tokenConfigOf(realm, key);
  } catch {
    config = undefined;
  }
  if (config === undefined) {
    return [
      `The config of realm ${realm.id} is not valid: token requests will fail until the realm is fixed`,
    ];
  }
  return [
    ...requiredKeys(config)
      .filter((name) => values[name] === undefined)
      .map(
        (name) =>
          `Realm ${realm.id} references ${name}, which this secret does not have: token requests will fail until it is added`,
      ),
    ...parentWarnings(realm.id, config, parent),
  ];
}

/** The stored secret's creation time, when it can still be read (a secret sealed under another master key cannot). */
async function createdAtOf(runtime: Runtime, realm: string, key: string): Promise<number | undefined> {
  try {
    return (await runtime.store.getSecret(realm, key))?.createdAt;
  } catch (err) {
    if (err instanceof AppError && err.code === 'INTERNAL') return undefined;
    throw err;
  }
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
    const { realm, key } = body;
    logFields.realm = realm;
    logFields.key = key;
    const realmRecord = await runtime.store.getRealm(realm);
    if (realmRecord === null) throw noRealm(realm);
    const fixed = realmKind(realmRecord) === 'fixed_token';
    checkTokenFields(realmRecord, fixed, body);

    const values: Record<string, string> = {};
    for (const name of KEY_NAMES) {
      const value = body[name];
      if (value !== undefined) values[name] = value;
    }
    if (body[AUTHORIZER_REALM_VALUE] !== undefined)
      values[AUTHORIZER_REALM_VALUE] = body[AUTHORIZER_REALM_VALUE];
    if (body.parent !== undefined) await checkParent(runtime.store, realm, key, body.parent);
    if (body.token !== undefined) values[TOKEN_VALUE] = body.token;
    if (body.expires_in !== undefined) values[EXPIRES_IN_VALUE] = String(body.expires_in);
    const now = runtime.clock.now();
    const secret: SecretRecord = {
      realm,
      key,
      values,
      ...(body.parent === undefined ? {} : { parent: body.parent }),
      rev: randomBytes(16).toString('hex'),
      createdAt: (await createdAtOf(runtime, realm, key)) ?? now,
      updatedAt: now,
    };
    const outcome = await runtime.store.putSecret(
      secret,
      (current) => (fixed ? fixedTokenState(secret, current) : freshState(realm, key, secret.rev, current)),
      adminAudit(runtime, req, 'secret.put', `${realm}/${key}`, Object.values(values)),
    );
    if (outcome === 'no_realm') throw noRealm(realm);
    runtime.edgeCache.forget(realm, key);
    return resource({ ...secretView(secret), warnings: warningsFor(realmRecord, key, values, body.parent) });
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
      adminAudit(runtime, req, 'secret.delete', `${realm}/${key}`),
    );
    if (outcome === 'not_found') throw noSecret(realm, key);
    if (outcome !== 'deleted') throw parentInUse(realm, key, outcome.children);
    runtime.edgeCache.forget(realm, key);
    return ok({ deleted: true });
  },
};

export const secretRoutes: Route[] = [putSecretRoute, listSecretsRoute, getSecretRoute, deleteSecretRoute];
