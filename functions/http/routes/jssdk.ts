/**
 * GET /api/jssdk/signature (README "JS-SDK"): the `wx.config` signature of a page URL, computed with the
 * current ticket of a ticket secret (preset wechat_jsapi_ticket, wecom_jsapi_ticket,
 * wecom_agent_ticket). The ticket itself never leaves the server: the answer carries only the
 * timestamp, nonce, signature and the URL that was signed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { AppError } from '../../errors';
import { parseOrThrow } from '../../validation';
import type { TokenGetter } from '../token-getter';
import type { Reply, Route, RouteContext } from '../types';
import type * as SignatureQuery from './jssdk-query';

/** The query's schema, loaded with zod by the first signature request (README "Cold start"). */
function schema(): typeof SignatureQuery.signatureQuerySchema {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- zod on first use
  return (require('./jssdk-query') as typeof SignatureQuery).signatureQuerySchema;
}

/** WeChat's JS-SDK signature: SHA-1 (hex) of "jsapi_ticket=T&noncestr=N&timestamp=S&url=U", in that order. */
export function jssdkSignature(ticket: string, nonceStr: string, timestamp: number, url: string): string {
  return createHash('sha1')
    .update(`jsapi_ticket=${ticket}&noncestr=${nonceStr}&timestamp=${timestamp}&url=${url}`, 'utf8')
    .digest('hex');
}

function handler(getter: TokenGetter) {
  return async (ctx: RouteContext): Promise<Reply> => {
    const q = parseOrThrow(schema(), { ...ctx.req.query });
    ctx.logFields.realm = q.realm;
    ctx.logFields.key = q.key;
    if (ctx.authorize === undefined) throw new AppError('INTERNAL', 'Signature route without authorisation');
    ctx.authorize(q.realm, q.key);
    const request = { realm: q.realm, key: q.key };
    const served = await getter.get(ctx.runtime, request);
    ctx.logFields.source = served.source;
    const timestamp = Math.floor(ctx.runtime.clock.now() / 1000);
    const nonceStr = randomBytes(8).toString('hex');
    return {
      body: {
        timestamp,
        nonceStr,
        signature: jssdkSignature(served.token, nonceStr, timestamp, q.url),
        url: q.url,
      },
    };
  };
}

export function jssdkRoutes(getter: TokenGetter): Route[] {
  return [{ method: 'GET', pattern: '/api/jssdk/signature', auth: 'token', handle: handler(getter) }];
}
