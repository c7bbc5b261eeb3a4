/** Shared fixture: the presets SPEC §6 asks for, by name. */
export const SPEC_PRESET_NAMES = [
  'wechat_jsapi_ticket',
  'wecom_jsapi_ticket',
  'wecom_agent_ticket',
  'wecom',
  'wechat_offiaccount',
  'wechat_stable',
  'dingtalk',
  'dingtalk_v1',
  'feishu_tenant',
  'oauth2_client_credentials',
  'oauth2_client_credentials_basic',
] as const;
