import type { z } from 'zod';
import { AppError } from './errors';

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
      : [{ field: formatPath(issue.path, prefix), message: issue.message }],
  );
  const summary = issues
    .slice(0, 5)
    .map((i) => `${i.field}: ${i.message}`)
    .join('; ');
  return throwInvalid(`Invalid request: ${summary}`, issues);
}

function throwInvalid(message: string, issues: Array<{ field: string; message: string }>): never {
  throw new AppError('INVALID_ARGUMENT', message, {
    details: { field: issues[0]?.field, issues },
  });
}
