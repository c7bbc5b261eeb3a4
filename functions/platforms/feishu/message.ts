/**
 * Reading a Feishu/Lark event callback (README "Feishu/Lark store apps") into what the event route acts on. Checks, in
 * order, all before anything is stored:
 * - the body is one JSON object (≤ the route's limit);
 * - with an Encrypt Key (key_4), the body must be `{"encrypt"}` (a plain body is refused: it would
 *   let whoever knows only the verification token skip the encryption), and every event but the
 *   console's url_verification must carry X-Lark-Signature over timestamp, nonce, key and body;
 * - the verification token (key_3) must match: schema 1.0's `token`, schema 2.0's `header.token`,
 *   url_verification's `token`;
 * - an event naming an app_id must name this app (key_1).
 * The event's time (the signed header timestamp, else schema 1.0 `ts` or 2.0 `header.create_time`)
 * is returned for the replay window, which the caller judges by the store's time.
 */
import { createHash } from 'node:crypto';
import { decryptEvent, eventSignature, FeishuRejected, sameText } from './crypto';

export interface FeishuReceiverKeys {
  appId: string;
  verificationToken: string;
  /** The Encrypt Key; undefined when the app sends plain JSON. */
  encryptKey: string | undefined;
}

export type FeishuMessage =
  | { kind: 'challenge'; challenge: string }
  | {
      kind: 'event';
      /** `app_ticket`, `app_open`, `app_uninstalled`, ... */
      type: string;
      /** The event's identity (uuid / event_id; else a digest of the plaintext): retries share it. */
      id: string;
      /** When the event was sent (ms), if it says. */
      timeMs: number | undefined;
      appTicket: string | undefined;
      tenantKey: string | undefined;
    };

type Json = Record<string, unknown>;

function objectOf(text: string): Json {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new FeishuRejected('body');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new FeishuRejected('body');
  return parsed as Json;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const obj = (v: unknown): Json =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {};

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return typeof v === 'string' ? v : undefined;
}

/** Seconds (schema 1.0 `ts`, "1502199207.7171419", or the header's) or ms (2.0 `create_time`) → ms. */
function timeOf(seconds: string | undefined, ms: string | undefined): number | undefined {
  if (seconds !== undefined && /^\d{1,12}(\.\d{1,9})?$/.test(seconds))
    return Math.floor(Number(seconds) * 1000);
  if (ms !== undefined && /^\d{1,15}$/.test(ms)) return Number(ms);
  return undefined;
}

export function readFeishuMessage(
  keys: FeishuReceiverKeys,
  raw: string,
  headers: Record<string, string | string[] | undefined>,
): FeishuMessage {
  const outer = objectOf(raw);
  let message = outer;
  const encrypt = str(outer.encrypt);
  if (keys.encryptKey !== undefined) {
    if (encrypt === undefined) throw new FeishuRejected('plain body with an Encrypt Key');
    message = objectOf(decryptEvent(keys.encryptKey, encrypt));
  } else if (encrypt !== undefined) {
    // Encrypted, and we hold no Encrypt Key: the console and key_4 disagree.
    throw new FeishuRejected('ciphertext');
  }

  const head = obj(message.header);
  const token = str(message.token) ?? str(head.token);
  if (token === undefined || !sameText(keys.verificationToken, token)) throw new FeishuRejected('token');

  if (message.type === 'url_verification') {
    const challenge = str(message.challenge);
    if (challenge === undefined || challenge.length > 256) throw new FeishuRejected('body');
    return { kind: 'challenge', challenge };
  }

  const signedAt = header(headers, 'x-lark-request-timestamp');
  if (keys.encryptKey !== undefined) {
    const nonce = header(headers, 'x-lark-request-nonce');
    const signature = header(headers, 'x-lark-signature');
    if (signedAt === undefined || nonce === undefined || signature === undefined)
      throw new FeishuRejected('signature');
    if (!sameText(eventSignature(signedAt, nonce, keys.encryptKey, raw), signature.toLowerCase()))
      throw new FeishuRejected('signature');
  }

  const event = obj(message.event);
  const appId = str(event.app_id) ?? str(head.app_id);
  if (appId !== undefined && !sameText(keys.appId, appId)) throw new FeishuRejected('app_id');
  const type = str(event.type) ?? str(head.event_type) ?? '(none)';
  const timeMs =
    (keys.encryptKey !== undefined ? timeOf(signedAt, undefined) : undefined) ??
    timeOf(str(message.ts), str(head.create_time));
  const id =
    str(message.uuid) ??
    str(head.event_id) ??
    createHash('sha256').update(JSON.stringify(message), 'utf8').digest('hex').slice(0, 32);
  return {
    kind: 'event',
    type: type.slice(0, 64),
    id: id.slice(0, 64),
    timeMs,
    appTicket: str(event.app_ticket),
    tenantKey: str(event.tenant_key) ?? str(head.tenant_key),
  };
}
