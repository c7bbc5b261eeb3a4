/**
 * The OpenAPI 3.1 document of the HTTP API (GET /api/openapi.json), generated so that it cannot
 * drift from the code:
 * - operations come from the route tables themselves (method, path, auth → security), and building
 *   the document fails when a route has no entry in OPERATIONS or an entry has no route;
 * - request schemas are z.toJSONSchema of the zod schemas the routes parse with (exported by the
 *   route files), response schemas are those of api-schemas.ts, which the OpenAPI test checks real
 *   responses against.
 */
import { z } from 'zod';
import { realmSchema } from '../providers/realm-config';
import { RESPONSE_COMPONENTS } from './api-schemas';
import { OPS_RESPONSE_COMPONENTS } from './ops-schemas';
import * as audit from './routes/audit';
import * as clients from './routes/clients';
import * as componentAuthorizers from './routes/component-authorizers';
import * as keys from './routes/keys';
import { signatureQuerySchema } from './routes/jssdk-query';
import * as operations from './routes/operations';
import * as realms from './routes/realms';
import * as secrets from './routes/secrets';
import { tokenRequestSchema } from './routes/token-request';
import * as webhooks from './routes/webhooks';
import type { Auth, Route } from './types';

export const OPENAPI_VERSION = '3.1.1';
/** The API's version: package.json's (the OpenAPI test keeps them equal). */
export const API_VERSION = '0.1.0';

export type FunctionName = 'tokenServer' | 'tokenServerCache';
export type RouteTables = Readonly<Record<FunctionName, readonly Route[]>>;
export type JsonSchema = z.core.JSONSchema.BaseSchema;

// ---------------------------------------------------------------------------------------------------
// JSON Schema generation

/**
 * How every schema of the document is made from zod: request shapes (io: input), JSON Schema 2020-12.
 * zod's own emitter gives strict objects `additionalProperties: false` and lists a preprocessed
 * field as required when the schema behind the preprocess step requires it.
 */
export const JSON_SCHEMA_OPTIONS = {
  target: 'draft-2020-12',
  io: 'input',
} satisfies z.core.ToJSONSchemaParams;

/** A plain copy without `$schema`/`$id`: OpenAPI 3.1 schemas are 2020-12 by default. */
function plain(schema: JsonSchema): JsonSchema {
  const { $schema: _dialect, $id: _id, ...rest } = JSON.parse(JSON.stringify(schema)) as JsonSchema;
  return rest;
}

/** z.toJSONSchema with the document's options, as it appears in the document. */
export function jsonSchemaOf(schema: z.ZodType): JsonSchema {
  return plain(z.toJSONSchema(schema, JSON_SCHEMA_OPTIONS));
}

// ---------------------------------------------------------------------------------------------------
// Components

/** The request bodies, each the very schema its route parses with. */
export const REQUEST_COMPONENTS = {
  TokenRequest: tokenRequestSchema,
  RealmInput: realmSchema,
  SecretInput: secrets.secretBodySchema,
  ClientInput: clients.clientBodySchema,
  RefreshRequest: operations.refreshSchema,
  ResealRequest: keys.resealBodySchema,
  AuditHashInput: audit.auditHashBodySchema,
  WebhookInput: webhooks.webhookBodySchema,
  ComponentSyncRequest: componentAuthorizers.syncBodySchema,
} as const;

export const COMPONENTS = {
  ...REQUEST_COMPONENTS,
  ...RESPONSE_COMPONENTS,
  ...OPS_RESPONSE_COMPONENTS,
} as const;
export type ComponentName = keyof typeof COMPONENTS;

const componentRef = (name: ComponentName) => ({ $ref: `#/components/schemas/${name}` });

function componentSchemas(): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(COMPONENTS)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    ...JSON_SCHEMA_OPTIONS,
    uri: (id) => `#/components/schemas/${id}`,
  });
  return Object.fromEntries(Object.entries(schemas).map(([id, schema]) => [id, plain(schema)]));
}

// ---------------------------------------------------------------------------------------------------
// Operations

type Tag = 'token' | 'realms' | 'secrets' | 'clients' | 'operations' | 'audit' | 'webhooks' | 'meta';

const TAGS: ReadonlyArray<{ name: Tag; description: string }> = [
  { name: 'token', description: 'Tokens for apps (client key or admin key)' },
  { name: 'realms', description: 'Upstream provider definitions (admin)' },
  { name: 'secrets', description: 'Credentials at a provider, stored encrypted, answered masked (admin)' },
  { name: 'clients', description: 'App credentials scoped to realm/key pairs (admin)' },
  { name: 'operations', description: 'Status and refresh (admin)' },
  { name: 'audit', description: 'The audit log of changes (admin)' },
  { name: 'webhooks', description: 'Signed event deliveries (admin)' },
  { name: 'meta', description: 'Health and this document (no authentication)' },
];

type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429 | 502 | 503 | 504;

export interface OperationDoc {
  operationId: string;
  tag: Tag;
  summary: string;
  description?: string;
  /** Object schema whose fields are the path parameters (`:id` in the route pattern). */
  path?: z.ZodType;
  /** Object schema whose fields are the query parameters. */
  query?: z.ZodType;
  body?: { component: ComponentName; required: boolean };
  success: { status: number; description: string; component: ComponentName };
  /** Errors beyond those every such route can answer (input → 400, auth → 401/403/503, body → 413/415). */
  errors?: readonly ErrorStatus[];
}

/** The WeChat-compatible routes (README "SDKs that only take a base URL"): answered in the provider's format, always HTTP 200. */
function compatOperations(): Record<string, OperationDoc> {
  const common = (summary: string, description: string, operationId: string): OperationDoc => ({
    operationId,
    tag: 'token',
    summary,
    description:
      `${description} The client key stands where the provider expects the app secret; \`{realm}/{key}\` ` +
      "names the secret whose token is answered. Every answer is HTTP 200 in the provider's format: " +
      'errors are `{"errcode", "errmsg"}` (40125 WeChat / 40001 WeCom: wrong client key; 48001: out of ' +
      "scope; 40013: appid/corpid is not the secret's key_1; the provider's own code when it failed; -1: " +
      'busy, retry; 45009: daily budget spent). `expires_in` is whole seconds.',
    path: secrets.secretParamsSchema,
    success: { status: 200, description: 'The token, or an errcode', component: 'CompatAnswer' },
  });
  return {
    'GET /wechat/:realm/:key/cgi-bin/token': common(
      'WeChat-compatible getAccessToken',
      'Query: `grant_type=client_credential`, `appid`, `secret` (the client key).',
      'compatWechatToken',
    ),
    'POST /wechat/:realm/:key/cgi-bin/stable_token': common(
      'WeChat-compatible stable_token',
      'JSON body: `grant_type`, `appid`, `secret` (the client key), `force_refresh` (true: a flush).',
      'compatWechatStableToken',
    ),
    'GET /wecom/:realm/:key/cgi-bin/gettoken': common(
      'WeCom-compatible gettoken',
      'Query: `corpid`, `corpsecret` (the client key).',
      'compatWecomToken',
    ),
    'GET /wechat/:realm/:key/cgi-bin/ticket/getticket': common(
      'WeChat-compatible jsapi ticket',
      "Query: `type=jsapi`, `access_token` (the client key, or the ticket parent's current or just replaced token); `{realm}/{key}` is a ticket secret.",
      'compatWechatTicket',
    ),
    'POST /wechat-open/:realm/:key/cgi-bin/component/api_component_token': common(
      'WeChat Open Platform-compatible api_component_token',
      'JSON body: `component_appid`, `component_appsecret` (the client key), `component_verify_ticket` (ignored); `{realm}/{key}` is the component secret. Answers `{"component_access_token", "expires_in"}`.',
      'compatOpenComponentToken',
    ),
    'POST /wechat-open/:realm/:key/cgi-bin/component/api_authorizer_token': common(
      'WeChat Open Platform-compatible api_authorizer_token',
      'Query `component_access_token` (a client key scoped to the authorizer secret, or the component token this broker answered); JSON body `component_appid`, `authorizer_appid`, `authorizer_refresh_token` (ignored); `{realm}/{key}` is the component secret. Answers `{"authorizer_access_token", "expires_in", "authorizer_refresh_token"}`, the last a placeholder: the real one never leaves the broker.',
      'compatOpenAuthorizerToken',
    ),
    'GET /wecom/:realm/:key/cgi-bin/get_jsapi_ticket': common(
      'WeCom-compatible jsapi ticket',
      "Query: `access_token` (the client key, or the ticket parent's current or just replaced token); `{realm}/{key}` is a ticket secret.",
      'compatWecomTicket',
    ),
  };
}

/** Every route of both functions, by `METHOD /pattern`. */
export const OPERATIONS: Readonly<Record<string, OperationDoc>> = {
  'GET /healthz': {
    operationId: 'health',
    tag: 'meta',
    summary: 'Liveness',
    description: 'Does not touch the store.',
    success: { status: 200, description: 'Alive', component: 'Health' },
  },
  'GET /api/openapi.json': {
    operationId: 'getOpenApi',
    tag: 'meta',
    summary: 'This OpenAPI 3.1 document',
    success: { status: 200, description: 'The document', component: 'OpenApiDocument' },
  },
  'GET /api/token': {
    operationId: 'getToken',
    tag: 'token',
    summary: 'Get a token (query string)',
    description:
      'The current token of a secret, fetched from the provider at most once per due time across all ' +
      'instances. `flush=true` asks for a token fetched now (concurrent flushes cause one upstream call; ' +
      'within `flush_min_interval_ms` of the last fetch, that token is returned). `invalid_token` reports a ' +
      'token the provider rejected: it is refreshed only if it is still current. On tokenServerCache, a hit ' +
      'is answered from instance memory (`source: memory`).',
    query: tokenRequestSchema,
    success: { status: 200, description: 'The token', component: 'Token' },
    errors: [404, 429, 502, 503, 504],
  },
  'GET /api/jssdk/signature': {
    operationId: 'getJssdkSignature',
    tag: 'token',
    summary: 'The JS-SDK signature of a page URL',
    description:
      'For `wx.config` (and WeCom `wx.agentConfig`): SHA-1 (hex) of ' +
      '`jsapi_ticket=T&noncestr=N&timestamp=S&url=U` with the current ticket of realm/key (a ticket ' +
      'secret, e.g. of preset `wechat_jsapi_ticket`) and `url` without its `#` fragment. The ticket ' +
      'itself is never answered.',
    query: signatureQuerySchema,
    success: { status: 200, description: 'The signature', component: 'JssdkSignature' },
    errors: [404, 429, 502, 503, 504],
  },
  'POST /api/token': {
    operationId: 'postToken',
    tag: 'token',
    summary: 'Get a token (JSON body)',
    description: 'As `GET /api/token`, with the fields in a JSON body.',
    body: { component: 'TokenRequest', required: true },
    success: { status: 200, description: 'The token', component: 'Token' },
    errors: [404, 429, 502, 503, 504],
  },
  ...compatOperations(),
  'POST /events/:realm/:key': {
    operationId: 'receiveEvent',
    tag: 'meta',
    summary: "A platform's pushed message (WeChat Open Platform: the 授权事件接收URL)",
    description:
      'No bearer: WXBizMsgCrypt, query `timestamp`, `nonce`, `msg_signature`, `encrypt_type=aes`, XML body ' +
      '`<xml><AppId/><Encrypt/></xml>` (at most 16 KiB). A verified message is answered with the plain text ' +
      '`success`; anything that cannot be verified (unknown realm or key included) is the same 401, with ' +
      "nothing stored. Messages more than 5 minutes from the store's time are refused.",
    path: secrets.secretParamsSchema,
    success: { status: 200, description: '`success` (text/plain)', component: 'EventAnswer' },
    errors: [401],
  },
  'GET /events/:realm/:key': {
    operationId: 'verifyEventUrl',
    tag: 'meta',
    summary: "The platform console's URL check",
    description:
      'Query `timestamp`, `nonce`, `msg_signature`, `echostr` (encrypted): answers the decrypted echo as text.',
    path: secrets.secretParamsSchema,
    success: { status: 200, description: 'The decrypted echostr (text/plain)', component: 'EventAnswer' },
    errors: [401],
  },
  'POST /api/component/:realm/:key/start-push': {
    operationId: 'startPush',
    tag: 'operations',
    summary: 'Ask the platform to push its ticket now (api_start_push_ticket)',
    description:
      'For a secret whose realm references `${ticket}` (preset wechat_component). The broker also asks by ' +
      'itself, at most once per 10 minutes, when a token is needed and no usable ticket is stored.',
    path: secrets.secretParamsSchema,
    success: { status: 200, description: 'The call was sent', component: 'StartPush' },
    errors: [404, 502, 504],
  },
  'POST /api/component/:realm/:key/sync': {
    operationId: 'syncAuthorizers',
    tag: 'operations',
    summary: "Create and recover the component's authorizer secrets from api_get_authorizer_list",
    description:
      'Pages through the list (500 a page): creates missing authorizer secrets, recovers those without a ' +
      'usable refresh token, leaves the others. Answers this call’s counts; `complete: false` with a ' +
      '`cursor` when its time ran out (or `max_pages` pages were done): the next call takes `{"cursor"}`.',
    path: secrets.secretParamsSchema,
    body: { component: 'ComponentSyncRequest', required: false },
    success: { status: 200, description: 'This call’s counts', component: 'ComponentSync' },
    errors: [404, 502, 503, 504],
  },
  'GET /api/component/:realm/:key/authorize-url': {
    operationId: 'authorizeUrl',
    tag: 'operations',
    summary: 'The authorization page URL with a fresh pre_auth_code (api_create_preauthcode)',
    path: secrets.secretParamsSchema,
    query: componentAuthorizers.authorizeQuerySchema,
    success: {
      status: 200,
      description: 'The URL to send the account’s admin to',
      component: 'AuthorizeUrl',
    },
    errors: [404, 502, 503, 504],
  },
  'GET /api/status': {
    operationId: 'getStatus',
    tag: 'operations',
    summary: 'Status of each secret’s token (never the token itself), paged',
    description:
      'Without `limit` or `pageSize`, the first 100 entries; `next_cursor` continues. `state` filters after ' +
      'reading (a token’s state depends on the time): one request reads at most 1,000 token documents, so ' +
      'a page may hold fewer than `limit` entries and still carry `next_cursor`; `total` counts the entries ' +
      'before the `state` filter.',
    query: operations.statusQuerySchema,
    success: { status: 200, description: 'A page of entries, one per secret', component: 'StatusList' },
  },
  'POST /api/refresh': {
    operationId: 'refreshDue',
    tag: 'operations',
    summary: 'Refresh every due token',
    description:
      'For Cloud Scheduler; the scheduled function tokenServerRefresh runs the same code every minute. ' +
      'Reads only the due tokens (a query on their due time). `concurrency` (query or body) bounds the ' +
      'refreshes running at once (default 32); no refresh starts after 30 s, and what is left is still ' +
      'due for the next run (`complete: false`).',
    query: operations.refreshSchema,
    body: { component: 'RefreshRequest', required: false },
    success: {
      status: 200,
      description: 'Counts of refreshed, failed and skipped secrets',
      component: 'RefreshSummary',
    },
  },
  'GET /api/realm': {
    operationId: 'listRealms',
    tag: 'realms',
    summary: 'List realms',
    description:
      '`keyword` matches the id or the comment. Paged by `limit` and `cursor` (`next_cursor` of the previous ' +
      'page), or by `page`/`pageSize`.',
    query: realms.listQuerySchema,
    success: { status: 200, description: 'A page of realms', component: 'RealmList' },
  },
  'POST /api/realm': {
    operationId: 'putRealm',
    tag: 'realms',
    summary: 'Create or replace a realm',
    description:
      'The read-only fields `created_at` and `updated_at` of a realm as answered are accepted and ignored, ' +
      'so that a realm can be fetched, edited and posted back.',
    body: { component: 'RealmInput', required: true },
    success: { status: 200, description: 'The stored realm, with warnings', component: 'RealmSaved' },
  },
  'GET /api/realm/:id': {
    operationId: 'getRealm',
    tag: 'realms',
    summary: 'Get a realm',
    path: realms.idParamsSchema,
    success: { status: 200, description: 'The realm', component: 'Realm' },
    errors: [404],
  },
  'DELETE /api/realm/:id': {
    operationId: 'deleteRealm',
    tag: 'realms',
    summary: 'Delete a realm',
    description: 'Refused (409) while secrets still use it.',
    path: realms.idParamsSchema,
    success: { status: 200, description: 'Deleted', component: 'Deleted' },
    errors: [404, 409],
  },
  'GET /api/preset': {
    operationId: 'listPresets',
    tag: 'realms',
    summary: 'The built-in provider presets',
    description: 'Each a ready realm `config`, and what each `key_N` of a secret is.',
    success: { status: 200, description: 'Every preset', component: 'PresetList' },
  },
  'POST /api/secret': {
    operationId: 'putSecret',
    tag: 'secrets',
    summary: 'Create or replace a secret',
    description:
      'Values are encrypted at rest and answered masked. Replacing a secret discards its cached token and ' +
      'a remembered permanent provider error.',
    body: { component: 'SecretInput', required: true },
    success: { status: 200, description: 'The secret, masked, with warnings', component: 'SecretSaved' },
    errors: [404],
  },
  'GET /api/secret': {
    operationId: 'listSecrets',
    tag: 'secrets',
    summary: 'List secrets (masked)',
    description: 'Paged by `limit` and `cursor`, or by `page`/`pageSize`; `realm` filters.',
    query: secrets.listQuerySchema,
    success: { status: 200, description: 'A page of secrets', component: 'SecretList' },
  },
  'GET /api/secret/:realm/:key': {
    operationId: 'getSecret',
    tag: 'secrets',
    summary: 'Get a secret (masked)',
    path: secrets.secretParamsSchema,
    success: { status: 200, description: 'The secret, masked', component: 'Secret' },
    errors: [404],
  },
  'DELETE /api/secret/:realm/:key': {
    operationId: 'deleteSecret',
    tag: 'secrets',
    summary: 'Delete a secret and its token',
    path: secrets.secretParamsSchema,
    success: { status: 200, description: 'Deleted', component: 'Deleted' },
    errors: [404],
  },
  'POST /api/client': {
    operationId: 'createClient',
    tag: 'clients',
    summary: 'Create a client (app credentials)',
    description: 'The answer carries `client_key`: the only time it is shown.',
    body: { component: 'ClientInput', required: true },
    success: { status: 201, description: 'The client and its key', component: 'ClientCreated' },
    errors: [404],
  },
  'GET /api/client': {
    operationId: 'listClients',
    tag: 'clients',
    summary: 'List clients (without keys)',
    description: 'By creation time; paged by `limit` and `cursor`, or by `page`/`pageSize`.',
    query: clients.listQuerySchema,
    success: { status: 200, description: 'A page of clients', component: 'ClientList' },
  },
  'DELETE /api/client/:id': {
    operationId: 'revokeClient',
    tag: 'clients',
    summary: 'Revoke a client',
    description: 'Takes effect within the client cache time (at most 60 s) on every instance.',
    path: clients.idParamsSchema,
    success: { status: 200, description: 'Revoked', component: 'Deleted' },
    errors: [404],
  },
  'GET /api/keys': {
    operationId: 'getKeys',
    tag: 'operations',
    summary: 'Master keys: the current id, and sealed values per key id',
    description:
      'Counted without opening anything. An old key may be removed from the configuration once its ' +
      'count is 0 (after `POST /api/keys/reseal` has completed on every function).',
    success: { status: 200, description: 'Key ids and counts', component: 'KeysStatus' },
  },
  'POST /api/keys/reseal': {
    operationId: 'reseal',
    tag: 'operations',
    summary: 'Seal stored values again under the current master key, one page per call',
    description:
      'Looks at up to `limit` documents from `cursor` and writes each value not under the current key ' +
      'again, by compare-and-set (a value written meanwhile is never overwritten). Call again with the ' +
      'answered `cursor` until `complete`; safe while traffic flows and while another reseal runs.',
    body: { component: 'ResealRequest', required: false },
    success: { status: 200, description: 'What this page did', component: 'ResealResult' },
  },
  'GET /api/audit': {
    operationId: 'listAudit',
    tag: 'audit',
    summary: 'The audit log, newest first',
    description: 'Filtered by `action`, `target`, `since` and `hash`; paged by `limit` and `cursor`.',
    query: audit.auditQuerySchema,
    success: { status: 200, description: 'A page of audit records', component: 'AuditList' },
  },
  'POST /api/audit/hash': {
    operationId: 'auditHash',
    tag: 'audit',
    summary: 'The HMAC a secret value is recorded as',
    description: 'For `GET /api/audit?hash=`: the log holds values only as these HMACs.',
    body: { component: 'AuditHashInput', required: true },
    success: { status: 200, description: 'The HMAC', component: 'AuditHash' },
  },
  'POST /api/webhook': {
    operationId: 'createWebhook',
    tag: 'webhooks',
    summary: 'Create a webhook',
    description: 'The answer carries the signing `secret`: the only time it is shown.',
    body: { component: 'WebhookInput', required: true },
    success: { status: 201, description: 'The webhook and its secret', component: 'WebhookCreated' },
    errors: [409],
  },
  'GET /api/webhook': {
    operationId: 'listWebhooks',
    tag: 'webhooks',
    summary: 'List webhooks (without secrets)',
    query: webhooks.listQuerySchema,
    success: { status: 200, description: 'A page of webhooks', component: 'WebhookList' },
  },
  'GET /api/webhook/:id': {
    operationId: 'getWebhook',
    tag: 'webhooks',
    summary: 'Get a webhook (without its secret)',
    path: webhooks.idParamsSchema,
    success: { status: 200, description: 'The webhook', component: 'Webhook' },
    errors: [404],
  },
  'DELETE /api/webhook/:id': {
    operationId: 'deleteWebhook',
    tag: 'webhooks',
    summary: 'Delete a webhook',
    path: webhooks.idParamsSchema,
    success: { status: 200, description: 'Deleted', component: 'Deleted' },
    errors: [404],
  },
};

const ERROR_DESCRIPTIONS: Readonly<Record<ErrorStatus, string>> = {
  400: 'Invalid request: `error.details.field` names the first offending field, `error.details.issues` every issue',
  401: 'Missing or wrong bearer key',
  403: 'The client key is valid but not scoped to this realm/key',
  404: 'Not found',
  409: 'Conflict with the current state',
  413: 'The body is larger than 64 KiB',
  415: 'The body is not JSON',
  429: 'The secret’s daily upstream-call budget is spent and no valid token is cached (`Retry-After`)',
  502: 'The provider failed; `error.details` carries its HTTP status and error code/message',
  503: 'Not ready (a key is not configured, or configuration is invalid) or still refreshing (`Retry-After`)',
  504: 'The provider timed out',
};

const RETRY_AFTER = {
  'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer', minimum: 1 } },
};

const SECURITY: Readonly<Record<Auth, Array<Record<string, string[]>>>> = {
  none: [],
  admin: [{ adminKey: [] }],
  token: [{ clientKey: [] }, { adminKey: [] }],
};

// ---------------------------------------------------------------------------------------------------
// The document

export interface OpenApiParameter {
  name: string;
  in: 'query' | 'path';
  required: boolean;
  schema: JsonSchema;
}

export interface OpenApiResponse {
  description: string;
  headers?: Record<string, unknown>;
  content: { 'application/json': { schema: { $ref: string } } };
}

export interface OpenApiOperation {
  operationId: string;
  tags: Tag[];
  summary: string;
  description?: string;
  security: Array<Record<string, string[]>>;
  parameters?: OpenApiParameter[];
  requestBody?: { required: boolean; content: { 'application/json': { schema: { $ref: string } } } };
  responses: Record<string, OpenApiResponse>;
  /** Which functions serve this operation. */
  'x-functions': FunctionName[];
}

export type HttpMethod = 'get' | 'post' | 'delete';

export interface OpenApiDocument {
  openapi: string;
  info: {
    title: string;
    version: string;
    description: string;
    license: { name: string; identifier: string };
  };
  tags: Array<{ name: Tag; description: string }>;
  paths: Record<string, Partial<Record<HttpMethod, OpenApiOperation>>>;
  components: {
    schemas: Record<string, JsonSchema>;
    securitySchemes: Record<
      'adminKey' | 'clientKey',
      { type: 'http'; scheme: 'bearer'; description: string }
    >;
  };
}

const DESCRIPTION = [
  'A broker for third-party API access tokens, served by two Cloud Functions: **tokenServer** (every ',
  'operation) and **tokenServerCache** (the token route and health, with an in-instance memory cache); ',
  '`x-functions` says which serve an operation. Paths are relative to the function URL ',
  '(`https://REGION-PROJECT.cloudfunctions.net/tokenServer` or its `run.app` URL).\n\n',
  'Bodies are JSON, at most 64 KiB. Unknown fields and query parameters are refused (400) rather than ',
  'ignored. Every error is `{"error": {"code", "message", "details"?}}`.',
].join('');

/** `/api/realm/:id` → `/api/realm/{id}`. */
export function openApiPath(pattern: string): string {
  return pattern.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function parametersOf(schema: z.ZodType, where: 'query' | 'path'): OpenApiParameter[] {
  const json = jsonSchemaOf(schema);
  const required = new Set(json.required ?? []);
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: where,
    required: where === 'path' || required.has(name),
    schema: property as JsonSchema,
  }));
}

function errorStatuses(route: Route, doc: OperationDoc): ErrorStatus[] {
  const statuses = new Set<ErrorStatus>(doc.errors ?? []);
  if (doc.path !== undefined || doc.query !== undefined || doc.body !== undefined) statuses.add(400);
  if (doc.body !== undefined) {
    statuses.add(413);
    statuses.add(415);
  }
  if (route.auth !== 'none') {
    statuses.add(401);
    statuses.add(503);
  }
  if (route.auth === 'token') statuses.add(403);
  return [...statuses].sort((a, b) => a - b);
}

function operationOf(route: Route, doc: OperationDoc, functions: FunctionName[]): OpenApiOperation {
  const pathNames = [...route.pattern.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]);
  const parameters = [
    ...(doc.path === undefined ? [] : parametersOf(doc.path, 'path')),
    ...(doc.query === undefined ? [] : parametersOf(doc.query, 'query')),
  ];
  const documented = parameters.filter((p) => p.in === 'path').map((p) => p.name);
  if (documented.join() !== pathNames.join()) {
    throw new Error(
      `OpenAPI: ${route.method} ${route.pattern} documents path parameters [${documented.join()}]`,
    );
  }
  const json = (name: ComponentName) => ({ 'application/json': { schema: componentRef(name) } });
  const responses: Record<string, OpenApiResponse> = {
    [String(doc.success.status)]: {
      description: doc.success.description,
      content: json(doc.success.component),
    },
  };
  for (const status of errorStatuses(route, doc)) {
    responses[String(status)] = {
      description: ERROR_DESCRIPTIONS[status],
      ...(status === 429 || status === 503 ? { headers: RETRY_AFTER } : {}),
      content: json('Error'),
    };
  }
  responses.default = {
    description: 'Unexpected error (a generic message with a request id)',
    content: json('Error'),
  };
  return {
    operationId: doc.operationId,
    tags: [doc.tag],
    summary: doc.summary,
    ...(doc.description === undefined ? {} : { description: doc.description }),
    security: SECURITY[route.auth],
    ...(parameters.length === 0 ? {} : { parameters }),
    ...(doc.body === undefined
      ? {}
      : { requestBody: { required: doc.body.required, content: json(doc.body.component) } }),
    responses,
    'x-functions': functions,
  };
}

/**
 * The document for these route tables. Throws when a route has no entry in OPERATIONS, an entry
 * has no route, or one route is protected differently in two functions.
 */
export function buildOpenApiDocument(tables: RouteTables): OpenApiDocument {
  const found = new Map<string, { route: Route; functions: FunctionName[] }>();
  for (const [fn, routes] of Object.entries(tables) as Array<[FunctionName, readonly Route[]]>) {
    for (const route of routes) {
      const id = `${route.method} ${route.pattern}`;
      const seen = found.get(id);
      if (seen === undefined) found.set(id, { route, functions: [fn] });
      else if (seen.route.auth !== route.auth) throw new Error(`OpenAPI: ${id} differs in authentication`);
      else if (!seen.functions.includes(fn)) seen.functions.push(fn);
    }
  }
  const undocumented = [...found.keys()].filter((id) => OPERATIONS[id] === undefined);
  const stale = Object.keys(OPERATIONS).filter((id) => !found.has(id));
  if (undocumented.length > 0 || stale.length > 0) {
    throw new Error(
      `OpenAPI: routes without a description: [${undocumented.join(', ')}]; descriptions without a route: [${stale.join(', ')}]`,
    );
  }
  const paths: OpenApiDocument['paths'] = {};
  for (const [id, { route, functions }] of found) {
    const doc = OPERATIONS[id] as OperationDoc;
    const item = (paths[openApiPath(route.pattern)] ??= {});
    item[route.method.toLowerCase() as HttpMethod] = operationOf(route, doc, functions);
  }
  return {
    openapi: OPENAPI_VERSION,
    info: {
      title: 'token-server',
      version: API_VERSION,
      description: DESCRIPTION,
      license: { name: 'MIT', identifier: 'MIT' },
    },
    tags: [...TAGS],
    paths,
    components: {
      schemas: componentSchemas(),
      securitySchemes: {
        adminKey: {
          type: 'http',
          scheme: 'bearer',
          description: 'The admin key (TOKEN_SERVER_ADMIN_KEY): every route, including the token route',
        },
        clientKey: {
          type: 'http',
          scheme: 'bearer',
          description: 'A client key (POST /api/client), scoped to realm/key pairs: the token route only',
        },
      },
    },
  };
}
