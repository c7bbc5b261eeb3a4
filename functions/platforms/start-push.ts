/**
 * Asking the platform to push its ticket again (WeChat Open Platform `api_start_push_ticket`,
 * `{component_appid, component_secret}`; Feishu's app_ticket/resend in feishu/resend.ts uses the same
 * claim and call): pushes stop after a wrong reply or a firewall change, and
 * this restarts them. The attempt is recorded in the secret's pushed-values document (startPushAt,
 * store time) before the call is sent, so that instances together send at most one per
 * START_PUSH_INTERVAL_MS unless an admin forces one (POST /api/component/{realm}/{key}/start-push).
 * The URL is the realm's token URL with its last path segment replaced, so a realm pointed at a
 * test double (or a proxy) sends this call there too.
 */
import { AppError } from '../errors';
import { ProviderFailure } from '../providers/failure';
import type { RealmConfig } from '../providers/realm-config';
import { cleanProviderText, redactorFor } from '../providers/redact';
import { USER_AGENT } from '../providers/request';
import { sendUpstream } from '../providers/upstream-on-first-call';
import type { PushedState } from '../store/pushed';
import type { Store } from '../store/store';
import type { SecretRecord } from '../store/types';

export const START_PUSH_INTERVAL_MS = 10 * 60_000;

export type StartPushOutcome = 'sent' | 'recently_sent';

export interface StartPushDeps {
  store: Store;
  allowPrivate: boolean;
}

/** The platform call beside the token call: same host and path, last segment replaced. */
export function siblingUrl(tokenUrl: string, name: string): string {
  const url = new URL(tokenUrl);
  url.pathname = url.pathname.replace(/[^/]*$/, name);
  url.search = '';
  return url.toString();
}

/**
 * The compare-and-set claim shared by every platform's "push again" call: records the attempt
 * (store time) in the secret's pushed-values document unless one was recorded less than
 * START_PUSH_INTERVAL_MS ago and `force` is off. True: this caller sends the call.
 */
export async function claimAskAgain(
  store: Store,
  realm: string,
  key: string,
  force: boolean,
): Promise<boolean> {
  return store.mutatePushed(realm, key, (current, now) => {
    if (!force && current?.startPushAt !== undefined && now - current.startPushAt < START_PUSH_INTERVAL_MS)
      return { result: false };
    const next: PushedState = { ...(current ?? { realm, key }), startPushAt: now };
    return { next, result: true };
  });
}

/** One platform call asking for a ticket: where, what, and how its answer says success. */
export interface AskAgainCall {
  /** The call's name for messages (api_start_push_ticket, app_ticket/resend). */
  name: string;
  url: string;
  body: Record<string, string>;
  /** The answer's code field (errcode, code) and message field (errmsg, msg); 0 is success. */
  codeField: string;
  messageField: string;
  /** Codes saying "busy, try later" besides HTTP 5xx. */
  transientCodes: readonly number[];
}

/** Sends the call; a refusal is a ProviderFailure with the platform's code, its message redacted. */
export async function sendAskAgain(
  deps: StartPushDeps,
  secret: SecretRecord,
  config: RealmConfig,
  call: AskAgainCall,
): Promise<void> {
  const response = await sendUpstream(
    {
      url: call.url,
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'User-Agent': USER_AGENT },
      body: JSON.stringify(call.body),
    },
    { allowPrivate: deps.allowPrivate, timeoutMs: config.timeout_ms },
  );
  let answer: Record<string, unknown>;
  try {
    answer = JSON.parse(response.text) as Record<string, unknown>;
  } catch {
    answer = {};
  }
  const given = answer[call.codeField];
  const code = typeof given === 'number' ? given : response.status === 200 ? 0 : undefined;
  if (code === 0) return;
  const redact = redactorFor(config, secret.values);
  const message = answer[call.messageField];
  const providerMessage = typeof message === 'string' ? cleanProviderText(message, redact) : undefined;
  throw new ProviderFailure({
    kind:
      (code !== undefined && call.transientCodes.includes(code)) || response.status >= 500
        ? 'transient'
        : 'permanent',
    message: `${call.name} was refused (${code ?? `HTTP ${response.status}`})`,
    httpStatus: response.status,
    ...(code === undefined ? {} : { providerCode: String(code) }),
    ...(providerMessage === undefined ? {} : { providerMessage }),
  });
}

/** key_1 and key_2 of a platform secret, or a 400 naming the missing one. */
export function idAndSecret(secret: SecretRecord, what: string): { id: string; secret: string } {
  const { key_1: id, key_2: value } = secret.values;
  if (id === undefined || value === undefined) {
    throw new AppError(
      'INVALID_ARGUMENT',
      `${secret.realm}/${secret.key} needs key_1 (${what}) and key_2 (its secret)`,
      {
        details: { field: id === undefined ? 'key_1' : 'key_2' },
      },
    );
  }
  return { id, secret: value };
}

/**
 * Claims the attempt (claimAskAgain), then sends the platform's call built from key_1 and key_2
 * (`what`: key_1's name in messages). 'recently_sent' when another attempt holds the claim.
 */
export async function askAgain(
  deps: StartPushDeps,
  secret: SecretRecord,
  config: RealmConfig,
  force: boolean,
  what: string,
  callOf: (id: string, secretValue: string) => AskAgainCall,
): Promise<StartPushOutcome> {
  if (!(await claimAskAgain(deps.store, secret.realm, secret.key, force))) return 'recently_sent';
  const { id, secret: value } = idAndSecret(secret, what);
  await sendAskAgain(deps, secret, config, callOf(id, value));
  return 'sent';
}

/** WeChat Open Platform's call: api_start_push_ticket {component_appid, component_secret}. */
export function startPushCall(config: RealmConfig, appid: string, appsecret: string): AskAgainCall {
  return {
    name: 'api_start_push_ticket',
    url: siblingUrl(config.url, 'api_start_push_ticket'),
    body: { component_appid: appid, component_secret: appsecret },
    codeField: 'errcode',
    messageField: 'errmsg',
    transientCodes: [-1],
  };
}

/** Claims the attempt and sends WeChat's api_start_push_ticket. */
export function startPush(
  deps: StartPushDeps,
  secret: SecretRecord,
  config: RealmConfig,
  force: boolean,
): Promise<StartPushOutcome> {
  return askAgain(deps, secret, config, force, 'component appid', (appid, appsecret) =>
    startPushCall(config, appid, appsecret),
  );
}
