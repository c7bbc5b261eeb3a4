/** Shared fixture: the seed realm JSON that must be accepted unchanged. */
import type { JsonObject } from '../../functions/store/types';

/** The SPEC §4 seed realm, exactly as printed there. */
export const SEED_REALM = {
  id: 'wxgzh',
  comment: 'WeChat Official Account',
  config: {
    url: 'https://api.weixin.qq.com/cgi-bin/token',
    method: 'GET',
    arguments: [
      { name: 'appid', place: 'url', value: '$key_1' },
      { name: 'secret', place: 'url', value: '$key_2' },
      { name: 'grant_type', place: 'url', value: '$key_3' },
    ],
    token_path: 'access_token',
    content_type: 'json',
    expires_in_path: 'expires_in',

    expires_in_unit: 's',
    error_path: 'errcode',
    success_values: [0],
    error_message_path: 'errmsg',
    timeout_ms: 5000,
    invalidates_previous: true,
    overlap_ms: 300000,
  },
} satisfies JsonObject;
