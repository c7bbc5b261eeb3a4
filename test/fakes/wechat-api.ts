/**
 * The few WeChat / WeCom API calls the fake provider (test/fakes/providers.ts, and so `npm start`)
 * answers beside the token endpoints, each checking the access token as WeChat does: 41001 without
 * one, 40001 for a token the fake never issued or that is no longer valid. Enough for the README's
 * app examples (an SDK's user/info call and its 40001 path) and the JS-SDK ticket to run locally.
 *
 *   GET /cgi-bin/ticket/getticket?type=jsapi|wx_card   WeChat jsapi ticket (preset wechat_jsapi_ticket)
 *   GET /cgi-bin/get_jsapi_ticket                      WeCom enterprise ticket (wecom_jsapi_ticket)
 *   GET /cgi-bin/ticket/get?type=agent_config          WeCom agent ticket (wecom_agent_ticket)
 *   GET /cgi-bin/user/info?openid=O                    WeChat user info
 *
 * Not the WeChat presets' probe call (get_api_domain_ip): it stays a 404, which leaves the token alone,
 * so that no test's token is replaced by a probe it did not ask for.
 */
import { randomBytes } from 'node:crypto';

export const WECHAT_API_PATHS = [
  '/cgi-bin/ticket/getticket',
  '/cgi-bin/get_jsapi_ticket',
  '/cgi-bin/ticket/get',
  '/cgi-bin/user/info',
] as const;

export type WechatApiPath = (typeof WECHAT_API_PATHS)[number];

export function isWechatApiPath(path: string): path is WechatApiPath {
  return (WECHAT_API_PATHS as readonly string[]).includes(path);
}

const ERRORS: Record<number, string> = {
  40001: 'invalid credential, access_token is invalid or not latest',
  40097: 'invalid args',
  41001: 'access_token missing',
};

/** The answer (HTTP 200 as WeChat answers) to one API call, given whether the fake issued the token. */
export function wechatApiAnswer(
  path: WechatApiPath,
  query: Record<string, string>,
  tokenValid: (token: string) => boolean,
): Record<string, unknown> {
  const fail = (errcode: number) => ({
    errcode,
    errmsg: `${ERRORS[errcode] ?? 'error'} rid: ${randomBytes(4).toString('hex')}`,
  });
  const token = query.access_token;
  if (token === undefined || token === '') return fail(41001);
  if (!tokenValid(token)) return fail(40001);
  const ticket = () => ({
    errcode: 0,
    errmsg: 'ok',
    ticket: `tkt_${randomBytes(16).toString('base64url')}`,
    expires_in: 7200,
  });
  switch (path) {
    case '/cgi-bin/ticket/getticket':
      return query.type === 'jsapi' || query.type === 'wx_card' ? ticket() : fail(40097);
    case '/cgi-bin/get_jsapi_ticket':
      return ticket();
    case '/cgi-bin/ticket/get':
      return query.type === 'agent_config' ? ticket() : fail(40097);
    case '/cgi-bin/user/info':
      return { subscribe: 1, openid: query.openid ?? '', nickname: 'fake user', language: 'en' };
  }
}
