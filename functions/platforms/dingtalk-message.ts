/**
 * DingTalk's callback format (ISV suites), WXBizMsgCrypt's scheme in JSON: the body is
 * `{"encrypt": base64}`, the query carries `signature` (SHA-1 of [token, timestamp, nonce, encrypt]
 * sorted and joined, as WXBizMsgCrypt's msg_signature), `timestamp` and `nonce`; the AES-256-CBC
 * plaintext ends with the suite key as receiver id and holds a JSON event (`EventType`
 * `suite_ticket` with `SuiteTicket`, `check_url` for the console's URL check). The answer is the
 * word `success` encrypted the same way, as JSON `{msg_signature, timeStamp, nonce, encrypt}`.
 * Built on wxbizmsgcrypt.ts (signature, key, padding, receiver id); every failure is its
 * MessageRejected or an XmlRejected-like DingtalkRejected, told to the log only.
 */
import { randomBytes } from 'node:crypto';
import { encryptMessage, msgSignature, verifyAndDecrypt, type SignedQuery } from './wxbizmsgcrypt';

export class DingtalkRejected extends Error {
  constructor(reason: string) {
    super(`DingTalk message refused: ${reason}`);
    this.name = 'DingtalkRejected';
  }
}

export interface MessageKeys {
  token: string;
  encodingAesKey: string;
  receiverId: string;
}

/** The signed query: `signature` (or `msg_signature`), a timestamp in ms (or s) and a nonce. */
export function dingtalkQuery(query: Record<string, string>): SignedQuery & { timestampMs: number } {
  const { timestamp, nonce } = query;
  const signature = query.signature ?? query.msg_signature;
  if (timestamp === undefined || !/^\d{1,13}$/.test(timestamp)) throw new DingtalkRejected('timestamp');
  if (nonce === undefined || nonce.length === 0 || nonce.length > 64) throw new DingtalkRejected('nonce');
  if (signature === undefined || !/^[0-9a-fA-F]{40}$/.test(signature))
    throw new DingtalkRejected('signature');
  const n = Number(timestamp);
  return { timestamp, nonce, msgSignature: signature, timestampMs: timestamp.length >= 13 ? n : n * 1000 };
}

/** The `encrypt` of a JSON body (at most maxBytes). */
export function dingtalkEncrypt(raw: string): string {
  let body: unknown;
  try {
    body = JSON.parse(raw) as unknown;
  } catch {
    throw new DingtalkRejected('not JSON');
  }
  const encrypt =
    body !== null && typeof body === 'object' ? (body as { encrypt?: unknown }).encrypt : undefined;
  if (typeof encrypt !== 'string' || encrypt === '') throw new DingtalkRejected('no encrypt');
  return encrypt;
}

/**
 * Verifies and decrypts a message; answers its fields as text (numbers written out), with
 * `InfoType` set from `EventType` so that the shared handling (pushed-messages.ts) reads both formats.
 */
export function readDingtalkMessage(
  keys: MessageKeys,
  q: SignedQuery,
  encrypt: string,
): Record<string, string> {
  const plain = verifyAndDecrypt(keys, q, encrypt);
  let event: unknown;
  try {
    event = JSON.parse(plain) as unknown;
  } catch {
    throw new DingtalkRejected('plaintext not JSON');
  }
  if (event === null || typeof event !== 'object' || Array.isArray(event))
    throw new DingtalkRejected('no event');
  const fields: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, value] of Object.entries(event as Record<string, unknown>)) {
    if (typeof value === 'string') fields[name] = value;
    else if (typeof value === 'number' && Number.isFinite(value)) fields[name] = String(value);
  }
  if (fields.EventType !== undefined) fields.InfoType = fields.EventType;
  return fields;
}

/** The encrypted `success` DingTalk expects, signed with the message token. */
export function dingtalkSuccess(
  keys: MessageKeys,
  nowMs: number,
  random: Buffer = randomBytes(16),
): { msg_signature: string; timeStamp: string; nonce: string; encrypt: string } {
  const encrypt = encryptMessage(keys.encodingAesKey, 'success', keys.receiverId, random);
  const timeStamp = String(nowMs);
  const nonce = randomBytes(8).toString('hex');
  return { msg_signature: msgSignature(keys.token, timeStamp, nonce, encrypt), timeStamp, nonce, encrypt };
}
