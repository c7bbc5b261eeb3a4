/** Opens the configured store: Firestore (emulator when FIRESTORE_EMULATOR_HOST is set) or memory. */
import { initializeApp, getApps, type App } from 'firebase-admin/app';
import { getFirestore } from 'firebase-admin/firestore';
import type { Clock, Random } from '../clock';
import type { Config } from '../config';
import { FirestoreStore } from './firestore/firestore-store';
import { MemoryStore } from './memory/memory-store';
import type { Sealer } from './seal';
import type { Store } from './store';

const configured = new Set<string>();

/**
 * gRPC reconnects with exponential backoff up to 120 s by default: after an outage, an instance
 * could keep failing for up to two minutes after Firestore is back. Capped here so it recovers soon.
 */
const MAX_RECONNECT_BACKOFF_MS = 2_000;

export function openStore(
  config: Pick<Config, 'store' | 'projectId'> & Partial<Pick<Config, 'storeTimeoutMs'>>,
  sealer: Sealer,
  appName = 'token-server',
  time: { clock?: Clock; random?: Random } = {},
): Store {
  // The memory store's clock is the store's time; Firestore's is its own (read times).
  if (config.store === 'memory') return new MemoryStore(sealer, time.clock);
  const app: App =
    getApps().find((a) => a.name === appName) ?? initializeApp({ projectId: config.projectId }, appName);
  const db = getFirestore(app);
  if (!configured.has(appName)) {
    // settings() may be called once per Firestore instance, before its first use.
    db.settings({
      ignoreUndefinedProperties: true,
      'grpc.max_reconnect_backoff_ms': MAX_RECONNECT_BACKOFF_MS,
    });
    configured.add(appName);
  }
  return new FirestoreStore(db, sealer, {
    ...(config.storeTimeoutMs === undefined ? {} : { timeoutMs: config.storeTimeoutMs }),
    ...time,
  });
}
