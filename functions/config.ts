/**
 * The only reader of the environment. parseConfig(env) turns it into a validated Config once per
 * instance; everything else receives the Config (or parts of it) as an argument.
 */
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
const SECRET_VERSION_RULE = 'must be a Secret Manager version name: projects/P/secrets/S/versions/V';

/**
 * The environment's rules, written without zod so that an instance starts without loading it
 * (README "Cold start"). Each reader notes a problem (the variable and what is wrong, never its
 * value: some are keys) and returns a usable value, so that every problem is reported at once.
 */
class EnvReader {
  readonly problems: Array<{ variable: string; message: string }> = [];

  constructor(private readonly env: NodeJS.ProcessEnv) {}

  problem(variable: string, message: string): void {
    this.problems.push({ variable, message });
  }

  text(name: string): string | undefined {
    return this.env[name];
  }

  oneOf<T extends string>(name: string, choices: readonly T[]): T | undefined {
    const v = this.env[name];
    if (v === undefined || v === '') return undefined;
    if ((choices as readonly string[]).includes(v)) return v as T;
    this.problem(name, `must be one of ${choices.map((c) => `"${c}"`).join(', ')} (or empty)`);
    return undefined;
  }

  flag(name: string): boolean {
    const v = this.oneOf(name, ['true', 'false', '1', '0', 'yes', 'no']);
    return v === 'true' || v === '1' || v === 'yes';
  }

  ms(name: string, def: number, min: number, max: number): number {
    const v = this.env[name];
    if (v === undefined || v === '') return def;
    const n = Number(v);
    if (Number.isInteger(n) && n >= min && n <= max) return n;
    this.problem(name, `must be a whole number of milliseconds from ${min} to ${max}`);
    return def;
  }

  secretName(name: string): string | undefined {
    const v = this.env[name];
    if (nonEmpty(v) && !SECRET_VERSION.test(v)) this.problem(name, SECRET_VERSION_RULE);
    return v;
  }
}

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
  const e = new EnvReader(withKeysTrimmed(env));
  const adminKey = e.text('TOKEN_SERVER_ADMIN_KEY');
  if (nonEmpty(adminKey) && adminKey.length < 32) {
    e.problem('TOKEN_SERVER_ADMIN_KEY', 'must be at least 32 characters');
  }
  const adminKeySecret = e.secretName('TOKEN_SERVER_ADMIN_KEY_SECRET');
  const masterKey = e.text('TOKEN_SERVER_MASTER_KEY');
  // One key, or a list of id:key entries (keys/master-keys.ts); the problem never quotes a key.
  const masterProblem = nonEmpty(masterKey) ? parseMasterKeys(masterKey).problem : undefined;
  if (masterProblem !== undefined) e.problem('TOKEN_SERVER_MASTER_KEY', masterProblem);
  const masterKeySecret = e.secretName('TOKEN_SERVER_MASTER_KEY_SECRET');
  if (nonEmpty(adminKey) && nonEmpty(adminKeySecret)) {
    e.problem(
      'TOKEN_SERVER_ADMIN_KEY_SECRET',
      'set either TOKEN_SERVER_ADMIN_KEY or TOKEN_SERVER_ADMIN_KEY_SECRET, not both',
    );
  }
  if (nonEmpty(masterKey) && nonEmpty(masterKeySecret)) {
    e.problem(
      'TOKEN_SERVER_MASTER_KEY_SECRET',
      'set either TOKEN_SERVER_MASTER_KEY or TOKEN_SERVER_MASTER_KEY_SECRET, not both',
    );
  }
  const emulatorHost = e.text('FIRESTORE_EMULATOR_HOST');
  const secretManagerEndpoint = e.text('TOKEN_SERVER_SECRET_MANAGER_ENDPOINT');
  const config: Config = {
    projectId: e.text('GOOGLE_CLOUD_PROJECT') || e.text('GCLOUD_PROJECT') || 'demo-token-server',
    emulatorHost: nonEmpty(emulatorHost) ? emulatorHost : undefined,
    store: e.oneOf('TOKEN_SERVER_STORE', ['firestore', 'memory']) ?? 'firestore',
    adminKey: keySource(adminKey, adminKeySecret),
    masterKey: keySource(masterKey, masterKeySecret),
    allowPrivateUpstreams: e.flag('TOKEN_SERVER_ALLOW_PRIVATE_UPSTREAMS'),
    leaseMs: e.ms('TOKEN_SERVER_LEASE_MS', 15_000, 500, 600_000),
    waitMs: e.ms('TOKEN_SERVER_WAIT_MS', 20_000, 0, 600_000),
    clientCacheMs: e.ms('TOKEN_SERVER_CLIENT_CACHE_MS', 30_000, 0, 60_000),
    storeTimeoutMs: e.ms('TOKEN_SERVER_STORE_TIMEOUT_MS', 10_000, 100, 60_000),
    firestoreTransport:
      e.oneOf('TOKEN_SERVER_FIRESTORE_TRANSPORT', FIRESTORE_TRANSPORTS) ?? DEFAULT_FIRESTORE_TRANSPORT,
    logLevel: e.oneOf('TOKEN_SERVER_LOG_LEVEL', ['debug', 'info', 'warn', 'error'] as const) ?? 'info',
    secretManagerEndpoint: nonEmpty(secretManagerEndpoint) ? secretManagerEndpoint : undefined,
    // Webhook delivery waits (ops/webhooks/deliver.ts); shorter values are for tests.
    webhookRetryMinMs: e.ms('TOKEN_SERVER_WEBHOOK_RETRY_MIN_MS', 30_000, 100, 3_600_000),
    webhookLeaseMs: e.ms('TOKEN_SERVER_WEBHOOK_LEASE_MS', 15_000, 100, 600_000),
  };
  if (e.problems.length > 0) {
    const problems = e.problems.map((p) => `${p.variable}: ${p.message}`);
    throw new AppError('NOT_READY', `Invalid configuration: ${problems.join('; ')}`, {
      details: { variables: e.problems.map((p) => p.variable) },
    });
  }
  return config;
}
