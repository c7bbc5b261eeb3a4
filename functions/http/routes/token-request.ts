/**
 * The token request's schema (GET query or POST body of /api/token), for the OpenAPI document and
 * for every request that is not the plain `?realm=R&key=K` (http/routes/token.ts answers that one
 * without zod, and loads this module on first use: README "Cold start").
 */
import { z } from 'zod';
import { realmIdSchema } from '../../providers/realm-config';

const flag = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', ''])])
  .transform((v) => v === true || v === 'true' || v === '1');

export const tokenRequestSchema = z
  .object({
    realm: realmIdSchema,
    key: realmIdSchema,
    flush: flag.optional(),
    invalid_token: z.string().min(1).max(8192).optional(),
  })
  .strict();

export type TokenRequestBody = z.input<typeof tokenRequestSchema>;

export type TokenRequestFields = z.output<typeof tokenRequestSchema>;
