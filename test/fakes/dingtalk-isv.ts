/**
 * A fake DingTalk ISV platform on 127.0.0.1 that speaks the real formats:
 *
 *   POST /service/get_suite_token            {suite_key, suite_secret, suite_ticket} →
 *        suite_access_token / expires_in (errcode 0); 40078-style errcode for wrong credentials
 *   POST /v1.0/oauth2/corpAccessToken         {suiteKey, suiteSecret, authCorpId, suiteTicket} →
 *        accessToken / expireIn; a ticket it never pushed (or invalidated): HTTP 400
 *        {code: "InvalidSuiteTicket", message: "suiteTicket is invalid"} (DingTalk's exact answer
 *        is unverified); a corp it does not know: HTTP 400 {code: "InvalidAuthCorpId"}
 *
 * Pushes: ticket() builds DingTalk's encrypted JSON callback ({"encrypt"} with signature,
 * timestamp in ms, nonce in the query), encrypted with the aes_key the test holds and signed with
 * the token; readReply() checks and decrypts the broker's encrypted `success`. Every ticket, secret
 * and key is registered with the run-wide leak check; calls are counted per path.
 */
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import { decryptMessage, encryptMessage, msgSignature } from '../../functions/platforms/wxbizmsgcrypt';
import { registerSecret } from '../helpers/leak-registry';
import { listenOnLoopback } from '../helpers/ports';

export const DINGTALK_ISV_PATHS = {
  suite_token: '/service/get_suite_token',
  corp_token: '/v1.0/oauth2/corpAccessToken',
} as const;
export type DingtalkIsvRoute = keyof typeof DINGTALK_ISV_PATHS;

export interface IsvAccount {
  suiteKey: string;
  suiteSecret: string;
  token: string;
  aesKey: string;
}

export interface IsvPush {
  query: { signature: string; timestamp: string; nonce: string };
  body: string;
}

export interface DingtalkIsvFake {
  readonly url: string;
  readonly account: IsvAccount;
  calls(route: DingtalkIsvRoute): number;
  readonly ticketsSeen: string[];
  /** A new suite_ticket in a push; `timestampMs` the query's (default now), `signWith` a forgery. */
  ticket(options?: {
    timestampMs?: number;
    createTimeMs?: number;
    signWith?: string;
  }): IsvPush & { ticket: string };
  /** A company that has authorized the suite (an admin adds it by its authCorpId). */
  authorizedCorp(): string;
  /** Every ticket pushed so far stops being valid. */
  forgetTickets(): void;
  /** The broker's reply, checked (signature) and decrypted: 'success' when all is well. */
  readReply(text: string): string;
  close(): Promise<void>;
}

function reg(value: string, kind: Parameters<typeof registerSecret>[1]): string {
  registerSecret(value, kind, 'dingtalk-isv fake');
  return value;
}

export async function startDingtalkIsvFake(): Promise<DingtalkIsvFake> {
  const account: IsvAccount = {
    suiteKey: `suitekey${randomBytes(5).toString('hex')}`,
    suiteSecret: reg(`isvsecret-${randomBytes(12).toString('hex')}`, 'credential'),
    token: reg(`isvmsgtoken${randomBytes(8).toString('hex')}`, 'credential'),
    aesKey: reg(randomBytes(32).toString('base64').slice(0, 43), 'message key'),
  };
  const tickets = new Set<string>();
  const corps = new Set<string>();
  const counts = new Map<string, number>();
  const ticketsSeen: string[] = [];

  const answer = (res: http.ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://fake').pathname;
      counts.set(path, (counts.get(path) ?? 0) + 1);
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        return answer(res, 400, { code: 'InvalidParameter', message: 'body is not JSON' });
      }
      if (path === DINGTALK_ISV_PATHS.suite_token) {
        if (body.suite_key !== account.suiteKey || body.suite_secret !== account.suiteSecret)
          return answer(res, 200, { errcode: 40078, errmsg: 'invalid suite' });
        const ticket = typeof body.suite_ticket === 'string' ? body.suite_ticket : '';
        ticketsSeen.push(ticket);
        if (!tickets.has(ticket)) return answer(res, 200, { errcode: 40089, errmsg: 'invalid suite ticket' });
        return answer(res, 200, {
          errcode: 0,
          errmsg: 'ok',
          suite_access_token: reg(`dtsuite_${randomBytes(18).toString('base64url')}`, 'token'),
          expires_in: 7200,
        });
      }
      if (path === DINGTALK_ISV_PATHS.corp_token) {
        if (body.suiteKey !== account.suiteKey || body.suiteSecret !== account.suiteSecret)
          return answer(res, 400, { code: 'InvalidSuiteKey', message: 'suiteKey or suiteSecret is wrong' });
        const ticket = typeof body.suiteTicket === 'string' ? body.suiteTicket : '';
        ticketsSeen.push(ticket);
        if (!tickets.has(ticket))
          return answer(res, 400, { code: 'InvalidSuiteTicket', message: 'suiteTicket is invalid' });
        if (typeof body.authCorpId !== 'string' || !corps.has(body.authCorpId))
          return answer(res, 400, { code: 'InvalidAuthCorpId', message: 'the corp has not authorized' });
        return answer(res, 200, {
          accessToken: reg(`dtcorp_${randomBytes(18).toString('base64url')}`, 'token'),
          expireIn: 7200,
        });
      }
      res.writeHead(404).end();
    });
  });
  const port = await listenOnLoopback(server);

  return {
    url: `http://127.0.0.1:${port}`,
    account,
    ticketsSeen,
    calls: (route) => counts.get(DINGTALK_ISV_PATHS[route]) ?? 0,
    ticket(options = {}) {
      const ticket = reg(`isvticket-${randomBytes(20).toString('base64url')}`, 'ticket');
      tickets.add(ticket);
      const timestamp = String(options.timestampMs ?? Date.now());
      const event = {
        EventType: 'suite_ticket',
        SuiteKey: account.suiteKey,
        SuiteTicket: ticket,
        TimeStamp: String(options.createTimeMs ?? Number(timestamp)),
      };
      const encrypt = encryptMessage(account.aesKey, JSON.stringify(event), account.suiteKey);
      const nonce = randomBytes(6).toString('hex');
      const signature = msgSignature(options.signWith ?? account.token, timestamp, nonce, encrypt);
      return { query: { signature, timestamp, nonce }, body: JSON.stringify({ encrypt }), ticket };
    },
    authorizedCorp() {
      const corp = `dingcorp${randomBytes(6).toString('hex')}`;
      corps.add(corp);
      return corp;
    },
    forgetTickets() {
      tickets.clear();
    },
    readReply(text) {
      const reply = JSON.parse(text) as {
        msg_signature: string;
        timeStamp: string;
        nonce: string;
        encrypt: string;
      };
      const expected = msgSignature(account.token, reply.timeStamp, reply.nonce, reply.encrypt);
      if (expected !== reply.msg_signature) throw new Error('the reply is not signed with the token');
      return decryptMessage(account.aesKey, reply.encrypt, account.suiteKey);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
