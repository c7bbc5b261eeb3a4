/**
 * A fake WeChat Open Platform (third-party platform) on 127.0.0.1 that speaks the real formats:
 *
 *   POST /cgi-bin/component/api_component_token   {component_appid, component_appsecret,
 *        component_verify_ticket} → component_access_token / expires_in; 61005 for an expired
 *        ticket, 61006 for one it never pushed (or invalidated), 40013/40125 for wrong credentials
 *   POST /cgi-bin/component/api_start_push_ticket  {component_appid, component_secret} → errcode 0;
 *        counted (the test decides whether a push follows)
 *
 * Pushes go the other way: push() builds a WXBizMsgCrypt message (encrypted with the EncodingAESKey
 * the test holds, signed with the message token) for the test to send, once, twice, late, out of
 * order, forged or oversized. Every ticket it pushes, its appsecret, message token and EncodingAESKey
 * are registered with the run-wide leak check.
 * Calls are counted per path, with the ticket each api_component_token call presented.
 */
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import { encryptMessage, msgSignature } from '../../functions/platforms/wxbizmsgcrypt';
import { registerSecret } from '../helpers/leak-registry';
import { listenOnLoopback } from '../helpers/ports';

export const COMPONENT_PATHS = {
  component_token: '/cgi-bin/component/api_component_token',
  start_push: '/cgi-bin/component/api_start_push_ticket',
} as const;
export type ComponentRoute = keyof typeof COMPONENT_PATHS;

export interface ComponentAccount {
  appid: string;
  secret: string;
  /** The message token (key_3). */
  token: string;
  /** 43 characters (key_4). */
  encodingAesKey: string;
}

/** A push as WeChat sends it: the query and the XML body. */
export interface Push {
  query: { timestamp: string; nonce: string; encrypt_type: 'aes'; msg_signature: string };
  body: string;
  ticket: string;
}

export interface PushOptions {
  /** The query's timestamp (s); default now. */
  timestamp?: number;
  /** The message's CreateTime (s); default the timestamp. */
  createTime?: number;
  /** Sign with another message token (a forgery). */
  signWith?: string;
  /** The InfoType and extra fields of another event. */
  infoType?: string;
}

/**
 * More of the platform's API (test/fakes/wechat-open-authorizers.ts): asked for any path this fake
 * does not serve, with the JSON body; answers (or resolves to) the JSON to send, or undefined for
 * a 404.
 */
export type ExtraRoutes = (path: string, query: URLSearchParams, body: Record<string, unknown>) => unknown;

export interface WechatOpenFake {
  readonly url: string;
  readonly account: ComponentAccount;
  calls(route: ComponentRoute): number;
  /** The tickets presented to api_component_token, in order. */
  readonly ticketsSeen: string[];
  /** A new ticket (valid at the fake from now) in a push message. */
  push(options?: PushOptions): Push;
  /** Any event (InfoType and its fields) in a push message, encrypted and signed as WeChat does. */
  event(fields: Record<string, string>, options?: Omit<PushOptions, 'infoType'>): Omit<Push, 'ticket'>;
  /** Whether this component_access_token was answered by the fake. */
  componentTokenValid(token: string): boolean;
  /** Encrypts any text for the GET URL check (echostr), signed as WeChat signs it. */
  echo(text: string, timestamp?: number): Push['query'] & { echostr: string };
  /** The ticket stops being valid at the fake (61006), or counts as expired (61005). */
  invalidateTickets(code: 61005 | 61006): void;
  close(): Promise<void>;
}

function randomKey(): string {
  return randomBytes(32).toString('base64').slice(0, 43);
}

export async function startWechatOpenFake(extra?: ExtraRoutes): Promise<WechatOpenFake> {
  const account: ComponentAccount = {
    appid: `wxcomp${randomBytes(5).toString('hex')}`,
    secret: `compsecret-${randomBytes(12).toString('hex')}`,
    token: `msgtoken${randomBytes(8).toString('hex')}`,
    encodingAesKey: randomKey(),
  };
  // Secrets from the start, whether or not a test ever POSTs them as key_N.
  registerSecret(account.secret, 'credential', 'wechat-open fake (component appsecret)');
  registerSecret(account.token, 'message key', 'wechat-open fake (message token, key_3)');
  registerSecret(account.encodingAesKey, 'message key', 'wechat-open fake (EncodingAESKey, key_4)');
  const valid = new Map<string, 0 | 61005 | 61006>();
  const counts = new Map<string, number>();
  const ticketsSeen: string[] = [];
  const componentTokens = new Set<string>();

  const answer = (res: http.ServerResponse, body: unknown): void => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0] ?? '';
      counts.set(path, (counts.get(path) ?? 0) + 1);
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        answer(res, { errcode: 47001, errmsg: 'data format error' });
        return;
      }
      if (path === COMPONENT_PATHS.component_token) {
        if (body.component_appid !== account.appid)
          return answer(res, { errcode: 40013, errmsg: 'invalid appid' });
        if (body.component_appsecret !== account.secret)
          return answer(res, { errcode: 40125, errmsg: 'invalid appsecret' });
        const ticket = typeof body.component_verify_ticket === 'string' ? body.component_verify_ticket : '';
        ticketsSeen.push(ticket);
        const state = valid.get(ticket);
        if (state === undefined || state === 61006)
          return answer(res, { errcode: 61006, errmsg: 'component ticket is invalid' });
        if (state === 61005) return answer(res, { errcode: 61005, errmsg: 'component ticket is expired' });
        const componentToken = `cat_${randomBytes(18).toString('base64url')}`;
        componentTokens.add(componentToken);
        return answer(res, { component_access_token: componentToken, expires_in: 7200 });
      }
      if (path === COMPONENT_PATHS.start_push) {
        if (body.component_appid !== account.appid || body.component_secret !== account.secret)
          return answer(res, { errcode: 40013, errmsg: 'invalid appid or secret' });
        return answer(res, { errcode: 0, errmsg: 'ok' });
      }
      const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
      void Promise.resolve(extra?.(path, query, body)).then((more) => {
        if (more !== undefined) answer(res, more);
        else res.writeHead(404).end();
      });
    });
  });
  const port = await listenOnLoopback(server);

  const signed = (encrypt: string, timestamp: number, token: string): Push['query'] => {
    const nonce = randomBytes(6).toString('hex');
    const ts = String(timestamp);
    return {
      timestamp: ts,
      nonce,
      encrypt_type: 'aes',
      msg_signature: msgSignature(token, ts, nonce, encrypt),
    };
  };

  const sealed = (xmlFields: string, options: Omit<PushOptions, 'infoType'>): Omit<Push, 'ticket'> => {
    const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
    const createTime = options.createTime ?? timestamp;
    const message =
      `<xml><AppId><![CDATA[${account.appid}]]></AppId><CreateTime>${createTime}</CreateTime>` +
      `${xmlFields}</xml>`;
    const encrypt = encryptMessage(account.encodingAesKey, message, account.appid);
    return {
      query: signed(encrypt, timestamp, options.signWith ?? account.token),
      body: `<xml><AppId><![CDATA[${account.appid}]]></AppId><Encrypt><![CDATA[${encrypt}]]></Encrypt></xml>`,
    };
  };

  return {
    url: `http://127.0.0.1:${port}`,
    account,
    ticketsSeen,
    calls: (route) => counts.get(COMPONENT_PATHS[route]) ?? 0,
    push(options = {}) {
      const ticket = `ticket@@@${randomBytes(24).toString('base64url')}`;
      registerSecret(ticket, 'ticket', 'wechat-open fake');
      valid.set(ticket, 0);
      const infoType = options.infoType ?? 'component_verify_ticket';
      const fields =
        `<InfoType><![CDATA[${infoType}]]></InfoType>` +
        `<ComponentVerifyTicket><![CDATA[${ticket}]]></ComponentVerifyTicket>`;
      return { ...sealed(fields, options), ticket };
    },
    event(fields, options = {}) {
      const xml = Object.entries(fields)
        .map(([name, value]) => `<${name}><![CDATA[${value}]]></${name}>`)
        .join('');
      return sealed(xml, options);
    },
    componentTokenValid: (token) => componentTokens.has(token),
    echo(text, timestamp = Math.floor(Date.now() / 1000)) {
      const encrypt = encryptMessage(account.encodingAesKey, text, account.appid);
      return { ...signed(encrypt, timestamp, account.token), echostr: encrypt };
    },
    invalidateTickets(code) {
      for (const t of valid.keys()) valid.set(t, code);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
