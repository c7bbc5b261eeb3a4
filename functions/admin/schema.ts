/** Schema pieces shared by the admin routes. */
import { z } from 'zod';

/**
 * Like z.strictObject, but each unknown field is its own issue whose path names it
 * (`key_10: Unknown field`), reported together with the other issues of the object.
 */
export function exactObject<T extends z.ZodRawShape>(shape: T) {
  const known = new Set(Object.keys(shape));
  return z
    .looseObject(shape)
    .check(
      z.superRefine(
        (value: unknown, ctx) => {
          if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
          for (const key of Object.keys(value)) {
            if (!known.has(key)) ctx.addIssue({ code: 'custom', message: 'Unknown field', path: [key] });
          }
        },
        { when: () => true },
      ),
    )
    .transform((value) => value as unknown as z.output<z.ZodObject<T>>);
}
