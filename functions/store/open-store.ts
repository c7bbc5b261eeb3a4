/** Opens the configured store: Firestore (emulator when FIRESTORE_EMULATOR_HOST is set) or memory. */
import { initializeApp, getApps, type App } from 'firebase-admin/app';
import { getFirestore } from 'firebase-admin/firestore';
import type { Config } from '../config';
import { FirestoreStore } from './firestore/firestore-store';
import { MemoryStore } from './memory/memory-store';
import type { Sealer } from './seal';
import type { Store } from './store';

const configured = new Set<string>();

export function openStore(
  config: Pick<Config, 'store' | 'projectId'>,
  sealer: Sealer,
  appName = 'token-server',
): Store {
  if (config.store === 'memory') return new MemoryStore(sealer);
  const app: App =
    getApps().find((a) => a.name === appName) ?? initializeApp({ projectId: config.projectId }, appName);
  const db = getFirestore(app);
  if (!configured.has(appName)) {
    // settings() may be called once per Firestore instance, before its first use.
    db.settings({ ignoreUndefinedProperties: true });
    configured.add(appName);
  }
  return new FirestoreStore(db, sealer);
}
