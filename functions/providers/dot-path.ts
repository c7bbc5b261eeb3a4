/**
 * Dot paths into a provider's JSON response (`data.access_token`, `items.0.token`). A path never walks
 * into `__proto__`, `constructor` or `prototype`, and only ever reads own properties, so a response (or
 * a realm config) cannot reach Object.prototype or anything inherited.
 */
import { CONTROL_CHARS } from '../validation';

const FORBIDDEN_SEGMENTS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_PATH_LENGTH = 256;
const MAX_SEGMENTS = 16;

/** Why a dot path is unusable, or undefined when it is fine. Used by the realm config schema. */
export function dotPathProblem(path: string): string | undefined {
  if (path.length === 0) return 'must not be empty';
  if (path.length > MAX_PATH_LENGTH) return `must be at most ${MAX_PATH_LENGTH} characters`;
  const segments = path.split('.');
  if (segments.length > MAX_SEGMENTS) return `must have at most ${MAX_SEGMENTS} segments`;
  for (const segment of segments) {
    if (segment.length === 0) return 'must not contain empty segments (leading, trailing or double dots)';
    if (FORBIDDEN_SEGMENTS.has(segment)) return `must not walk into "${segment}"`;
    if (CONTROL_CHARS.test(segment)) return 'must not contain control characters';
  }
  return undefined;
}

/** The segments of a valid dot path; throws on an unusable one (the schema rejects those earlier). */
export function parseDotPath(path: string): string[] {
  const problem = dotPathProblem(path);
  if (problem !== undefined) throw new Error(`Unusable dot path: ${problem}`);
  return path.split('.');
}

/**
 * The value at `path` inside `root`, or undefined when any step is missing, is not an own property,
 * or the path is unusable. Arrays are indexed by decimal segments (`list.0`).
 */
export function getByPath(root: unknown, path: string): unknown {
  if (dotPathProblem(path) !== undefined) return undefined;
  let current: unknown = root;
  for (const segment of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    if (Array.isArray(current)) {
      if (!/^(0|[1-9][0-9]*)$/.test(segment)) return undefined;
      const index = Number(segment);
      if (index >= current.length) return undefined;
      current = current[index] as unknown;
      continue;
    }
    if (!Object.prototype.hasOwnProperty.call(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}
