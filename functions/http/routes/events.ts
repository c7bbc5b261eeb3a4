/**
 * The event route (pushed values): `POST /events/{realm}/{key}` is the URL given to the provider's
 * console (WeChat Open Platform: 授权事件接收URL); `GET` with `echostr` answers its URL check. No
 * bearer: the provider calls it, so everything is refused until proven: the realm/key must take
 * pushes (platforms/push-receivers.ts, cached reads), the body must be small well-formed XML, the
 * signature must match (checked before decrypting), the ciphertext must decrypt to this receiver,
 * and the timestamp must be within 5 minutes of the store's time. Anything unverifiable is the same
 * 401 body, nothing stored, nothing echoed, and costs no Firestore write and no provider call; the
 * reason goes to the log only. A verified message is answered `success` (plain text) once stored.
 * Realms of Feishu/Lark store apps take Feishu's JSON events instead (platforms/feishu/events.ts:
 * its own checks, the same 401 for anything unverified); DingTalk ISV suites speak JSON too
 * (platforms/dingtalk-message.ts) and get an encrypted `success`. A platform's events about its
 * customers (WeCom `create_auth`, `cancel_auth`) are handled by platforms/tenant-events.ts before
 * the answer.
 */
import { AppError } from '../../errors';
import { log } from '../../log';
import { AUTHORIZATION_INFO_TYPES, handleAuthorizationEvent } from '../../platforms/authorization-events';
import { loadComponent } from '../../platforms/component-api';
import { FeishuRejected } from '../../platforms/feishu/crypto';
import { handleFeishuEvent, type FeishuAnswer } from '../../platforms/feishu/events';
import { PushReceivers, type PushReceiver } from '../../platforms/push-receivers';
import {
  applyPush,
  clearTicketBackoff,
  REPLAY_WINDOW_MS,
  type PushOutcome,
  type VerifiedMessage,
} from '../../platforms/pushed-messages';
import {
  dingtalkEncrypt,
  dingtalkQuery,
  dingtalkSuccess,
  DingtalkRejected,
  readDingtalkMessage,
} from '../../platforms/dingtalk-message';
import { handleTenantEvent, type TenantOutcome } from '../../platforms/tenant-events';
import { MessageRejected, verifyAndDecrypt } from '../../platforms/wxbizmsgcrypt';
import { readXmlMessage, XmlRejected } from '../../platforms/xml-message';
import type { Reply, Route, RouteContext } from '../types';

/** Pushed messages are under 2 KB; anything past this is not one. */
export const MAX_EVENT_BYTES = 16 * 1024;
/** How long an authorization code's exchange may take before the code is kept for later (2 s due). */
export const AUTHORIZATION_ANSWER_MS = 1_500;
/** Instances' clocks may be off the store's by this much: past it, a replay is refused unread. */
const LOCAL_CLOCK_MARGIN_MS = 60_000;

class Refused extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

function unverified(ctx: RouteContext, reason: string): AppError {
  log('WARNING', `event refused: ${reason}`, {
    event: 'event_refused',
    reason,
    realm: ctx.logFields.realm,
    key: ctx.logFields.key,
    requestId: ctx.req.requestId,
  });
  return new AppError('UNAUTHENTICATED', 'The message could not be verified');
}

interface SignedQuery {
  timestamp: string;
  nonce: string;
  msgSignature: string;
}

function signedQuery(query: Record<string, string>): SignedQuery {
  const { timestamp, nonce, msg_signature: msgSignature } = query;
  if (timestamp === undefined || !/^\d{1,12}$/.test(timestamp)) throw new Refused('timestamp');
  if (nonce === undefined || nonce.length === 0 || nonce.length > 64) throw new Refused('nonce');
  if (msgSignature === undefined || !/^[0-9a-fA-F]{40}$/.test(msgSignature))
    throw new Refused('msg_signature');
  return { timestamp, nonce, msgSignature };
}

/** The instance's clock as a first filter (no store call for a message hours old); the store decides. */
function roughlyCurrent(ctx: RouteContext, timestampMs: number): void {
  if (Math.abs(ctx.runtime.clock.now() - timestampMs) > REPLAY_WINDOW_MS + LOCAL_CLOCK_MARGIN_MS)
    throw new Refused('replay');
}

/** `anyReceiver`: the GET URL check, where WeCom's receiver id is not firmly documented (the signature still is). */
function decrypt(receiver: PushReceiver, q: SignedQuery, encrypt: string, anyReceiver = false): string {
  return verifyAndDecrypt(
    {
      token: receiver.token,
      encodingAesKey: receiver.encodingAesKey,
      receiverId: anyReceiver ? null : receiver.receiverId,
    },
    q,
    encrypt,
  );
}

async function receiverOf(ctx: RouteContext, receivers: PushReceivers): Promise<PushReceiver> {
  const { realm = '', key = '' } = ctx.req.params;
  const receiver = await receivers.get(ctx.runtime.store, realm, key, ctx.runtime.clock.now());
  if (receiver === null) throw new Refused('no such receiver');
  ctx.logFields.realm = realm;
  ctx.logFields.key = key;
  return receiver;
}

/** A platform's event about a customer company (platforms/tenant-events.ts), or undefined. */
function tenantEvent(
  ctx: RouteContext,
  realm: string,
  key: string,
  message: { timestampMs: number; encrypt: string; fields: Record<string, string> },
): Promise<TenantOutcome | undefined> {
  const { runtime } = ctx;
  return handleTenantEvent(
    {
      store: runtime.store,
      allowPrivate: runtime.config.allowPrivateUpstreams,
      platformToken: async () => (await runtime.engine.getToken({ realm, key })).token,
    },
    realm,
    key,
    message,
  );
}

/** Feishu/Lark store apps' JSON events (platforms/feishu/events.ts). */
function feishuEvent(ctx: RouteContext, receiver: PushReceiver, raw: string): Promise<FeishuAnswer> {
  const target = { realm: ctx.logFields.realm ?? '', key: ctx.logFields.key ?? '', receiver };
  const deps = { store: ctx.runtime.store, now: () => ctx.runtime.clock.now(), requestId: ctx.req.requestId };
  return handleFeishuEvent(deps, target, raw, ctx.req.headers);
}

/** Stores what a verified message carries (or does its tenant work); a replay at the store's time is refused. */
async function handleVerified(ctx: RouteContext, message: VerifiedMessage): Promise<void> {
  const { realm, key } = { realm: ctx.logFields.realm ?? '', key: ctx.logFields.key ?? '' };
  const { fields } = message;
  const outcome: TenantOutcome | PushOutcome =
    (await tenantEvent(ctx, realm, key, message)) ??
    (await ctx.runtime.store.mutatePushed(realm, key, applyPush(realm, key, message)));
  if (outcome === 'replay') throw new Refused('replay');
  if (outcome === 'stored') await ctx.runtime.store.mutateTokenState(realm, key, clearTicketBackoff);
  // WeChat Open Platform's authorizer events (platforms/authorization-events.ts).
  const applied =
    outcome === 'ignored' && AUTHORIZATION_INFO_TYPES.has(fields.InfoType ?? '')
      ? await authorizationEvent(ctx, realm, key, fields, message.timestampMs)
      : outcome;
  log('INFO', `event ${fields.InfoType ?? '(no InfoType)'}: ${applied}`, {
    event: 'event_received',
    realm,
    key,
    infoType: fields.InfoType,
    outcome: applied,
    requestId: ctx.req.requestId,
  });
}

/** DingTalk's JSON format (platforms/dingtalk-message.ts), answered with an encrypted `success`. */
async function dingtalkPost(
  ctx: RouteContext,
  receiver: PushReceiver,
  raw: Buffer | undefined,
): Promise<Reply> {
  const q = dingtalkQuery(ctx.req.query);
  if (raw === undefined || raw.length === 0) throw new Refused('no body');
  const encrypt = dingtalkEncrypt(raw.toString('utf8'));
  const fields = readDingtalkMessage(receiver, q, encrypt);
  roughlyCurrent(ctx, q.timestampMs);
  await handleVerified(ctx, { timestampMs: q.timestampMs, encrypt, fields });
  return { body: dingtalkSuccess(receiver, ctx.runtime.clock.now()) };
}

function refusing(handle: (ctx: RouteContext) => Promise<Reply>) {
  return async (ctx: RouteContext): Promise<Reply> => {
    try {
      return await handle(ctx);
    } catch (err) {
      if (err instanceof Refused) throw unverified(ctx, err.reason);
      if (err instanceof MessageRejected) throw unverified(ctx, err.reason);
      if (err instanceof XmlRejected) throw unverified(ctx, err.message);
      if (err instanceof FeishuRejected) throw unverified(ctx, err.reason);
      if (err instanceof DingtalkRejected) throw unverified(ctx, err.message);
      throw err;
    }
  };
}

/**
 * An authorization event (platforms/authorization-events.ts). A component that cannot take it (no
 * authorizer realm) is logged and the event acknowledged: WeChat's retries could not change that.
 */
async function authorizationEvent(
  ctx: RouteContext,
  realm: string,
  key: string,
  fields: Record<string, string>,
  timestampMs: number,
): Promise<string> {
  const { runtime } = ctx;
  const component = await loadComponent(runtime.store, realm, key);
  if (component === null) return 'ignored';
  try {
    return await handleAuthorizationEvent(
      {
        engine: runtime.engine,
        allowPrivate: runtime.config.allowPrivateUpstreams,
        store: runtime.store,
        now: () => runtime.clock.now(),
        answerWithinMs: AUTHORIZATION_ANSWER_MS,
        requestId: ctx.req.requestId,
      },
      component,
      fields,
      timestampMs,
    );
  } catch (err) {
    if (!(err instanceof AppError) || (err.code !== 'INVALID_ARGUMENT' && err.code !== 'NOT_FOUND'))
      throw err;
    log('ERROR', `authorization event not applied: ${err.message}`, {
      event: 'authorization_event',
      realm,
      key,
      outcome: 'error',
      requestId: ctx.req.requestId,
    });
    return 'ignored';
  }
}

export function eventRoutes(receivers: PushReceivers): Route[] {
  const post = refusing(async (ctx) => {
    const raw = ctx.req.rawBody;
    if (raw !== undefined && raw.length > MAX_EVENT_BYTES) {
      throw new AppError('PAYLOAD_TOO_LARGE', `An event message is at most ${MAX_EVENT_BYTES} bytes`, {
        details: { limit: MAX_EVENT_BYTES },
      });
    }
    const receiver = await receiverOf(ctx, receivers);
    if (receiver.format === 'dingtalk_json') return dingtalkPost(ctx, receiver, raw);
    if (raw === undefined || raw.length === 0) throw new Refused('no body');
    if (receiver.format === 'feishu') return { body: await feishuEvent(ctx, receiver, raw.toString('utf8')) };
    const q = signedQuery(ctx.req.query);
    const encrypt = readXmlMessage(raw.toString('utf8'), MAX_EVENT_BYTES).Encrypt;
    if (encrypt === undefined) throw new Refused('no Encrypt');
    const message = decrypt(receiver, q, encrypt);
    const timestampMs = Number(q.timestamp) * 1000;
    roughlyCurrent(ctx, timestampMs);
    const fields = readXmlMessage(message, MAX_EVENT_BYTES);
    await handleVerified(ctx, { timestampMs, encrypt, fields });
    return { body: undefined, text: 'success' };
  });

  const get = refusing(async (ctx) => {
    const receiver = await receiverOf(ctx, receivers);
    if (receiver.format !== 'wxbizmsgcrypt') throw new Refused('no GET check in this format');
    const q = signedQuery(ctx.req.query);
    const echostr = ctx.req.query.echostr;
    if (echostr === undefined || echostr === '' || echostr.length > 4096) throw new Refused('echostr');
    const echo = decrypt(receiver, q, echostr, true);
    const timestampMs = Number(q.timestamp) * 1000;
    roughlyCurrent(ctx, timestampMs);
    if (Math.abs((await ctx.runtime.store.now()) - timestampMs) > REPLAY_WINDOW_MS)
      throw new Refused('replay');
    return { body: undefined, text: echo };
  });

  return [
    { method: 'POST', pattern: '/events/:realm/:key', auth: 'none', rawBody: true, handle: post },
    { method: 'GET', pattern: '/events/:realm/:key', auth: 'none', handle: get },
  ];
}
