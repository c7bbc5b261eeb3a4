/**
 * WeChat's own count of today's token fetches (UTC+8 day): `POST /cgi-bin/openapi/quota/get
 * ?access_token=T` with `{"cgi_path": "/cgi-bin/token"}` → `{quota: {daily_limit, used, remain}}`.
 * Asked on the host of the realm's token URL. Never throws, and never puts the token (it is in the
 * URL) into an answer: failures are described by the host and WeChat's errcode only.
 */
import { getByPath } from './dot-path';
import { sendUpstream } from './upstream';

/** The realms whose tokens WeChat's quota/get counts: GET …/cgi-bin/token (Official Account presets). */
export const WECHAT_TOKEN_PATH = '/cgi-bin/token';

export type QuotaAnswer = { ok: true; used: number; dailyLimit?: number } | { ok: false; error: string };

export function isWechatTokenUrl(url: string): boolean {
  try {
    return new URL(url).pathname === WECHAT_TOKEN_PATH;
  } catch {
    return false;
  }
}

export async function fetchWechatQuota(
  tokenUrl: string,
  token: string,
  options: { allowPrivate: boolean; timeoutMs: number },
): Promise<QuotaAnswer> {
  const url = new URL('/cgi-bin/openapi/quota/get', tokenUrl);
  url.searchParams.set('access_token', token);
  try {
    const answer = await sendUpstream(
      {
        url: url.toString(),
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ cgi_path: WECHAT_TOKEN_PATH }),
      },
      { allowPrivate: options.allowPrivate, timeoutMs: options.timeoutMs },
    );
    let body: unknown;
    try {
      body = JSON.parse(answer.text);
    } catch {
      return { ok: false, error: `quota/get answered HTTP ${answer.status} without JSON` };
    }
    const errcode = getByPath(body, 'errcode');
    const used = getByPath(body, 'quota.used');
    if ((errcode === undefined || errcode === 0) && typeof used === 'number') {
      const limit = getByPath(body, 'quota.daily_limit');
      return { ok: true, used, ...(typeof limit === 'number' ? { dailyLimit: limit } : {}) };
    }
    const shown = typeof errcode === 'number' || typeof errcode === 'string' ? String(errcode) : '(none)';
    return { ok: false, error: `quota/get answered errcode ${shown}` };
  } catch (err) {
    // Upstream failures name the host only; whatever else, the token never leaves in the text.
    const text = err instanceof Error ? err.message : 'quota/get failed';
    return { ok: false, error: text.includes(token) ? 'quota/get could not be called' : text };
  }
}
