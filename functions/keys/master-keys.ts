/**
 * The master key list: `TOKEN_SERVER_MASTER_KEY` (or its Secret Manager payload) holds one key, or
 * several as `id:base64` entries separated by commas, the first one current (it seals every new
 * value; the others only open what was sealed under them). A bare key, with no `id:`, has the id
 * `default`: today's single-key configuration is a list of one key named `default`.
 */
export interface MasterKey {
  /** Recorded with every value sealed under this key (store/seal.ts). */
  id: string;
  /** 32 bytes. */
  key: Buffer;
}

/** The id of a key given without one (the single-key form every earlier version used). */
export const DEFAULT_KEY_ID = 'default';
export const MASTER_KEY_BYTES = 32;
/** Key ids: short, and free of the separators of the list (`:` `,`) and of a sealed value (`.`). */
export const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,40}$/;

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const KEY_FORMAT = `the base64 encoding of exactly ${MASTER_KEY_BYTES} bytes (for example: openssl rand -base64 32)`;

export type ParsedMasterKeys =
  { keys: MasterKey[]; problem?: undefined } | { keys?: undefined; problem: string };

function isKeyText(text: string): boolean {
  return BASE64.test(text) && Buffer.from(text, 'base64').length === MASTER_KEY_BYTES;
}

/**
 * Parse a master key list. Problems name the entry by its position and never repeat any part of a
 * key (a wrong entry may be a key with a typo).
 */
export function parseMasterKeys(text: string): ParsedMasterKeys {
  const entries = text.split(',').map((e) => e.trim());
  if (entries.length === 1) {
    const only = entries[0] ?? '';
    // The single-key form: a bare key (no `:` can occur in base64).
    if (!only.includes(':')) {
      return isKeyText(only)
        ? { keys: [{ id: DEFAULT_KEY_ID, key: Buffer.from(only, 'base64') }] }
        : { problem: `must be ${KEY_FORMAT}, or a list of id:key entries separated by commas` };
    }
  }
  const keys: MasterKey[] = [];
  for (const [i, entry] of entries.entries()) {
    const where = `entry ${i + 1} of the key list`;
    const colon = entry.indexOf(':');
    const id = colon < 0 ? DEFAULT_KEY_ID : entry.slice(0, colon);
    const keyText = colon < 0 ? entry : entry.slice(colon + 1);
    if (!KEY_ID_PATTERN.test(id)) {
      return { problem: `${where}: the id must be 1 to 40 letters, digits, '-' or '_'` };
    }
    if (!isKeyText(keyText)) return { problem: `${where} (id ${id}): the key must be ${KEY_FORMAT}` };
    if (keys.some((k) => k.id === id)) return { problem: `${where}: the id ${id} is given twice` };
    keys.push({ id, key: Buffer.from(keyText, 'base64') });
  }
  return { keys };
}
