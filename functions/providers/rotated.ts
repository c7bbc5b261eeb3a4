/**
 * Rotating values in a provider's answer (realm config `rotates`: a response path → the secret value
 * it replaces). A value that is there but unusable (not a non-empty string of printable characters,
 * or too long) is a permanent failure: storing it would lose the refresh token for good, and the
 * answer says nothing about whether the old one still works. A value that is absent is no rotation
 * (the provider kept the value: the "does not rotate" reading).
 */
import { getByPath } from './dot-path';
import { ProviderFailure } from './failure';
import type { RealmConfig } from './realm-config';
import type { RotatingName } from './template';
import { CONTROL_CHARS } from '../validation';

/** Longest rotating value accepted (UTF-8 bytes): the secret route's limit for values. */
export const MAX_ROTATING_BYTES = 4096;

export type Rotated = Partial<Record<RotatingName, string>>;

/** The rotating values of an answer, by the name they replace (empty when none came). */
export function rotatedValuesOf(
  config: RealmConfig,
  data: Record<string, unknown>,
  httpStatus: number,
): Rotated {
  const out: Rotated = {};
  for (const [path, name] of Object.entries(config.rotates ?? {})) {
    const value = getByPath(data, path);
    if (value === undefined || value === null || value === '') continue;
    if (
      typeof value !== 'string' ||
      Buffer.byteLength(value, 'utf8') > MAX_ROTATING_BYTES ||
      CONTROL_CHARS.test(value)
    ) {
      throw new ProviderFailure({
        kind: 'permanent',
        reason: 'bad_token',
        message: `Upstream answered an unusable ${name} at "${path}" (must be a string of printable characters, at most ${MAX_ROTATING_BYTES} bytes)`,
        httpStatus,
      });
    }
    out[name] = value;
  }
  return out;
}
