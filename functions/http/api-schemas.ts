/**
 * The HTTP API's response bodies as zod schemas: the source of the response schemas in the OpenAPI
 * document (http/openapi.ts), and what the OpenAPI test checks real responses against, so that a
 * response that changes without its schema fails a test. Strict objects: an undocumented field fails.
 */
import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from '../errors';
import { KEY_NAMES } from '../providers/template';

const timestamp = z.iso.datetime();
const count = z.number().int().min(0);
const jsonObject = z.record(z.string(), z.unknown());

/** `{"data": ..., "success": "ok"}`, the original design's envelope (types.ts ok()). */
function okEnvelope<T extends z.ZodType>(data: T) {
  return z.strictObject({ data, success: z.literal('ok') });
}

/**
 * A page of a list in the envelope: `{"data": {"list": [...], "total": N}, "next_cursor"?, "success": "ok"}`,
 * next_cursor beside data and absent on the last page (admin/paging.ts).
 */
export function listEnvelope<T extends z.ZodType>(item: T) {
  return z.strictObject({
    data: z.strictObject({ list: z.array(item), total: count }),
    next_cursor: z
      .string()
      .min(1)
      .optional()
      .describe('The `cursor` of the next page; absent on the last page'),
    success: z.literal('ok'),
  });
}

export const errorResponseSchema = z.strictObject({
  error: z.strictObject({
    code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]),
    message: z.string(),
    details: jsonObject.optional(),
  }),
});

export const healthResponseSchema = z.strictObject({
  ok: z.literal(true),
  store: z.enum(['firestore', 'memory']),
});

export const tokenResponseSchema = z.strictObject({
  token: z.string().min(1),
  expires_in: count.describe('Milliseconds for which the app may use the token'),
  expires_at: timestamp.describe('The same moment as an ISO-8601 time'),
  source: z.enum(['memory', 'database', 'upstream']),
});

export const jssdkSignatureSchema = z.strictObject({
  timestamp: z.number().int().describe('Seconds since the epoch (wx.config timestamp)'),
  nonceStr: z.string().min(1),
  signature: z
    .string()
    .regex(/^[0-9a-f]{40}$/)
    .describe('SHA-1, hex'),
  url: z.string().describe('The URL that was signed: the page URL without its #fragment'),
});

const realmViewShape = {
  id: z.string(),
  comment: z.string(),
  config: jsonObject
    .optional()
    .describe(
      'The realm config as it was posted (defaults are applied when it is used); absent for the other kinds',
    ),
  logic_code: z.string().optional().describe('A logic_code realm: the URL of its custom token function'),
  created_at: timestamp,
  updated_at: timestamp,
};

export const realmViewSchema = z.strictObject(realmViewShape);

const warningsSchema = z.array(z.string());

export const realmSavedSchema = z.strictObject({
  ...realmViewShape,
  warnings: warningsSchema.describe('What may not work as expected with this realm (e.g. no error rules)'),
});

const maskedValue = z.string().endsWith('****').describe('Masked: at most the first 4 characters, then ****');

const secretViewShape = {
  realm: z.string(),
  key: z.string(),
  ...(Object.fromEntries(KEY_NAMES.map((name) => [name, maskedValue.optional()])) as Record<
    (typeof KEY_NAMES)[number],
    z.ZodOptional<typeof maskedValue>
  >),
  parent: z.string().optional().describe('"REALM/KEY" of the secret whose token its realm uses as $token'),
  token: maskedValue.optional().describe('A fixed-token realm: the token, masked'),
  refresh_token: maskedValue
    .optional()
    .describe('The refresh token the secret was saved with (a rotating value), masked'),
  expires_in: count.optional().describe('A fixed-token realm: the lifetime in seconds given with the token'),
  authorizer_realm: z
    .string()
    .optional()
    .describe('A platform secret: the realm where its authorizers or tenants are kept (not a credential)'),
  created_at: timestamp,
  updated_at: timestamp,
  revoked: z
    .strictObject({ at: timestamp, reason: z.string() })
    .optional()
    .describe('A tombstone: the platform ended this authorizer or tenant (its token route answers 410)'),
};

export const secretViewSchema = z.strictObject(secretViewShape);

export const secretSavedSchema = z.strictObject({
  ...secretViewShape,
  warnings: warningsSchema.describe('What token requests with this secret would lack'),
});

const scopeSchema = z.strictObject({ realm: z.string(), key: z.string() });

const clientViewShape = {
  id: z.string(),
  name: z.string(),
  scopes: z.array(scopeSchema),
  created_at: timestamp,
};

export const clientViewSchema = z.strictObject(clientViewShape);

export const clientCreatedSchema = z.strictObject({
  ...clientViewShape,
  client_key: z.string().min(1).describe('Shown only in this response; stored only as a hash'),
});

export const presetSchema = z.strictObject({
  name: z.string(),
  comment: z.string(),
  keys: z.record(z.string(), z.string()).describe('key_N → what the secret value is'),
  parent: z.string().optional().describe('Ticket presets: the preset of the parent secret'),
  config: jsonObject,
});

export const statusEntrySchema = z.strictObject({
  realm: z.string(),
  key: z.string(),
  state: z
    .enum(['ok', 'due', 'error'])
    .describe('error: the last refresh failed; due: a refresh is due; ok: neither'),
  has_token: z.boolean(),
  generation: count,
  expires_at: timestamp.nullable(),
  refresh_at: timestamp.nullable(),
  due_at: timestamp
    .nullable()
    .describe('When the scheduled refresh looks at it next; null: never on its own (a permanent error)'),
  last_refresh_at: timestamp.nullable(),
  last_error: z
    .strictObject({
      at: timestamp,
      code: z.string(),
      message: z.string(),
      http_status: z.number().int().optional(),
      provider_code: z.string().optional(),
      provider_message: z.string().optional(),
      permanent: z.boolean(),
      caller_ip: z.string().optional().describe('An IP allow-list error: the refused caller IP'),
      fix: z.string().optional().describe('An IP allow-list error: "add IP x.x.x.x to the allow-list ..."'),
    })
    .nullable(),
  blocked_until: timestamp.nullable(),
  backoff_until: timestamp.nullable().describe('After failed transient rounds: no provider call before this'),
  refreshing: z.boolean(),
  calls_today: count,
  ticket_state: z
    .enum(['ok', 'stale', 'expired', 'missing'])
    .optional()
    .describe(
      'Secrets of realms that reference ${ticket}: the pushed ticket (stale: no push for 2.5 push intervals, 25 min; Feishu 2.5 h)',
    ),
  ticket_age_ms: z.number().int().nonnegative().nullable().optional(),
  authorizer_state: z
    .enum(['authorized', 'unauthorized'])
    .optional()
    .describe(
      "A platform's customer (WeCom company, DingTalk corp): unauthorized once the platform ended it (410)",
    ),
  tenants: z
    .strictObject({
      total: count,
      authorized: count,
      unauthorized: count.describe('Tombstones: the platform ended them (410 AUTHORIZER_REVOKED)'),
      needs_reauthorization: count.describe('Refresh token given up (409 NEEDS_REAUTHORIZATION)'),
    })
    .optional()
    .describe(
      'A platform secret (WeChat component, WeCom or DingTalk suite, Feishu store app): its customers (the secrets naming it as parent) by state, counted (count() queries), not listed',
    ),
  foreign_use: z
    .strictObject({ wechat_used: count, broker_calls: count, day: z.string() })
    .optional()
    .describe(
      'WeChat counted more token fetches this UTC+8 day than the broker made: another system uses this appid',
    ),
});

export const refreshSummarySchema = z.strictObject({
  refreshed: count,
  failed: count,
  skipped: count.describe('Due, but not refreshed now (another instance holds the lease, budget used, ...)'),
  complete: z.boolean().describe('False when the time budget ran out with due tokens left for the next run'),
});

/** GET /api/keys (http/routes/keys.ts): key ids and counts, never a key. */
export const keysStatusSchema = z.strictObject({
  current: z.string().describe('The id of the key new values are sealed under'),
  keys: z.array(z.string()).describe('The configured key ids, the current one first'),
  counts: z
    .record(z.string(), count)
    .describe('Sealed values per key id: every configured key, and any other id values are still under'),
});

/** POST /api/keys/reseal: one page of the reseal. */
export const resealResultSchema = z.strictObject({
  resealed: count.describe('Values sealed again under the current key by this call'),
  scanned: count.describe('Documents looked at by this call'),
  unreadable: count.describe('Values under a key that is not configured: left as they are'),
  complete: z.boolean().describe('Every document has been looked at: no cursor follows'),
  cursor: z.string().min(1).optional().describe('Where the next call continues'),
});

export const deletedSchema = okEnvelope(z.strictObject({ deleted: z.literal(true) }));

/** The WeChat-compatible routes (README "SDKs that only take a base URL"): the provider's own format, always HTTP 200. */
const seconds = count.describe('Whole seconds for which the app may use it');
export const compatAnswerSchema = z.union([
  z.strictObject({ access_token: z.string().min(1), expires_in: seconds }),
  z.strictObject({ component_access_token: z.string().min(1), expires_in: seconds }),
  z.strictObject({
    authorizer_access_token: z.string().min(1),
    expires_in: seconds,
    authorizer_refresh_token: z.string(),
  }),
  z.strictObject({
    errcode: z.literal(0),
    errmsg: z.literal('ok'),
    access_token: z.string().min(1),
    expires_in: seconds,
  }),
  z.strictObject({
    errcode: z.literal(0),
    errmsg: z.literal('ok'),
    ticket: z.string().min(1),
    expires_in: seconds,
  }),
  z.strictObject({
    errcode: z
      .number()
      .int()
      .refine((n) => n !== 0, 'an error is not errcode 0'),
    errmsg: z.string(),
  }),
]);

/** Checked loosely here; its structure is what the OpenAPI test checks. */
export const openApiDocumentSchema = z.looseObject({
  openapi: z.string(),
  info: z.looseObject({ title: z.string(), version: z.string() }),
  paths: jsonObject,
});

/** The response components of the document, by name. */
export const RESPONSE_COMPONENTS = {
  Error: errorResponseSchema,
  Health: healthResponseSchema,
  Token: tokenResponseSchema,
  CompatAnswer: compatAnswerSchema,
  JssdkSignature: jssdkSignatureSchema,
  Realm: realmViewSchema,
  RealmSaved: realmSavedSchema,
  RealmList: listEnvelope(realmViewSchema),
  Secret: secretViewSchema,
  SecretSaved: secretSavedSchema,
  SecretList: listEnvelope(secretViewSchema),
  Client: clientViewSchema,
  ClientCreated: clientCreatedSchema,
  ClientList: listEnvelope(clientViewSchema),
  Preset: presetSchema,
  PresetList: listEnvelope(presetSchema),
  StatusEntry: statusEntrySchema,
  StatusList: okEnvelope(
    z.strictObject({
      list: z.array(statusEntrySchema),
      total: count,
      /** Why a key of this instance is missing (admins only: strangers learn "not ready"). */
      problems: z
        .strictObject({ admin_key: z.string().optional(), master_key: z.string().optional() })
        .optional(),
    }),
  ),
  RefreshSummary: okEnvelope(refreshSummarySchema),
  KeysStatus: keysStatusSchema,
  ResealResult: resealResultSchema,
  Deleted: deletedSchema,
  /** The event route's plain-text answer (`success`, or the decrypted echostr). */
  EventAnswer: z.string(),
  StartPush: z.strictObject({
    realm: z.string(),
    key: z.string(),
    start_push: z.enum(['sent', 'recently_sent']),
  }),
  ComponentSync: z.strictObject({
    realm: z.string(),
    key: z.string(),
    seen: count,
    created: count,
    recovered: count,
    unchanged: count,
    complete: z.boolean(),
    cursor: z.string().optional(),
    total: count,
  }),
  AuthorizeUrl: z.strictObject({
    realm: z.string(),
    key: z.string(),
    url: z.string(),
    expires_in: z.number().optional(),
  }),
  OpenApiDocument: openApiDocumentSchema,
} as const;
