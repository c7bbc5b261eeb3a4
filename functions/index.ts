/**
 * Wiring only. Each export is a firebase-functions v2 function, which `firebase deploy` discovers
 * with the options below, and which the stock Functions Framework serves as a plain (req, res)
 * handler (`npx functions-framework --target=NAME`). Deployment: README "Deploy on Google Cloud".
 */
// First: in local mode nothing may probe the cloud metadata server (functions/local-mode.ts).
import './local-mode';
import { defineSecret } from 'firebase-functions/params';
import { onRequest } from 'firebase-functions/v2/https';
import { onSchedule } from 'firebase-functions/v2/scheduler';
import { createHandler } from './http/app';
import { cacheRoutes, fullRoutes } from './http/routes';
import { getRuntime, readyRuntime } from './runtime';
import { scheduledRefresh } from './scheduled';

/**
 * One region for all three, so that they share one Firestore latency and, when a static egress IP
 * is needed, one VPC connector and one Cloud NAT (add `vpcConnector` and
 * `vpcConnectorEgressSettings: 'ALL_TRAFFIC'` here: README "Static egress IP").
 */
const COMMON = { region: 'us-central1', cpu: 1 } as const;

/**
 * Secret Manager secrets that Firebase injects as environment variables of the same name, which
 * config.ts reads like any other. Without Firebase, set them (or their *_SECRET variants) directly.
 */
const adminKey = defineSecret('TOKEN_SERVER_ADMIN_KEY');
const masterKey = defineSecret('TOKEN_SERVER_MASTER_KEY');

const runtime = () => getRuntime();

/** The full service: admin API, token API, status, refresh and the OpenAPI document. */
export const tokenServer = onRequest(
  {
    ...COMMON,
    memory: '512MiB',
    concurrency: 80,
    maxInstances: 10,
    timeoutSeconds: 60,
    invoker: 'public',
    secrets: [adminKey, masterKey],
  },
  createHandler({ name: 'tokenServer', routes: fullRoutes(), runtime, readyRuntime: () => readyRuntime() }),
);

/** The app-facing edge: the token route behind an in-instance memory cache, so a hit reads nothing. */
export const tokenServerCache = onRequest(
  {
    ...COMMON,
    memory: '256MiB',
    concurrency: 250,
    maxInstances: 20,
    timeoutSeconds: 60,
    invoker: 'public',
    secrets: [adminKey, masterKey],
  },
  createHandler({
    name: 'tokenServerCache',
    routes: cacheRoutes(),
    runtime,
    readyRuntime: () => readyRuntime(),
  }),
);

/**
 * Every minute, refresh every due token (the code path of POST /api/refresh), so that idle secrets
 * stay fresh. Private: only Cloud Scheduler invokes it. It needs the master key, not the admin key.
 */
export const tokenServerRefresh = onSchedule(
  {
    ...COMMON,
    schedule: 'every 1 minutes',
    memory: '256MiB',
    concurrency: 4,
    maxInstances: 1,
    timeoutSeconds: 300,
    retryCount: 0,
    secrets: [masterKey],
  },
  scheduledRefresh(runtime),
);
