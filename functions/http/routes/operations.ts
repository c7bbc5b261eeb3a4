/** Operations for admins and Cloud Scheduler: status of every token, and refresh of every due one. */
import { z } from 'zod';
import { parseOrThrow } from '../../validation';
import { ok, type Route } from '../types';

export const statusRoute: Route = {
  method: 'GET',
  pattern: '/api/status',
  auth: 'admin',
  handle: async ({ runtime }) => {
    const list = await runtime.engine.status();
    const { adminKey, masterKey } = runtime.keys.problems;
    const problems = {
      ...(adminKey === undefined ? {} : { admin_key: adminKey }),
      ...(masterKey === undefined ? {} : { master_key: masterKey }),
    };
    return ok({ list, total: list.length, ...(Object.keys(problems).length > 0 ? { problems } : {}) });
  },
};

export const refreshSchema = z
  .object({ concurrency: z.coerce.number().int().min(1).max(64).optional() })
  .strict();

export const refreshRoute: Route = {
  method: 'POST',
  pattern: '/api/refresh',
  auth: 'admin',
  handle: async ({ req, runtime }) => {
    const body = parseOrThrow(refreshSchema, req.body ?? { ...req.query });
    const summary = await runtime.engine.refreshDue(body.concurrency ?? 8);
    return ok(summary);
  },
};
