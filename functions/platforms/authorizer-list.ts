/**
 * WeChat Open Platform `api_get_authorizer_list` as a pager: POST
 * .../cgi-bin/component/api_get_authorizer_list?component_access_token=T
 * {"component_appid", "offset", "count"} → {"total_count", "list": [{"authorizer_appid",
 * "refresh_token", "auth_time"}]}. Pages of `count` (at most 500) are read one after another until
 * a predicate matches an entry or the list ends; only one page is held at a time, so the cost is
 * proportional to a page (in memory) and to the pages read (in calls), never the whole set.
 * Every entry carries an authorizer's refresh token: nothing of a page is logged or put in an error
 * (errors carry WeChat's errcode and a redacted errmsg only). The URL is the component realm's
 * sibling (start-push.ts siblingUrl), so a realm pointed at a test double sends it there too.
 */
import { ProviderFailure } from '../providers/failure';
import { cleanProviderText, redactorOf } from '../providers/redact';
import { USER_AGENT } from '../providers/request';
import { sendUpstream } from '../providers/upstream-on-first-call';
import { siblingUrl } from './start-push';

/** WeChat's largest page. */
export const AUTHORIZER_PAGE_MAX = 500;

export interface AuthorizerListEntry {
  authorizer_appid: string;
  refresh_token: string;
  auth_time?: number;
}

export interface AuthorizerListRequest {
  /** A URL of the same platform (e.g. the realm's api_authorizer_token URL): the sibling is called. */
  platformUrl: string;
  componentAppid: string;
  componentToken: string;
  allowPrivate: boolean;
  timeoutMs: number;
  /** Where to start (default 0) and the page size (default and at most 500). */
  offset?: number;
  count?: number;
  /** The most pages to read in this call (default: until the list ends). */
  maxPages?: number;
}

export interface AuthorizerListPage {
  total: number;
  list: AuthorizerListEntry[];
}

function isEntry(value: unknown): value is AuthorizerListEntry {
  if (value === null || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  return typeof v.authorizer_appid === 'string' && typeof v.refresh_token === 'string';
}

/** One page of the list (a ProviderFailure when WeChat refuses; its errmsg redacted of the token). */
export async function authorizerListPage(
  req: AuthorizerListRequest,
  offset: number,
  count: number,
): Promise<AuthorizerListPage> {
  const url = new URL(siblingUrl(req.platformUrl, 'api_get_authorizer_list'));
  url.searchParams.set('component_access_token', req.componentToken);
  const response = await sendUpstream(
    {
      url: url.toString(),
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'User-Agent': USER_AGENT },
      body: JSON.stringify({ component_appid: req.componentAppid, offset, count }),
    },
    { allowPrivate: req.allowPrivate, timeoutMs: req.timeoutMs },
  );
  let answer: { errcode?: unknown; errmsg?: unknown; total_count?: unknown; list?: unknown };
  try {
    answer = JSON.parse(response.text) as typeof answer;
  } catch {
    answer = {};
  }
  const code = typeof answer.errcode === 'number' ? answer.errcode : 0;
  if (response.status !== 200 || code !== 0 || !Array.isArray(answer.list)) {
    const providerMessage =
      typeof answer.errmsg === 'string'
        ? cleanProviderText(answer.errmsg, redactorOf([req.componentToken]))
        : undefined;
    throw new ProviderFailure({
      kind: code === -1 || response.status >= 500 ? 'transient' : 'permanent',
      message: `api_get_authorizer_list was refused (${code !== 0 ? code : `HTTP ${response.status}`})`,
      httpStatus: response.status,
      ...(code === 0 ? {} : { providerCode: String(code) }),
      ...(providerMessage === undefined ? {} : { providerMessage }),
    });
  }
  const total = typeof answer.total_count === 'number' ? answer.total_count : 0;
  return { total, list: answer.list.filter(isEntry) };
}

/**
 * Pages through the list from `offset` until `match` accepts an entry (answered), the list ends, or
 * `maxPages` pages were read (undefined either way).
 */
export async function findAuthorizer(
  req: AuthorizerListRequest,
  match: (entry: AuthorizerListEntry) => boolean,
): Promise<AuthorizerListEntry | undefined> {
  const count = Math.min(AUTHORIZER_PAGE_MAX, Math.max(1, req.count ?? AUTHORIZER_PAGE_MAX));
  let offset = req.offset ?? 0;
  for (let pages = 0; pages < (req.maxPages ?? Infinity); pages++) {
    const page = await authorizerListPage(req, offset, count);
    const found = page.list.find(match);
    if (found !== undefined) return found;
    offset += page.list.length;
    if (page.list.length === 0 || offset >= page.total) return undefined;
  }
  return undefined;
}
