/**
 * Saving a secret (POST /api/secret), the admin side of it: the body's shape, the checks against its
 * realm (a fixed-token realm's secrets carry a token, no other realm's do; a parent's chain), the
 * record with a new rev and a fresh token state, written with its audit record in one commit, and
 * the warnings of what a token request with this secret would lack. Replacing a secret gives it a
 * new rev and a fresh token state, which discards the cached token and a remembered permanent error
 * but keeps the daily call count.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../errors';
import type { ParsedRequest } from '../http/types';
import { adminAudit } from '../ops/audit/admin';
import { MAX_TOKEN_BYTES } from '../providers/extract';
import { tokenConfigOf } from '../providers/logic-code';
import { realmIdSchema, type RealmConfig } from '../providers/realm-config';
import { MAX_LIFETIME_MS, realmKind, requiredKeys } from '../providers/realm-facts';
import { KEY_NAMES } from '../providers/template';
import type { Runtime } from '../runtime';
import type { RealmRecord, SecretRecord } from '../store/types';
import { freshState } from '../token/decide';
import { CONTROL_CHARS } from '../validation';
import { AUTHORIZER_REALM_VALUE } from '../platforms/authorizer-realm';
import { EXPIRES_IN_VALUE, fixedTokenState, TOKEN_VALUE } from './fixed-token';
import { checkParent, PARENT_PATTERN, parentWarnings } from './secret-parent';

export const MAX_VALUE_LENGTH = 4096;

/** "REALM/KEY", each part with the character rules of a realm id. */
export const parentRefSchema = z
  .string()
  .max(129)
  .superRefine((value, ctx) => {
    const m = PARENT_PATTERN.exec(value);
    if (m === null || !realmIdSchema.safeParse(m[1]).success || !realmIdSchema.safeParse(m[2]).success) {
      ctx.addIssue({ code: 'custom', message: 'must be "REALM/KEY" (a secret of another realm or key)' });
    }
  });

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
  /** A rotating value (README "Rotating values (refresh tokens)"): the one to present first. */
  refresh_token: valueSchema
    .refine((v) => !CONTROL_CHARS.test(v), 'must not contain control characters')
    .optional(),
  // A platform secret's realm of tenants (README's platform sections: platforms/authorizer-realm.ts).
  authorizer_realm: realmIdSchema.optional(),
});

export type SecretInput = z.infer<typeof secretBodySchema>;

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

/**
 * Checks a parsed secret against its realm and stores it with its token state and its audit record
 * (the request's id and actor); the saved record and the warnings to answer. 404 for no realm (or a
 * realm deleted meanwhile), 400/404 for a bad parent, 400 naming `token`/`expires_in`.
 */
export async function saveSecret(
  runtime: Runtime,
  req: ParsedRequest,
  body: SecretInput,
): Promise<{ secret: SecretRecord; warnings: string[] }> {
  const { realm, key } = body;
  const realmRecord = await runtime.store.getRealm(realm);
  if (realmRecord === null) throw noRealm(realm);
  const fixed = realmKind(realmRecord) === 'fixed_token';
  checkTokenFields(realmRecord, fixed, body);

  const values: Record<string, string> = {};
  for (const name of KEY_NAMES) {
    const value = body[name];
    if (value !== undefined) values[name] = value;
  }
  if (body.parent !== undefined) await checkParent(runtime.store, realm, key, body.parent);
  if (body.token !== undefined) values[TOKEN_VALUE] = body.token;
  if (body.refresh_token !== undefined) values.refresh_token = body.refresh_token;
  if (body.authorizer_realm !== undefined) values[AUTHORIZER_REALM_VALUE] = body.authorizer_realm;
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
    await adminAudit(runtime, req, 'secret.put', `${realm}/${key}`, Object.values(values)),
  );
  if (outcome === 'no_realm') throw noRealm(realm);
  return { secret, warnings: warningsFor(realmRecord, key, values, body.parent) };
}
