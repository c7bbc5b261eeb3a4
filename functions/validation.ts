import type { z } from 'zod';
import { AppError } from './errors';

/**
 * The control characters (C0 and DEL) that no id, name, header-bound value, path segment or token
 * may contain: the one definition every check uses. CONTROL_CHAR_RANGE is its bracket body, for
 * patterns that add to it (runs, white space).
 */
export const CONTROL_CHAR_RANGE = '\\u0000-\\u001f\\u007f';
export const CONTROL_CHARS = new RegExp(`[${CONTROL_CHAR_RANGE}]`);

/** `config.arguments[1].place` from a zod issue path. */
export function formatPath(path: ReadonlyArray<PropertyKey>, prefix = ''): string {
  let out = prefix;
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(body)' : out;
}

/**
 * Parse with a zod schema; on failure a 400 whose message names every offending field, and whose
 * details list them. Values are never echoed back (they may be credentials).
 */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, prefix = ''): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  // A strict object reports all its unknown fields as one issue; name each of them instead.
  const issues = result.error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({
          field: formatPath([...issue.path, key], prefix),
          message: 'Unknown field',
        }))
      : [{ field: formatPath(issue.path, prefix), message: readableMessage(issue) }],
  );
  const summary = issues
    .slice(0, 5)
    .map((i) => `${i.field}: ${i.message}`)
    .join('; ');
  return throwInvalid(`Invalid request: ${summary}`, issues);
}

/** A value as a person types it in a query string or JSON: `true`, `1`, `(empty)`. */
function shown(value: unknown): string {
  if (value === '') return '(empty)';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The values (or types) an issue would have accepted, from an enum, a literal or a union of them. */
function acceptedOf(issue: z.core.$ZodIssue): string[] | undefined {
  if (issue.code === 'invalid_value') return issue.values.map(shown);
  if (issue.code === 'invalid_type' && issue.expected === 'boolean') return ['true', 'false'];
  if (issue.code === 'invalid_union') {
    const parts = issue.errors.map((branch) =>
      branch.length === 1 && branch[0] ? acceptedOf(branch[0]) : undefined,
    );
    if (parts.every((p) => p !== undefined)) return [...new Set(parts.flat())];
  }
  return undefined;
}

/**
 * zod's own wording made readable, custom messages kept: a missing field is "required" (not
 * "expected string, received undefined"), and an enum, a boolean or a union of such lists what it
 * accepts (`flush: must be one of true, false, 0, 1, (empty)`).
 */
function readableMessage(issue: z.core.$ZodIssue): string {
  const generic = issue.message.startsWith('Invalid');
  if (!generic) return issue.message;
  if (issue.code === 'invalid_type' && /received undefined$/.test(issue.message)) return 'required';
  const accepted = acceptedOf(issue);
  if (accepted !== undefined && accepted.length > 0) return `must be one of ${accepted.join(', ')}`;
  if (issue.code === 'invalid_type')
    return `must be ${/^[aeiou]/.test(issue.expected) ? 'an' : 'a'} ${issue.expected}`;
  return issue.message;
}

function throwInvalid(message: string, issues: Array<{ field: string; message: string }>): never {
  throw new AppError('INVALID_ARGUMENT', message, {
    details: { field: issues[0]?.field, issues },
  });
}
