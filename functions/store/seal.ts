/**
 * At-rest encryption: AES-256-GCM under a master key, a random 96-bit nonce per write, and the
 * document path as associated data, so a sealed value copied into another document does not open.
 *
 * Several master keys may be configured (keys/master-keys.ts), the first current. A sealed value
 * names the key it was sealed under:
 *   v1.<nonce>.<body>           key `default` (the only form before key ids; still written under
 *                               `default`, so instances of an earlier version keep reading it)
 *   v2.<key id>.<nonce>.<body>  any other key
 * A value opens with the key it names; new values are always sealed under the current key.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { AppError } from '../errors';
import { DEFAULT_KEY_ID, type MasterKey } from '../keys/master-keys';

const V1 = 'v1';
const V2 = 'v2';

export class Sealer {
  private readonly keys: ReadonlyMap<string, Buffer>;
  private readonly current: MasterKey | undefined;

  /** One key (id `default`), the configured list (the first current), or none (nothing opens). */
  constructor(masterKeys: Buffer | readonly MasterKey[] | undefined) {
    const list =
      masterKeys === undefined
        ? []
        : Buffer.isBuffer(masterKeys)
          ? [{ id: DEFAULT_KEY_ID, key: masterKeys }]
          : masterKeys;
    for (const k of list) {
      if (k.key.length !== 32) throw new AppError('NOT_READY', 'The master key must be exactly 32 bytes');
    }
    this.keys = new Map(list.map((k) => [k.id, k.key]));
    this.current = list[0];
  }

  get ready(): boolean {
    return this.current !== undefined;
  }

  /** The id new values are sealed under (undefined without a key). */
  get currentKeyId(): string | undefined {
    return this.current?.id;
  }

  /** The configured key ids, the current one first. */
  get keyIds(): string[] {
    return [...this.keys.keys()];
  }

  seal(plaintext: string, aad: string): string {
    const current = this.requireKey();
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', current.key, nonce);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    const head = current.id === DEFAULT_KEY_ID ? V1 : `${V2}.${current.id}`;
    return `${head}.${nonce.toString('base64url')}.${body.toString('base64url')}`;
  }

  open(sealed: string, aad: string): string {
    this.requireKey();
    const parsed = parseSealed(sealed);
    if (parsed === undefined)
      throw new AppError('INTERNAL', `A sealed value at ${aad} has an unknown format`);
    const key = this.keys.get(parsed.keyId);
    if (key === undefined) {
      throw new AppError(
        'INTERNAL',
        `A sealed value at ${aad} was sealed under master key "${parsed.keyId}", which is not configured`,
      );
    }
    const body = Buffer.from(parsed.body, 'base64url');
    if (body.length < 16) throw new AppError('INTERNAL', `A sealed value at ${aad} is truncated`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(parsed.nonce, 'base64url'));
      decipher.setAAD(Buffer.from(aad, 'utf8'));
      decipher.setAuthTag(body.subarray(body.length - 16));
      return Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]).toString(
        'utf8',
      );
    } catch {
      // Wrong master key, tampering, or a value moved from another document.
      throw new AppError(
        'INTERNAL',
        `A sealed value at ${aad} could not be opened: wrong master key or tampered document`,
      );
    }
  }

  /** Whether a sealed value is under a key other than the current one (reseal's question). */
  isStale(sealed: string): boolean {
    return sealedKeyId(sealed) !== this.current?.id;
  }

  /** The value opened with the key it names and sealed again under the current key. */
  reseal(sealed: string, aad: string): string {
    return this.seal(this.open(sealed, aad), aad);
  }

  private requireKey(): MasterKey {
    if (this.current === undefined) {
      throw new AppError(
        'NOT_READY',
        'No master key is configured (TOKEN_SERVER_MASTER_KEY or TOKEN_SERVER_MASTER_KEY_SECRET): ' +
          'credentials and tokens are never stored in plain text, so they cannot be stored or read',
      );
    }
    return this.current;
  }
}

interface SealedParts {
  keyId: string;
  nonce: string;
  body: string;
}

function parseSealed(sealed: string): SealedParts | undefined {
  const parts = sealed.split('.');
  if (parts[0] === V1 && parts.length === 3) {
    const [, nonce = '', body = ''] = parts;
    return { keyId: DEFAULT_KEY_ID, nonce, body };
  }
  if (parts[0] === V2 && parts.length === 4) {
    const [, keyId = '', nonce = '', body = ''] = parts;
    return { keyId, nonce, body };
  }
  return undefined;
}

/** The id of the key a sealed value names (undefined: not a sealed value of a known format). */
export function sealedKeyId(sealed: string): string | undefined {
  return parseSealed(sealed)?.keyId;
}
