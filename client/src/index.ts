/**
 * token-server's client: `new TokenClient({ url, clientKey, realm, key })`, and adapters that make
 * the WeChat SDKs apps already use take every token from the broker.
 */
import { coWechatApi } from './adapters/co-wechat-api';
import { BrokerAccessToken, easyWechat } from './adapters/easy-wechat';
import { wechatApi } from './adapters/wechat-api';

export { TokenClient, parseRetryAfter } from './token-client';
export type { FetchLike, JssdkConfig, TokenClientOptions, TokenInfo } from './token-client';
export { TokenClientError, INVALID_TOKEN_CODES, saysTokenInvalid } from './errors';
export type { BrokerTokens } from './adapters/types';
export { BrokerAccessToken };

export const adapters = { coWechatApi, wechatApi, easyWechat };
