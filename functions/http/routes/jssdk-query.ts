/**
 * The query of GET /api/jssdk/signature: realm, key and the page URL to sign. For the OpenAPI
 * document, and loaded by http/routes/jssdk.ts on its first request (zod on first use: README
 * "Cold start").
 */
import { z } from 'zod';
import { realmIdSchema } from '../../providers/realm-config';
import { CONTROL_CHAR_RANGE } from '../../validation';

const UNSENDABLE = new RegExp(`[\\s${CONTROL_CHAR_RANGE}]`);

/** The page URL as the JS-SDK signs it: absolute http(s), without its #fragment, otherwise as given. */
const pageUrlSchema = z
  .string()
  .max(4096)
  .transform((value, ctx) => {
    const signed = value.split('#')[0] ?? '';
    let parsed: URL | undefined;
    try {
      parsed = new URL(signed);
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined || UNSENDABLE.test(signed)) {
      ctx.addIssue({ code: 'custom', message: 'must be the absolute URL of the page (https://...)' });
      return z.NEVER;
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
      ctx.addIssue({ code: 'custom', message: 'must be an http:// or https:// URL' });
      return z.NEVER;
    }
    return signed;
  });

export const signatureQuerySchema = z.strictObject({
  realm: realmIdSchema,
  key: realmIdSchema,
  url: pageUrlSchema,
});
