/**
 * GET /api/openapi.json cannot drift from the code:
 * - every route of both functions is in the document with its method and authentication, and the
 *   document has no operation without a route;
 * - request schemas are z.toJSONSchema of the schemas the routes parse with, and what the document
 *   says about required and unknown fields is what the routes do;
 * - every response of a scenario that calls every operation matches the documented schema for its
 *   status (and the status is documented);
 * - the document is structurally OpenAPI 3.1.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { parseConfig } from '../../functions/config';
import { createHandler, type HttpHandler } from '../../functions/http/app';
import {
  buildOpenApiDocument,
  COMPONENTS,
  JSON_SCHEMA_OPTIONS,
  openApiPath,
  type ComponentName,
  type HttpMethod,
  type JsonSchema,
  type OpenApiDocument,
  type OpenApiOperation,
} from '../../functions/http/openapi';
import { findRoute } from '../../functions/http/router';
import { cacheRoutes, fullRoutes } from '../../functions/http/routes';
import * as audit from '../../functions/http/routes/audit';
import * as clients from '../../functions/http/routes/clients';
import * as componentAuthorizers from '../../functions/http/routes/component-authorizers';
import { resealBodySchema } from '../../functions/http/routes/keys';
import { refreshSchema, statusQuerySchema } from '../../functions/http/routes/operations';
import * as realms from '../../functions/http/routes/realms';
import * as secrets from '../../functions/http/routes/secrets';
import { signatureQuerySchema } from '../../functions/http/routes/jssdk-query';
import { tokenRequestSchema } from '../../functions/http/routes/token-request';
import * as webhooks from '../../functions/http/routes/webhooks';
import type { Route } from '../../functions/http/types';
import { realmSchema } from '../../functions/providers/realm-config';
import { createRuntime, type Runtime } from '../../functions/runtime';
import { MemoryStore } from '../../functions/store/memory/memory-store';
import { Sealer } from '../../functions/store/seal';
import { realmFor, startFakeProvider, type FakeProvider } from '../fakes/providers';
import { ticketRealm } from '../fakes/tickets';
import { startWechatOpenFake } from '../fakes/wechat-open';
import { AuthorizerDirectory, authorizerRealmConfig } from '../fakes/wechat-open-authorizers';
import { allowInLastResponse } from '../helpers/leak-registry';
import { callHandler, type FakeResponse } from '../helpers/fake-express';
import { repoRoot } from '../helpers/processes';
import { adminApp, type AdminApp } from './admin/admin-harness';

const METHODS: readonly HttpMethod[] = ['get', 'post', 'delete'];

/** The schemas each route parses with, taken from the route files (not from the generator). */
const ROUTE_INPUTS: Readonly<Record<string, { body?: z.ZodType; query?: z.ZodType; path?: z.ZodType }>> = {
  'GET /api/token': { query: tokenRequestSchema },
  'POST /api/token': { body: tokenRequestSchema },
  'GET /api/jssdk/signature': { query: signatureQuerySchema },
  'POST /api/refresh': { body: refreshSchema, query: refreshSchema },
  'GET /api/status': { query: statusQuerySchema },
  'GET /api/realm': { query: realms.listQuerySchema },
  'POST /api/realm': { body: realmSchema },
  'GET /api/realm/:id': { path: realms.idParamsSchema },
  'DELETE /api/realm/:id': { path: realms.idParamsSchema },
  'POST /api/secret': { body: secrets.secretBodySchema },
  'GET /api/secret': { query: secrets.listQuerySchema },
  'GET /api/secret/:realm/:key': { path: secrets.secretParamsSchema },
  'DELETE /api/secret/:realm/:key': { path: secrets.secretParamsSchema },
  'POST /api/client': { body: clients.clientBodySchema },
  'GET /api/client': { query: clients.listQuerySchema },
  'DELETE /api/client/:id': { path: clients.idParamsSchema },
  'POST /api/keys/reseal': { body: resealBodySchema },
  'GET /api/audit': { query: audit.auditQuerySchema },
  'POST /api/audit/hash': { body: audit.auditHashBodySchema },
  'POST /api/webhook': { body: webhooks.webhookBodySchema },
  'GET /api/webhook': { query: webhooks.listQuerySchema },
  'GET /api/webhook/:id': { path: webhooks.idParamsSchema },
  'DELETE /api/webhook/:id': { path: webhooks.idParamsSchema },
  'GET /wechat/:realm/:key/cgi-bin/token': { path: secrets.secretParamsSchema },
  'POST /wechat/:realm/:key/cgi-bin/stable_token': { path: secrets.secretParamsSchema },
  'GET /wecom/:realm/:key/cgi-bin/gettoken': { path: secrets.secretParamsSchema },
  'GET /wechat/:realm/:key/cgi-bin/ticket/getticket': { path: secrets.secretParamsSchema },
  'GET /wecom/:realm/:key/cgi-bin/get_jsapi_ticket': { path: secrets.secretParamsSchema },
  'POST /events/:realm/:key': { path: secrets.secretParamsSchema },
  'GET /events/:realm/:key': { path: secrets.secretParamsSchema },
  'POST /api/component/:realm/:key/start-push': { path: secrets.secretParamsSchema },
  'POST /wechat-open/:realm/:key/cgi-bin/component/api_component_token': { path: secrets.secretParamsSchema },
  'POST /wechat-open/:realm/:key/cgi-bin/component/api_authorizer_token': {
    path: secrets.secretParamsSchema,
  },
  'POST /api/component/:realm/:key/sync': {
    path: secrets.secretParamsSchema,
    body: componentAuthorizers.syncBodySchema,
  },
  'GET /api/component/:realm/:key/authorize-url': {
    path: secrets.secretParamsSchema,
    query: componentAuthorizers.authorizeQuerySchema,
  },
};

const PROBE = 'zz_not_a_field';

function tables(): { tokenServer: Route[]; tokenServerCache: Route[] } {
  return { tokenServer: fullRoutes(), tokenServerCache: cacheRoutes() };
}

function operations(doc: OpenApiDocument): Array<{ path: string; method: HttpMethod; op: OpenApiOperation }> {
  const out: Array<{ path: string; method: HttpMethod; op: OpenApiOperation }> = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (op !== undefined) out.push({ path, method, op });
    }
  }
  return out;
}

/** z.toJSONSchema as the document shows a schema: without `$schema`. */
function expectedJsonSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _dialect, ...rest } = JSON.parse(
    JSON.stringify(z.toJSONSchema(schema, JSON_SCHEMA_OPTIONS)),
  ) as JsonSchema;
  return rest;
}

function componentName(ref: string): ComponentName {
  const match = /^#\/components\/schemas\/(.+)$/.exec(ref);
  if (match === null || !((match[1] ?? '') in COMPONENTS)) throw new Error(`not a component ref: ${ref}`);
  return match[1] as ComponentName;
}

/** The parameters of one location as an object schema's properties and required list. */
function parametersAsObject(op: OpenApiOperation, where: 'query' | 'path') {
  const params = (op.parameters ?? []).filter((p) => p.in === where);
  return {
    properties: Object.fromEntries(params.map((p) => [p.name, p.schema])),
    required: params.filter((p) => p.required).map((p) => p.name),
  };
}

/** Structural OpenAPI 3.1 checks (what a validator would reject), as a list of problems. */
function openApiProblems(doc: OpenApiDocument): string[] {
  const problems: string[] = [];
  const raw = JSON.parse(JSON.stringify(doc)) as Record<string, unknown>;
  if (typeof raw.openapi !== 'string' || !/^3\.1\.\d+$/.test(raw.openapi))
    problems.push('openapi is not 3.1.x');
  const info = raw.info as Record<string, unknown> | undefined;
  if (typeof info?.title !== 'string' || typeof info.version !== 'string')
    problems.push('info needs title and version');
  const schemes = doc.components.securitySchemes as Record<string, { type?: string; scheme?: string }>;
  const schemas = doc.components.schemas;
  const tags = new Set(doc.tags.map((t) => t.name));
  const operationIds = new Set<string>();
  for (const [path, item] of Object.entries(raw.paths as Record<string, Record<string, unknown>>)) {
    if (!path.startsWith('/')) problems.push(`${path}: paths start with /`);
    for (const key of Object.keys(item)) {
      if (!['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'].includes(key)) {
        problems.push(`${path}: ${key} is not an HTTP method`);
      }
    }
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    for (const method of METHODS) {
      const op = doc.paths[path]?.[method];
      if (op === undefined) continue;
      const where = `${method.toUpperCase()} ${path}`;
      if (operationIds.has(op.operationId))
        problems.push(`${where}: duplicate operationId ${op.operationId}`);
      operationIds.add(op.operationId);
      for (const tag of op.tags) if (!tags.has(tag)) problems.push(`${where}: undeclared tag ${tag}`);
      const seen = new Set<string>();
      for (const p of op.parameters ?? []) {
        if (!['query', 'path', 'header', 'cookie'].includes(p.in))
          problems.push(`${where}: parameter in ${p.in}`);
        if (seen.has(`${p.in}:${p.name}`)) problems.push(`${where}: duplicate parameter ${p.name}`);
        seen.add(`${p.in}:${p.name}`);
        if (p.in === 'path' && p.required !== true)
          problems.push(`${where}: path parameter ${p.name} not required`);
      }
      const pathParams = (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
      if ([...pathParams].sort().join() !== [...templated].sort().join()) {
        problems.push(`${where}: path parameters [${pathParams.join()}] vs template [${templated.join()}]`);
      }
      const statuses = Object.keys(op.responses);
      if (statuses.length === 0) problems.push(`${where}: no responses`);
      for (const status of statuses) {
        if (!/^([1-5]\d\d|[1-5]XX|default)$/.test(status)) problems.push(`${where}: response key ${status}`);
        if (typeof op.responses[status]?.description !== 'string')
          problems.push(`${where} ${status}: no description`);
      }
      for (const requirement of op.security) {
        for (const name of Object.keys(requirement)) {
          if (schemes[name] === undefined) problems.push(`${where}: unknown security scheme ${name}`);
        }
      }
    }
  }
  for (const [name, scheme] of Object.entries(schemes)) {
    if (scheme.type !== 'http' || scheme.scheme !== 'bearer')
      problems.push(`securityScheme ${name} is not http bearer`);
  }
  // Every $ref resolves to a component.
  const walk = (value: unknown, at: string): void => {
    if (Array.isArray(value)) value.forEach((v, i) => walk(v, `${at}[${i}]`));
    else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        if (k === '$ref') {
          const match = /^#\/components\/schemas\/(.+)$/.exec(String(v));
          if (match === null || schemas[match[1] ?? ''] === undefined)
            problems.push(`${at}: dangling $ref ${String(v)}`);
        } else walk(v, `${at}.${k}`);
      }
    }
  };
  walk(raw, '$');
  return problems;
}

describe('OpenAPI document', () => {
  const doc = buildOpenApiDocument(tables());

  it('is structurally OpenAPI 3.1, with bearer security schemes and the package version', () => {
    expect(openApiProblems(doc)).to.deep.equal([]);
    expect(doc.openapi).to.match(/^3\.1\.\d+$/);
    expect(Object.keys(doc.components.securitySchemes).sort()).to.deep.equal(['adminKey', 'clientKey']);
    const pkg = JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { version: string };
    expect(doc.info.version).to.equal(pkg.version);
  });

  it('lists every route of both functions with its method and authentication, and nothing else', () => {
    const expected = new Map<string, { auth: string; functions: string[] }>();
    for (const [fn, routes] of Object.entries(tables())) {
      for (const route of routes) {
        const id = `${route.method.toLowerCase()} ${openApiPath(route.pattern)}`;
        const entry = expected.get(id) ?? { auth: route.auth, functions: [] };
        entry.functions.push(fn);
        expected.set(id, entry);
      }
    }
    const documented = operations(doc);
    expect(documented.map(({ method, path }) => `${method} ${path}`).sort()).to.deep.equal(
      [...expected.keys()].sort(),
    );
    const security = { none: [], admin: [{ adminKey: [] }], token: [{ clientKey: [] }, { adminKey: [] }] };
    for (const { method, path, op } of documented) {
      const want = expected.get(`${method} ${path}`);
      expect(op['x-functions'], `${method} ${path}`).to.deep.equal(want?.functions);
      expect(op.security, `${method} ${path}`).to.deep.equal(security[want?.auth as keyof typeof security]);
    }
  });

  it('refuses to build when a route is undocumented', () => {
    const extra: Route = {
      method: 'GET',
      pattern: '/api/new',
      auth: 'admin',
      handle: async () => ({ body: {} }),
    };
    expect(() =>
      buildOpenApiDocument({ tokenServer: [...fullRoutes(), extra], tokenServerCache: cacheRoutes() }),
    ).to.throw(/GET \/api\/new/);
    expect(() =>
      buildOpenApiDocument({
        tokenServer: fullRoutes().filter((r) => r.pattern !== '/api/status'),
        tokenServerCache: [],
      }),
    ).to.throw(/GET \/api\/status/);
  });

  it('shows each request schema as z.toJSONSchema of the schema its route parses with', () => {
    for (const { method, path, op } of operations(doc)) {
      const id = `${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`;
      const inputs = ROUTE_INPUTS[id] ?? {};
      if (inputs.body === undefined) expect(op.requestBody, id).to.equal(undefined);
      else {
        const ref = op.requestBody?.content['application/json'].schema.$ref ?? '';
        expect(doc.components.schemas[componentName(ref)], id).to.deep.equal(expectedJsonSchema(inputs.body));
      }
      for (const where of ['query', 'path'] as const) {
        const schema = inputs[where];
        const got = parametersAsObject(op, where);
        if (schema === undefined) {
          expect(got.properties, `${id} ${where}`).to.deep.equal({});
          continue;
        }
        const want = expectedJsonSchema(schema);
        expect(got.properties, `${id} ${where}`).to.deep.equal(want.properties);
        expect(got.required.sort(), `${id} ${where}`).to.deep.equal(
          where === 'path' ? Object.keys(want.properties ?? {}).sort() : [...(want.required ?? [])].sort(),
        );
      }
    }
  });

  it('shows each response schema as z.toJSONSchema of its api-schemas.ts schema', () => {
    for (const name of ['Token', 'Health', 'Error', 'StatusEntry', 'Secret', 'Realm', 'Client'] as const) {
      expect(doc.components.schemas[name], name).to.deep.equal(expectedJsonSchema(COMPONENTS[name]));
    }
  });
});

describe('OpenAPI document against the routes', () => {
  let app: AdminApp;
  before(async () => {
    app = await adminApp();
  });
  after(() => app.close());

  const doc = buildOpenApiDocument(tables());

  it('is served at GET /api/openapi.json without authentication', async () => {
    const res = await app.call('GET', '/api/openapi.json', undefined, { headers: { authorization: '' } });
    expect(res.status).to.equal(200);
    expect(res.headers['content-type']).to.match(/^application\/json\b/);
    expect(res.body).to.deep.equal(JSON.parse(JSON.stringify(doc)));
  });

  function issueFields(res: FakeResponse): string[] {
    const body = res.body as { error?: { details?: { issues?: Array<{ field: string }> } } };
    return (body.error?.details?.issues ?? []).map((i) => i.field);
  }

  it('requires exactly the fields it says are required, and refuses the unknown fields it says it refuses', async () => {
    for (const { method, path, op } of operations(doc)) {
      const url = path.replace(/\{[^}]+\}/g, 'x');
      const where = `${method.toUpperCase()} ${path}`;
      const ref = op.requestBody?.content['application/json'].schema.$ref;
      if (ref !== undefined) {
        const component = doc.components.schemas[componentName(ref)] as JsonSchema;
        const empty = await app.call(method, url, {});
        const required = component.required ?? [];
        if (required.length > 0) {
          expect(empty.status, where).to.equal(400);
          expect(issueFields(empty).sort(), where).to.deep.equal([...required].sort());
        } else expect(empty.status, where).to.not.equal(400);
        expect(component.additionalProperties, where).to.equal(false);
        const unknown = await app.call(method, url, { [PROBE]: 1 });
        expect(unknown.status, where).to.equal(400);
        expect(unknown.text, where).to.include(PROBE);
      }
      const query = (op.parameters ?? []).filter((p) => p.in === 'query');
      if (query.length > 0) {
        const none = await app.call(method, url);
        const required = query.filter((p) => p.required).map((p) => p.name);
        if (required.length > 0) {
          expect(none.status, where).to.equal(400);
          expect(issueFields(none).sort(), where).to.deep.equal(required.sort());
        } else expect(none.status, where).to.not.equal(400);
        const unknown = await app.call(method, `${url}?${PROBE}=1`);
        expect(unknown.status, where).to.equal(400);
        expect(unknown.text, where).to.include(PROBE);
      }
    }
  });
});

describe('OpenAPI document against real responses', function () {
  this.timeout(20_000);
  const doc = buildOpenApiDocument(tables());
  let fake: FakeProvider;
  let runtime: Runtime;
  let handlers: Record<'tokenServer' | 'tokenServerCache', HttpHandler>;
  const adminKey = randomBytes(32).toString('base64url');
  const seen = new Set<string>();

  before(async () => {
    fake = await startFakeProvider();
    const masterKey = randomBytes(32);
    runtime = await createRuntime(
      parseConfig({ TOKEN_SERVER_STORE: 'memory', TOKEN_SERVER_ALLOW_PRIVATE_UPSTREAMS: 'true' }),
      { keys: { adminKey, masterKey, problems: {} }, store: new MemoryStore(new Sealer(masterKey)) },
    );
    handlers = {
      tokenServer: createHandler({ name: 'tokenServer', routes: fullRoutes(), runtime: async () => runtime }),
      tokenServerCache: createHandler({
        name: 'tokenServerCache',
        routes: cacheRoutes(),
        runtime: async () => runtime,
      }),
    };
  });
  after(async () => {
    await fake.close();
  });

  /** Calls one function and checks the response against the document; answers the body. */
  async function call(
    method: string,
    url: string,
    options: {
      body?: unknown;
      headers?: Record<string, string>;
      bearer?: string | null;
      fn?: 'tokenServer' | 'tokenServerCache';
      status?: number;
    } = {},
  ): Promise<Record<string, unknown>> {
    const fn = options.fn ?? 'tokenServer';
    const res = await callHandler(handlers[fn], {
      method,
      url,
      ...(options.body === undefined ? {} : { body: options.body }),
      ...(options.headers === undefined ? {} : { headers: options.headers }),
      ...(options.bearer === null ? {} : { bearer: options.bearer ?? adminKey }),
    });
    const where = `${fn}: ${method} ${url} → ${res.status} ${res.text.slice(0, 300)}`;
    if (options.status !== undefined) expect(res.status, where).to.equal(options.status);
    const { route } = findRoute(
      fn === 'tokenServer' ? fullRoutes() : cacheRoutes(),
      method,
      url.split('?')[0] ?? url,
    );
    const op = doc.paths[openApiPath(route.pattern)]?.[method.toLowerCase() as HttpMethod];
    expect(op, where).to.not.equal(undefined);
    expect(op?.['x-functions'], where).to.include(fn);
    const documented = op?.responses[String(res.status)];
    expect(documented, `${where}: status not documented`).to.not.equal(undefined);
    const name = componentName(documented?.content['application/json'].schema.$ref ?? '');
    // The event route's answers are plain text (`success`, an echo), as the platform requires.
    const text = name === 'EventAnswer';
    expect(res.headers['content-type'], where).to.match(text ? /^text\/plain\b/ : /^application\/json\b/);
    const parsed = COMPONENTS[name].safeParse(text ? res.text : res.body);
    expect(parsed.success, `${where}: not a ${name}: ${parsed.error?.message ?? ''}`).to.equal(true);
    seen.add(`${op?.operationId ?? '?'} ${res.status}`);
    return res.body as Record<string, unknown>;
  }

  it('answers every operation as documented', async () => {
    await call('GET', '/healthz', { bearer: null, status: 200 });
    await call('GET', '/healthz', { bearer: null, status: 200, fn: 'tokenServerCache' });
    await call('GET', '/api/openapi.json', { bearer: null, status: 200 });
    await call('GET', '/api/preset', { status: 200 });
    await call('GET', '/api/realm', { bearer: null, status: 401 });

    const config = realmFor('wechat_offiaccount', fake.url);
    await call('POST', '/api/realm', { body: { id: 'wx', comment: 'fake WeChat', config }, status: 200 });
    await call('POST', '/api/realm', { body: { id: 'bad id', config }, status: 400 });
    await call('GET', '/api/realm?page=1&pageSize=5&keyword=wx', { status: 200 });
    await call('GET', '/api/realm/wx', { status: 200 });
    await call('GET', '/api/realm/nope', { status: 404 });

    const values = fake.credentials('wechat_offiaccount');
    await call('POST', '/api/secret', { body: { realm: 'wx', key: 'main', ...values }, status: 200 });
    await call('POST', '/api/secret', {
      body: { realm: 'wx', key: 'bad', key_1: 'wrong-id', key_2: 'wrong-secret' },
      status: 200,
    });
    await call('POST', '/api/secret', { body: { realm: 'nope', key: 'main', key_1: 'v' }, status: 404 });
    await call('GET', '/api/secret?realm=wx', { status: 200 });
    await call('GET', '/api/secret/wx/main', { status: 200 });

    const created = await call('POST', '/api/client', {
      body: { name: 'billing-app', scopes: [{ realm: 'wx', key: 'main' }] },
      status: 201,
    });
    const client = created as unknown as { id: string; client_key: string };
    await call('GET', '/api/client', { status: 200 });

    const first = await call('GET', '/api/token?realm=wx&key=main', {
      bearer: client.client_key,
      status: 200,
    });
    expect(first.source).to.equal('upstream');
    await call('POST', '/api/token', {
      body: { realm: 'wx', key: 'main' },
      bearer: client.client_key,
      status: 200,
    });
    const cached = await call('GET', '/api/token?realm=wx&key=main', {
      bearer: client.client_key,
      fn: 'tokenServerCache',
      status: 200,
    });
    expect(cached.token).to.equal(first.token);
    await call('POST', '/api/token', {
      body: { realm: 'wx', key: 'main', flush: true },
      fn: 'tokenServerCache',
      status: 200,
    });
    // The WeChat-compatible routes answer the same token in the provider's format (HTTP 200).
    const key = encodeURIComponent(client.client_key);
    const appid = values.key_1 ?? '';
    for (const fn of ['tokenServer', 'tokenServerCache'] as const) {
      const compat = [
        await call(
          'GET',
          `/wechat/wx/main/cgi-bin/token?grant_type=client_credential&appid=${appid}&secret=${key}`,
          {
            bearer: null,
            fn,
          },
        ),
        await call('POST', '/wechat/wx/main/cgi-bin/stable_token', {
          body: { grant_type: 'client_credential', appid, secret: client.client_key },
          bearer: null,
          fn,
        }),
        await call('GET', `/wecom/wx/main/cgi-bin/gettoken?corpid=${appid}&corpsecret=${key}`, {
          bearer: null,
          fn,
        }),
        await call('GET', `/wechat/wx/main/cgi-bin/ticket/getticket?type=jsapi&access_token=${key}`, {
          bearer: null,
          fn,
        }),
        await call('GET', `/wecom/wx/main/cgi-bin/get_jsapi_ticket?access_token=${key}`, {
          bearer: null,
          fn,
        }),
      ];
      expect(compat.map((c) => c.access_token ?? c.ticket)).to.deep.equal(Array(5).fill(first.token));
    }
    const wrong = await call('GET', '/wecom/wx/main/cgi-bin/gettoken?corpid=x&corpsecret=wrong', {
      bearer: null,
    });
    expect(wrong.errcode).to.equal(40001);
    const page = encodeURIComponent('https://example.com/page?a=1#top');
    await call('GET', `/api/jssdk/signature?realm=wx&key=main&url=${page}`, {
      bearer: client.client_key,
      status: 200,
    });
    await call('GET', `/api/jssdk/signature?realm=wx&key=main&url=${page}`, {
      bearer: client.client_key,
      fn: 'tokenServerCache',
      status: 200,
    });
    await call('GET', '/api/jssdk/signature?realm=wx&key=main&url=/page', { status: 400 });
    await call('GET', '/api/token?realm=wx&key=bad', { bearer: client.client_key, status: 403 });
    await call('GET', '/api/token?realm=wx&key=bad', { status: 502 });
    await call('GET', '/api/token?realm=wx', { status: 400 });

    const status = await call('GET', '/api/status', { status: 200 });
    expect((status.data as { total: number }).total).to.equal(2);
    await call('POST', '/api/refresh', { body: { concurrency: 2 }, status: 200 });
    await call('POST', '/api/refresh?concurrency=2', { status: 200 });
    const keys = await call('GET', '/api/keys', { status: 200 });
    expect(keys.counts).to.deep.equal({ default: 4 }); // 2 secrets, 1 token, the audit HMAC key
    const resealed = await call('POST', '/api/keys/reseal', { body: { limit: 1 }, status: 200 });
    expect(resealed.complete).to.equal(false);
    await call('POST', '/api/keys/reseal', { body: { cursor: 'nope' }, status: 400 });

    await call('DELETE', '/api/realm/wx', { status: 409 });
    await call('DELETE', `/api/client/${client.id}`, { status: 200 });
    await call('DELETE', '/api/client/unknown', { status: 404 });
    await call('DELETE', '/api/secret/wx/main', { status: 200 });
    await call('DELETE', '/api/secret/wx/bad', { status: 200 });
    await call('GET', '/api/secret/wx/main', { status: 404 });
    await call('DELETE', '/api/realm/wx', { status: 200 });

    // A platform secret: its event route (a push the fake built and signed) and start-push.
    const directory = new AuthorizerDirectory();
    const open = await startWechatOpenFake(directory.routes);
    directory.attach(open);
    try {
      const component = { ...ticketRealm('wechat_component', open.url), flush_min_interval_ms: 0 };
      await call('POST', '/api/realm', { body: { id: 'comp', config: component }, status: 200 });
      const a = open.account;
      const creds = { key_1: a.appid, key_2: a.secret, key_3: a.token, key_4: a.encodingAesKey };
      await call('POST', '/api/secret', { body: { realm: 'comp', key: 'main', ...creds }, status: 200 });
      const push = open.push();
      const query = new URLSearchParams(push.query).toString();
      await call('POST', `/events/comp/main?${query}`, {
        body: push.body,
        headers: { 'content-type': 'text/xml' },
        bearer: null,
        status: 200,
      });
      await call('POST', `/events/comp/other?${query}`, {
        body: push.body,
        headers: { 'content-type': 'text/xml' },
        bearer: null,
        status: 401,
      });
      const echo = new URLSearchParams(open.echo('hello-echo')).toString();
      await call('GET', `/events/comp/main?${echo}`, { bearer: null, status: 200 });
      await call('POST', '/api/component/comp/main/start-push', { status: 200 });
      await call('POST', '/api/component/nope/main/start-push', { status: 404 });
      expect(open.calls('start_push')).to.equal(1);
      // Its authorizers: sync, the authorization URL, and the Open Platform compat routes.
      await call('POST', '/api/realm', {
        body: { id: 'auths', config: authorizerRealmConfig(open.url) },
        status: 200,
      });
      await call('POST', '/api/secret', {
        body: { realm: 'comp', key: 'main', ...creds, authorizer_realm: 'auths' },
        status: 200,
      });
      const [authorizerAppid = ''] = directory.addMany(1);
      const synced = await call('POST', '/api/component/comp/main/sync', { body: {}, status: 200 });
      expect(synced).to.include({ created: 1, complete: true });
      await call('POST', '/api/component/comp/main/sync', { body: { cursor: '!' }, status: 400 });
      await call(
        'GET',
        '/api/component/comp/main/authorize-url?redirect_uri=https%3A%2F%2Fa.example%2Fdone',
        {
          status: 200,
        },
      );
      allowInLastResponse(a.appid); // the component appid is part of the authorization page's URL
      await call('GET', '/api/component/comp/main/authorize-url?redirect_uri=ftp%3A%2F%2Fa', { status: 400 });
      const platformClient = (await call('POST', '/api/client', {
        body: {
          name: 'open-sdk',
          scopes: [
            { realm: 'comp', key: 'main' },
            { realm: 'auths', key: '*' },
          ],
        },
        status: 201,
      })) as unknown as { client_key: string };
      const componentAnswer = await call(
        'POST',
        '/wechat-open/comp/main/cgi-bin/component/api_component_token',
        {
          body: {
            component_appid: a.appid,
            component_appsecret: platformClient.client_key,
            component_verify_ticket: 'x',
          },
          bearer: null,
        },
      );
      expect(componentAnswer.component_access_token).to.be.a('string');
      const authorizerAnswer = await call(
        'POST',
        `/wechat-open/comp/main/cgi-bin/component/api_authorizer_token?component_access_token=${encodeURIComponent(String(componentAnswer.component_access_token))}`,
        {
          body: {
            component_appid: a.appid,
            authorizer_appid: authorizerAppid,
            authorizer_refresh_token: 'x',
          },
          bearer: null,
        },
      );
      expect(authorizerAnswer.authorizer_access_token).to.be.a('string');
      await call('DELETE', `/api/secret/auths/${authorizerAppid}`, { status: 200 });
      await call('DELETE', '/api/realm/auths', { status: 200 });
      await call('DELETE', '/api/secret/comp/main', { status: 200 });
      await call('DELETE', '/api/realm/comp', { status: 200 });
    } finally {
      await open.close();
    }
    const hook = await call('POST', '/api/webhook', {
      body: { url: `${fake.url}/hook`, events: ['token.refresh_failed'] },
      status: 201,
    });
    await call('POST', '/api/webhook', {
      body: { url: 'ftp://x', events: ['token.recovered'] },
      status: 400,
    });
    await call('GET', '/api/webhook', { status: 200 });
    await call('GET', `/api/webhook/${String(hook.id)}`, { status: 200 });
    await call('DELETE', `/api/webhook/${String(hook.id)}`, { status: 200 });
    await call('GET', `/api/webhook/${String(hook.id)}`, { status: 404 });
    await call('GET', '/api/audit?action=realm.delete', { status: 200 });
    await call('POST', '/api/audit/hash', { body: { value: 'some value' }, status: 200 });

    // Every operation was answered with its documented success status at least once.
    const missing = operations(doc)
      .map(({ op }) => `${op.operationId} ${Object.keys(op.responses).find((s) => /^2/.test(s)) ?? '?'}`)
      .filter((id) => !seen.has(id));
    expect(missing).to.deep.equal([]);
  });
});
