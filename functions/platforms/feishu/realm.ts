/**
 * Which realms are Feishu/Lark store apps: a realm whose arguments reference the pushed ticket and
 * whose token call is Feishu's `/open-apis/auth/v3/app_access_token` (preset feishu_app_store, on
 * open.feishu.cn, open.larksuite.com, or a test double or proxy keeping the path). Its secrets take
 * Feishu's event format at /events/{realm}/{key} and are asked for a ticket with app_ticket/resend.
 */
import type { RealmConfig } from '../../providers/realm-config';
import { templateUsesTicket } from '../../providers/template';

const APP_ACCESS_TOKEN_PATH = /\/open-apis\/auth\/v3\/app_access_token\/?$/;

export function isFeishuStore(config: RealmConfig): boolean {
  if (!config.arguments.some((a) => typeof a.value === 'string' && templateUsesTicket(a.value))) return false;
  try {
    return APP_ACCESS_TOKEN_PATH.test(new URL(config.url).pathname);
  } catch {
    return false;
  }
}
