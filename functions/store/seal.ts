/**
 * At-rest encryption: AES-256-GCM under the master key, a random 96-bit nonce per write, and the
 * document path as associated data, so a sealed value copied into another document does not open.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { AppError } from '../errors';

const VERSION = 'v1';

export class Sealer {
  private readonly key: Buffer | undefined;

  constructor(masterKey: Buffer | undefined) {
    if (masterKey !== undefined && masterKey.length !== 32) {
      throw new AppError('NOT_READY', 'The master key must be exactly 32 bytes');
    }
    this.key = masterKey;
  }

  get ready(): boolean {
    return this.key !== undefined;
  }

  seal(plaintext: string, aad: string): string {
    const key = this.requireKey();
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, nonce);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${VERSION}.${nonce.toString('base64url')}.${body.toString('base64url')}`;
  }

  open(sealed: string, aad: string): string {
    const key = this.requireKey();
    const [version, nonceText, bodyText] = sealed.split('.');
    if (version !== VERSION || nonceText === undefined || bodyText === undefined) {
      throw new AppError('INTERNAL', `A sealed value at ${aad} has an unknown format`);
    }
    const body = Buffer.from(bodyText, 'base64url');
    if (body.length < 16) throw new AppError('INTERNAL', `A sealed value at ${aad} is truncated`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(nonceText, 'base64url'));
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

  private requireKey(): Buffer {
    if (this.key === undefined) {
      throw new AppError(
        'NOT_READY',
        'No master key is configured (TOKEN_SERVER_MASTER_KEY or TOKEN_SERVER_MASTER_KEY_SECRET): ' +
          'credentials and tokens are never stored in plain text, so they cannot be stored or read',
      );
    }
    return this.key;
  }
}
