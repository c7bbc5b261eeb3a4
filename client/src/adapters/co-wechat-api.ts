/**
 * co-wechat-api 3.x (`new API(appid, secret, getToken, saveToken)`): every token comes from the
 * broker. Its documented hooks are not enough on their own: on 40001/42001 the SDK's request() calls
 * getAccessToken(), which fetches from WeChat directly. So the adapter replaces getAccessToken too
 * (it asks the broker), makes saveToken a no-op, and puts its own retry in front of request(): a
 * rejected token is reported to the broker (one refresh for every app) and the call is sent once
 * more with the token the broker answers; the SDK's own retry path is never taken.
 */
import { saysTokenInvalid } from '../errors';
import type { BrokerTokens } from './types';
import { tokenInUrl, withTokenInUrl } from './token-in-url';

export interface CoWechatApiLike {
  getToken: () => Promise<unknown>;
  saveToken: (token: unknown) => Promise<void>;
  getAccessToken: () => Promise<{ accessToken: string; expireTime: number }>;
  request: (url: string, opts?: unknown, retry?: number) => Promise<unknown>;
}

export function coWechatApi<T extends CoWechatApiLike>(api: T, client: BrokerTokens): T {
  const request = api.request.bind(api);
  const fromBroker = async (): Promise<{ accessToken: string; expireTime: number }> => {
    const info = await client.getTokenInfo();
    return { accessToken: info.token, expireTime: info.expiresAt };
  };
  api.getToken = fromBroker;
  api.getAccessToken = fromBroker;
  api.saveToken = async () => undefined;
  api.request = async (url: string, opts?: unknown): Promise<unknown> => {
    const used = tokenInUrl(url);
    try {
      // retry 0: the SDK's own 40001 path (saveToken(null) + a direct fetch) is never entered.
      return await request(url, opts, 0);
    } catch (err) {
      if (used === undefined || !saysTokenInvalid(err)) throw err;
      const fresh = await client.reportInvalid(used);
      return request(withTokenInUrl(url, fresh), opts, 0);
    }
  };
  return api;
}
