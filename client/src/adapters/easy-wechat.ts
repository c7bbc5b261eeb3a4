/**
 * node-easywechat 3.x (OfficialAccount, Work, MiniApp: `app.getClient().get(...)`): its AccessToken
 * fetches from the provider and keeps the token in a file cache, and nothing in it handles 40001.
 * The adapter gives the app an AccessToken that asks the broker (getToken, toQuery, refresh: never the
 * provider, no file), and wraps the API client's request(): an answer whose errcode rejects the token
 * is reported to the broker and the request is sent once more with the token the broker answers.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { saysTokenInvalid } from '../errors';
import type { BrokerTokens } from './types';

interface EasyWechatResponse {
  toObject(): unknown;
}

export interface EasyWechatClientLike {
  request(method: string, url: string, payload?: Record<string, unknown>): Promise<EasyWechatResponse>;
  withAccessToken(accessToken: unknown): unknown;
}

export interface EasyWechatAppLike {
  setAccessToken(accessToken: unknown): unknown;
  getClient(): EasyWechatClientLike;
}

/** Which token one API request was sent with (toQuery runs inside the request). */
const sentWith = new AsyncLocalStorage<{ token?: string }>();

/** The AccessToken (node-easywechat's RefreshableAccessTokenInterface) that asks the broker. */
export class BrokerAccessToken {
  private last: string | undefined;
  constructor(private readonly client: BrokerTokens) {}

  async getToken(): Promise<string> {
    const token = (await this.client.getTokenInfo()).token;
    this.last = token;
    const slot = sentWith.getStore();
    if (slot !== undefined) slot.token = token;
    return token;
  }

  async toQuery(): Promise<Record<string, string>> {
    return { access_token: await this.getToken() };
  }

  /** A refresh is a report of the token last handed out: one refresh at the broker for everybody. */
  async refresh(): Promise<string> {
    if (this.last === undefined) return this.getToken();
    this.last = await this.client.reportInvalid(this.last);
    return this.last;
  }
}

export function easyWechat<T extends EasyWechatAppLike>(app: T, client: BrokerTokens): T {
  const accessToken = new BrokerAccessToken(client);
  app.setAccessToken(accessToken);
  const api = app.getClient();
  api.withAccessToken(accessToken);
  const request = api.request.bind(api);
  const attempt = async (
    method: string,
    url: string,
    payload: Record<string, unknown>,
  ): Promise<{ response: EasyWechatResponse; token: string | undefined }> => {
    const slot: { token?: string } = {};
    const response = await sentWith.run(slot, () => request(method, url, payload));
    return { response, token: slot.token };
  };
  api.request = async (method, url, payload = {}) => {
    const first = await attempt(method, url, payload);
    if (first.token === undefined || !saysTokenInvalid(safeObject(first.response))) return first.response;
    await client.reportInvalid(first.token);
    return (await attempt(method, url, payload)).response;
  };
  return app;
}

function safeObject(response: EasyWechatResponse): unknown {
  try {
    return response.toObject();
  } catch {
    return undefined;
  }
}
