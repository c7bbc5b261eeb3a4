/**
 * A fake Feishu/Lark Open Platform for store apps on 127.0.0.1, at the real paths and in the real
 * format (PROVIDERS.md "Feishu store app"):
 *
 *   POST /open-apis/auth/v3/app_access_token     {app_id, app_secret, app_ticket} → {code: 0, msg,
 *        app_access_token, expire}; 10012 for a ticket it never pushed (or invalidated), 10014 for a
 *        wrong app secret
 *   POST /open-apis/auth/v3/tenant_access_token  {app_access_token, tenant_key} → {code: 0, msg,
 *        tenant_access_token (a JWT of about 4.5 KB), expire}; 99991664 for an app token it never
 *        issued, 10003 for a tenant that never installed the app
 *   POST /open-apis/auth/v3/app_ticket/resend    {app_id, app_secret} → {code: 0}; counted (the test
 *        decides whether a push follows)
 *
 * Events go the other way: event() builds a callback as Feishu sends it (schema 1.0 JSON; with an
 * Encrypt Key `{"encrypt"}` under AES-256-CBC and the X-Lark-* signature headers) for the test to
 * send once, twice, late, out of order or forged. Every ticket, the Encrypt Key, the Verification
 * Token and the app secret are registered with the run-wide leak check. Calls are counted per path.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import * as http from 'node:http';
import { encryptEvent, eventSignature } from '../../functions/platforms/feishu/crypto';
import { registerSecret } from '../helpers/leak-registry';
import { listenOnLoopback } from '../helpers/ports';

export const FEISHU_PATHS = {
  app_token: '/open-apis/auth/v3/app_access_token',
  tenant_token: '/open-apis/auth/v3/tenant_access_token',
  resend: '/open-apis/auth/v3/app_ticket/resend',
} as const;
export type FeishuRoute = keyof typeof FEISHU_PATHS;

export interface FeishuApp {
  appId: string;
  appSecret: string;
  verificationToken: string;
  /** undefined: the app sends plain JSON. */
  encryptKey: string | undefined;
}

/** A callback as Feishu sends it: the raw body and its headers. */
export interface FeishuEvent {
  body: string;
  headers: Record<string, string>;
  /** The app_ticket it carries (app_ticket events). */
  ticket?: string;
}

export interface EventOptions {
  type?: 'app_ticket' | 'app_open' | 'app_uninstalled' | 'url_verification';
  /** The event's time (s, may be fractional); default now. */
  ts?: number;
  tenantKey?: string;
  /** Another verification token (a forgery by someone who lacks it). */
  token?: string;
  /** Sign with another Encrypt Key (a forgery). */
  signWith?: string;
  /** The same uuid as an earlier event (Feishu's retry). */
  uuid?: string;
  /** The challenge of a url_verification. */
  challenge?: string;
  /** Schema 2.0 (header.token, header.event_type, header.create_time in ms). */
  schema2?: boolean;
}

export interface FeishuStoreFake {
  readonly url: string;
  readonly app: FeishuApp;
  calls(route: FeishuRoute): number;
  /** The tickets presented to app_access_token, in order. */
  readonly ticketsSeen: string[];
  /** app_ticket/resend calls with this app's credentials (other apps' calls are counted in calls()). */
  resends(): number;
  /** Tenant tokens issued, by tenant_key (the newest). */
  readonly tenantTokens: Map<string, string>;
  event(options?: EventOptions): FeishuEvent;
  /** Every ticket pushed so far stops being valid at the fake (10012). */
  invalidateTickets(): void;
  /** Tenants that installed the app (app_open events built by event() add theirs). */
  readonly tenants: Set<string>;
  close(): Promise<void>;
}

export interface FeishuFakeOptions {
  /** Without an Encrypt Key the app's callbacks are plain JSON. Default true. */
  encrypt?: boolean;
  /** Length of the tenant tokens (a JWT); default 4,600 characters. */
  tenantTokenLength?: number;
  /** Answer each token call after this delay (ms), to widen races; default 0. */
  delayMs?: number;
}

/** A JWT-shaped token of `length` characters: header.payload.signature, base64url. */
function jwtOf(length: number, subject: string): string {
  const header = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'JWT' })).toString('base64url');
  const signature = randomBytes(64).toString('base64url');
  const room = Math.max(16, length - header.length - signature.length - 2);
  const claims = { sub: subject, jti: randomBytes(8).toString('hex'), pad: '' };
  const base = Buffer.from(JSON.stringify(claims)).toString('base64url').length;
  claims.pad = 'x'.repeat(Math.max(0, Math.floor(((room - base) * 3) / 4)));
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url').slice(0, room);
  return `${header}.${payload}.${signature}`;
}

export async function startFeishuStoreFake(options: FeishuFakeOptions = {}): Promise<FeishuStoreFake> {
  const app: FeishuApp = {
    appId: `cli_${randomBytes(8).toString('hex')}`,
    appSecret: `fsappsecret${randomBytes(12).toString('hex')}`,
    verificationToken: `fsverify${randomBytes(10).toString('hex')}`,
    encryptKey: options.encrypt === false ? undefined : `fsencrypt${randomBytes(12).toString('hex')}`,
  };
  registerSecret(app.appSecret, 'credential', 'feishu-store fake');
  registerSecret(app.verificationToken, 'message key', 'feishu-store fake');
  if (app.encryptKey !== undefined) registerSecret(app.encryptKey, 'message key', 'feishu-store fake');
  const tokenLength = options.tenantTokenLength ?? 4600;
  const validTickets = new Set<string>();
  const appTokens = new Set<string>();
  const tenants = new Set<string>();
  const tenantTokens = new Map<string, string>();
  const counts = new Map<string, number>();
  const ticketsSeen: string[] = [];
  let resends = 0;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0] ?? '';
      counts.set(path, (counts.get(path) ?? 0) + 1);
      const answer = (body: Record<string, unknown>): void => {
        const send = (): void => {
          res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
          res.end(JSON.stringify(body));
        };
        if ((options.delayMs ?? 0) > 0 && path !== FEISHU_PATHS.resend) setTimeout(send, options.delayMs);
        else send();
      };
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        answer({ code: 9499, msg: 'Bad Request' });
        return;
      }
      if (path === FEISHU_PATHS.app_token) {
        if (body.app_id !== app.appId || body.app_secret !== app.appSecret)
          return answer({ code: 10014, msg: 'app secret invalid' });
        const ticket = typeof body.app_ticket === 'string' ? body.app_ticket : '';
        ticketsSeen.push(ticket);
        if (!validTickets.has(ticket)) return answer({ code: 10012, msg: 'app_ticket is invalid' });
        const token = `a-${randomBytes(24).toString('hex')}`;
        registerSecret(token, 'token', 'feishu-store fake');
        appTokens.add(token);
        return answer({ code: 0, msg: 'ok', app_access_token: token, expire: 7200 });
      }
      if (path === FEISHU_PATHS.tenant_token) {
        if (typeof body.app_access_token !== 'string' || !appTokens.has(body.app_access_token))
          return answer({ code: 99991664, msg: 'invalid app_access_token' });
        const tenant = typeof body.tenant_key === 'string' ? body.tenant_key : '';
        if (!tenants.has(tenant)) return answer({ code: 10003, msg: 'invalid param: tenant_key' });
        const token = jwtOf(tokenLength, tenant);
        registerSecret(token, 'token', 'feishu-store fake');
        tenantTokens.set(tenant, token);
        return answer({ code: 0, msg: 'ok', tenant_access_token: token, expire: 7200 });
      }
      if (path === FEISHU_PATHS.resend) {
        if (body.app_id !== app.appId || body.app_secret !== app.appSecret)
          return answer({ code: 10014, msg: 'app secret invalid' });
        resends++;
        return answer({ code: 0, msg: 'ok' });
      }
      res.writeHead(404).end();
    });
  });
  const port = await listenOnLoopback(server);

  return {
    url: `http://127.0.0.1:${port}`,
    app,
    ticketsSeen,
    tenantTokens,
    tenants,
    calls: (route) => counts.get(FEISHU_PATHS[route]) ?? 0,
    resends: () => resends,
    event(o = {}): FeishuEvent {
      const type = o.type ?? 'app_ticket';
      const token = o.token ?? app.verificationToken;
      const ts = o.ts ?? Date.now() / 1000;
      let message: Record<string, unknown>;
      let ticket: string | undefined;
      if (type === 'url_verification') {
        message = { challenge: o.challenge ?? randomUUID(), token, type: 'url_verification' };
      } else {
        const event: Record<string, unknown> = { app_id: app.appId, type };
        if (type === 'app_ticket') {
          ticket = `fsticket-${randomBytes(18).toString('base64url')}`;
          registerSecret(ticket, 'ticket', 'feishu-store fake');
          validTickets.add(ticket);
          event.app_ticket = ticket;
        } else {
          const tenant = o.tenantKey ?? `tk${randomBytes(8).toString('hex')}`;
          if (type === 'app_open') tenants.add(tenant);
          event.tenant_key = tenant;
        }
        const uuid = o.uuid ?? randomBytes(16).toString('hex');
        message =
          o.schema2 === true
            ? {
                schema: '2.0',
                header: {
                  event_id: uuid,
                  token,
                  create_time: String(Math.floor(ts * 1000)),
                  event_type: type,
                  app_id: app.appId,
                  tenant_key: event.tenant_key,
                },
                event,
              }
            : { ts: ts.toFixed(7), uuid, token, type: 'event_callback', event };
      }
      const plain = JSON.stringify(message);
      if (app.encryptKey === undefined)
        return {
          body: plain,
          headers: { 'content-type': 'application/json' },
          ...(ticket === undefined ? {} : { ticket }),
        };
      const body = JSON.stringify({ encrypt: encryptEvent(app.encryptKey, plain) });
      const timestamp = String(Math.floor(ts));
      const nonce = randomBytes(8).toString('hex');
      return {
        body,
        headers: {
          'content-type': 'application/json',
          'x-lark-request-timestamp': timestamp,
          'x-lark-request-nonce': nonce,
          'x-lark-signature': eventSignature(timestamp, nonce, o.signWith ?? app.encryptKey, body),
        },
        ...(ticket === undefined ? {} : { ticket }),
      };
    },
    invalidateTickets() {
      validTickets.clear();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
