/** The little of the untyped WeChat SDKs that the adoption app and tests use. */
declare module 'co-wechat-api' {
  class API {
    constructor(
      appid: string,
      appsecret: string,
      getToken?: () => Promise<unknown>,
      saveToken?: (t: unknown) => Promise<void>,
    );
    prefix: string;
    getToken: () => Promise<unknown>;
    saveToken: (token: unknown) => Promise<void>;
    getAccessToken: () => Promise<{ accessToken: string; expireTime: number }>;
    request: (url: string, opts?: unknown, retry?: number) => Promise<unknown>;
    getUser(openid: string): Promise<unknown>;
    getMenu(): Promise<unknown>;
    sendText(openid: string, text: string): Promise<unknown>;
  }
  export = API;
}

declare module 'wechat-api' {
  type Callback = (err: unknown, data?: unknown, res?: unknown) => void;
  class API {
    constructor(appid: string, appsecret: string);
    endpoint: string;
    getToken: (callback: Callback) => void;
    saveToken: (token: unknown, callback: Callback) => void;
    getAccessToken: (callback: Callback) => unknown;
    request: (url: string, opts: unknown, callback?: Callback) => void;
    getUser(openid: string, callback: Callback): void;
    getMenu(callback: Callback): void;
    sendText(openid: string, text: string, callback: Callback): void;
  }
  export = API;
}

declare module 'wechat-jssdk' {
  export class Wechat {
    constructor(config: Record<string, unknown>);
    jssdk: {
      getAccessToken(): Promise<{ access_token?: string; expires_in?: number; errcode?: number }>;
      getJsApiTicket(accessToken: string): Promise<{ ticket?: string; errcode?: number }>;
      getSignature(url: string): Promise<{ signature: string }>;
    };
  }
}
