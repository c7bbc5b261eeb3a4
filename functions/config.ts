/**
 * The only reader of the environment. parseConfig(env) turns it into a validated Config once per
 * instance; everything else receives the Config (or parts of it) as an argument.
 */
import { z } from 'zod';
import { AppError } from './errors';
import { parseMasterKeys } from './keys/master-keys';
import {
  DEFAULT_FIRESTORE_TRANSPORT,
  FIRESTORE_TRANSPORTS,
  type FirestoreTransport,
} from './store/firestore/transport';

export type KeySource =
  { kind: 'none' } | { kind: 'value'; value: string } | { kind: 'secret'; name: string };

export interface Config {
  projectId: string;
  emulatorHost: string | undefined;
  store: 'firestore' | 'memory';
  adminKey: KeySource;
  masterKey: KeySource;
  allowPrivateUpstreams: boolean;
  /** How long a refresh lease lasts before another instance may take it over. */
  leaseMs: number;
  /** How long a request without a valid token waits for another instance's refresh before 503. */
  waitMs: number;
  /** How long a client-key lookup is cached in memory (revocation takes at most this long). */
  clientCacheMs: number;
  /** How long one Firestore operation may take before the request answers 503 UNAVAILABLE. */
  storeTimeoutMs: number;
  /** The Firestore client's wire for all but listeners (store/firestore/transport.ts). */
  firestoreTransport: FirestoreTransport;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** Host:port of a Secret Manager endpoint speaking REST over plain HTTP (tests, local fakes). */
  secretManagerEndpoint: string | undefined;
  /** A webhook delivery's first retry comes after this (then doubling to 1 h); default 30 s. */
  webhookRetryMinMs: number;
  /** How long an instance holds an outbox entry while it delivers it; default 15 s. */
  webhookLeaseMs: number;
}

const SECRET_VERSION = /^projects\/[^/]+\/secrets\/[^/]+\/versions\/[^/]+$/;

const boolish = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .optional()
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const intMs = (def: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return def;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({
          code: 'custom',
          message: `must be a whole number of milliseconds from ${min} to ${max}`,
        });
        return z.NEVER;
      }
      return n;
    });

const envSchema = z
  .object({
    GOOGLE_CLOUD_PROJECT: z.string().optional(),
    GCLOUD_PROJECT: z.string().optional(),
    FIRESTORE_EMULATOR_HOST: z.string().optional(),
    TOKEN_SERVER_STORE: z.enum(['firestore', 'memory', '']).optional(),
    TOKEN_SERVER_ADMIN_KEY: z
      .string()
      .optional()
      .refine((v) => v === undefined || v === '' || v.length >= 32, 'must be at least 32 characters'),
    TOKEN_SERVER_ADMIN_KEY_SECRET: z
      .string()
      .optional()
      .refine(
        (v) => v === undefined || v === '' || SECRET_VERSION.test(v),
        'must be a Secret Manager version name: projects/P/secrets/S/versions/V',
      ),
    TOKEN_SERVER_MASTER_KEY: z
      .string()
      .optional()
      .superRefine((v, ctx) => {
        // One key, or a list of id:key entries (keys/master-keys.ts); the problem never quotes a key.
        const problem = v === undefined || v === '' ? undefined : parseMasterKeys(v).problem;
        if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
      }),
    TOKEN_SERVER_MASTER_KEY_SECRET: z
      .string()
      .optional()
      .refine(
        (v) => v === undefined || v === '' || SECRET_VERSION.test(v),
        'must be a Secret Manager version name: projects/P/secrets/S/versions/V',
      ),
    TOKEN_SERVER_ALLOW_PRIVATE_UPSTREAMS: boolish,
    TOKEN_SERVER_LEASE_MS: intMs(15_000, 500, 600_000),
    TOKEN_SERVER_WAIT_MS: intMs(20_000, 0, 600_000),
    TOKEN_SERVER_CLIENT_CACHE_MS: intMs(30_000, 0, 60_000),
    TOKEN_SERVER_STORE_TIMEOUT_MS: intMs(10_000, 100, 60_000),
    TOKEN_SERVER_FIRESTORE_TRANSPORT: z.enum([...FIRESTORE_TRANSPORTS, '']).optional(),
    TOKEN_SERVER_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', '']).optional(),
    TOKEN_SERVER_SECRET_MANAGER_ENDPOINT: z.string().optional(),
    // Webhook delivery waits (ops/webhooks/deliver.ts); shorter values are for tests.
    TOKEN_SERVER_WEBHOOK_RETRY_MIN_MS: intMs(30_000, 100, 3_600_000),
    TOKEN_SERVER_WEBHOOK_LEASE_MS: intMs(15_000, 100, 600_000),
  })
  .superRefine((env, ctx) => {
    if (nonEmpty(env.TOKEN_SERVER_ADMIN_KEY) && nonEmpty(env.TOKEN_SERVER_ADMIN_KEY_SECRET)) {
      ctx.addIssue({
        code: 'custom',
        path: ['TOKEN_SERVER_ADMIN_KEY_SECRET'],
        message: 'set either TOKEN_SERVER_ADMIN_KEY or TOKEN_SERVER_ADMIN_KEY_SECRET, not both',
      });
    }
    if (nonEmpty(env.TOKEN_SERVER_MASTER_KEY) && nonEmpty(env.TOKEN_SERVER_MASTER_KEY_SECRET)) {
      ctx.addIssue({
        code: 'custom',
        path: ['TOKEN_SERVER_MASTER_KEY_SECRET'],
        message: 'set either TOKEN_SERVER_MASTER_KEY or TOKEN_SERVER_MASTER_KEY_SECRET, not both',
      });
    }
  });

function nonEmpty(v: string | undefined): v is string {
  return v !== undefined && v !== '';
}

/**
 * Secret values injected by Firebase (`defineSecret`) arrive exactly as stored, and
 * `gcloud secrets create --data-file` often stores a trailing newline: keys are read without it.
 */
function withKeysTrimmed(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const name of ['TOKEN_SERVER_ADMIN_KEY', 'TOKEN_SERVER_MASTER_KEY'] as const) {
    const value = out[name];
    if (value !== undefined) out[name] = value.replace(/[\r\n]+$/, '');
  }
  return out;
}

function keySource(value: string | undefined, secret: string | undefined): KeySource {
  if (nonEmpty(value)) return { kind: 'value', value };
  if (nonEmpty(secret)) return { kind: 'secret', name: secret };
  return { kind: 'none' };
}

/**
 * Validate the environment. Throws an AppError (NOT_READY) naming each bad variable; the message
 * never repeats a value, since some of them are keys.
 */
export function parseConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(withKeysTrimmed(env));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new AppError('NOT_READY', `Invalid configuration: ${problems.join('; ')}`, {
      details: { variables: parsed.error.issues.map((i) => i.path.join('.')) },
    });
  }
  const e = parsed.data;
  const store = e.TOKEN_SERVER_STORE === 'memory' ? 'memory' : 'firestore';
  return {
    projectId: e.GOOGLE_CLOUD_PROJECT || e.GCLOUD_PROJECT || 'demo-token-server',
    emulatorHost: nonEmpty(e.FIRESTORE_EMULATOR_HOST) ? e.FIRESTORE_EMULATOR_HOST : undefined,
    store,
    adminKey: keySource(e.TOKEN_SERVER_ADMIN_KEY, e.TOKEN_SERVER_ADMIN_KEY_SECRET),
    masterKey: keySource(e.TOKEN_SERVER_MASTER_KEY, e.TOKEN_SERVER_MASTER_KEY_SECRET),
    allowPrivateUpstreams: e.TOKEN_SERVER_ALLOW_PRIVATE_UPSTREAMS,
    leaseMs: e.TOKEN_SERVER_LEASE_MS,
    waitMs: e.TOKEN_SERVER_WAIT_MS,
    clientCacheMs: e.TOKEN_SERVER_CLIENT_CACHE_MS,
    storeTimeoutMs: e.TOKEN_SERVER_STORE_TIMEOUT_MS,
    firestoreTransport: e.TOKEN_SERVER_FIRESTORE_TRANSPORT || DEFAULT_FIRESTORE_TRANSPORT,
    logLevel: e.TOKEN_SERVER_LOG_LEVEL || 'info',
    secretManagerEndpoint: nonEmpty(e.TOKEN_SERVER_SECRET_MANAGER_ENDPOINT)
      ? e.TOKEN_SERVER_SECRET_MANAGER_ENDPOINT
      : undefined,
    webhookRetryMinMs: e.TOKEN_SERVER_WEBHOOK_RETRY_MIN_MS,
    webhookLeaseMs: e.TOKEN_SERVER_WEBHOOK_LEASE_MS,
  };
}
