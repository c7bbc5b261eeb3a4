/**
 * One fake token provider on 127.0.0.1 that speaks every preset's wire format at the real paths:
 *
 *   GET  /cgi-bin/token                                    WeChat getAccessToken   (wechat_offiaccount)
 *   POST /cgi-bin/stable_token                             WeChat stable token     (wechat_stable)
 *   GET  /cgi-bin/gettoken                                 WeCom                   (wecom)
 *   GET  /gettoken                                         DingTalk legacy         (dingtalk)
 *   POST /v1.0/oauth2/accessToken                          DingTalk v1.0           (dingtalk_v1)
 *   POST /open-apis/auth/v3/tenant_access_token/internal   Feishu / Lark           (feishu_tenant, lark_tenant)
 *   POST /oauth2/token                                     OAuth2 client creds     (oauth2_client_credentials[_basic])
 *
 * It checks the credentials it was given (wrong ones get that provider's real error), issues tokens the
 * way each provider does (WeChat: a new one every call, the previous one dies 5 minutes later; stable
 * token: the same one until its last 5 minutes; WeCom: the same while valid; Feishu: the same until
 * less than 30 minutes remain; DingTalk: the same, its expiry extended; OAuth2: a new one every call),
 * and counts calls per route and per credential. Failures can be queued or made persistent per route.
 *
 * Beside them it answers a few WeChat API calls that check the token (test/fakes/wechat-api.ts).
 *
 * Routes are named by path or by preset name (both OAuth2 presets share /oauth2/token, both Feishu
 * presets share one path).
 */
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { Socket } from 'node:net';
import { getPreset } from '../../functions/providers/presets';
import type { JsonObject } from '../../functions/store/types';
import { listenOnLoopback } from '../helpers/ports';
import { isWechatApiPath, wechatApiAnswer, type WechatApiPath } from './wechat-api';

export const FAKE_PATHS = {
  wechat_offiaccount: '/cgi-bin/token',
  wechat_stable: '/cgi-bin/stable_token',
  wecom: '/cgi-bin/gettoken',
  dingtalk: '/gettoken',
  dingtalk_v1: '/v1.0/oauth2/accessToken',
  feishu_tenant: '/open-apis/auth/v3/tenant_access_token/internal',
  lark_tenant: '/open-apis/auth/v3/tenant_access_token/internal',
  oauth2_client_credentials: '/oauth2/token',
  oauth2_client_credentials_basic: '/oauth2/token',
} as const;

export type FakePresetName = keyof typeof FAKE_PATHS;
export type FakePath = (typeof FAKE_PATHS)[FakePresetName];
/** A route: its path, or the name of a preset that calls it. */
export type FakeRoute = FakePresetName | FakePath;

type Family = 'wechat' | 'wechat_stable' | 'wecom' | 'dingtalk' | 'dingtalk_v1' | 'feishu' | 'oauth2';

/** A success answer per family: status fields first, then the token, its lifetime, and any extra field. */
const SUCCESS_SHAPE: Record<
  Family,
  { status?: JsonObject; tokenField: string; lifetimeField: string; extra?: JsonObject }
> = {
  wechat: { tokenField: 'access_token', lifetimeField: 'expires_in' },
  wechat_stable: { tokenField: 'access_token', lifetimeField: 'expires_in' },
  wecom: { status: { errcode: 0, errmsg: 'ok' }, tokenField: 'access_token', lifetimeField: 'expires_in' },
  dingtalk: { status: { errcode: 0, errmsg: 'ok' }, tokenField: 'access_token', lifetimeField: 'expires_in' },
  dingtalk_v1: { tokenField: 'accessToken', lifetimeField: 'expireIn' },
  feishu: { status: { code: 0, msg: 'ok' }, tokenField: 'tenant_access_token', lifetimeField: 'expire' },
  oauth2: { tokenField: 'access_token', lifetimeField: 'expires_in', extra: { token_type: 'Bearer' } },
};

const FAMILY_OF: Record<FakePath, Family> = {
  '/cgi-bin/token': 'wechat',
  '/cgi-bin/stable_token': 'wechat_stable',
  '/cgi-bin/gettoken': 'wecom',
  '/gettoken': 'dingtalk',
  '/v1.0/oauth2/accessToken': 'dingtalk_v1',
  '/open-apis/auth/v3/tenant_access_token/internal': 'feishu',
  '/oauth2/token': 'oauth2',
};
const ALL_PATHS = Object.keys(FAMILY_OF) as FakePath[];

/**
 * Failure modes:
 * - 'http500': HTTP 500 with a plain-text body
 * - 'busy': the provider's "busy" answer (errcode -1; Feishu 429 code 99991400; DingTalk v1 503;
 *   OAuth2 503 temporarily_unavailable)
 * - 'errcode:N': error N in the provider's format (OAuth2: `errcode:invalid_client` etc.; DingTalk v1:
 *   HTTP 400 with code N)
 * - 'hang': never answers; 'trickle': 200 and then one byte every 100 ms, never finishing
 * - 'huge': a 5 MiB body with Content-Length; 'huge_chunked': the same, chunked (no Content-Length)
 * - 'html': an HTML page with 200; 'html502': the same with 502
 * - 'no_token': a success answer without the token field
 * - 'bad_lifetime': lifetime -1; 'bad_lifetime:absurd': ten years; 'bad_lifetime:text': "soon"
 * - 'big_token': a 9,000-byte token (past MAX_TOKEN_BYTES, 8,192)
 * - 'redirect:URL': 302 to URL
 */
export type FakeMode =
  | 'http500'
  | 'busy'
  | `errcode:${string}`
  | 'hang'
  | 'trickle'
  | 'huge'
  | 'huge_chunked'
  | 'html'
  | 'html502'
  | 'no_token'
  | 'bad_lifetime'
  | 'bad_lifetime:absurd'
  | 'bad_lifetime:text'
  | 'big_token'
  | `redirect:${string}`;

export interface FakeCredential {
  /** appid / corpid / appkey / app_id / client_id */
  id: string;
  secret: string;
}

export interface RecordedRequest {
  path: string;
  method: string;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The credential id the request named (even a wrong one), if any. */
  id?: string;
  at: number;
}

interface IssuedToken {
  token: string;
  issuedAt: number;
  expiresAt: number;
}

interface RouteState {
  calls: number;
  callsById: Map<string, number>;
  queue: FakeMode[];
  mode: FakeMode | null;
  latencyMs: number | undefined;
  /** Seconds, or null to leave the lifetime field out. */
  lifetime: number | null;
  credentials: FakeCredential[];
  current: Map<string, IssuedToken>;
  forced: Map<string, { day: string; count: number; last: number }>;
  requests: RecordedRequest[];
}

export const DEFAULT_CREDENTIALS: Readonly<Record<FakePath, FakeCredential>> = {
  '/cgi-bin/token': { id: 'wx-appid-1', secret: 'wx-secret-1' },
  '/cgi-bin/stable_token': { id: 'wx-appid-1', secret: 'wx-secret-1' },
  '/cgi-bin/gettoken': { id: 'ww-corpid-1', secret: 'ww-corpsecret-1' },
  '/gettoken': { id: 'ding-appkey-1', secret: 'ding-appsecret-1' },
  '/v1.0/oauth2/accessToken': { id: 'ding-appkey-1', secret: 'ding-appsecret-1' },
  '/open-apis/auth/v3/tenant_access_token/internal': { id: 'cli_fake0001', secret: 'feishu-secret-1' },
  '/oauth2/token': { id: 'client-1', secret: 'client-secret-1' },
};

const DEFAULT_LIFETIME: Record<Family, number> = {
  wechat: 7200,
  wechat_stable: 7200,
  wecom: 7200,
  dingtalk: 7200,
  dingtalk_v1: 7200,
  feishu: 7200,
  oauth2: 3600,
};

const WECHAT_MESSAGES: Record<string, string> = {
  '-1': 'system error',
  '40001': 'invalid credential, access_token is invalid or not latest',
  '40002': 'invalid grant_type',
  '40013': 'invalid appid',
  '40089': '不合法的corpid或corpsecret',
  '40125': 'invalid appsecret',
  '40164': 'invalid ip 203.0.113.7 ipv6 ::ffff:203.0.113.7, not in whitelist',
  '40243': 'AppSecret is frozen',
  '41002': 'appid missing',
  '41004': 'appsecret missing',
  '43002': 'require POST method',
  '45009': 'reach max api daily quota limit',
  '45011': 'api minute-quota reach limit  mustslower  retry next minute',
  '47001': 'data format error',
  '60020': 'not allow to access from your ip',
  '89503': 'this IP is pending admin confirmation',
};

const FEISHU_MESSAGES: Record<string, string> = {
  '10003': 'invalid param',
  '10014': 'app secret invalid',
  '99991400': 'request trigger frequency limit',
};

const HUGE_BYTES = 5 * 1024 * 1024;
const STABLE_ROLL_MS = 300_000;
const FEISHU_REISSUE_MS = 1_800_000;
const WECHAT_OVERLAP_MS = 300_000;

function resolvePath(route: FakeRoute): FakePath {
  if ((ALL_PATHS as string[]).includes(route)) return route as FakePath;
  const path = (FAKE_PATHS as Record<string, FakePath | undefined>)[route];
  if (path === undefined) throw new Error(`unknown fake route ${route}`);
  return path;
}

function rid(): string {
  return randomBytes(6).toString('hex');
}

export interface FakeProviderOptions {
  /** Delay before every answer (ms). */
  latencyMs?: number;
  /** Port to listen on (0 = a free one). */
  port?: number;
  /** The fake's clock (ms); default Date.now. advanceTime() moves it further. */
  now?: () => number;
}

export interface FakeProvider {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** Calls received (every request, failed or not): all routes, one route, or one credential of a route. */
  calls(route?: FakeRoute, id?: string): number;
  /** The requests one route (or every route) received, oldest first. */
  requests(route?: FakeRoute): RecordedRequest[];
  /** Replace the credentials a route accepts (the first one is the default for credentials()/currentToken()). */
  setCredentials(route: FakeRoute, credentials: FakeCredential | FakeCredential[]): void;
  /** A preset's secret values for the route's credential #index: {key_1: id, key_2: secret}. */
  credentials(preset: FakePresetName, index?: number): Record<string, string>;
  /** The next `times` calls of a route fail with `mode` (queued modes come before a persistent one). */
  failNext(route: FakeRoute, mode: FakeMode, times?: number): void;
  /** A persistent mode for a route; null restores normal answers. */
  setMode(route: FakeRoute, mode: FakeMode | null): void;
  /** Latency for every route (one argument) or one route. */
  setLatency(routeOrMs: FakeRoute | number, ms?: number): void;
  /** The lifetime a route hands out, in seconds; null leaves the field out (OAuth2 without expires_in). */
  setLifetime(route: FakeRoute, seconds: number | null): void;
  /** The token a route last issued to a credential (default: its first one). */
  currentToken(route: FakeRoute, id?: string): string | undefined;
  /** Whether the provider would still accept this token (WeChat: a replaced token lives 5 more minutes). */
  tokenValid(token: string): boolean;
  /** Calls of one API path (tickets, user/info: test/fakes/wechat-api.ts), answered or refused. */
  apiCalls(path: WechatApiPath): number;
  /** Moves the fake's clock forward. */
  advanceTime(ms: number): void;
  /** Back to the start: counts, modes, tokens, credentials, lifetimes, latency, clock. */
  reset(): void;
  /** Stops listening and closes every connection, hanging and trickling ones included. */
  close(): Promise<void>;
}

/** Starts the fake provider on 127.0.0.1. */
export async function startFakeProvider(options: FakeProviderOptions = {}): Promise<FakeProvider> {
  const baseNow = options.now ?? Date.now;
  let offset = 0;
  const now = (): number => baseNow() + offset;
  let latencyMs = options.latencyMs ?? 0;
  const routes = new Map<FakePath, RouteState>();
  /** token → where it was issued and when the provider stops accepting it */
  const validity = new Map<string, { path: FakePath; expiresAt: number }>();
  const tokenValid = (token: string): boolean => {
    const v = validity.get(token);
    return v !== undefined && v.expiresAt > now();
  };
  /** API calls (test/fakes/wechat-api.ts) by path. */
  const apiCalls = new Map<string, number>();
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;

  const freshRoute = (path: FakePath): RouteState => ({
    calls: 0,
    callsById: new Map(),
    queue: [],
    mode: null,
    latencyMs: undefined,
    lifetime: DEFAULT_LIFETIME[FAMILY_OF[path]],
    credentials: [{ ...DEFAULT_CREDENTIALS[path] }],
    current: new Map(),
    forced: new Map(),
    requests: [],
  });
  const resetAll = (): void => {
    for (const path of ALL_PATHS) routes.set(path, freshRoute(path));
    validity.clear();
    apiCalls.clear();
    offset = 0;
    latencyMs = options.latencyMs ?? 0;
  };
  resetAll();
  const stateOf = (route: FakeRoute): RouteState => routes.get(resolvePath(route)) as RouteState;

  const later = (ms: number, fn: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  const issue = (path: FakePath, state: RouteState, id: string, lifetimeSec: number): IssuedToken => {
    const prefix = FAMILY_OF[path].replace('_', '');
    const token = `${prefix}_${randomBytes(24).toString('base64url')}`;
    const at = now();
    const issued = { token, issuedAt: at, expiresAt: at + lifetimeSec * 1000 };
    state.current.set(id, issued);
    validity.set(token, { path, expiresAt: issued.expiresAt });
    return issued;
  };

  const server = http.createServer((req, res) => {
    void handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  async function readBody(req: http.IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      const buf = chunk as Buffer;
      size += buf.length;
      if (size > 1024 * 1024) throw new Error('body too large');
      chunks.push(buf);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  function send(
    res: http.ServerResponse,
    status: number,
    body: unknown,
    headers: http.OutgoingHttpHeaders = {},
  ): void {
    if (res.destroyed) return;
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, {
      'Content-Type':
        typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  }

  /** The provider's error answer for code `code`: [status, body, headers]. */
  function errorAnswer(
    family: Family,
    code: string,
    extra: { basicAuth?: boolean } = {},
  ): [number, unknown, http.OutgoingHttpHeaders?] {
    const numeric = /^-?[0-9]+$/.test(code) ? Number(code) : code;
    switch (family) {
      case 'wechat':
      case 'wechat_stable':
      case 'wecom':
      case 'dingtalk':
        return [200, { errcode: numeric, errmsg: `${WECHAT_MESSAGES[code] ?? 'error'} rid: ${rid()}` }];
      case 'feishu':
        return [code === '99991400' ? 429 : 200, { code: numeric, msg: FEISHU_MESSAGES[code] ?? 'error' }];
      case 'dingtalk_v1':
        return [
          400,
          {
            code,
            message: code === 'invalidClientIdOrSecret' ? '无效的clientId或者clientSecret' : 'error',
            requestid: rid(),
          },
        ];
      case 'oauth2':
        if (code === 'invalid_client' && extra.basicAuth === true) {
          return [
            401,
            { error: code, error_description: 'Client authentication failed' },
            { 'WWW-Authenticate': 'Basic realm="fake"' },
          ];
        }
        return [400, { error: code, error_description: `fake: ${code}` }];
    }
  }

  function busyAnswer(family: Family): [number, unknown, http.OutgoingHttpHeaders?] {
    switch (family) {
      case 'feishu':
        return errorAnswer(family, '99991400');
      case 'dingtalk_v1':
        return [503, { code: 'ServiceUnavailable', message: 'service busy', requestid: rid() }];
      case 'oauth2':
        return [503, { error: 'temporarily_unavailable', error_description: 'try again later' }];
      default:
        return errorAnswer(family, '-1');
    }
  }

  function successBody(
    family: Family,
    token: string | undefined,
    lifetime: number | string | null,
  ): JsonObject {
    const { status, tokenField, lifetimeField, extra } = SUCCESS_SHAPE[family];
    return {
      ...status,
      ...(token === undefined ? {} : { [tokenField]: token }),
      ...(lifetime === null ? {} : { [lifetimeField]: lifetime }),
      ...extra,
    };
  }

  /** Answers a failure mode; false when `mode` changes only the success answer (handled later). */
  function answerMode(res: http.ServerResponse, family: Family, mode: FakeMode, basicAuth: boolean): boolean {
    if (mode === 'http500') {
      send(res, 500, 'Internal Server Error');
      return true;
    }
    if (mode === 'busy') {
      const [status, body, headers] = busyAnswer(family);
      send(res, status, body, headers);
      return true;
    }
    if (mode.startsWith('errcode:')) {
      const [status, body, headers] = errorAnswer(family, mode.slice('errcode:'.length), { basicAuth });
      send(res, status, body, headers);
      return true;
    }
    if (mode === 'hang') return true; // never answer; close() destroys the socket
    if (mode === 'trickle') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"access_token":"');
      const drip = (): void => {
        if (closed || res.destroyed) return;
        res.write('a');
        later(100, drip);
      };
      later(100, drip);
      return true;
    }
    if (mode === 'huge' || mode === 'huge_chunked') {
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const headers: http.OutgoingHttpHeaders = { 'Content-Type': 'application/json' };
      if (mode === 'huge') headers['Content-Length'] = HUGE_BYTES + 2;
      res.writeHead(200, headers);
      res.write('{');
      let sent = 0;
      const pump = (): void => {
        while (sent < HUGE_BYTES && !res.destroyed) {
          sent += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        if (!res.destroyed) res.end('}');
      };
      res.on('error', () => undefined);
      pump();
      return true;
    }
    if (mode === 'html' || mode === 'html502') {
      const page =
        '<!DOCTYPE html><html><head><title>Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>';
      res.writeHead(mode === 'html' ? 200 : 502, {
        'Content-Type': 'text/html',
        'Content-Length': Buffer.byteLength(page),
      });
      res.end(page);
      return true;
    }
    if (mode.startsWith('redirect:')) {
      res.writeHead(302, { Location: mode.slice('redirect:'.length), 'Content-Length': 0 });
      res.end();
      return true;
    }
    return false;
  }

  function credentialId(
    family: Family,
    query: Record<string, string>,
    json: Record<string, unknown>,
    form: URLSearchParams,
    basic: FakeCredential | undefined,
  ): string | undefined {
    const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
    switch (family) {
      case 'wechat':
        return query.appid;
      case 'wecom':
        return query.corpid;
      case 'dingtalk':
        return query.appkey;
      case 'wechat_stable':
        return str(json.appid);
      case 'dingtalk_v1':
        return str(json.appKey);
      case 'feishu':
        return str(json.app_id);
      case 'oauth2':
        return basic?.id ?? form.get('client_id') ?? undefined;
    }
  }

  function decodeBasic(header: string | undefined): FakeCredential | undefined {
    const match = /^Basic\s+(\S+)$/i.exec(header ?? '');
    if (!match) return undefined;
    const decoded = Buffer.from(match[1] ?? '', 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    return { id: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname as FakePath;
    const family = FAMILY_OF[path] as Family | undefined;
    const body = await readBody(req);
    if (family === undefined) {
      if (isWechatApiPath(url.pathname)) {
        apiCalls.set(url.pathname, (apiCalls.get(url.pathname) ?? 0) + 1);
        const query = Object.fromEntries(url.searchParams) as Record<string, string>;
        send(res, 200, wechatApiAnswer(url.pathname, query, tokenValid));
        return;
      }
      send(res, 404, { error: 'not_found' });
      return;
    }
    const state = routes.get(path) as RouteState;
    const query = Object.fromEntries(url.searchParams) as Record<string, string>;
    let json: Record<string, unknown> = {};
    let jsonOk = true;
    if (family === 'wechat_stable' || family === 'dingtalk_v1' || family === 'feishu') {
      try {
        const parsed = JSON.parse(body) as unknown;
        if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed))
          json = parsed as Record<string, unknown>;
        else jsonOk = false;
      } catch {
        jsonOk = false;
      }
    }
    const form = new URLSearchParams(family === 'oauth2' ? body : '');
    const basic = family === 'oauth2' ? decodeBasic(req.headers.authorization) : undefined;
    const id = credentialId(family, query, json, form, basic);

    state.calls += 1;
    if (id !== undefined) state.callsById.set(id, (state.callsById.get(id) ?? 0) + 1);
    state.requests.push({
      path,
      method: req.method ?? 'GET',
      query,
      headers: req.headers,
      body,
      ...(id === undefined ? {} : { id }),
      at: now(),
    });

    const delay = state.latencyMs ?? latencyMs;
    if (delay > 0) await new Promise<void>((resolve) => later(delay, resolve));
    if (closed) return;

    const mode = state.queue.shift() ?? state.mode;
    if (mode !== null && answerMode(res, family, mode, basic !== undefined)) return;

    const fail = (code: string): void => {
      const [status, errBody, headers] = errorAnswer(family, code, { basicAuth: basic !== undefined });
      send(res, status, errBody, headers);
    };
    const lookup = (
      givenId: string | undefined,
      secret: string | undefined,
      badId: string,
      badSecret: string,
    ): FakeCredential | undefined => {
      const cred = state.credentials.find((c) => c.id === givenId);
      if (cred === undefined) {
        fail(badId);
        return undefined;
      }
      if (cred.secret !== secret) {
        fail(badSecret);
        return undefined;
      }
      return cred;
    };
    const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

    let cred: FakeCredential | undefined;
    switch (family) {
      case 'wechat':
        if (req.method !== 'GET') return fail('-1');
        if (query.grant_type !== 'client_credential') return fail('40002');
        if (query.appid === undefined) return fail('41002');
        if (query.secret === undefined) return fail('41004');
        cred = lookup(query.appid, query.secret, '40013', '40125');
        break;
      case 'wechat_stable':
        if (req.method !== 'POST') return fail('43002');
        if (!jsonOk) return fail('47001');
        if (json.grant_type !== 'client_credential') return fail('40002');
        if (typeof json.force_refresh !== 'undefined' && typeof json.force_refresh !== 'boolean')
          return fail('47001');
        cred = lookup(str(json.appid), str(json.secret), '40013', '40125');
        break;
      case 'wecom':
        if (query.corpid === undefined) return fail('41002');
        if (query.corpsecret === undefined) return fail('41004');
        cred = lookup(query.corpid, query.corpsecret, '40013', '40001');
        break;
      case 'dingtalk':
        cred = lookup(query.appkey, query.appsecret, '40089', '40089');
        break;
      case 'dingtalk_v1':
        if (req.method !== 'POST' || !jsonOk) return fail('invalidParameter');
        cred = lookup(
          str(json.appKey),
          str(json.appSecret),
          'invalidClientIdOrSecret',
          'invalidClientIdOrSecret',
        );
        break;
      case 'feishu':
        if (req.method !== 'POST' || !jsonOk) return fail('10003');
        cred = lookup(str(json.app_id), str(json.app_secret), '10003', '10014');
        break;
      case 'oauth2': {
        if (req.method !== 'POST') return fail('invalid_request');
        if (!/^application\/x-www-form-urlencoded/i.test(req.headers['content-type'] ?? ''))
          return fail('invalid_request');
        if (form.get('grant_type') !== 'client_credentials') return fail('unsupported_grant_type');
        const bodyCred = form.has('client_id')
          ? { id: form.get('client_id') ?? '', secret: form.get('client_secret') ?? '' }
          : undefined;
        if (basic !== undefined && bodyCred !== undefined) return fail('invalid_request');
        const given = basic ?? bodyCred;
        if (given === undefined) return fail('invalid_client');
        cred = lookup(given.id, given.secret, 'invalid_client', 'invalid_client');
        break;
      }
    }
    if (cred === undefined) return;

    const lifetime = state.lifetime ?? DEFAULT_LIFETIME[family];
    const previous = state.current.get(cred.id);
    const t = now();
    const live = previous !== undefined && previous.expiresAt > t ? previous : undefined;
    let issued: IssuedToken;
    switch (family) {
      case 'wechat': {
        issued = issue(path, state, cred.id, lifetime);
        if (previous !== undefined) {
          const old = validity.get(previous.token);
          if (old !== undefined) old.expiresAt = Math.min(old.expiresAt, t + WECHAT_OVERLAP_MS);
        }
        break;
      }
      case 'wechat_stable': {
        if (json.force_refresh === true) {
          const day = new Date(t).toISOString().slice(0, 10);
          const f = state.forced.get(cred.id);
          const count = f !== undefined && f.day === day ? f.count : 0;
          if (count >= 20) return fail('45009');
          if (f !== undefined && t - f.last < 30_000) return fail('45011');
          state.forced.set(cred.id, { day, count: count + 1, last: t });
          if (previous !== undefined) validity.delete(previous.token);
          issued = issue(path, state, cred.id, lifetime);
        } else if (live !== undefined && live.expiresAt - t > STABLE_ROLL_MS) {
          issued = live;
        } else {
          issued = issue(path, state, cred.id, lifetime);
        }
        break;
      }
      case 'wecom':
        issued = live ?? issue(path, state, cred.id, lifetime);
        break;
      case 'feishu':
        issued =
          live !== undefined && live.expiresAt - t >= FEISHU_REISSUE_MS
            ? live
            : issue(path, state, cred.id, lifetime);
        break;
      case 'dingtalk':
      case 'dingtalk_v1':
        if (live !== undefined) {
          live.expiresAt = t + lifetime * 1000;
          const v = validity.get(live.token);
          if (v !== undefined) v.expiresAt = live.expiresAt;
          issued = live;
        } else {
          issued = issue(path, state, cred.id, lifetime);
        }
        break;
      case 'oauth2':
        issued = issue(path, state, cred.id, lifetime);
        break;
    }
    const remaining = Math.max(1, Math.round((issued.expiresAt - t) / 1000));
    let lifetimeField: number | string | null = state.lifetime === null ? null : remaining;
    let token: string | undefined = issued.token;
    if (mode === 'no_token') token = undefined;
    if (mode === 'big_token') token = 'x'.repeat(9000);
    if (mode === 'bad_lifetime') lifetimeField = -1;
    if (mode === 'bad_lifetime:absurd') lifetimeField = 10 * 366 * 86_400;
    if (mode === 'bad_lifetime:text') lifetimeField = 'soon';
    send(res, 200, successBody(family, token, lifetimeField));
  }

  const port = await listenOnLoopback(server, options.port);

  return {
    url: `http://127.0.0.1:${port}`,
    calls(route?: FakeRoute, id?: string): number {
      if (route === undefined) return [...routes.values()].reduce((sum, s) => sum + s.calls, 0);
      const state = stateOf(route);
      return id === undefined ? state.calls : (state.callsById.get(id) ?? 0);
    },
    requests(route?: FakeRoute): RecordedRequest[] {
      if (route !== undefined) return [...stateOf(route).requests];
      return [...routes.values()].flatMap((s) => s.requests).sort((a, b) => a.at - b.at);
    },
    setCredentials(route, credentials) {
      stateOf(route).credentials = (Array.isArray(credentials) ? credentials : [credentials]).map((c) => ({
        ...c,
      }));
    },
    credentials(preset, index = 0) {
      const cred = stateOf(preset).credentials[index];
      if (cred === undefined) throw new Error(`no credential #${index} for ${preset}`);
      return { key_1: cred.id, key_2: cred.secret };
    },
    failNext(route, mode, times = 1) {
      const state = stateOf(route);
      for (let i = 0; i < times; i++) state.queue.push(mode);
    },
    setMode(route, mode) {
      stateOf(route).mode = mode;
    },
    setLatency(routeOrMs, ms) {
      if (typeof routeOrMs === 'number') latencyMs = routeOrMs;
      else stateOf(routeOrMs).latencyMs = ms;
    },
    setLifetime(route, seconds) {
      stateOf(route).lifetime = seconds;
    },
    currentToken(route, id) {
      const state = stateOf(route);
      const who = id ?? state.credentials[0]?.id;
      return who === undefined ? undefined : state.current.get(who)?.token;
    },
    tokenValid,
    apiCalls: (path) => apiCalls.get(path) ?? 0,
    advanceTime(ms) {
      offset += ms;
    },
    reset: resetAll,
    async close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A preset's realm config (JSON) with its URL pointed at the fake: the preset's path (and query) on
 * `fakeUrl`. Throws for an unknown preset.
 */
export function realmFor(presetName: string, fakeUrl: string): JsonObject {
  const preset = getPreset(presetName);
  if (preset === undefined) throw new Error(`unknown preset ${presetName}`);
  const original = new URL(typeof preset.config.url === 'string' ? preset.config.url : '');
  const path = (FAKE_PATHS as Record<string, string | undefined>)[presetName] ?? original.pathname;
  const base = fakeUrl.replace(/\/+$/, '');
  const config: JsonObject = { ...preset.config, url: `${base}${path}${original.search}` };
  // A probe (WeChat presets) goes to the fake too, which answers it 404: the token is left alone.
  const probe = preset.config.probe;
  if (probe !== null && typeof probe === 'object' && !Array.isArray(probe) && typeof probe.url === 'string') {
    config.probe = { ...probe, url: `${base}${new URL(probe.url).pathname}` };
  }
  return config;
}
