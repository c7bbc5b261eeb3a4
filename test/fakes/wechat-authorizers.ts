/**
 * A fake WeChat Open Platform for authorizer tokens on 127.0.0.1, in WeChat's formats:
 *
 *   POST /cgi-bin/component/api_component_token {component_appid, component_appsecret, ...}
 *        → component_access_token / expires_in (the ticket is not checked here: the component's
 *        pushed ticket is wechat-open.ts's concern; a test's component realm may leave it out)
 *   POST /cgi-bin/component/api_authorizer_token?component_access_token=T
 *        {component_appid, authorizer_appid, authorizer_refresh_token}
 *        → authorizer_access_token / expires_in / authorizer_refresh_token; 61023 for a refresh
 *        token it does not accept (refresh-ledger.ts: by the reading the test chooses, strict by
 *        default: the old one is invalid the moment it rotates); 40001 for an unknown component token
 *   POST /cgi-bin/component/api_get_authorizer_list?component_access_token=T
 *        {component_appid, offset, count ≤ 500} → total_count, list [{authorizer_appid,
 *        refresh_token, auth_time}]
 *
 * holdAuthorizerCalls(n): the next n api_authorizer_token calls rotate when they arrive but their
 * answers are held (heldCount() says how many are waiting) until releaseHeld(), or forever (the
 * holder is killed meanwhile: the answer is lost, the rotation happened). heldCalls() says, for each
 * held call, its authorizer and the caller's TCP port (so a test can find the process holding it,
 * test/helpers/socket-owner.ts). Counts per path, and per authorizer the refreshes and 61023 answers.
 */
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import { listenOnLoopback } from '../helpers/ports';
import { registerSecret } from '../helpers/leak-registry';
import { REJECTED, RefreshLedger, type RotationReading } from './refresh-ledger';

export const AUTHORIZER_PATHS = {
  component_token: '/cgi-bin/component/api_component_token',
  authorizer_token: '/cgi-bin/component/api_authorizer_token',
  authorizer_list: '/cgi-bin/component/api_get_authorizer_list',
} as const;
export type AuthorizerRoute = keyof typeof AUTHORIZER_PATHS;

export interface AuthorizerFakeOptions {
  reading?: RotationReading;
  /** Lifetime of authorizer tokens (s); default 7200. */
  authorizerExpiresIn?: number;
  /** Lifetime of component tokens (s); default 7200. */
  componentExpiresIn?: number;
}

/** An api_authorizer_token call whose answer was held. */
export interface HeldCall {
  appid: string;
  /** The caller's side of the connection (127.0.0.1:remotePort). */
  remotePort: number;
}

export interface WechatAuthorizersFake {
  readonly url: string;
  readonly component: { appid: string; secret: string };
  readonly ledger: RefreshLedger;
  /** Adds an authorizer (or authorizes it again): its appid and refresh token. */
  authorize(appid?: string): { appid: string; refreshToken: string };
  calls(route: AuthorizerRoute): number;
  holdAuthorizerCalls(n: number): void;
  heldCount(): number;
  /** The calls held so far (released or not), oldest first: authorizer and the caller's TCP port. */
  heldCalls(): ReadonlyArray<HeldCall>;
  releaseHeld(): void;
  /** Authorizer tokens the fake handed out (to check what apps were given). */
  readonly issued: Set<string>;
  close(): Promise<void>;
}

export async function startWechatAuthorizersFake(
  options: AuthorizerFakeOptions = {},
): Promise<WechatAuthorizersFake> {
  const component = {
    appid: `wxcomp${randomBytes(5).toString('hex')}`,
    secret: `compsecret-${randomBytes(12).toString('hex')}`,
  };
  // A prefix of no English word: the leak check matches any 8 characters, and the compat route's
  // placeholder (PLACEHOLDER_REFRESH_TOKEN) says "refreshtoken".
  const ledger = new RefreshLedger(options.reading ?? 'strict', 'wxq@@@');
  const componentTokens = new Set<string>();
  const issued = new Set<string>();
  const counts = new Map<string, number>();
  let toHold = 0;
  const held: Array<() => void> = [];
  const heldCalls: HeldCall[] = [];
  const sockets = new Set<import('node:net').Socket>();

  const answer = (res: http.ServerResponse, body: unknown): void => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const handle = (
    path: string,
    query: URLSearchParams,
    body: Record<string, unknown>,
    res: http.ServerResponse,
    remotePort: number,
  ) => {
    if (path === AUTHORIZER_PATHS.component_token) {
      if (body.component_appid !== component.appid || body.component_appsecret !== component.secret)
        return answer(res, { errcode: 40013, errmsg: 'invalid appid' });
      const token = `cat_${randomBytes(18).toString('base64url')}`;
      componentTokens.add(token);
      return answer(res, { component_access_token: token, expires_in: options.componentExpiresIn ?? 7200 });
    }
    if (!componentTokens.has(query.get('component_access_token') ?? ''))
      return answer(res, { errcode: 40001, errmsg: 'invalid credential, access_token is invalid' });
    if (body.component_appid !== component.appid)
      return answer(res, { errcode: 61003, errmsg: 'component is not authorized by this account' });
    if (path === AUTHORIZER_PATHS.authorizer_token) {
      const appid = String(body.authorizer_appid);
      const next = ledger.refresh(appid, String(body.authorizer_refresh_token));
      if (next === REJECTED) return answer(res, { errcode: 61023, errmsg: 'refresh_token is invalid' });
      const token = `aat_${randomBytes(18).toString('base64url')}`;
      issued.add(token);
      registerSecret(token, 'token', 'wechat-authorizers fake');
      const send = (): void =>
        answer(res, {
          authorizer_access_token: token,
          expires_in: options.authorizerExpiresIn ?? 7200,
          authorizer_refresh_token: next,
        });
      if (toHold > 0) {
        toHold--;
        held.push(send);
        heldCalls.push({ appid, remotePort });
        return undefined;
      }
      return send();
    }
    if (path === AUTHORIZER_PATHS.authorizer_list) {
      const offset = Number(body.offset ?? 0);
      const count = Math.min(500, Number(body.count ?? 500));
      const ids = ledger.subjectIds();
      return answer(res, {
        total_count: ids.length,
        list: ids.slice(offset, offset + count).map((appid) => ({
          authorizer_appid: appid,
          refresh_token: ledger.current(appid),
          auth_time: 1_700_000_000,
        })),
      });
    }
    res.writeHead(404).end();
    return undefined;
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      counts.set(url.pathname, (counts.get(url.pathname) ?? 0) + 1);
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        answer(res, { errcode: 47001, errmsg: 'data format error' });
        return;
      }
      handle(url.pathname, url.searchParams, body, res, req.socket.remotePort ?? 0);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const port = await listenOnLoopback(server);

  return {
    url: `http://127.0.0.1:${port}`,
    component,
    ledger,
    issued,
    authorize(appid = `wxauth${randomBytes(6).toString('hex')}`) {
      return { appid, refreshToken: ledger.authorize(appid) };
    },
    calls: (route) => counts.get(AUTHORIZER_PATHS[route]) ?? 0,
    holdAuthorizerCalls(n) {
      toHold = n;
    },
    heldCount: () => held.length,
    heldCalls: () => heldCalls,
    releaseHeld() {
      for (const send of held.splice(0)) send();
    },
    close: () =>
      new Promise<void>((resolve) => {
        held.splice(0);
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
