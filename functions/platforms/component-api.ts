/**
 * Calls of the WeChat Open Platform's component API beside the component token call
 * (api_create_preauthcode, api_query_auth, api_get_authorizer_list, api_start_push_ticket): the
 * URL is the component realm's token URL with its last path segment replaced (start-push.ts
 * siblingUrl), so a realm pointed at a test double or a proxy sends them there too. Calls that need
 * the component_access_token get it from the engine like any token request (cached, collapsed); an
 * answer that the token is dead (40001, 42001) is reported to the engine as an invalid_token
 * report and the call is made once more with the token it answers.
 */
import type { ServedToken, TokenRequest } from '../engine/engine';
import { ProviderFailure } from '../providers/failure';
import { siblingUrl } from './start-push';
import { parseRealmConfig, type RealmConfig } from '../providers/realm-config';
import type { Store } from '../store/store';
import { cleanProviderText, redactorFor } from '../providers/redact';
import { USER_AGENT } from '../providers/request';
import { sendUpstream } from '../providers/upstream';
import type { SecretRecord } from '../store/types';
import { DEAD_TOKEN_CODES } from '../providers/dead-token-codes';

/** The component secret and its realm's config, as the admin routes and the event route find them. */
export interface Component {
  secret: SecretRecord;
  config: RealmConfig;
}

/** The component secret realm/key with its realm's config; null when either is missing or has none. */
export async function loadComponent(store: Store, realm: string, key: string): Promise<Component | null> {
  const [record, secret] = await Promise.all([store.getRealm(realm), store.getSecret(realm, key)]);
  if (record?.config === undefined || secret === null) return null;
  return { secret, config: parseRealmConfig(record.config) };
}

export interface ComponentDeps {
  engine: { getToken(req: TokenRequest): Promise<ServedToken> };
  allowPrivate: boolean;
}

export type ComponentAnswer = Record<string, unknown>;

/** WeChat's answers that the component_access_token is not (or no longer) valid. */

function errcodeOf(answer: ComponentAnswer, status: number): number | undefined {
  return typeof answer.errcode === 'number' ? answer.errcode : status === 200 ? 0 : undefined;
}

/**
 * An answer of the component API: its JSON object when errcode is absent or 0, else a
 * ProviderFailure carrying WeChat's code and its message, cleaned of the secret's values.
 */
export function componentAnswer(
  name: string,
  response: { status: number; text: string },
  c: Component,
): ComponentAnswer {
  let answer: ComponentAnswer;
  try {
    const parsed: unknown = JSON.parse(response.text);
    answer =
      parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
        ? (parsed as ComponentAnswer)
        : {};
  } catch {
    answer = {};
  }
  const code = errcodeOf(answer, response.status);
  if (code === 0) return answer;
  const redact = redactorFor(c.config, c.secret.values);
  const providerMessage =
    typeof answer.errmsg === 'string' ? cleanProviderText(answer.errmsg, redact) : undefined;
  throw new ProviderFailure({
    kind: code === -1 || response.status >= 500 ? 'transient' : 'permanent',
    message: `${name} was refused (${code ?? `HTTP ${response.status}`})`,
    httpStatus: response.status,
    ...(code === undefined ? {} : { providerCode: String(code) }),
    ...(providerMessage === undefined ? {} : { providerMessage }),
  });
}

/** POSTs `body` (JSON) to the component API call `name`, with `query` in its URL. */
export async function postComponent(
  deps: { allowPrivate: boolean },
  c: Component,
  name: string,
  body: Record<string, unknown>,
  query: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  const url = new URL(siblingUrl(c.config.url, name));
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  return sendUpstream(
    {
      url: url.toString(),
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'User-Agent': USER_AGENT },
      body: JSON.stringify(body),
    },
    { allowPrivate: deps.allowPrivate, timeoutMs: c.config.timeout_ms },
  );
}

/**
 * A component API call made with the component_access_token (`component_appid` is added to the
 * body). A dead-token answer is reported once (the engine refreshes it, collapsed across callers)
 * and the call repeated with the new token.
 */
export async function callWithComponentToken(
  deps: ComponentDeps,
  c: Component,
  name: string,
  body: Record<string, unknown>,
): Promise<ComponentAnswer> {
  const { realm, key } = c.secret;
  const appid = c.secret.values.key_1 ?? '';
  let served = await deps.engine.getToken({ realm, key });
  for (let attempt = 0; ; attempt++) {
    const response = await postComponent(
      deps,
      c,
      name,
      { component_appid: appid, ...body },
      { component_access_token: served.token },
    );
    try {
      return componentAnswer(name, response, c);
    } catch (err) {
      const dead = err instanceof ProviderFailure && DEAD_TOKEN_CODES.includes(Number(err.providerCode));
      if (!dead || attempt > 0) throw err;
      served = await deps.engine.getToken({ realm, key, invalidToken: served.token });
    }
  }
}
