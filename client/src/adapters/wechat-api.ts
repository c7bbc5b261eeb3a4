/**
 * wechat-api 1.x (callback style, `new API(appid, secret, getToken, saveToken)`): every token comes
 * from the broker. The SDK retries a 40001 once with getToken() again, which would hand back the same
 * dead token, and falls back to getAccessToken() (a direct fetch with the app secret) whenever the
 * hook has no valid token. So the adapter replaces getToken, getAccessToken (both ask the broker) and
 * saveToken (a no-op), and wraps request(): an answer that rejects the token is reported to the
 * broker, and the request is sent once more with the token the broker answers.
 */
import { saysTokenInvalid } from '../errors';
import type { BrokerTokens } from './types';
import { tokenInUrl, withTokenInUrl } from './token-in-url';

type Callback = (err: unknown, data?: unknown, res?: unknown) => void;

export interface WechatApiLike {
  getToken: (callback: Callback) => void;
  saveToken: (token: unknown, callback: Callback) => void;
  getAccessToken: (callback: Callback) => unknown;
  request: (url: string, opts: unknown, callback?: Callback) => void;
}

export function wechatApi<T extends WechatApiLike>(api: T, client: BrokerTokens): T {
  const request = api.request.bind(api);
  const fromBroker = (callback: Callback): void => {
    client.getTokenInfo().then(
      (info) => callback(null, { accessToken: info.token, expireTime: info.expiresAt }),
      (err: unknown) => callback(err),
    );
  };
  api.getToken = fromBroker;
  api.getAccessToken = (callback: Callback): T => {
    fromBroker(callback);
    return api;
  };
  api.saveToken = (_token: unknown, callback: Callback): void => callback(null);
  api.request = (url: string, optsOrCallback: unknown, maybeCallback?: Callback): void => {
    const [opts, callback] =
      typeof optsOrCallback === 'function'
        ? [{}, optsOrCallback as Callback]
        : [optsOrCallback, maybeCallback];
    const done: Callback = callback ?? (() => undefined);
    const used = tokenInUrl(url);
    request(url, opts, (err, data, res) => {
      if (err || used === undefined || !saysTokenInvalid(data)) return done(err, data, res);
      client.reportInvalid(used).then(
        (fresh) => request(withTokenInUrl(url, fresh), opts, done),
        (reportErr: unknown) => done(reportErr),
      );
    });
  };
  return api;
}
