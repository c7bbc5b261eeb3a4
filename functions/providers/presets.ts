/**
 * Built-in provider presets (README "Realms"): ready realm configs with each provider's error detection,
 * lifetime field and unit, and what is known of its refresh behaviour. Every preset is parsed by the
 * realm schema when this module loads, and checked against a local fake of its wire format in tests.
 *
 * `keys` says which secret value each $key_N is, in order: a WeChat secret is
 * {"key_1": "<appid>", "key_2": "<appsecret>"}. Ticket presets have no keys: their secrets name a
 * `parent` (a secret of the preset named by `parent` here) whose token they reference as ${token}.
 */
import type { JsonObject } from '../store/types';
import { IP_ALLOWLIST_HINT } from './failure';
import { parseRealmConfig } from './parse-realm-config';
import type { RealmConfig } from './realm-config';
import { DEAD_TOKEN_CODES } from './dead-token-codes';

export interface Preset {
  name: string;
  comment: string;
  /** key_N → what the secret's value is (e.g. key_1: 'corpid'). Optional ones say so. */
  keys: Record<string, string>;
  /** Ticket presets: the preset whose secret is the parent (its token is ${token}). */
  parent?: string;
  /** A realm config (JSON, compact: defaults left out). */
  config: JsonObject;
}

const WECHAT_HINTS: JsonObject = {
  '40164': IP_ALLOWLIST_HINT,
  '89501': IP_ALLOWLIST_HINT,
  '89503': IP_ALLOWLIST_HINT,
  '89506': IP_ALLOWLIST_HINT,
  '89507': IP_ALLOWLIST_HINT,
  '40013': 'The appid (key_1) is not valid.',
  '40001': 'The appsecret (key_2) is wrong or does not belong to this appid.',
  '40125': 'The appsecret (key_2) is not valid (was it reset in the WeChat admin console?).',
  '40243': 'The appsecret is frozen; unfreeze or reset it in the WeChat admin console.',
  '45009':
    "The account's daily quota for this API is used up; it resets at midnight China time (the admin console can also reset it).",
};

const WECOM_HINTS: JsonObject = {
  '60020': IP_ALLOWLIST_HINT,
  '40013': 'The corpid (key_1) is not valid.',
  '40001': 'The corpsecret (key_2) is not valid.',
  '40091': 'The corpsecret (key_2) is not valid.',
};

/**
 * Official Account tokens die when another system fetches one with the same appid: a cheap call that
 * needs a valid token tells whether ours is still alive (PROVIDERS.md; whether it counts against a
 * quota is unverified, hence every 5 minutes at most).
 */
const WECHAT_PROBE: JsonObject = {
  url: 'https://api.weixin.qq.com/cgi-bin/get_api_domain_ip',
  arguments: [{ name: 'access_token', place: 'url', value: '${token}' }],
  error_path: 'errcode',
  dead_values: [...DEAD_TOKEN_CODES],
  interval_ms: 300_000,
};

const TICKET_HINTS: JsonObject = {
  '40001':
    "The parent's access token was rejected (invalid or not latest): the parent is refreshed and the call retried.",
  '40014': "The parent's access token is not valid: the parent is refreshed and the call retried.",
  '42001': "The parent's access token expired: the parent is refreshed and the call retried.",
  '45009': "The account's daily quota for the ticket API is used up.",
  '60020': IP_ALLOWLIST_HINT,
};

/** A ticket fetched with the parent's token: GET url?access_token=${token}[&type=...] → ticket / expires_in. */
function ticketConfig(url: string, type: string | undefined): JsonObject {
  return {
    url,
    method: 'GET',
    arguments: [
      { name: 'access_token', place: 'url', value: '${token}' },
      ...(type === undefined ? [] : [{ name: 'type', place: 'url', value: type }]),
    ],
    token_path: 'ticket',
    expires_in_path: 'expires_in',
    expires_in_unit: 's',
    error_path: 'errcode',
    success_values: [0],
    error_message_path: 'errmsg',
    transient_error_values: [-1],
    error_hints: TICKET_HINTS,
  };
}

const OAUTH2_HINTS: JsonObject = {
  invalid_client: 'The client_id (key_1) or client_secret (key_2) was rejected.',
  invalid_scope: 'The requested scope (key_3) is not allowed for this client.',
  unauthorized_client: 'This client may not use the client_credentials grant.',
};

/** RFC 6749 §4.4 token request, form-encoded; the presets differ only in how the client authenticates. */
function oauth2Config(args: JsonObject[]): JsonObject {
  return {
    url: 'https://auth.example.com/oauth2/token',
    method: 'POST',
    content_type: 'form',
    arguments: args,
    token_path: 'access_token',
    expires_in_path: 'expires_in',
    expires_in_unit: 's',
    default_expires_in: 3600,
    error_path: 'error',
    success_values: [],
    error_message_path: 'error_description',
    // RFC 6749 §5.2 has no "busy" code; temporarily_unavailable comes from §4.1.2.1.
    transient_error_values: ['temporarily_unavailable'],
    error_hints: OAUTH2_HINTS,
  };
}

/** Feishu and Lark run one API on two hosts: tenant_access_token/internal, the same on both. */
function feishuTenantConfig(host: string): JsonObject {
  return {
    url: `https://${host}/open-apis/auth/v3/tenant_access_token/internal`,
    method: 'POST',
    content_type: 'json',
    arguments: [
      { name: 'app_id', place: 'body', value: '$key_1' },
      { name: 'app_secret', place: 'body', value: '$key_2' },
    ],
    ...FEISHU_ANSWER,
    token_path: 'tenant_access_token',
    // A token is handed back unchanged until its last 30 minutes.
    reissue_window_ms: 1_800_000,
  };
}

/**
 * How Feishu/Lark answer a token call: the token and `expire` (s) on success, `code` ≠ 0 with `msg`
 * otherwise; 99991400: request rate limited (answered with HTTP 429, transient by status anyway).
 */
const FEISHU_ANSWER = {
  expires_in_path: 'expire',
  expires_in_unit: 's',
  error_path: 'code',
  success_values: [0],
  error_message_path: 'msg',
  transient_error_values: [99991400],
} satisfies JsonObject;

/**
 * How WeChat, WeCom and legacy DingTalk answer a token call: `access_token` and `expires_in` (s) on
 * success, `errcode` ≠ 0 with `errmsg` otherwise, -1 meaning "system busy".
 */
export const ERRCODE_ANSWER = {
  token_path: 'access_token',
  expires_in_path: 'expires_in',
  expires_in_unit: 's',
  error_path: 'errcode',
  success_values: [0],
  error_message_path: 'errmsg',
  transient_error_values: [-1],
} satisfies JsonObject;

const PRESET_DEFINITIONS: readonly Preset[] = [
  {
    name: 'wechat_offiaccount',
    comment:
      'WeChat Official Account / Mini Program getAccessToken (GET /cgi-bin/token). Every call issues a new ' +
      'token and kills the previous one about 5 minutes later; 2,000 calls a day for new accounts.',
    keys: { key_1: 'appid', key_2: 'appsecret' },
    config: {
      url: 'https://api.weixin.qq.com/cgi-bin/token',
      method: 'GET',
      arguments: [
        { name: 'grant_type', place: 'url', value: 'client_credential' },
        { name: 'appid', place: 'url', value: '$key_1' },
        { name: 'secret', place: 'url', value: '$key_2' },
      ],
      ...ERRCODE_ANSWER,
      invalidates_previous: true,
      overlap_ms: 300_000,
      error_hints: WECHAT_HINTS,
      probe: WECHAT_PROBE,
    },
  },
  {
    name: 'wechat_stable',
    comment:
      'WeChat getStableAccessToken (POST /cgi-bin/stable_token, force_refresh false): the same token while ' +
      'it is valid, a new one in its last ~5 minutes; it does not invalidate getAccessToken tokens. Forced ' +
      'refreshes (20 a day, 30 s apart) are deliberately not used.',
    keys: { key_1: 'appid', key_2: 'appsecret' },
    config: {
      url: 'https://api.weixin.qq.com/cgi-bin/stable_token',
      method: 'POST',
      content_type: 'json',
      arguments: [
        { name: 'grant_type', place: 'body', value: 'client_credential' },
        { name: 'appid', place: 'body', value: '$key_1' },
        { name: 'secret', place: 'body', value: '$key_2' },
        { name: 'force_refresh', place: 'body', value: false },
      ],
      ...ERRCODE_ANSWER,
      reissue_window_ms: 300_000,
      error_hints: WECHAT_HINTS,
      probe: WECHAT_PROBE,
    },
  },
  {
    name: 'wechat_jsapi_ticket',
    comment:
      'WeChat JS-SDK jsapi_ticket (GET /cgi-bin/ticket/getticket?type=jsapi), fetched with the access token ' +
      'of the parent secret (a wechat_offiaccount or wechat_stable secret); 7,200 s, its own daily limit.',
    keys: {},
    parent: 'wechat_offiaccount',
    config: ticketConfig('https://api.weixin.qq.com/cgi-bin/ticket/getticket', 'jsapi'),
  },
  {
    name: 'wechat_component',
    comment:
      'WeChat Open Platform third-party platform: component_access_token (POST ' +
      '/cgi-bin/component/api_component_token) with the component_verify_ticket that WeChat pushes every ' +
      '10 minutes to /events/{realm}/{key} (key_3 the message token, key_4 the EncodingAESKey). Until a ' +
      'ticket has arrived: 503 TICKET_MISSING; 61005/61006: 503 TICKET_STALE.',
    // key_3 (the message token) and key_4 (the EncodingAESKey) are read by the event route
    // (http/routes/events.ts), not by the token call.
    keys: { key_1: 'component_appid', key_2: 'component_appsecret' },
    config: {
      url: 'https://api.weixin.qq.com/cgi-bin/component/api_component_token',
      method: 'POST',
      content_type: 'json',
      arguments: [
        { name: 'component_appid', place: 'body', value: '$key_1' },
        { name: 'component_appsecret', place: 'body', value: '$key_2' },
        { name: 'component_verify_ticket', place: 'body', value: '${ticket}' },
      ],
      ...ERRCODE_ANSWER,
      token_path: 'component_access_token',
      error_hints: {
        '61004': IP_ALLOWLIST_HINT,
        '61005':
          'The component_verify_ticket expired: WeChat has stopped pushing; the broker asks it to start again.',
        '61006':
          'The component_verify_ticket is not valid: check the message token (key_3) and EncodingAESKey (key_4).',
      },
    },
  },
  {
    name: 'wechat_authorizer',
    comment:
      'WeChat Open Platform authorizer (an Official Account or Mini Program that authorized the platform): ' +
      'authorizer_access_token (POST /cgi-bin/component/api_authorizer_token) with the parent component ' +
      "secret's token and the authorizer's refresh token, which each answer may replace (stored sealed with " +
      'the token). Secrets: key_1 = authorizer appid, refresh_token, parent = the wechat_component secret. ' +
      '61023 on every value the broker has: recovered from api_get_authorizer_list, else 409 ' +
      'NEEDS_REAUTHORIZATION (README "Rotating values (refresh tokens)").',
    keys: { key_1: 'authorizer_appid' },
    parent: 'wechat_component',
    config: {
      url: 'https://api.weixin.qq.com/cgi-bin/component/api_authorizer_token',
      method: 'POST',
      content_type: 'json',
      arguments: [
        { name: 'component_access_token', place: 'url', value: '${token}' },
        { name: 'component_appid', place: 'body', value: '${parent.key_1}' },
        { name: 'authorizer_appid', place: 'body', value: '$key_1' },
        { name: 'authorizer_refresh_token', place: 'body', value: '${refresh_token}' },
      ],
      ...ERRCODE_ANSWER,
      token_path: 'authorizer_access_token',
      rotates: { authorizer_refresh_token: 'refresh_token' },
      rotation_rejected_values: [61023],
      rotation_recovery: 'wechat_authorizer_list',
      error_hints: {
        '61023':
          'The authorizer_refresh_token was rejected: the broker tried every value it had and the authorizer list; the customer must authorize the platform again.',
        '61004': IP_ALLOWLIST_HINT,
      },
    },
  },
  {
    name: 'wecom',
    comment:
      'WeCom (WeChat Work) gettoken (GET /cgi-bin/gettoken). Tokens may be invalidated early; new ' +
      'self-built apps must list trusted caller IPs (errcode 60020).',
    keys: { key_1: 'corpid', key_2: 'corpsecret' },
    config: {
      url: 'https://qyapi.weixin.qq.com/cgi-bin/gettoken',
      method: 'GET',
      arguments: [
        { name: 'corpid', place: 'url', value: '$key_1' },
        { name: 'corpsecret', place: 'url', value: '$key_2' },
      ],
      ...ERRCODE_ANSWER,
      error_hints: WECOM_HINTS,
    },
  },
  {
    name: 'wecom_suite',
    comment:
      'WeCom third-party app (suite): suite_access_token (POST /cgi-bin/service/get_suite_token) with the ' +
      'suite_ticket that WeCom pushes every 10 minutes (valid 30) to /events/{realm}/{key} (key_3 the ' +
      'message token, key_4 the EncodingAESKey, key_5 the wecom_suite_corp realm where authorizing ' +
      'companies become secrets). No API asks for a push: a stale ticket is reported. Until a ticket ' +
      'has arrived: 503 TICKET_MISSING; 40085: 503 TICKET_STALE.',
    // key_3, key_4 and key_5 are read by the event route (http/routes/events.ts), not by the token call.
    keys: { key_1: 'suite_id', key_2: 'suite_secret' },
    config: {
      url: 'https://qyapi.weixin.qq.com/cgi-bin/service/get_suite_token',
      method: 'POST',
      content_type: 'json',
      arguments: [
        { name: 'suite_id', place: 'body', value: '$key_1' },
        { name: 'suite_secret', place: 'body', value: '$key_2' },
        { name: 'suite_ticket', place: 'body', value: '${ticket}' },
      ],
      ...ERRCODE_ANSWER,
      token_path: 'suite_access_token',
      error_hints: {
        '60020': IP_ALLOWLIST_HINT,
        '40085':
          'The suite_ticket is not valid: check the message token (key_3) and EncodingAESKey (key_4), and that WeCom still pushes to the callback URL.',
      },
    },
  },
  {
    name: 'wecom_suite_corp',
    comment:
      'WeCom third-party app, one authorizing company: its access token (POST ' +
      "/cgi-bin/service/get_corp_token) with the parent suite's suite_access_token, the corpid (key_1) " +
      'and the permanent_code (key_2, sealed). Created by the create_auth event (or an admin); ' +
      'cancel_auth makes it a tombstone (410).',
    keys: { key_1: 'auth_corpid', key_2: 'permanent_code' },
    parent: 'wecom_suite',
    config: {
      url: 'https://qyapi.weixin.qq.com/cgi-bin/service/get_corp_token',
      method: 'POST',
      content_type: 'json',
      arguments: [
        { name: 'suite_access_token', place: 'url', value: '${token}' },
        { name: 'auth_corpid', place: 'body', value: '$key_1' },
        { name: 'permanent_code', place: 'body', value: '$key_2' },
      ],
      ...ERRCODE_ANSWER,
      error_hints: { '60020': IP_ALLOWLIST_HINT },
    },
  },
  {
    name: 'wecom_jsapi_ticket',
    comment:
      'WeCom enterprise jsapi_ticket (GET /cgi-bin/get_jsapi_ticket), fetched with the access token of the ' +
      'parent secret (a wecom secret); 7,200 s, limited per hour per corp and per app.',
    keys: {},
    parent: 'wecom',
    config: ticketConfig('https://qyapi.weixin.qq.com/cgi-bin/get_jsapi_ticket', undefined),
  },
  {
    name: 'wecom_agent_ticket',
    comment:
      'WeCom agent-config ticket for wx.agentConfig (GET /cgi-bin/ticket/get?type=agent_config), fetched ' +
      'with the access token of the parent secret (a wecom secret of that app).',
    keys: {},
    parent: 'wecom',
    config: ticketConfig('https://qyapi.weixin.qq.com/cgi-bin/ticket/get', 'agent_config'),
  },
  {
    name: 'dingtalk',
    comment:
      'DingTalk legacy gettoken (GET oapi.dingtalk.com/gettoken): the same token, its expiry extended.',
    keys: { key_1: 'appkey', key_2: 'appsecret' },
    config: {
      url: 'https://oapi.dingtalk.com/gettoken',
      method: 'GET',
      arguments: [
        { name: 'appkey', place: 'url', value: '$key_1' },
        { name: 'appsecret', place: 'url', value: '$key_2' },
      ],
      ...ERRCODE_ANSWER,
      error_hints: { '60020': IP_ALLOWLIST_HINT },
    },
  },
  {
    name: 'dingtalk_v1',
    comment:
      'DingTalk v1.0 (POST api.dingtalk.com/v1.0/oauth2/accessToken): accessToken / expireIn; errors as ' +
      'non-2xx JSON {code, message, requestid}.',
    keys: { key_1: 'appKey', key_2: 'appSecret' },
    config: {
      url: 'https://api.dingtalk.com/v1.0/oauth2/accessToken',
      method: 'POST',
      content_type: 'json',
      arguments: [
        { name: 'appKey', place: 'body', value: '$key_1' },
        { name: 'appSecret', place: 'body', value: '$key_2' },
      ],
      token_path: 'accessToken',
      expires_in_path: 'expireIn',
      expires_in_unit: 's',
      // Success bodies carry no `code`; any code present is an error.
      error_path: 'code',
      success_values: [],
      error_message_path: 'message',
    },
  },
  {
    name: 'dingtalk_isv_suite',
    comment:
      'DingTalk ISV suite: suite_access_token (POST oapi.dingtalk.com/service/get_suite_token) with the ' +
      'suite_ticket DingTalk pushes to /events/{realm}/{key} as encrypted JSON (key_3 the token, key_4 ' +
      'the aes_key, key_5 the dingtalk_isv_corp realm of its companies). No API asks for a push: a ' +
      'stale ticket is reported. Until a ticket has arrived: 503 TICKET_MISSING.',
    // key_3, key_4 and key_5 are read by the event route (http/routes/events.ts), not by the token call.
    keys: { key_1: 'suite_key', key_2: 'suite_secret' },
    config: {
      url: 'https://oapi.dingtalk.com/service/get_suite_token',
      method: 'POST',
      content_type: 'json',
      arguments: [
        { name: 'suite_key', place: 'body', value: '$key_1' },
        { name: 'suite_secret', place: 'body', value: '$key_2' },
        { name: 'suite_ticket', place: 'body', value: '${ticket}' },
      ],
      ...ERRCODE_ANSWER,
      token_path: 'suite_access_token',
      error_hints: { '60020': IP_ALLOWLIST_HINT },
    },
  },
  {
    name: 'dingtalk_isv_corp',
    comment:
      'DingTalk ISV, one authorizing company (POST api.dingtalk.com/v1.0/oauth2/corpAccessToken): the ' +
      "parent suite's key, secret and pushed ticket with the company's authCorpId (key_1) → accessToken / " +
      'expireIn. An answer that names the suite ticket as invalid is 503 TICKET_STALE, not a credential error.',
    keys: { key_1: 'authCorpId' },
    parent: 'dingtalk_isv_suite',
    config: {
      url: 'https://api.dingtalk.com/v1.0/oauth2/corpAccessToken',
      method: 'POST',
      content_type: 'json',
      arguments: [
        { name: 'suiteKey', place: 'body', value: '${parent.key_1}' },
        { name: 'suiteSecret', place: 'body', value: '${parent.key_2}' },
        { name: 'authCorpId', place: 'body', value: '$key_1' },
        { name: 'suiteTicket', place: 'body', value: '${parent.ticket}' },
      ],
      token_path: 'accessToken',
      expires_in_path: 'expireIn',
      expires_in_unit: 's',
      // Success bodies carry no `code`; any code present is an error (as dingtalk_v1).
      error_path: 'code',
      success_values: [],
      error_message_path: 'message',
    },
  },
  {
    name: 'feishu_tenant',
    comment:
      'Feishu tenant_access_token/internal (self-built app). The same token is handed back until less ' +
      'than 30 minutes of its life remain, so refreshing earlier is pointless.',
    keys: { key_1: 'app_id', key_2: 'app_secret' },
    config: feishuTenantConfig('open.feishu.cn'),
  },
  {
    name: 'lark_tenant',
    comment: 'Lark (international Feishu) tenant_access_token/internal on open.larksuite.com.',
    keys: { key_1: 'app_id', key_2: 'app_secret' },
    config: feishuTenantConfig('open.larksuite.com'),
  },
  {
    name: 'feishu_app_store',
    comment:
      'Feishu/Lark store app: app_access_token (POST /open-apis/auth/v3/app_access_token) with the ' +
      'app_ticket Feishu pushes hourly to /events/{realm}/{key} (key_3 the Verification Token, key_4 the ' +
      'Encrypt Key if set; authorizer_realm: the feishu_tenant_store realm that app_open events fill). ' +
      'Until a ticket has arrived: 503 TICKET_MISSING; a refused ticket: 503 TICKET_STALE; either asks ' +
      'Feishu to resend it (app_ticket/resend, at most every 10 minutes). For Lark, use open.larksuite.com.',
    // key_3 and key_4 are read by the event route (platforms/feishu/), not by the token call.
    keys: { key_1: 'app_id', key_2: 'app_secret' },
    config: {
      url: 'https://open.feishu.cn/open-apis/auth/v3/app_access_token',
      method: 'POST',
      content_type: 'json',
      arguments: [
        { name: 'app_id', place: 'body', value: '$key_1' },
        { name: 'app_secret', place: 'body', value: '$key_2' },
        { name: 'app_ticket', place: 'body', value: '${ticket}' },
      ],
      ...FEISHU_ANSWER,
      token_path: 'app_access_token',
      error_hints: {
        '10012': 'The app_ticket is not valid: Feishu is asked to resend it (app_ticket/resend).',
      },
    },
  },
  {
    name: 'feishu_tenant_store',
    comment:
      "Feishu/Lark store app, one secret per customer company (key_1 its tenant_key; parent: the app's " +
      'feishu_app_store secret, whose token is ${token}): tenant_access_token (POST ' +
      '/open-apis/auth/v3/tenant_access_token). Created by app_open events, or by an admin. Tokens may be ' +
      'JWTs of about 4 KB.',
    keys: { key_1: 'tenant_key' },
    parent: 'feishu_app_store',
    config: {
      url: 'https://open.feishu.cn/open-apis/auth/v3/tenant_access_token',
      method: 'POST',
      content_type: 'json',
      arguments: [
        { name: 'app_access_token', place: 'body', value: '${token}' },
        { name: 'tenant_key', place: 'body', value: '$key_1' },
      ],
      ...FEISHU_ANSWER,
      token_path: 'tenant_access_token',
    },
  },
  {
    name: 'oauth2_client_credentials',
    comment:
      'OAuth2 client credentials (RFC 6749 §4.4), client_id/client_secret in the form body. Set the token ' +
      'endpoint as url. key_3 (scope) is optional. Without expires_in in the answer, 3600 s is assumed.',
    keys: { key_1: 'client_id', key_2: 'client_secret', key_3: 'scope (optional)' },
    config: oauth2Config([
      { name: 'grant_type', place: 'body', value: 'client_credentials' },
      { name: 'client_id', place: 'body', value: '$key_1' },
      { name: 'client_secret', place: 'body', value: '$key_2' },
      { name: 'scope', place: 'body', value: '$key_3', optional: true },
    ]),
  },
  {
    name: 'oauth2_refresh_token',
    comment:
      'OAuth2 refresh token grant (RFC 6749 §6), form-encoded, client_id/client_secret in the body. Set the ' +
      'token endpoint as url and save the secret with its refresh_token. A new refresh_token in the answer ' +
      'replaces it (stored sealed with the token); invalid_grant on every value the broker has: 409 ' +
      'NEEDS_REAUTHORIZATION (README "Rotating values (refresh tokens)").',
    keys: { key_1: 'client_id', key_2: 'client_secret (optional)', key_3: 'scope (optional)' },
    config: {
      ...oauth2Config([
        { name: 'grant_type', place: 'body', value: 'refresh_token' },
        { name: 'refresh_token', place: 'body', value: '${refresh_token}' },
        { name: 'client_id', place: 'body', value: '$key_1' },
        { name: 'client_secret', place: 'body', value: '$key_2', optional: true },
        { name: 'scope', place: 'body', value: '$key_3', optional: true },
      ]),
      rotates: { refresh_token: 'refresh_token' },
      rotation_rejected_values: ['invalid_grant'],
      error_hints: {
        ...OAUTH2_HINTS,
        invalid_grant:
          'The refresh token was rejected (expired, revoked, or rotated away): authorize again and re-save the secret with the new refresh_token.',
      },
    },
  },
  {
    name: 'oauth2_client_credentials_basic',
    comment:
      'OAuth2 client credentials (RFC 6749 §4.4) with HTTP Basic client authentication ' +
      '(Authorization: Basic ${basic:key_1:key_2}). Set the token endpoint as url. key_3 (scope) is ' +
      'optional. Without expires_in in the answer, 3600 s is assumed.',
    keys: { key_1: 'client_id', key_2: 'client_secret', key_3: 'scope (optional)' },
    config: oauth2Config([
      { name: 'Authorization', place: 'header', value: 'Basic ${basic:key_1:key_2}' },
      { name: 'grant_type', place: 'body', value: 'client_credentials' },
      { name: 'scope', place: 'body', value: '$key_3', optional: true },
    ]),
  },
];

// Every preset passes the realm schema: test/unit/providers/presets.test.ts parses each one. It is
// not checked again at load, which every cold start of every function would pay (about 9 ms).

function copy(preset: Preset): Preset {
  return JSON.parse(JSON.stringify(preset)) as Preset;
}

/** Every preset (copies: callers may change them freely). */
export function presetList(): Preset[] {
  return PRESET_DEFINITIONS.map(copy);
}

/** One preset by name (a copy), or undefined. */
export function getPreset(name: string): Preset | undefined {
  const found = PRESET_DEFINITIONS.find((p) => p.name === name);
  return found === undefined ? undefined : copy(found);
}

/** The names of all presets. */
export const PRESET_NAMES: readonly string[] = PRESET_DEFINITIONS.map((p) => p.name);

/** A preset's config parsed (all defaults filled in), or undefined for an unknown name. */
export function presetConfig(name: string): RealmConfig | undefined {
  const found = PRESET_DEFINITIONS.find((p) => p.name === name);
  return found === undefined ? undefined : parseRealmConfig(found.config, `presets.${name}`);
}
