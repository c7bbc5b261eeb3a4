/**
 * tokenServerRefresh: every minute, refresh every due token (the code path of POST /api/refresh),
 * so that idle secrets stay fresh. Private: only Cloud Scheduler invokes it. It needs the master
 * key, not the admin key, and loads no HTTP route or OpenAPI module.
 */
import { onSchedule } from 'firebase-functions/v2/scheduler';
import { scheduledRefresh } from '../scheduled';
import { COMMON, masterKey, runtime } from './common';

export const tokenServerRefresh = onSchedule(
  {
    ...COMMON,
    schedule: 'every 1 minutes',
    memory: '256MiB',
    concurrency: 4,
    maxInstances: 1,
    timeoutSeconds: 300,
    retryCount: 0,
    secrets: [masterKey()],
  },
  scheduledRefresh(runtime),
);
