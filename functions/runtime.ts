/**
 * Everything one function instance needs, built once at cold start: validated config, keys (env or
 * Secret Manager), the store, the token engine and the per-instance caches.
 */
import { randomBytes } from 'node:crypto';
import { systemClock, systemRandom, type Clock, type Random } from './clock';
import { parseConfig, type Config } from './config';
import { EdgeCache } from './engine/edge-cache';
import { TokenEngine } from './engine/engine';
import { ClientKeyCache } from './keys/client-key-cache';
import { resolveKeys, type ResolvedKeys } from './keys/keys';
import { AppError } from './errors';
import { log, setLogLevel } from './log';
import { createOps, type Ops } from './ops/ops';
import { openStore } from './store/open-store';
import { Sealer } from './store/seal';
import type { Store } from './store/store';

export interface Runtime {
  config: Config;
  keys: ResolvedKeys;
  store: Store;
  engine: TokenEngine;
  /**
   * tokenServerCache's memory cache in front of the engine, created by its first use (the cache
   * route set's token getter, http/token-getter.ts) with the runtime's engine and clock then: an
   * instance that serves nothing from memory has none.
   */
  edgeCache(): EdgeCache;
  /** The edge cache if this instance created one (an admin change then forgets its entry there). */
  existingEdgeCache(): EdgeCache | undefined;
  clientCache: ClientKeyCache;
  /** The audit log and webhooks (functions/ops/). */
  ops: Ops;
  clock: Clock;
  random: Random;
  /** Identifies this instance in leases and logs. */
  instanceId: string;
}

export interface RuntimeOverrides {
  clock?: Clock;
  random?: Random;
  store?: Store;
  keys?: ResolvedKeys;
}

/** Why a key is missing goes to the log (and to admins in /api/status), never to strangers. */
function logKeyProblems(config: Config, keys: ResolvedKeys): void {
  for (const name of ['adminKey', 'masterKey'] as const) {
    const problem = keys.problems[name];
    if (problem === undefined) continue;
    // A key left unset on purpose (a function that does not need it) is no error.
    const severity = config[name].kind === 'none' ? 'INFO' : 'ERROR';
    log(severity, `not ready: ${problem}`, { event: 'keys_not_ready', key: name });
  }
}

export async function createRuntime(config: Config, overrides: RuntimeOverrides = {}): Promise<Runtime> {
  setLogLevel(config.logLevel);
  const keys = overrides.keys ?? (await resolveKeys(config));
  if (overrides.keys === undefined) logKeyProblems(config, keys);
  const sealer = new Sealer(keys.masterKeys ?? keys.masterKey);
  const clock = overrides.clock ?? systemClock;
  const random = overrides.random ?? systemRandom;
  const store = overrides.store ?? openStore(config, sealer, 'token-server', { clock, random });
  const ops = createOps({
    store,
    sealer,
    masterKey: keys.masterKey,
    clock,
    random,
    allowPrivate: config.allowPrivateUpstreams,
    webhookRetryMinMs: config.webhookRetryMinMs,
    webhookLeaseMs: config.webhookLeaseMs,
  });
  const instanceId = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const engine = new TokenEngine({
    store,
    clock,
    random,
    instanceId,
    leaseMs: config.leaseMs,
    waitMs: config.waitMs,
    allowPrivateUpstreams: config.allowPrivateUpstreams,
  });
  let edgeCache: EdgeCache | undefined;
  const runtime: Runtime = {
    config,
    keys,
    store,
    engine,
    edgeCache: () => (edgeCache ??= new EdgeCache(runtime.engine, runtime.clock)),
    existingEdgeCache: () => edgeCache,
    clientCache: new ClientKeyCache(config.clientCacheMs),
    ops,
    clock,
    random,
    instanceId,
  };
  return runtime;
}

/**
 * A runtime that cannot be built (invalid configuration): the reason, which names variables and
 * may quote error texts, goes to the log; the caller, who cannot be authenticated without a
 * runtime, learns only that the service is not ready.
 */
function notReady(err: unknown): never {
  const reason = err instanceof Error ? err.message : String(err);
  log('ERROR', `not ready: ${reason}`, { event: 'runtime_not_ready' });
  throw new AppError(
    'NOT_READY',
    'The service is not ready: its configuration is invalid (its log says why)',
    {
      retryAfter: 30,
    },
  );
}

let shared: { runtime: Promise<Runtime>; at: number } | undefined;
/** shared's runtime once it has resolved (undefined while it is being created or was dropped). */
let settled: { runtime: Runtime; at: number } | undefined;

/**
 * The instance's runtime when it is ready and getRuntime() would return it as it is, without a
 * promise; undefined otherwise (the caller then awaits getRuntime()).
 */
export function readyRuntime(now = Date.now()): Runtime | undefined {
  if (settled === undefined || shared === undefined) return undefined;
  if (keysFromSecretManagerFailed(settled.runtime) && now - settled.at > KEY_RETRY_MS) return undefined;
  return settled.runtime;
}

/** How soon an instance whose Secret Manager read failed tries again (IAM changes take a while). */
const KEY_RETRY_MS = 30_000;

function keysFromSecretManagerFailed(runtime: Runtime): boolean {
  const { problems } = runtime.keys;
  return (
    (problems.adminKey !== undefined && runtime.config.adminKey.kind === 'secret') ||
    (problems.masterKey !== undefined && runtime.config.masterKey.kind === 'secret')
  );
}

/**
 * The instance's runtime, created on first use from the environment. A failed creation (bad
 * configuration) is not cached, so that the error is reported on every request until fixed; a
 * runtime whose keys could not be read from Secret Manager is rebuilt after KEY_RETRY_MS, so a
 * passing outage or an IAM grant that is still propagating does not close the instance for good.
 */
export async function getRuntime(env: NodeJS.ProcessEnv = process.env): Promise<Runtime> {
  const now = Date.now();
  if (shared !== undefined) {
    const current = shared;
    const runtime = await current.runtime;
    if (!(keysFromSecretManagerFailed(runtime) && now - current.at > KEY_RETRY_MS)) return runtime;
    if (shared === current) {
      shared = undefined;
      settled = undefined;
    }
  }
  if (shared === undefined) {
    const attempt = { runtime: (async () => createRuntime(parseConfig(env)))().catch(notReady), at: now };
    shared = attempt;
    attempt.runtime.then(
      (runtime) => {
        if (shared === attempt) settled = { runtime, at: attempt.at };
      },
      () => {
        if (shared === attempt) shared = undefined;
      },
    );
  }
  return shared.runtime;
}
