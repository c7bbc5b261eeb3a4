/**
 * The cryptography of Feishu/Lark event callbacks (PROVIDERS.md "Feishu store app"), over node:crypto:
 * - with an Encrypt Key set in the developer console, the body is `{"encrypt": base64}`: AES-256-CBC
 *   with key = SHA-256(Encrypt Key), the decoded data's first 16 bytes the IV, the rest the
 *   ciphertext, PKCS#7 padding (16-byte blocks); the plaintext is the event's JSON;
 * - the request is signed in headers: X-Lark-Signature = SHA-256 (hex) of
 *   X-Lark-Request-Timestamp + X-Lark-Request-Nonce + Encrypt Key + the raw body (unverified beyond
 *   Feishu's SDKs: see README "Feishu/Lark store apps").
 * Failures are FeishuRejected with a reason for the log only.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export type FeishuRejectReason =
  | 'body'
  | 'ciphertext'
  | 'signature'
  | 'token'
  | 'app_id'
  | 'plain body with an Encrypt Key'
  | 'timestamp'
  | 'replay'
  | 'no such receiver';

export class FeishuRejected extends Error {
  constructor(readonly reason: FeishuRejectReason) {
    super(`feishu event refused: ${reason}`);
    this.name = 'FeishuRejected';
  }
}

const IV_BYTES = 16;

function aesKey(encryptKey: string): Buffer {
  return createHash('sha256').update(encryptKey, 'utf8').digest();
}

/** What Feishu sends when an Encrypt Key is set (the tests' fake uses it). */
export function encryptEvent(
  encryptKey: string,
  plaintext: string,
  iv: Buffer = randomBytes(IV_BYTES),
): string {
  const cipher = createCipheriv('aes-256-cbc', aesKey(encryptKey), iv);
  return Buffer.concat([iv, cipher.update(plaintext, 'utf8'), cipher.final()]).toString('base64');
}

/** The event's JSON text inside `{"encrypt"}`; FeishuRejected('ciphertext') on anything malformed. */
export function decryptEvent(encryptKey: string, encrypt: string): string {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encrypt)) throw new FeishuRejected('ciphertext');
  const data = Buffer.from(encrypt, 'base64');
  if (data.length < 2 * IV_BYTES || data.length % IV_BYTES !== 0) throw new FeishuRejected('ciphertext');
  try {
    const decipher = createDecipheriv('aes-256-cbc', aesKey(encryptKey), data.subarray(0, IV_BYTES));
    return Buffer.concat([decipher.update(data.subarray(IV_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    // A wrong key shows as bad padding.
    throw new FeishuRejected('ciphertext');
  }
}

/** X-Lark-Signature: SHA-256 (hex) of timestamp + nonce + Encrypt Key + body. */
export function eventSignature(timestamp: string, nonce: string, encryptKey: string, body: string): string {
  return createHash('sha256')
    .update(timestamp + nonce + encryptKey + body, 'utf8')
    .digest('hex');
}

/** Constant-time equality of two strings (a verification token, a signature). */
export function sameText(expected: string, given: string): boolean {
  const a = createHash('sha256').update(expected, 'utf8').digest();
  const b = createHash('sha256').update(given, 'utf8').digest();
  return timingSafeEqual(a, b);
}
