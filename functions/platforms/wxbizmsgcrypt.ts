/**
 * WXBizMsgCrypt, the message format of WeChat Open Platform pushes (also WeCom suites), over
 * node:crypto:
 * - signature: SHA-1 (hex) of [token, timestamp, nonce, encrypt] sorted and joined;
 * - key: base64(EncodingAESKey + "=") (43 characters → 32 bytes); AES-256-CBC, IV = the key's first
 *   16 bytes, PKCS#7 padding to 32-byte blocks;
 * - plaintext: 16 random bytes, the message's length (uint32 big-endian), the message (UTF-8), then
 *   the receiver id (the component appid), which must be the expected one.
 * Every failure is the same MessageRejected, saying which check failed for the log only: a caller
 * that answers strangers must not tell them which part was wrong.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const BLOCK = 32;
const ENCODING_AES_KEY = /^[A-Za-z0-9+/]{43}$/;

/** Why a message was refused (for the log; never for the sender). */
export type RejectReason = 'signature' | 'key' | 'ciphertext' | 'padding' | 'length' | 'receiver';

export class MessageRejected extends Error {
  readonly reason: RejectReason;
  constructor(reason: RejectReason) {
    super(`message refused: ${reason}`);
    this.name = 'MessageRejected';
    this.reason = reason;
  }
}

/** The 32-byte AES key of an EncodingAESKey; undefined when it is not 43 base64 characters. */
export function aesKeyOf(encodingAesKey: string): Buffer | undefined {
  if (!ENCODING_AES_KEY.test(encodingAesKey)) return undefined;
  const key = Buffer.from(`${encodingAesKey}=`, 'base64');
  return key.length === 32 ? key : undefined;
}

/** msg_signature: SHA-1 (hex) of the four strings sorted and concatenated. */
export function msgSignature(token: string, timestamp: string, nonce: string, encrypt: string): string {
  return createHash('sha1').update([token, timestamp, nonce, encrypt].sort().join(''), 'utf8').digest('hex');
}

/** Constant-time comparison of a given signature with the expected one (hex, any case). */
export function signatureMatches(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(given.toLowerCase(), 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

function requireKey(encodingAesKey: string): Buffer {
  const key = aesKeyOf(encodingAesKey);
  if (key === undefined) throw new MessageRejected('key');
  return key;
}

/** Encrypts `message` for `receiverId` (what WeChat does; the tests' fake and echo replies use it). */
export function encryptMessage(
  encodingAesKey: string,
  message: string,
  receiverId: string,
  random: Buffer = randomBytes(16),
): string {
  const key = requireKey(encodingAesKey);
  const body = Buffer.from(message, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length, 0);
  const plain = Buffer.concat([random.subarray(0, 16), length, body, Buffer.from(receiverId, 'utf8')]);
  const pad = BLOCK - (plain.length % BLOCK);
  const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
  cipher.setAutoPadding(false);
  return Buffer.concat([
    cipher.update(Buffer.concat([plain, Buffer.alloc(pad, pad)])),
    cipher.final(),
  ]).toString('base64');
}

/**
 * Decrypts an `Encrypt` value and checks its padding, length and receiver id (null: any, for URL
 * checks whose receiver id the platform does not document firmly); answers the message.
 */
export function decryptMessage(encodingAesKey: string, encrypt: string, receiverId: string | null): string {
  const key = requireKey(encodingAesKey);
  const data = Buffer.from(encrypt, 'base64');
  if (data.length === 0 || data.length % 16 !== 0) throw new MessageRejected('ciphertext');
  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16));
    decipher.setAutoPadding(false);
    plain = Buffer.concat([decipher.update(data), decipher.final()]);
  } catch {
    throw new MessageRejected('ciphertext');
  }
  const pad = plain[plain.length - 1] ?? 0;
  if (pad < 1 || pad > BLOCK || pad > plain.length) throw new MessageRejected('padding');
  for (let i = plain.length - pad; i < plain.length; i++)
    if (plain[i] !== pad) throw new MessageRejected('padding');
  const content = plain.subarray(0, plain.length - pad);
  if (content.length < 20) throw new MessageRejected('length');
  const length = content.readUInt32BE(16);
  if (20 + length > content.length) throw new MessageRejected('length');
  const receiver = content.subarray(20 + length);
  if (receiverId === null) return content.subarray(20, 20 + length).toString('utf8');
  const want = Buffer.from(receiverId, 'utf8');
  if (receiver.length !== want.length || !timingSafeEqual(receiver, want))
    throw new MessageRejected('receiver');
  return content.subarray(20, 20 + length).toString('utf8');
}

/** The signed query of a message: what verifyAndDecrypt checks. */
export interface SignedQuery {
  timestamp: string;
  nonce: string;
  msgSignature: string;
}

/** Checks the signature (constant time) before anything is decrypted, then decrypts. */
export function verifyAndDecrypt(
  credentials: { token: string; encodingAesKey: string; receiverId: string | null },
  query: SignedQuery,
  encrypt: string,
): string {
  const expected = msgSignature(credentials.token, query.timestamp, query.nonce, encrypt);
  if (!signatureMatches(expected, query.msgSignature)) throw new MessageRejected('signature');
  return decryptMessage(credentials.encodingAesKey, encrypt, credentials.receiverId);
}
