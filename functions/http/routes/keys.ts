/**
 * Master-key rotation, admin only: GET /api/keys counts the sealed values under each master key
 * id (so an old key can be dropped once its count is 0), and POST /api/keys/reseal seals them again
 * under the current key, one bounded page per call, resumable from the cursor it answers.
 * Neither ever answers or logs a key or a sealed value: only key ids and counts.
 */
import { z } from 'zod';
import { decodeCursor, encodeCursor, secretPosition, type ListScope } from '../../admin/paging';
import { AppError } from '../../errors';
import { masterKeyIds } from '../../keys/keys';
import { log } from '../../log';
import { adminAudit } from '../../ops/audit/admin';
import { SEALED_COLLECTIONS, type ResealPosition } from '../../store/reseal';
import type { Runtime } from '../../runtime';
import { parseOrThrow } from '../../validation';
import { resource } from '../respond';
import type { Route } from '../types';

export const RESEAL_DEFAULT_LIMIT = 200;
export const RESEAL_MAX_LIMIT = 1_000;

export const resealBodySchema = z.strictObject({
  cursor: z
    .string()
    .max(1_024)
    .regex(/^[A-Za-z0-9_-]+$/, 'is not a reseal cursor (use cursor as answered)')
    .optional()
    .describe('The `cursor` of the previous answer; absent to start from the beginning'),
  limit: z
    .number({ error: `must be a whole number from 1 to ${RESEAL_MAX_LIMIT}` })
    .int(`must be a whole number from 1 to ${RESEAL_MAX_LIMIT}`)
    .min(1, 'must be at least 1')
    .max(RESEAL_MAX_LIMIT, `must be at most ${RESEAL_MAX_LIMIT}`)
    .optional()
    .describe(`Documents looked at by this call (default ${RESEAL_DEFAULT_LIMIT})`),
});

const resealScope: ListScope<ResealPosition> = {
  list: 'POST /api/keys/reseal',
  filter: {},
  position: z.strictObject({ collection: z.enum(SEALED_COLLECTIONS), after: secretPosition.optional() }),
};

/** Both routes read sealed values' keys: without a master key they are closed (503). */
function sealerReady(runtime: Runtime): string[] {
  const ids = masterKeyIds(runtime.keys);
  if (ids.length > 0) return ids;
  throw new AppError(
    'NOT_READY',
    runtime.keys.problems.masterKey ??
      'No master key is configured (TOKEN_SERVER_MASTER_KEY or TOKEN_SERVER_MASTER_KEY_SECRET)',
  );
}

export const keysStatusRoute: Route = {
  method: 'GET',
  pattern: '/api/keys',
  auth: 'admin',
  handle: async ({ runtime }) => {
    const ids = sealerReady(runtime);
    const [found, auditKeyId] = await Promise.all([
      runtime.store.countSealedByKey(),
      runtime.ops.auditKey.keyId(),
    ]);
    // The audit HMAC key is one more sealed value (ops/audit/audit-key.ts).
    if (auditKeyId !== undefined) found[auditKeyId] = (found[auditKeyId] ?? 0) + 1;
    // Every configured key appears (0: nothing left under it); ids no longer configured too.
    const counts: Record<string, number> = Object.fromEntries(ids.map((id) => [id, 0]));
    for (const [id, n] of Object.entries(found)) counts[id] = n;
    return resource({ current: ids[0], keys: ids, counts });
  },
};

export const resealRoute: Route = {
  method: 'POST',
  pattern: '/api/keys/reseal',
  auth: 'admin',
  handle: async ({ req, runtime }) => {
    const body = parseOrThrow(resealBodySchema, req.body ?? {});
    const ids = sealerReady(runtime);
    const position: ResealPosition =
      body.cursor === undefined
        ? { collection: SEALED_COLLECTIONS[0] }
        : decodeCursor(body.cursor, resealScope);
    // The audit HMAC key first, at every call: a complete reseal leaves it under the current key too.
    await runtime.ops.auditKey.reseal();
    const page = await runtime.store.resealPage(position, body.limit ?? RESEAL_DEFAULT_LIMIT);
    // One record per call, after its page: the page's writes are many compare-and-sets of their own
    // (no one commit to join), and none changes a value (each is the same value under the current
    // key). Written before the answer, so every answered call has its record.
    await runtime.ops.store.recordSide(
      await adminAudit(runtime, req, 'keys.reseal', `master-key:${ids[0]}`, [], {
        collection: position.collection,
        scanned: page.scanned,
        resealed: page.resealed,
        unreadable: page.unreadable,
        complete: page.next === undefined,
      }),
    );
    log('INFO', `reseal: ${page.resealed} of ${page.scanned} values sealed again under key ${ids[0]}`, {
      event: 'keys_reseal',
      current: ids[0],
      collection: position.collection,
      scanned: page.scanned,
      resealed: page.resealed,
      unreadable: page.unreadable,
      complete: page.next === undefined,
    });
    return resource({
      resealed: page.resealed,
      scanned: page.scanned,
      unreadable: page.unreadable,
      complete: page.next === undefined,
      ...(page.next === undefined ? {} : { cursor: encodeCursor(resealScope, page.next) }),
    });
  },
};

export const keyRoutes: Route[] = [keysStatusRoute, resealRoute];
