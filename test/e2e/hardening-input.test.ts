/**
 * Hostile input against real function processes (the stock Functions Framework, Firestore emulator,
 * private upstreams NOT allowed): every route, table-driven. Each case asserts the status, the error
 * code (and the field it names, where there is one), that the answer is the SPEC's JSON error shape
 * (never Express's HTML page), that both functions still answer afterwards, and that not one stored
 * document changed.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { ErrorCode } from '../../functions/errors';
import { dnsOverrideEnv } from '../fakes/dns-override';
import { startFakeProvider, type FakeProvider } from '../fakes/providers';
import { SEED_REALM } from '../fakes/seed-realm';
import { snapshotDatabase } from '../helpers/db-snapshot';
import { clearEmulator, emulatorHostFromEnv } from '../helpers/emulator';
import { request } from '../helpers/http';
import { repoRoot, startFunction, testEnv, type FunctionProcess, type TestEnv } from '../helpers/processes';
import { rawHttp, type RawResponse } from '../helpers/raw-http';

type Who = 'admin' | 'client' | 'none';

interface Case {
  name: string;
  method: string;
  /** Sent byte for byte. */
  path: string;
  /** A JSON value (sent as JSON) or, as a string/Buffer, the raw body. */
  json?: unknown;
  raw?: string | Buffer;
  headers?: Record<string, string>;
  chunked?: boolean;
  /** Default admin. */
  auth?: Who;
  /** Default tokenServer. */
  on?: 'tokenServer' | 'tokenServerCache';
  status: number;
  code: ErrorCode;
  /** details.field, when the error names one. */
  field?: string;
}

const BIG = 70 * 1024;
const REBIND_HOST = 'provider.example.com';
const METADATA_ALIAS = 'metadata-alias.example.com';
const MIXED_HOST = 'mixed.example.com';

/** One case: `route` is "METHOD /path?query", sent byte for byte. */
function bad(
  name: string,
  route: string,
  status: number,
  code: ErrorCode,
  field?: string,
  extra: Partial<Case> = {},
): Case {
  const space = route.indexOf(' ');
  return {
    name,
    method: route.slice(0, space),
    path: route.slice(space + 1),
    status,
    code,
    ...extra,
    ...(field === undefined ? {} : { field }),
  };
}

/** A valid realm (the SPEC seed, id "hostile") with some config fields and top-level fields replaced. */
function realmWith(config: Record<string, unknown>, top: Record<string, unknown> = {}): unknown {
  return { id: 'hostile', comment: '', config: { ...SEED_REALM.config, ...config }, ...top };
}

function arg(name: string, place: string, value: unknown): Record<string, unknown> {
  return { name, place, value };
}

/** A refused POST /api/<resource> body: `<resource>: name`, 400 INVALID_ARGUMENT unless said otherwise. */
function badBody(resource: 'realm' | 'secret' | 'client') {
  return (
    name: string,
    json: unknown,
    field: string,
    status = 400,
    code: ErrorCode = 'INVALID_ARGUMENT',
  ): Case => bad(`${resource}: ${name}`, `POST /api/${resource}`, status, code, field, { json });
}

function badRealm(name: string, json: unknown, field: string): Case {
  return badBody('realm')(name, json, field);
}

function badConfig(name: string, config: Record<string, unknown>, field: string): Case {
  return badRealm(name, realmWith(config), field);
}

function badUrl(url: string): Case {
  return badConfig(`upstream ${url}`, { url }, 'config.url');
}

const badSecret = badBody('secret');
const badClient = badBody('client');

/** Body-level hostility, the same for every route that takes a body. */
function bodyCases(route: string, on: Case['on'] = 'tokenServer'): Case[] {
  const at = `${route}${on === 'tokenServerCache' ? ' (tokenServerCache)' : ''}`;
  const big = `{"pad": "${'a'.repeat(BIG)}"}`;
  const json = (type: string) => ({ 'content-type': type });
  // prettier-ignore
  return [
    bad(`${at}: malformed JSON`, route, 400, 'INVALID_JSON', undefined, { raw: '{"realm": ' }),
    bad(`${at}: not JSON at all`, route, 400, 'INVALID_JSON', undefined, { raw: 'realm=wx&key=main' }),
    bad(`${at}: a bare JSON string`, route, 400, 'INVALID_JSON', undefined, { raw: '"wx"' }),
    bad(`${at}: JSON null`, route, 400, 'INVALID_JSON', undefined, { raw: 'null' }),
    bad(`${at}: a JSON array`, route, 400, 'INVALID_ARGUMENT', undefined, { raw: '[1, 2]' }),
    bad(`${at}: a body over 64 KiB`, route, 413, 'PAYLOAD_TOO_LARGE', undefined, { raw: big }),
    bad(`${at}: a chunked body over 64 KiB`, route, 413, 'PAYLOAD_TOO_LARGE', undefined, { raw: big, chunked: true }),
    bad(`${at}: text/plain`, route, 415, 'UNSUPPORTED_MEDIA_TYPE', undefined, { raw: '{}', headers: json('text/plain') }),
    bad(`${at}: a form body`, route, 415, 'UNSUPPORTED_MEDIA_TYPE', undefined, { raw: 'a=1', headers: json('application/x-www-form-urlencoded') }),
    bad(`${at}: an unsupported charset`, route, 415, 'UNSUPPORTED_MEDIA_TYPE', undefined, { raw: '{}', headers: json('application/json; charset=latin9') }),
    bad(`${at}: Content-Encoding gzip`, route, 415, 'UNSUPPORTED_MEDIA_TYPE', undefined, { raw: '{}', headers: { 'content-encoding': 'gzip' } }),
  ].map((c) => ({ ...c, on }));
}

/** The token route's cases, for tokenServer and tokenServerCache alike. */
function tokenCases(on: 'tokenServer' | 'tokenServerCache'): Case[] {
  const t = (...[name, route, status, code, field, extra = {}]: Parameters<typeof bad>) =>
    bad(`token (${on}): ${name}`, route, status, code, field, { on, ...extra });
  // prettier-ignore
  return [
    t('no realm', 'GET /api/token?key=main', 400, 'INVALID_ARGUMENT', 'realm'),
    t('realm twice', 'GET /api/token?realm=wx&realm=other&key=main', 400, 'INVALID_ARGUMENT', 'realm'),
    t('key twice', 'GET /api/token?realm=wx&key=main&key=other', 400, 'INVALID_ARGUMENT', 'key'),
    t('realm ..', 'GET /api/token?realm=..&key=main', 400, 'INVALID_ARGUMENT', 'realm'),
    t('key __name__', 'GET /api/token?realm=wx&key=__name__', 400, 'INVALID_ARGUMENT', 'key'),
    t('key with an encoded slash', 'GET /api/token?realm=wx&key=a%2Fb', 400, 'INVALID_ARGUMENT', 'key'),
    t('key with CR/LF', 'GET /api/token?realm=wx&key=a%0D%0Ab', 400, 'INVALID_ARGUMENT', 'key'),
    t('key in unicode', 'GET /api/token?realm=wx&key=%E4%BD%A0', 400, 'INVALID_ARGUMENT', 'key'),
    t('empty realm', 'GET /api/token?realm=&key=main', 400, 'INVALID_ARGUMENT', 'realm'),
    t('flush=maybe', 'GET /api/token?realm=wx&key=main&flush=maybe', 400, 'INVALID_ARGUMENT', 'flush'),
    t('invalid_token of 9000 characters', `GET /api/token?realm=wx&key=main&invalid_token=${'t'.repeat(9000)}`, 400, 'INVALID_ARGUMENT', 'invalid_token'),
    t('an unknown parameter', 'GET /api/token?realm=wx&key=main&debug=1', 400, 'INVALID_ARGUMENT', 'debug'),
    t('query and body both', 'POST /api/token?realm=wx', 400, 'INVALID_ARGUMENT', 'query', { json: { realm: 'wx', key: 'main' } }),
    t('realm of the wrong type', 'POST /api/token', 400, 'INVALID_ARGUMENT', 'realm', { json: { realm: ['wx'], key: 'main' } }),
    t('an extra field', 'POST /api/token', 400, 'INVALID_ARGUMENT', 'scope', { json: { realm: 'wx', key: 'main', scope: 'all' } }),
    t('flush "yes"', 'POST /api/token', 400, 'INVALID_ARGUMENT', 'flush', { json: { realm: 'wx', key: 'main', flush: 'yes' } }),
    t('a GET with a malformed JSON body', 'GET /api/token', 400, 'INVALID_JSON', undefined, { raw: '{"realm"' }),
    t('no credentials', 'GET /api/token?realm=wx&key=main', 401, 'UNAUTHENTICATED', undefined, { auth: 'none' }),
    t('a Basic scheme', 'GET /api/token?realm=wx&key=main', 401, 'UNAUTHENTICATED', undefined, { auth: 'none', headers: { authorization: 'Basic YWRtaW46YWRtaW4=' } }),
    t('a bearer of 10,000 characters', 'GET /api/token?realm=wx&key=main', 401, 'UNAUTHENTICATED', undefined, { auth: 'none', headers: { authorization: `Bearer ${'k'.repeat(10_000)}` } }),
    t('a client key out of scope', 'GET /api/token?realm=rebind&key=main', 403, 'PERMISSION_DENIED', undefined, { auth: 'client' }),
    t('an unknown secret', 'GET /api/token?realm=wx&key=nope', 404, 'NOT_FOUND'),
    t('DELETE', 'DELETE /api/token?realm=wx&key=main', 405, 'METHOD_NOT_ALLOWED'),
    t('broken percent-encoding in the path', 'GET /api/%E0%A4%A', 400, 'INVALID_ARGUMENT', 'path'),
    t('an unknown route', 'GET /api/nope', 404, 'NOT_FOUND'),
  ];
}

// prettier-ignore
const CASES: Case[] = [
  // --- bodies, on every route that reads one
  ...bodyCases('POST /api/realm'),
  ...bodyCases('POST /api/secret'),
  ...bodyCases('POST /api/client'),
  ...bodyCases('POST /api/token'),
  ...bodyCases('POST /api/refresh'),
  ...bodyCases('POST /api/token', 'tokenServerCache'),

  // --- realms: fields, types, ids
  badRealm('empty object', {}, 'id'),
  badRealm('id of the wrong type', realmWith({}, { id: 42 }), 'id'),
  badRealm('empty id', realmWith({}, { id: '' }), 'id'),
  badRealm('id of 65 characters', realmWith({}, { id: 'a'.repeat(65) }), 'id'),
  badRealm('id with a slash', realmWith({}, { id: 'a/b' }), 'id'),
  badRealm('id ..', realmWith({}, { id: '..' }), 'id'),
  badRealm('id __name__', realmWith({}, { id: '__name__' }), 'id'),
  badRealm('id with a control character', realmWith({}, { id: 'a\u0000b' }), 'id'),
  badRealm('id in unicode', realmWith({}, { id: 'réalm' }), 'id'),
  badRealm('an extra top-level field', realmWith({}, { owner: 'me' }), 'owner'),
  bad('realm: an own __proto__ field', 'POST /api/realm', 400, 'INVALID_ARGUMENT', '__proto__', { raw: `{"__proto__": {"admin": true}, "id": "hostile", "config": ${JSON.stringify(SEED_REALM.config)}}` }),
  badRealm('comment over 1000 characters', realmWith({}, { comment: 'c'.repeat(1001) }), 'comment'),
  badRealm('comment of the wrong type', realmWith({}, { comment: { text: 'x' } }), 'comment'),
  badRealm('config null (a fixed-token realm leaves it out)', { id: 'hostile', config: null }, 'config'),
  badRealm('config an array', { id: 'hostile', config: [] }, 'config'),
  badConfig('an unknown config field', { expire_in_path: 'x' }, 'config.expire_in_path'),
  badConfig('timeout_ms as a string', { timeout_ms: '5000' }, 'config.timeout_ms'),
  badConfig('timeout_ms of a year', { timeout_ms: 31_536_000_000 }, 'config.timeout_ms'),
  badConfig('arguments not a list', { arguments: { name: 'a' } }, 'config.arguments'),
  badConfig('33 arguments', { arguments: Array.from({ length: 33 }, (_, i) => arg(`a${i}`, 'url', 'x')) }, 'config.arguments'),
  badConfig('an argument value of 5000 characters', { arguments: [arg('a', 'url', 'v'.repeat(5000))] }, 'config.arguments[0].value'),
  badConfig('an argument name that is empty', { arguments: [arg('', 'url', 'v')] }, 'config.arguments[0].name'),
  badConfig('method PUT', { method: 'PUT' }, 'config.method'),
  badConfig('method DELETE', { method: 'DELETE' }, 'config.method'),
  badConfig('method empty', { method: '' }, 'config.method'),
  badConfig('token_path through __proto__', { token_path: '__proto__.polluted' }, 'config.token_path'),
  badConfig('token_path through constructor.prototype', { token_path: 'constructor.prototype.x' }, 'config.token_path'),
  badConfig('expires_in_path into prototype', { expires_in_path: 'data.prototype' }, 'config.expires_in_path'),
  badConfig('error_path __proto__', { error_path: '__proto__' }, 'config.error_path'),
  badConfig('error_message_path constructor', { error_message_path: 'constructor' }, 'config.error_message_path'),
  badConfig('token_path with a control character', { token_path: 'a\u0007b' }, 'config.token_path'),
  badConfig('an error_hints key __proto__', { error_hints: JSON.parse('{"__proto__": "x"}') as unknown }, 'config.error_hints.__proto__'),
  badConfig('an error_hints key __name__', { error_hints: { __name__: 'x' } }, 'config.error_hints.__name__'),
  badConfig('a header name with CR/LF', { arguments: [arg('X-A\r\nX-Injected', 'header', 'v')] }, 'config.arguments[0].name'),
  badConfig('a header value with CR/LF', { arguments: [arg('X-A', 'header', 'v\r\nX-Injected: 1')] }, 'config.arguments[0].value'),
  badConfig('a header value with a bare LF', { arguments: [arg('X-A', 'header', 'v\nx')] }, 'config.arguments[0].value'),
  badConfig('a Host header', { arguments: [arg('Host', 'header', 'evil.example.com')] }, 'config.arguments[0].name'),
  badConfig('$key_0', { arguments: [arg('a', 'url', '$key_0')] }, 'config.arguments[0].value'),
  badConfig('$key_10', { arguments: [arg('a', 'url', '$key_10')] }, 'config.arguments[0].value'),
  badConfig('${key_99}', { arguments: [arg('a', 'url', 'x${key_99}')] }, 'config.arguments[0].value'),
  badConfig('an unknown place', { arguments: [arg('a', 'cookie', 'v')] }, 'config.arguments[0].place'),
  badConfig('a body argument on GET', { arguments: [arg('a', 'body', 'v')] }, 'config.arguments[0].place'),
  // upstream URLs, refused when the realm is written (private upstreams are not allowed here)
  ...[
    'http://api.example.com/token',
    'file:///etc/passwd',
    'gopher://127.0.0.1:70/_x',
    'ftp://example.com/x',
    'javascript:alert(1)',
    'https://127.0.0.1/token',
    'https://localhost/token',
    'https://10.0.0.1/token',
    'https://172.16.5.4/token',
    'https://192.168.1.1/token',
    'https://169.254.169.254/computeMetadata/v1/',
    'https://metadata.google.internal/computeMetadata/v1/',
    'https://metadata/computeMetadata/v1/',
    'https://[::1]/token',
    'https://[::ffff:127.0.0.1]/token',
    'https://[::ffff:a9fe:a9fe]/token',
    'https://[fe80::1]/token',
    'https://[fd00::1]/token',
    'https://2130706433/token',
    'https://0x7f000001/token',
    'https://0177.0.0.1/token',
    'https://127.1/token',
    'https://0/token',
    'https://user:pass@api.example.com/token',
    'not a url',
  ].map(badUrl),

  // --- realm ids in the path, and the realm list
  bad('GET realm: an encoded slash', 'GET /api/realm/a%2Fb', 400, 'INVALID_ARGUMENT', 'id'),
  bad('GET realm: ..', 'GET /api/realm/..', 400, 'INVALID_ARGUMENT', 'id'),
  bad('GET realm: %2E%2E', 'GET /api/realm/%2E%2E', 400, 'INVALID_ARGUMENT', 'id'),
  bad('GET realm: __name__', 'GET /api/realm/__name__', 400, 'INVALID_ARGUMENT', 'id'),
  bad('GET realm: __x__', 'GET /api/realm/__x__', 400, 'INVALID_ARGUMENT', 'id'),
  bad('GET realm: NUL', 'GET /api/realm/a%00b', 400, 'INVALID_ARGUMENT', 'id'),
  bad('GET realm: CR/LF', 'GET /api/realm/a%0D%0Ab', 400, 'INVALID_ARGUMENT', 'id'),
  bad('GET realm: 10,000 characters', `GET /api/realm/${'a'.repeat(10_000)}`, 400, 'INVALID_ARGUMENT', 'id'),
  bad('GET realm: unicode', 'GET /api/realm/%E4%BD%A0%E5%A5%BD', 400, 'INVALID_ARGUMENT', 'id'),
  bad('GET realm: broken percent-encoding', 'GET /api/realm/%E0%A4%A', 400, 'INVALID_ARGUMENT', 'path'),
  bad('DELETE realm: ..', 'DELETE /api/realm/..', 400, 'INVALID_ARGUMENT', 'id'),
  bad('DELETE realm: __name__', 'DELETE /api/realm/__name__', 400, 'INVALID_ARGUMENT', 'id'),
  bad('DELETE realm: unknown', 'DELETE /api/realm/nope', 404, 'NOT_FOUND'),
  bad('DELETE realm: still used by a secret', 'DELETE /api/realm/wx', 409, 'CONFLICT'),
  bad('realm list: page twice', 'GET /api/realm?page=1&page=2', 400, 'INVALID_ARGUMENT', 'page'),
  bad('realm list: page not a number', 'GET /api/realm?page=abc', 400, 'INVALID_ARGUMENT', 'page'),
  bad('realm list: negative page', 'GET /api/realm?page=-1', 400, 'INVALID_ARGUMENT', 'page'),
  bad('realm list: pageSize 100000', 'GET /api/realm?pageSize=100000', 400, 'INVALID_ARGUMENT', 'pageSize'),
  bad('realm list: an unknown parameter', 'GET /api/realm?offset=5', 400, 'INVALID_ARGUMENT', 'offset'),
  bad('realm list: limit over 1,000', 'GET /api/realm?limit=1001', 400, 'INVALID_ARGUMENT', 'limit'),
  bad('realm list: a made-up cursor', 'GET /api/realm?cursor=bm90LWEtY3Vyc29y', 400, 'INVALID_ARGUMENT', 'cursor'),
  bad('realm list: keyword of 201 characters', `GET /api/realm?keyword=${'k'.repeat(201)}`, 400, 'INVALID_ARGUMENT', 'keyword'),
  bad('realm list: page[] (qs-style array)', 'GET /api/realm?page[]=1', 400, 'INVALID_ARGUMENT', 'page[]'),

  // --- secrets
  badSecret('empty object', {}, 'realm'),
  badSecret('realm ..', { realm: '..', key: 'k', key_1: 'v' }, 'realm'),
  badSecret('key with a slash', { realm: 'wx', key: 'a/b', key_1: 'v' }, 'key'),
  badSecret('key __name__', { realm: 'wx', key: '__name__', key_1: 'v' }, 'key'),
  badSecret('key with a colon', { realm: 'wx', key: 'a:b', key_1: 'v' }, 'key'),
  badSecret('key_1 empty', { realm: 'wx', key: 'main', key_1: '' }, 'key_1'),
  badSecret('key_1 a number', { realm: 'wx', key: 'main', key_1: 12345 }, 'key_1'),
  badSecret('key_1 null', { realm: 'wx', key: 'main', key_1: null }, 'key_1'),
  badSecret('key_1 of 5000 characters', { realm: 'wx', key: 'main', key_1: 'v'.repeat(5000) }, 'key_1'),
  badSecret('key_10', { realm: 'wx', key: 'main', key_10: 'v' }, 'key_10'),
  badSecret('key_0', { realm: 'wx', key: 'main', key_0: 'v' }, 'key_0'),
  badSecret('unknown realm', { realm: 'nope', key: 'main', key_1: 'v' }, 'realm', 404, 'NOT_FOUND'),
  bad('GET secret: key ..', 'GET /api/secret/wx/..', 400, 'INVALID_ARGUMENT', 'key'),
  bad('GET secret: realm __name__', 'GET /api/secret/__name__/main', 400, 'INVALID_ARGUMENT', 'realm'),
  bad('GET secret: an encoded slash', 'GET /api/secret/wx/a%2Fb', 400, 'INVALID_ARGUMENT', 'key'),
  bad('GET secret: one segment too many', 'GET /api/secret/wx/main/extra', 404, 'NOT_FOUND'),
  bad('DELETE secret: NUL', 'DELETE /api/secret/wx/a%00', 400, 'INVALID_ARGUMENT', 'key'),
  bad('DELETE secret: unknown', 'DELETE /api/secret/wx/nope', 404, 'NOT_FOUND'),
  bad('secret list: realm twice', 'GET /api/secret?realm=wx&realm=other', 400, 'INVALID_ARGUMENT', 'realm'),
  bad('secret list: realm ..', 'GET /api/secret?realm=..', 400, 'INVALID_ARGUMENT', 'realm'),

  // --- clients
  badClient('empty object', {}, 'name'),
  badClient('blank name', { name: '  ', scopes: [{ realm: 'wx', key: '*' }] }, 'name'),
  badClient('name with a control character', { name: 'a\u001bb', scopes: [{ realm: 'wx', key: '*' }] }, 'name'),
  badClient('name of 101 characters', { name: 'n'.repeat(101), scopes: [{ realm: 'wx', key: '*' }] }, 'name'),
  badClient('no scopes', { name: 'app', scopes: [] }, 'scopes'),
  badClient('scopes a string', { name: 'app', scopes: 'wx/*' }, 'scopes'),
  badClient('scope realm ..', { name: 'app', scopes: [{ realm: '..', key: '*' }] }, 'scopes[0].realm'),
  badClient('scope key with a slash', { name: 'app', scopes: [{ realm: 'wx', key: 'a/b' }] }, 'scopes[0].key'),
  badClient('scope with an extra field', { name: 'app', scopes: [{ realm: 'wx', key: '*', admin: true }] }, 'scopes[0].admin'),
  badClient('a client_key of its own', { name: 'app', scopes: [{ realm: 'wx', key: '*' }], client_key: 'chosen' }, 'client_key'),
  badClient('unknown realm in a scope', { name: 'app', scopes: [{ realm: 'nope', key: '*' }] }, 'scopes[0].realm', 404, 'NOT_FOUND'),
  bad('DELETE client: __name__', 'DELETE /api/client/__name__', 400, 'INVALID_ARGUMENT', 'id'),
  bad('DELETE client: __x__', 'DELETE /api/client/__x__', 400, 'INVALID_ARGUMENT', 'id'),
  bad('DELETE client: ..', 'DELETE /api/client/..', 400, 'INVALID_ARGUMENT', 'id'),
  bad('DELETE client: an encoded slash', 'DELETE /api/client/a%2Fb', 400, 'INVALID_ARGUMENT', 'id'),
  bad('DELETE client: unknown', 'DELETE /api/client/0b7e3c1e-0000-4000-8000-000000000000', 404, 'NOT_FOUND'),
  bad('client list: page twice', 'GET /api/client?page=1&page=1', 400, 'INVALID_ARGUMENT', 'page'),

  // --- the token route, on both functions
  ...tokenCases('tokenServer'),
  ...tokenCases('tokenServerCache'),

  // --- methods, routes, keys
  bad('PUT /api/realm', 'PUT /api/realm', 405, 'METHOD_NOT_ALLOWED', undefined, { json: realmWith({}) }),
  bad('PATCH a secret', 'PATCH /api/secret/wx/main', 405, 'METHOD_NOT_ALLOWED', undefined, { json: { key_1: 'x' } }),
  bad('GET /api/refresh', 'GET /api/refresh', 405, 'METHOD_NOT_ALLOWED'),
  bad('POST /api/status', 'POST /api/status', 405, 'METHOD_NOT_ALLOWED', undefined, { json: {} }),
  bad('refresh with concurrency 0', 'POST /api/refresh', 400, 'INVALID_ARGUMENT', 'concurrency', { json: { concurrency: 0 } }),
  bad('refresh with an unknown field', 'POST /api/refresh', 400, 'INVALID_ARGUMENT', 'all', { json: { all: true } }),
  bad('presets with a client key', 'GET /api/preset', 401, 'UNAUTHENTICATED', undefined, { auth: 'client' }),
  bad('status without a key', 'GET /api/status', 401, 'UNAUTHENTICATED', undefined, { auth: 'none' }),
  bad('the admin key with one character more', 'GET /api/status', 401, 'UNAUTHENTICATED', undefined, { auth: 'none', headers: { authorization: 'Bearer {admin}x' } }),
  bad('the admin key in lower case', 'GET /api/status', 401, 'UNAUTHENTICATED', undefined, { auth: 'none', headers: { authorization: 'Bearer {admin-lower}' } }),
  bad('a path with ..', 'GET /api/../api/status', 404, 'NOT_FOUND'),
  bad('the admin API on tokenServerCache', 'GET /api/realm', 404, 'NOT_FOUND', undefined, { on: 'tokenServerCache' }),
];

describe('hardening: hostile input on every route (function processes, emulator, private upstreams refused)', function () {
  this.timeout(120_000);
  let env: TestEnv;
  let fake: FakeProvider;
  let full: FunctionProcess;
  let cache: FunctionProcess;
  let clientKey: string;
  let stored: Record<string, unknown>;

  const admin = (method: string, path: string, body?: unknown) =>
    request(`${full.url}${path}`, { method, bearer: env.adminKey, ...(body === undefined ? {} : { body }) });

  async function stillAnswering(): Promise<void> {
    const answers = await Promise.all(
      [full, cache].map((p) => request(`${p.url}/healthz`, { timeoutMs: 5000 })),
    );
    answers.forEach((health, i) =>
      expect(health.status, `${[full, cache][i]?.target} /healthz`).to.equal(200),
    );
  }

  async function send(c: Case): Promise<RawResponse> {
    const p = c.on === 'tokenServerCache' ? cache : full;
    const headers: Record<string, string> = {};
    const who = c.auth ?? 'admin';
    if (who === 'admin') headers.authorization = `Bearer ${env.adminKey}`;
    if (who === 'client') headers.authorization = `Bearer ${clientKey}`;
    let body: string | Buffer | undefined;
    if (c.json !== undefined) body = JSON.stringify(c.json);
    if (c.raw !== undefined) body = c.raw;
    if (body !== undefined) headers['content-type'] = 'application/json';
    for (const [name, value] of Object.entries(c.headers ?? {})) {
      headers[name] = value
        .replace('{admin-lower}', env.adminKey.toLowerCase())
        .replace('{admin}', env.adminKey);
    }
    return rawHttp(p.url, {
      method: c.method,
      path: c.path,
      headers,
      ...(body === undefined ? {} : { body }),
      ...(c.chunked === true ? { chunked: true } : {}),
    });
  }

  before(async () => {
    const host = emulatorHostFromEnv();
    fake = await startFakeProvider();
    const preload = join(repoRoot(), 'lib', 'test', 'fakes', 'dns-override.js');
    env = testEnv({
      store: 'firestore',
      overrides: {
        TOKEN_SERVER_ALLOW_PRIVATE_UPSTREAMS: 'false',
        ...dnsOverrideEnv(
          preload,
          {
            [REBIND_HOST]: '127.0.0.1',
            [METADATA_ALIAS]: '169.254.169.254',
            [MIXED_HOST]: ['93.184.216.34', '10.20.30.40'],
          },
          process.env.NODE_OPTIONS,
        ),
      },
    });
    await clearEmulator(host, env.projectId);
    [full, cache] = await Promise.all([
      startFunction({ target: 'tokenServer', env: env.env }),
      startFunction({ target: 'tokenServerCache', env: env.env }),
    ]);
    const port = new URL(fake.url).port;
    const realms = [
      { ...SEED_REALM, id: 'wx' },
      {
        ...SEED_REALM,
        id: 'rebind',
        config: { ...SEED_REALM.config, url: `https://${REBIND_HOST}:${port}/cgi-bin/token` },
      },
      {
        ...SEED_REALM,
        id: 'metadata',
        config: { ...SEED_REALM.config, url: `https://${METADATA_ALIAS}/computeMetadata/v1/` },
      },
      {
        ...SEED_REALM,
        id: 'mixed',
        config: { ...SEED_REALM.config, url: `https://${MIXED_HOST}:${port}/cgi-bin/token` },
      },
    ];
    for (const realm of realms) {
      const r = await admin('POST', '/api/realm', realm);
      expect(r.status, r.text).to.equal(200);
      const s = await admin('POST', '/api/secret', {
        realm: realm.id,
        key: 'main',
        key_1: `appid-${randomBytes(8).toString('hex')}`,
        key_2: randomBytes(16).toString('hex'),
        key_3: 'client_credential',
      });
      expect(s.status, s.text).to.equal(200);
    }
    const client = await admin('POST', '/api/client', { name: 'app', scopes: [{ realm: 'wx', key: '*' }] });
    expect(client.status, client.text).to.equal(201);
    clientKey = (client.body as { client_key: string }).client_key;
    stored = await snapshotDatabase();
  });

  after(async () => {
    await Promise.all([full?.stop(), cache?.stop()]);
    await fake?.close();
  });

  for (const c of CASES) {
    it(`${c.name} → ${c.status} ${c.code}`, async () => {
      const res = await send(c);
      const why = `${c.method} ${c.path.slice(0, 80)}: ${res.status} ${res.text.slice(0, 300)}`;
      expect(res.status, why).to.equal(c.status);
      expect(res.headers['content-type'], why).to.match(/^application\/json/);
      const error = (
        res.json as { error?: { code?: unknown; message?: unknown; details?: { field?: unknown } } }
      )?.error;
      expect(error, why).to.be.an('object');
      expect(error?.code, why).to.equal(c.code);
      expect(error?.message, why)
        .to.be.a('string')
        .and.not.match(/at .*\.js:\d+/);
      if (c.field !== undefined) expect(error?.details?.field, why).to.equal(c.field);
      if (c.status === 503 || c.status === 429) expect(res.headers['retry-after'], why).to.match(/^\d+$/);
      const [, now] = await Promise.all([stillAnswering(), snapshotDatabase()]);
      expect(now, 'stored data changed').to.deep.equal(stored);
    });
  }

  it('refuses, at request time, a public host name that resolves to a private or metadata address', async () => {
    for (const realm of ['rebind', 'metadata', 'mixed']) {
      const res = await request<{ error: { code: string; message: string; details: { field?: string } } }>(
        `${full.url}/api/token?realm=${realm}&key=main`,
        { bearer: env.adminKey },
      );
      expect(res.status, res.text).to.equal(400);
      expect(res.body.error.code).to.equal('INVALID_ARGUMENT');
      expect(res.body.error.details.field).to.equal('config.url');
      expect(res.body.error.message).to.match(
        /resolves to a loopback, private, link-local or reserved address/,
      );
    }
    // Nothing reached the fake provider on 127.0.0.1, although provider.example.com "is" 127.0.0.1.
    expect(fake.calls()).to.equal(0);
    await stillAnswering();
  });

  it('keeps unicode, emoji and long-but-valid values intact through a round trip', async () => {
    const comment = 'WeChat 公众号 — ünïcödé ✓ 🚀 '.padEnd(1000, 'x');
    const realm = { ...SEED_REALM, id: 'u.n-i_code', comment };
    const r = await admin('POST', '/api/realm', realm);
    expect(r.status, r.text).to.equal(200);
    const got = await admin('GET', '/api/realm/u.n-i_code');
    expect((got.body as { comment: string }).comment).to.equal(comment);
    const value = `密钥-🔑-${randomBytes(8).toString('hex')}`.padEnd(4096, 'z');
    const s = await admin('POST', '/api/secret', { realm: 'u.n-i_code', key: 'k', key_1: value });
    expect(s.status, s.text).to.equal(200);
    expect(s.text).to.not.include(value.slice(0, 12));
    const c = await admin('POST', '/api/client', {
      name: 'app ✓ 🚀',
      scopes: [{ realm: 'u.n-i_code', key: 'k' }],
    });
    expect(c.status, c.text).to.equal(201);
    expect((c.body as { name: string }).name).to.equal('app ✓ 🚀');
    await stillAnswering();
  });
});
