/** Opens the configured store: Firestore (emulator when FIRESTORE_EMULATOR_HOST is set) or memory. */
import { initializeApp, getApps, type App } from 'firebase-admin/app';
import { getFirestore, type Firestore, type Settings } from 'firebase-admin/firestore';
import type { Clock, Random } from '../clock';
import type { Config } from '../config';
import { FirestoreStore } from './firestore/firestore-store';
import { grpcSettings, transportSettings } from './firestore/client-settings';
import { DEFAULT_FIRESTORE_TRANSPORT, type FirestoreTransport } from './firestore/transport';
import type * as MemoryStoreModule from './memory/memory-store';
import type { Sealer } from './seal';
import type { Store } from './store';

const configured = new Set<string>();

/** The Firestore client of the Firebase app `appName`, with `settings` applied once. */
function firestoreOf(appName: string, projectId: string, settings: () => Settings): Firestore {
  const app: App = getApps().find((a) => a.name === appName) ?? initializeApp({ projectId }, appName);
  const db = getFirestore(app);
  if (!configured.has(appName)) {
    // settings() may be called once per Firestore instance, before its first use.
    db.settings(settings());
    configured.add(appName);
  }
  return db;
}

/**
 * `emulatorHost`: set when FIRESTORE_EMULATOR_HOST is (config.ts), which the Firestore client obeys
 * by itself; here it decides whether a REST client gets the emulator's credentials
 * (firestore/transport.ts). `firestoreTransport`: default REST, with a gRPC client beside it (app
 * `appName:grpc`) for listeners and conditional token writes, created on first use or by warmMiss().
 */
export function openStore(
  config: Pick<Config, 'store' | 'projectId' | 'emulatorHost'> &
    Partial<Pick<Config, 'storeTimeoutMs' | 'firestoreTransport'>>,
  sealer: Sealer,
  appName = 'token-server',
  time: { clock?: Clock; random?: Random } = {},
): Store {
  // The memory store's clock is the store's time; Firestore's is its own (read times).
  if (config.store === 'memory') {
    // Loaded when used: a Firestore instance never loads it (README "Cold start").
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { MemoryStore } = require('./memory/memory-store') as typeof MemoryStoreModule;
    return new MemoryStore(sealer, time.clock);
  }
  const transport: FirestoreTransport = config.firestoreTransport ?? DEFAULT_FIRESTORE_TRANSPORT;
  const emulator = config.emulatorHost !== undefined;
  const db = firestoreOf(appName, config.projectId, () => transportSettings(transport, emulator));
  return new FirestoreStore(db, sealer, {
    ...(config.storeTimeoutMs === undefined ? {} : { timeoutMs: config.storeTimeoutMs }),
    ...(transport === 'grpc'
      ? {}
      : { grpcDb: () => firestoreOf(`${appName}:grpc`, config.projectId, grpcSettings) }),
    ...time,
  });
}
