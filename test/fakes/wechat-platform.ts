/**
 * A fake WeChat (Official Account) and WeCom platform on 127.0.0.1: the token endpoints and a few
 * API endpoints that SDK calls hit, so that real SDKs can run against it as against the real one.
 *
 *   GET  /cgi-bin/token?grant_type=client_credential&appid&secret   WeChat: a new token every call;
 *        the previous one dies `overlapMs` later (WeChat: about 5 minutes)
 *   GET  /cgi-bin/gettoken?corpid&corpsecret                         WeCom: the same token while valid
 *   GET  /cgi-bin/user/info, /cgi-bin/menu/get, /cgi-bin/user/get,
 *        POST /cgi-bin/message/custom/send                           API calls: 40001 for an unknown or
 *        killed token, 42001 for an expired one, 41001 without one
 *   GET  /cgi-bin/ticket/getticket, /cgi-bin/get_jsapi_ticket        jsapi tickets (with a valid token)
 *
 * Every path may be prefixed with /app/NAME: NAME is the caller in every count (an SDK in an app
 * process gets its own prefix, the broker's realm another), so that a test can tell who called the
 * token endpoint. Unprefixed calls count as caller "direct".
 */
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { Socket } from 'node:net';
import { listenOnLoopback } from '../helpers/ports';

export interface PlatformAccount {
  /** appid (WeChat) or corpid (WeCom) */
  id: string;
  secret: string;
}

export interface WechatPlatformOptions {
  /** How long a replaced WeChat token keeps working (ms). Default 300,000 as WeChat. */
  overlapMs?: number;
  /** Token lifetime answered (s). Default 7200. */
  lifetimeS?: number;
  wechat?: PlatformAccount[];
  wecom?: PlatformAccount[];
  port?: number;
}

export interface CallerCounts {
  /** Calls of a token endpoint (gettoken, token), successful or not. */
  tokenCalls: number;
  /** Token calls that carried the account's real secret. */
  tokenCallsWithSecret: number;
  apiCalls: number;
  apiOk: number;
  /** API calls answered 40001 / 42001 (token rejected). */
  rejected: number;
}

export interface WechatPlatform {
  readonly url: string;
  /** Counts per caller (the /app/NAME prefix; "direct" without one). */
  counts(caller: string): CallerCounts;
  callers(): string[];
  /** The sum over every caller whose name passes `filter`. */
  total(filter?: (caller: string) => boolean): CallerCounts;
  /** The token an account was last issued. */
  currentToken(id: string): string | undefined;
  /** Kills a token at once, as another system fetching with the same appid would (after its overlap). */
  kill(token: string): void;
  isValid(token: string): boolean;
  close(): Promise<void>;
}

interface Issued {
  id: string;
  kind: 'wechat' | 'wecom';
  expiresAt: number;
  /** Set when killed or replaced: the token stops working then. */
  diesAt?: number;
}

const WECHAT_ERRORS: Record<number, string> = {
  40001: 'invalid credential, access_token is invalid or not latest',
  40002: 'invalid grant_type',
  40013: 'invalid appid',
  40125: 'invalid appsecret',
  41001: 'access_token missing',
  41002: 'appid missing',
  41004: 'appsecret missing',
  42001: 'access_token expired',
};

function zero(): CallerCounts {
  return { tokenCalls: 0, tokenCallsWithSecret: 0, apiCalls: 0, apiOk: 0, rejected: 0 };
}

export async function startWechatPlatform(options: WechatPlatformOptions = {}): Promise<WechatPlatform> {
  const overlapMs = options.overlapMs ?? 300_000;
  const lifetimeS = options.lifetimeS ?? 7200;
  const accounts = {
    wechat: options.wechat ?? [{ id: 'wx-appid-1', secret: 'wx-app-secret-1' }],
    wecom: options.wecom ?? [{ id: 'ww-corpid-1', secret: 'ww-corp-secret-1' }],
  };
  const tokens = new Map<string, Issued>();
  const current = new Map<string, string>();
  const perCaller = new Map<string, CallerCounts>();
  const sockets = new Set<Socket>();

  const countsOf = (caller: string): CallerCounts => {
    let c = perCaller.get(caller);
    if (c === undefined) {
      c = zero();
      perCaller.set(caller, c);
    }
    return c;
  };
  const alive = (token: string | undefined, now: number): 'ok' | 40001 | 42001 | 41001 => {
    if (token === undefined || token === '') return 41001;
    const t = tokens.get(token);
    if (t === undefined || (t.diesAt !== undefined && t.diesAt <= now)) return 40001;
    return t.expiresAt <= now ? 42001 : 'ok';
  };
  const mint = (kind: 'wechat' | 'wecom', id: string, now: number): string => {
    const previous = current.get(`${kind}:${id}`);
    if (kind === 'wecom' && previous !== undefined && alive(previous, now) === 'ok') return previous;
    const token = `${kind === 'wechat' ? 'wxat' : 'wwat'}_${randomBytes(18).toString('base64url')}`;
    tokens.set(token, { id, kind, expiresAt: now + lifetimeS * 1000 });
    current.set(`${kind}:${id}`, token);
    if (kind === 'wechat' && previous !== undefined) {
      const old = tokens.get(previous);
      if (old !== undefined) old.diesAt = Math.min(old.diesAt ?? Infinity, now + overlapMs);
    }
    return token;
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const send = (body: unknown): void => {
        const text = JSON.stringify(body);
        res.writeHead(200, {
          'Content-Type': 'application/json; encoding=utf-8',
          'Content-Length': Buffer.byteLength(text),
        });
        res.end(text);
      };
      const fail = (code: number): void =>
        send({
          errcode: code,
          errmsg: `${WECHAT_ERRORS[code] ?? 'error'} rid: ${randomBytes(4).toString('hex')}`,
        });
      const url = new URL(req.url ?? '/', 'http://platform');
      const prefixed = /^\/app\/([^/]+)(\/.*)$/.exec(url.pathname);
      const caller = prefixed?.[1] ?? 'direct';
      const path = prefixed?.[2] ?? url.pathname;
      const q = url.searchParams;
      const counts = countsOf(caller);
      const now = Date.now();

      if (path === '/cgi-bin/token' || path === '/cgi-bin/gettoken') {
        const kind = path === '/cgi-bin/token' ? 'wechat' : 'wecom';
        const id = kind === 'wechat' ? q.get('appid') : q.get('corpid');
        const secret = kind === 'wechat' ? q.get('secret') : q.get('corpsecret');
        counts.tokenCalls++;
        if (kind === 'wechat' && q.get('grant_type') !== 'client_credential') return fail(40002);
        if (id === null) return fail(41002);
        if (secret === null) return fail(41004);
        const account = accounts[kind].find((a) => a.id === id);
        if (account === undefined) return fail(40013);
        if (account.secret !== secret) return fail(kind === 'wechat' ? 40125 : 40001);
        counts.tokenCallsWithSecret++;
        const token = mint(kind, id, now);
        const body = { access_token: token, expires_in: lifetimeS };
        return send(kind === 'wecom' ? { errcode: 0, errmsg: 'ok', ...body } : body);
      }

      const known = [
        '/cgi-bin/user/info',
        '/cgi-bin/menu/get',
        '/cgi-bin/user/get',
        '/cgi-bin/message/custom/send',
        '/cgi-bin/ticket/getticket',
        '/cgi-bin/get_jsapi_ticket',
      ];
      if (!known.includes(path)) {
        res.writeHead(404, { 'Content-Type': 'application/json' });
        res.end('{"errcode":404,"errmsg":"not found"}');
        return;
      }
      counts.apiCalls++;
      const token = q.get('access_token') ?? undefined;
      const state = alive(token, now);
      if (state !== 'ok') {
        if (state !== 41001) counts.rejected++;
        return fail(state);
      }
      counts.apiOk++;
      switch (path) {
        case '/cgi-bin/user/info':
          return send({ subscribe: 1, openid: q.get('openid') ?? '', nickname: 'fake user', language: 'en' });
        case '/cgi-bin/menu/get':
          return send({ menu: { button: [{ type: 'click', name: 'Hello', key: 'HELLO' }] } });
        case '/cgi-bin/user/get':
          return send({ errcode: 0, errmsg: 'ok', userid: q.get('userid') ?? '', name: 'fake member' });
        case '/cgi-bin/message/custom/send':
          return send({ errcode: 0, errmsg: 'ok' });
        default:
          return send({
            errcode: 0,
            errmsg: 'ok',
            ticket: `tkt_${randomBytes(12).toString('base64url')}`,
            expires_in: 7200,
          });
      }
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const port = await listenOnLoopback(server, options.port);

  return {
    url: `http://127.0.0.1:${port}`,
    counts: (caller) => ({ ...countsOf(caller) }),
    callers: () => [...perCaller.keys()],
    total(filter = () => true) {
      const sum = zero();
      for (const [caller, c] of perCaller) {
        if (!filter(caller)) continue;
        for (const k of Object.keys(sum) as (keyof CallerCounts)[]) sum[k] += c[k];
      }
      return sum;
    },
    currentToken: (id) => current.get(`wechat:${id}`) ?? current.get(`wecom:${id}`),
    kill(token) {
      const t = tokens.get(token);
      if (t !== undefined) t.diesAt = Date.now();
    },
    isValid: (token) => alive(token, Date.now()) === 'ok',
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
