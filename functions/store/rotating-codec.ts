/**
 * A token document's rotating values (token/rotation.ts) travel sealed inside the token's own sealed
 * field, so that they are written in the same compare-and-set as the token, resealed with it by a
 * master-key rotation (store/reseal.ts reseals that one field), and never stored in plain text.
 * Plain form: the token as it is, or, with rotating values, a NUL then JSON {"t": token, "r":
 * rotating}. No token can start with NUL (extract.ts and the secret route refuse control characters).
 */
import type { RotatingState } from '../token/types';

const PACKED = '\u0000';

/** What is sealed into the token field; undefined when there is nothing to seal. */
export function packToken(
  token: string | undefined,
  rotating: RotatingState | undefined,
): string | undefined {
  if (rotating === undefined || Object.keys(rotating).length === 0) return token;
  return PACKED + JSON.stringify({ ...(token === undefined ? {} : { t: token }), r: rotating });
}

/** The token and rotating values from the opened token field. */
export function unpackToken(plain: string): { token?: string; rotating?: RotatingState } {
  if (!plain.startsWith(PACKED)) return { token: plain };
  const parsed = JSON.parse(plain.slice(PACKED.length)) as { t?: string; r?: RotatingState };
  return {
    ...(typeof parsed.t === 'string' ? { token: parsed.t } : {}),
    ...(parsed.r === undefined ? {} : { rotating: parsed.r }),
  };
}
