/**
 * A platform's events about its customer companies (tenants), after the event route has verified
 * and decrypted them: WeCom suites' `create_auth` (an AuthCode to exchange once for the company's
 * permanent code) and `cancel_auth` (the company removed the app).
 *
 * create_auth: the suite's token (from the engine: one upstream call however many ask) pays for
 * `get_permanent_code` (same host and path as get_suite_token, last segment replaced), whose
 * `permanent_code` and `auth_corp_info.corpid` become a secret of the suite's authorizer realm
 * (`authorizer_realm`, or key_5 of the suite secret), keyed by the corpid, with the suite secret as
 * its parent and the permanent code sealed as its key_2. Only then is the message recorded as
 * handled (store/pushed.ts `recent`): an exchange that fails answers 5xx, the platform retries with
 * the same message, and the retry does the work; a message seen before is acknowledged and skipped
 * (an AuthCode works once).
 */
import { AppError } from '../errors';
import { log } from '../log';
import { ProviderFailure } from '../providers/failure';
import { parseRealmConfig, realmIdSchema, type RealmConfig } from '../providers/realm-config';
import { cleanProviderText, redactorOf } from '../providers/redact';
import { USER_AGENT } from '../providers/request';
import { sendUpstream } from '../providers/upstream';
import type { PushedState } from '../store/pushed';
import type { Store } from '../store/store';
import type { SecretRecord } from '../store/types';
import { requireTenantRealm } from './authorizer-realm';
import { putChildSecret, revokeChildSecret, type ChildSecretOutcome } from './child-secrets';
import { createTimeMs, messageId, REPLAY_WINDOW_MS } from './pushed-messages';
import { siblingUrl } from './start-push';

/** The InfoTypes handled here. */
export const TENANT_EVENTS: ReadonlySet<string> = new Set(['create_auth', 'cancel_auth']);

export type TenantOutcome = ChildSecretOutcome | 'duplicate' | 'replay';

export interface TenantEventDeps {
  store: Store;
  allowPrivate: boolean;
  /** The platform secret's current token (the engine's getToken). */
  platformToken: () => Promise<string>;
}

interface PlatformCall {
  url: string;
  body: Record<string, string>;
  /** Values that must never appear in what a failure says (the answer's text is cleaned with them). */
  secrets: readonly string[];
  timeoutMs: number;
}

/** POSTs JSON to a platform API that answers errcode/errmsg; answers the parsed body when errcode is 0 or absent. */
async function callPlatform(call: PlatformCall, allowPrivate: boolean): Promise<Record<string, unknown>> {
  const name = new URL(call.url).pathname.split('/').pop() ?? call.url;
  const response = await sendUpstream(
    {
      url: call.url,
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'User-Agent': USER_AGENT },
      body: JSON.stringify(call.body),
    },
    { allowPrivate, timeoutMs: call.timeoutMs },
  );
  let answer: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(response.text) as unknown;
    if (parsed !== null && typeof parsed === 'object') answer = parsed as Record<string, unknown>;
  } catch {
    // not JSON: judged by the status below
  }
  const code = typeof answer.errcode === 'number' ? answer.errcode : undefined;
  if (response.status === 200 && (code === undefined || code === 0)) return answer;
  const providerMessage =
    typeof answer.errmsg === 'string'
      ? cleanProviderText(answer.errmsg, redactorOf(call.secrets))
      : undefined;
  throw new ProviderFailure({
    kind: code === -1 || response.status >= 500 ? 'transient' : 'permanent',
    message: `${name} was refused (${code ?? `HTTP ${response.status}`})`,
    httpStatus: response.status,
    ...(code === undefined ? {} : { providerCode: String(code) }),
    ...(providerMessage === undefined ? {} : { providerMessage }),
  });
}

function seenRecently(state: PushedState | null, id: string, now: number): boolean {
  return (state?.recent ?? []).some((r) => r.id === id && now - r.at <= 2 * REPLAY_WINDOW_MS);
}

/** Records a handled message (bounded, newest last) so that a retry of it is a no-op. */
async function recordHandled(store: Store, realm: string, key: string, id: string): Promise<void> {
  await store.mutatePushed(realm, key, (current, now) => {
    const recent = (current?.recent ?? []).filter((r) => now - r.at <= 2 * REPLAY_WINDOW_MS);
    if (recent.some((r) => r.id === id)) return { result: undefined };
    const next: PushedState = {
      ...(current ?? { realm, key }),
      recent: [...recent, { id, at: now }].slice(-20),
    };
    return { next, result: undefined };
  });
}

function notReady(message: string, field: string): AppError {
  return new AppError('NOT_READY', message, { details: { field } });
}

/** A company removed the app: its secret becomes a tombstone (410 on its token route). */
async function cancelAuth(
  deps: TenantEventDeps,
  platform: SecretRecord,
  corpid: string,
  times: { eventAt: number; now: number },
): Promise<ChildSecretOutcome> {
  if (!realmIdSchema.safeParse(corpid).success) {
    throw new AppError('INVALID_ARGUMENT', 'cancel_auth without a usable AuthCorpId', {
      details: { field: 'AuthCorpId' },
    });
  }
  return revokeChildSecret(
    deps.store,
    {
      realm: requireTenantRealm(platform),
      key: corpid,
      parent: { realm: platform.realm, key: platform.key },
      ...times,
    },
    'cancel_auth',
  );
}

/** Exchanges a WeCom AuthCode and stores the company as a tenant secret of the suite. */
async function createAuth(
  deps: TenantEventDeps,
  platform: SecretRecord,
  config: RealmConfig,
  authCode: string,
  times: { eventAt: number; now: number },
): Promise<{ corpid: string; outcome: ChildSecretOutcome }> {
  const { eventAt, now } = times;
  const tenantRealm = requireTenantRealm(platform);
  const suiteToken = await deps.platformToken();
  const url = new URL(siblingUrl(config.url, 'get_permanent_code'));
  url.searchParams.set('suite_access_token', suiteToken);
  const answer = await callPlatform(
    {
      url: url.toString(),
      body: { auth_code: authCode },
      secrets: [suiteToken, authCode, ...Object.values(platform.values)],
      timeoutMs: config.timeout_ms,
    },
    deps.allowPrivate,
  );
  const permanentCode = typeof answer.permanent_code === 'string' ? answer.permanent_code : '';
  const info = answer.auth_corp_info;
  const corpid =
    info !== null && typeof info === 'object' && typeof (info as { corpid?: unknown }).corpid === 'string'
      ? (info as { corpid: string }).corpid
      : '';
  if (permanentCode === '' || !realmIdSchema.safeParse(corpid).success) {
    throw new ProviderFailure({
      kind: 'permanent',
      reason: 'provider_error',
      message: 'get_permanent_code answered without a permanent_code or a usable auth_corp_info.corpid',
    });
  }
  const outcome = await putChildSecret(
    deps.store,
    { realm: tenantRealm, key: corpid, parent: { realm: platform.realm, key: platform.key }, eventAt, now },
    { key_1: corpid, key_2: permanentCode },
  );
  if (outcome === 'no_realm') {
    throw notReady(
      `The authorizer realm ${tenantRealm} of ${platform.realm}/${platform.key} does not exist: create it (preset wecom_suite_corp)`,
      'key_5',
    );
  }
  return { corpid, outcome };
}

/**
 * Handles a verified tenant event for platform secret realm/key; undefined when the InfoType is not
 * one (the caller goes on with pushed values), 'replay' when its timestamp is more than 5 minutes
 * from the store's time. Throws (5xx) when the work could not be done.
 */
export async function handleTenantEvent(
  deps: TenantEventDeps,
  realm: string,
  key: string,
  message: { timestampMs: number; encrypt: string; fields: Record<string, string> },
): Promise<TenantOutcome | undefined> {
  const { timestampMs, encrypt, fields } = message;
  const type = fields.InfoType ?? '';
  if (!TENANT_EVENTS.has(type)) return undefined;
  const id = messageId(encrypt);
  const { state, now } = await deps.store.readPushed(realm, key, { open: false });
  if (Math.abs(now - timestampMs) > REPLAY_WINDOW_MS) return 'replay';
  if (seenRecently(state, id, now)) return 'duplicate';
  const platform = await deps.store.getSecret(realm, key);
  const record = await deps.store.getRealm(realm);
  if (platform === null || record?.config === undefined)
    throw notReady(`No platform secret ${realm}/${key}`, 'key');
  const times = { eventAt: createTimeMs(fields, timestampMs), now };
  let tenant: string;
  let outcome: ChildSecretOutcome;
  if (type === 'create_auth') {
    const authCode = fields.AuthCode ?? '';
    if (authCode === '') {
      throw new AppError('INVALID_ARGUMENT', 'create_auth without AuthCode', {
        details: { field: 'AuthCode' },
      });
    }
    const config = parseRealmConfig(record.config);
    ({ corpid: tenant, outcome } = await createAuth(deps, platform, config, authCode, times));
  } else {
    tenant = fields.AuthCorpId ?? '';
    outcome = await cancelAuth(deps, platform, tenant, times);
  }
  await recordHandled(deps.store, realm, key, id);
  log('INFO', `${type} for ${realm}/${key}: tenant ${tenant} ${outcome}`, {
    event: 'tenant_event',
    realm,
    key,
    infoType: type,
    tenant,
    outcome,
  });
  return outcome;
}
