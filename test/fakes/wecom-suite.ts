/**
 * A fake WeCom third-party app platform (服务商, a suite) on 127.0.0.1 that speaks the real formats:
 *
 *   POST /cgi-bin/service/get_suite_token     {suite_id, suite_secret, suite_ticket} →
 *        suite_access_token / expires_in; 40085 for a ticket it never pushed (or invalidated),
 *        40013/40001 for a wrong suite id or secret
 *   POST /cgi-bin/service/get_permanent_code?suite_access_token=T  {auth_code} → permanent_code,
 *        auth_corp_info.corpid, access_token, expires_in; an auth code works once (40029 after)
 *   POST /cgi-bin/service/get_corp_token?suite_access_token=T  {auth_corpid, permanent_code} →
 *        access_token / expires_in; 40084 for a permanent code it did not issue or that was cancelled
 *   A suite token it did not issue, or one past its life, answers 40082 / 42009.
 *
 * Pushes go the other way: ticket(), createAuth() and cancelAuth() build WXBizMsgCrypt messages
 * (WeCom's outer XML: ToUserName, Encrypt, AgentID; the inner one with SuiteId, InfoType, TimeStamp)
 * encrypted with the EncodingAESKey the test holds and signed with the message token, for the test
 * to send when it likes: once, twice, late, out of order or forged. Every ticket, secret, message
 * key and permanent code is registered with the run-wide leak check. Calls are counted per path.
 */
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import { encryptMessage, msgSignature } from '../../functions/platforms/wxbizmsgcrypt';
import { registerSecret } from '../helpers/leak-registry';
import { listenOnLoopback } from '../helpers/ports';

export const WECOM_SUITE_PATHS = {
  suite_token: '/cgi-bin/service/get_suite_token',
  permanent_code: '/cgi-bin/service/get_permanent_code',
  corp_token: '/cgi-bin/service/get_corp_token',
} as const;
export type WecomSuiteRoute = keyof typeof WECOM_SUITE_PATHS;

export interface SuiteAccount {
  suiteId: string;
  secret: string;
  /** The message token (key_3). */
  token: string;
  /** 43 characters (key_4). */
  encodingAesKey: string;
}

/** A push as WeCom sends it: the signed query and the XML body. */
export interface SuitePush {
  query: { msg_signature: string; timestamp: string; nonce: string };
  body: string;
}

export interface SuitePushOptions {
  /** The query's timestamp (s); default now. */
  timestamp?: number;
  /** The message's TimeStamp (s); default the query's. */
  createTime?: number;
  /** Sign with another message token (a forgery). */
  signWith?: string;
}

export interface WecomSuiteFake {
  readonly url: string;
  readonly account: SuiteAccount;
  calls(route: WecomSuiteRoute): number;
  /** The tickets presented to get_suite_token, in order. */
  readonly ticketsSeen: string[];
  /** A new suite_ticket (valid at the fake from now) in a push. */
  ticket(options?: SuitePushOptions): SuitePush & { ticket: string };
  /** A company authorizes the suite: a new auth code for a new corpid, in a create_auth push. */
  createAuth(options?: SuitePushOptions): SuitePush & { corpid: string };
  /** A company authorized earlier (an admin migrates it): its corpid and permanent code. */
  authorized(): { corpid: string; permanentCode: string };
  /** A company removes the app: its permanent code stops working (40084), and the cancel_auth push. */
  cancelAuth(corpid: string, options?: SuitePushOptions): SuitePush;
  /** Every ticket pushed so far stops being valid (40085), as when WeCom invalidates them. */
  forgetTickets(): void;
  /** Encrypts text for the GET URL check (echostr), as WeCom signs it. */
  echo(text: string): SuitePush['query'] & { echostr: string };
  /** Tokens the fake issues live this long (s). */
  lifetimeS: number;
  close(): Promise<void>;
}

function randomKey(): string {
  return randomBytes(32).toString('base64').slice(0, 43);
}

function secret(value: string, kind: Parameters<typeof registerSecret>[1]): string {
  registerSecret(value, kind, 'wecom-suite fake');
  return value;
}

export async function startWecomSuiteFake(): Promise<WecomSuiteFake> {
  const account: SuiteAccount = {
    suiteId: `wwsuite${randomBytes(5).toString('hex')}`,
    secret: secret(`suitesecret-${randomBytes(12).toString('hex')}`, 'credential'),
    token: secret(`suitemsgtoken${randomBytes(8).toString('hex')}`, 'credential'),
    encodingAesKey: secret(randomKey(), 'message key'),
  };
  const tickets = new Set<string>();
  const suiteTokens = new Map<string, number>();
  const authCodes = new Map<string, string>();
  /** permanent code → corpid, while authorized. */
  const permanent = new Map<string, string>();
  const counts = new Map<string, number>();
  const ticketsSeen: string[] = [];
  const fake = { lifetimeS: 7200 };

  const answer = (res: http.ServerResponse, body: unknown): void => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const issue = (prefix: string): { token: string; expires_in: number } => ({
    token: secret(`${prefix}${randomBytes(18).toString('base64url')}`, 'token'),
    expires_in: fake.lifetimeS,
  });
  /** 0 when the suite token is good, else the errcode WeCom answers. */
  const suiteTokenError = (token: string | null): number => {
    const until = token === null ? undefined : suiteTokens.get(token);
    if (until === undefined) return 40082;
    return Date.now() < until ? 0 : 42009;
  };

  const newPermanentCode = (corpid: string): string => {
    const code = secret(`permcode-${randomBytes(16).toString('hex')}`, 'permanent code');
    permanent.set(code, corpid);
    return code;
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
        return answer(res, { errcode: 47001, errmsg: 'data format error' });
      }
      if (url.pathname === WECOM_SUITE_PATHS.suite_token) {
        if (body.suite_id !== account.suiteId)
          return answer(res, { errcode: 40013, errmsg: 'invalid suite_id' });
        if (body.suite_secret !== account.secret)
          return answer(res, { errcode: 40001, errmsg: 'invalid secret' });
        const ticket = typeof body.suite_ticket === 'string' ? body.suite_ticket : '';
        ticketsSeen.push(ticket);
        if (!tickets.has(ticket)) return answer(res, { errcode: 40085, errmsg: 'invalid suite_ticket' });
        const { token, expires_in } = issue('suite_');
        suiteTokens.set(token, Date.now() + expires_in * 1000);
        return answer(res, { errcode: 0, errmsg: 'ok', suite_access_token: token, expires_in });
      }
      const tokenError = suiteTokenError(url.searchParams.get('suite_access_token'));
      if (url.pathname === WECOM_SUITE_PATHS.permanent_code) {
        if (tokenError !== 0)
          return answer(res, { errcode: tokenError, errmsg: 'invalid suite_access_token' });
        const code = typeof body.auth_code === 'string' ? body.auth_code : '';
        const corpid = authCodes.get(code);
        if (corpid === undefined) return answer(res, { errcode: 40029, errmsg: 'invalid code' });
        authCodes.delete(code);
        const code2 = newPermanentCode(corpid);
        const { token, expires_in } = issue('corp_');
        return answer(res, {
          errcode: 0,
          errmsg: 'ok',
          access_token: token,
          expires_in,
          permanent_code: code2,
          auth_corp_info: { corpid, corp_name: 'Test Company' },
        });
      }
      if (url.pathname === WECOM_SUITE_PATHS.corp_token) {
        if (tokenError !== 0)
          return answer(res, { errcode: tokenError, errmsg: 'invalid suite_access_token' });
        const code = typeof body.permanent_code === 'string' ? body.permanent_code : '';
        if (permanent.get(code) !== body.auth_corpid || body.auth_corpid === undefined)
          return answer(res, { errcode: 40084, errmsg: 'invalid permanent_code' });
        const { token, expires_in } = issue('corptok_');
        return answer(res, { errcode: 0, errmsg: 'ok', access_token: token, expires_in });
      }
      res.writeHead(404).end();
    });
  });
  const port = await listenOnLoopback(server);

  const signed = (encrypt: string, timestamp: number, token: string): SuitePush['query'] => {
    const nonce = randomBytes(6).toString('hex');
    const ts = String(timestamp);
    return { msg_signature: msgSignature(token, ts, nonce, encrypt), timestamp: ts, nonce };
  };
  const push = (inner: string, options: SuitePushOptions): SuitePush => {
    const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
    const message =
      `<xml><SuiteId><![CDATA[${account.suiteId}]]></SuiteId>${inner}` +
      `<TimeStamp>${options.createTime ?? timestamp}</TimeStamp></xml>`;
    const encrypt = encryptMessage(account.encodingAesKey, message, account.suiteId);
    return {
      query: signed(encrypt, timestamp, options.signWith ?? account.token),
      body:
        `<xml><ToUserName><![CDATA[${account.suiteId}]]></ToUserName>` +
        `<Encrypt><![CDATA[${encrypt}]]></Encrypt><AgentID><![CDATA[]]></AgentID></xml>`,
    };
  };

  return {
    url: `http://127.0.0.1:${port}`,
    account,
    ticketsSeen,
    get lifetimeS() {
      return fake.lifetimeS;
    },
    set lifetimeS(s: number) {
      fake.lifetimeS = s;
    },
    calls: (route) => counts.get(WECOM_SUITE_PATHS[route]) ?? 0,
    ticket(options = {}) {
      const ticket = secret(`suiteticket-${randomBytes(20).toString('base64url')}`, 'ticket');
      tickets.add(ticket);
      const inner =
        `<InfoType><![CDATA[suite_ticket]]></InfoType>` + `<SuiteTicket><![CDATA[${ticket}]]></SuiteTicket>`;
      return { ...push(inner, options), ticket };
    },
    createAuth(options = {}) {
      const corpid = `wwcorp${randomBytes(6).toString('hex')}`;
      // No English prefix: the leak check matches any run of 8 characters ("authcode" is in the API's own text).
      const code = secret(randomBytes(20).toString('hex'), 'authorization code');
      authCodes.set(code, corpid);
      const inner =
        `<InfoType><![CDATA[create_auth]]></InfoType>` +
        `<AuthCode><![CDATA[${code}]]></AuthCode><State><![CDATA[]]></State>`;
      return { ...push(inner, options), corpid };
    },
    authorized() {
      const corpid = `wwcorp${randomBytes(6).toString('hex')}`;
      return { corpid, permanentCode: newPermanentCode(corpid) };
    },
    cancelAuth(corpid, options = {}) {
      for (const [code, owner] of permanent) if (owner === corpid) permanent.delete(code);
      const inner =
        `<InfoType><![CDATA[cancel_auth]]></InfoType>` + `<AuthCorpId><![CDATA[${corpid}]]></AuthCorpId>`;
      return push(inner, options);
    },
    forgetTickets() {
      tickets.clear();
    },
    echo(text) {
      const encrypt = encryptMessage(account.encodingAesKey, text, account.suiteId);
      return { ...signed(encrypt, Math.floor(Date.now() / 1000), account.token), echostr: encrypt };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
