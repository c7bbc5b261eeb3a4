/**
 * A fake of the WeChat and WeCom endpoints behind JS-SDK tickets, on 127.0.0.1, at the real paths:
 *
 *   GET /cgi-bin/token                      WeChat access token: a new one every call; the previous one
 *                                           dies 5 minutes later (wechat_offiaccount)
 *   GET /cgi-bin/ticket/getticket           WeChat jsapi_ticket (type=jsapi)   (wechat_jsapi_ticket)
 *   GET /cgi-bin/get_api_domain_ip          WeChat probe: needs a live access token
 *   GET /cgi-bin/gettoken                   WeCom access token: the same one while it is valid (wecom)
 *   GET /cgi-bin/get_jsapi_ticket           WeCom enterprise jsapi_ticket      (wecom_jsapi_ticket)
 *   GET /cgi-bin/ticket/get                 WeCom agent-config ticket (type=agent_config) (wecom_agent_ticket)
 *
 * Every ticket and probe call checks the access_token it is given, as the providers do: a token the
 * fake never issued, or one killed from outside (kill(): another system fetched a token with the same
 * appid), answers 40001 (WeChat) / 40014 (WeCom); an expired one 42001. Calls are counted per path.
 */
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { getPreset } from '../../functions/providers/presets';
import type { JsonObject } from '../../functions/store/types';

export const TICKET_PATHS = {
  wechat_offiaccount: '/cgi-bin/token',
  wechat_jsapi_ticket: '/cgi-bin/ticket/getticket',
  wechat_probe: '/cgi-bin/get_api_domain_ip',
  wecom: '/cgi-bin/gettoken',
  wecom_jsapi_ticket: '/cgi-bin/get_jsapi_ticket',
  wecom_agent_ticket: '/cgi-bin/ticket/get',
} as const;
export type TicketRoute = keyof typeof TICKET_PATHS;

export const WECHAT_APP = { key_1: 'wx-ticket-appid', key_2: 'wx-ticket-appsecret-1' };
export const WECOM_APP = { key_1: 'ww-ticket-corpid', key_2: 'ww-ticket-corpsecret-1' };

const LIFETIME_S = 7200;
const WECHAT_OVERLAP_MS = 300_000;

interface Issued {
  family: 'wechat' | 'wecom';
  expiresAt: number;
  killed: boolean;
}

export interface TicketFake {
  readonly url: string;
  /** Calls received by one route (failed ones included). */
  calls(route: TicketRoute): number;
  /** The access token the fake issued last for a family. */
  currentToken(family: 'wechat' | 'wecom'): string | undefined;
  /** Whether the fake would accept this access token, or this ticket, now. */
  tokenValid(token: string): boolean;
  ticketValid(ticket: string): boolean;
  /** An outside kill: the token stops working now (as 5 minutes after another system's fetch). */
  kill(token: string): void;
  /** The next `times` calls of a route answer errcode `code` regardless. */
  failNext(route: TicketRoute, code: number, times?: number): void;
  reset(): void;
  close(): Promise<void>;
}

/** The errcode a ticket or probe call answers for this access token, or 0 when it is alive. */
function deadCode(issued: Issued | undefined, family: 'wechat' | 'wecom', now: number): number {
  if (issued === undefined || issued.family !== family || issued.killed)
    return family === 'wechat' ? 40001 : 40014;
  return issued.expiresAt <= now ? 42001 : 0;
}

export async function startTicketFake(): Promise<TicketFake> {
  const tokens = new Map<string, Issued>();
  const tickets = new Map<string, number>();
  const counts = new Map<string, number>();
  const queued = new Map<string, number[]>();
  let wecomCurrent: string | undefined;
  let wechatCurrent: string | undefined;

  const issueToken = (family: 'wechat' | 'wecom'): string => {
    const token = `${family}_at_${randomBytes(18).toString('base64url')}`;
    tokens.set(token, { family, expiresAt: Date.now() + LIFETIME_S * 1000, killed: false });
    return token;
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const q = Object.fromEntries(url.searchParams) as Record<string, string | undefined>;
    const send = (body: JsonObject): void => {
      const text = JSON.stringify(body);
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    };
    const fail = (errcode: number): void =>
      send({ errcode, errmsg: `fake error ${errcode}, rid: ${randomBytes(4).toString('hex')}` });
    const path = url.pathname;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    const forced = queued.get(path)?.shift();
    if (forced !== undefined) return fail(forced);
    const now = Date.now();
    const ticket = (family: 'wechat' | 'wecom'): void => {
      const code = deadCode(tokens.get(q.access_token ?? ''), family, now);
      if (code !== 0) return fail(code);
      const value = `${family}_ticket_${randomBytes(18).toString('base64url')}`;
      tickets.set(value, now + LIFETIME_S * 1000);
      send({ errcode: 0, errmsg: 'ok', ticket: value, expires_in: LIFETIME_S });
    };
    switch (path) {
      case TICKET_PATHS.wechat_offiaccount: {
        if (q.grant_type !== 'client_credential') return fail(40002);
        if (q.appid !== WECHAT_APP.key_1) return fail(40013);
        if (q.secret !== WECHAT_APP.key_2) return fail(40125);
        const previous = wechatCurrent === undefined ? undefined : tokens.get(wechatCurrent);
        if (previous !== undefined)
          previous.expiresAt = Math.min(previous.expiresAt, now + WECHAT_OVERLAP_MS);
        wechatCurrent = issueToken('wechat');
        return send({ access_token: wechatCurrent, expires_in: LIFETIME_S });
      }
      case TICKET_PATHS.wecom: {
        if (q.corpid !== WECOM_APP.key_1) return fail(40013);
        if (q.corpsecret !== WECOM_APP.key_2) return fail(40001);
        const current = wecomCurrent === undefined ? undefined : tokens.get(wecomCurrent);
        if (wecomCurrent === undefined || current === undefined || deadCode(current, 'wecom', now) !== 0) {
          wecomCurrent = issueToken('wecom');
        }
        const remaining = Math.round(((tokens.get(wecomCurrent)?.expiresAt ?? now) - now) / 1000);
        return send({ errcode: 0, errmsg: 'ok', access_token: wecomCurrent, expires_in: remaining });
      }
      case TICKET_PATHS.wechat_jsapi_ticket:
        if (q.type !== 'jsapi') return fail(40097);
        return ticket('wechat');
      case TICKET_PATHS.wecom_jsapi_ticket:
        return ticket('wecom');
      case TICKET_PATHS.wecom_agent_ticket:
        if (q.type !== 'agent_config') return fail(40097);
        return ticket('wecom');
      case TICKET_PATHS.wechat_probe: {
        const code = deadCode(tokens.get(q.access_token ?? ''), 'wechat', now);
        if (code !== 0) return fail(code);
        return send({ ip_list: ['101.226.103.0/25', '101.226.62.0/26'] });
      }
      default:
        res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    calls: (route) => counts.get(TICKET_PATHS[route]) ?? 0,
    currentToken: (family) => (family === 'wechat' ? wechatCurrent : wecomCurrent),
    tokenValid: (token) => {
      const issued = tokens.get(token);
      return issued !== undefined && deadCode(issued, issued.family, Date.now()) === 0;
    },
    ticketValid: (value) => (tickets.get(value) ?? 0) > Date.now(),
    kill: (token) => {
      const issued = tokens.get(token);
      if (issued !== undefined) issued.killed = true;
    },
    failNext: (route, code, times = 1) => {
      const list = queued.get(TICKET_PATHS[route]) ?? [];
      for (let i = 0; i < times; i++) list.push(code);
      queued.set(TICKET_PATHS[route], list);
    },
    reset: () => {
      tokens.clear();
      tickets.clear();
      counts.clear();
      queued.clear();
      wecomCurrent = undefined;
      wechatCurrent = undefined;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A preset's realm config with its URL (and its probe's URL) moved to the fake, path and query kept. */
export function ticketRealm(presetName: string, fakeUrl: string): JsonObject {
  const preset = getPreset(presetName);
  if (preset === undefined) throw new Error(`unknown preset ${presetName}`);
  const moved = (raw: unknown): string => {
    const original = new URL(typeof raw === 'string' ? raw : '');
    return `${fakeUrl}${original.pathname}${original.search}`;
  };
  const config: JsonObject = { ...preset.config, url: moved(preset.config.url) };
  const probe = preset.config.probe;
  if (probe !== undefined && probe !== null && typeof probe === 'object' && !Array.isArray(probe)) {
    config.probe = { ...probe, url: moved(probe.url) };
  }
  return config;
}
