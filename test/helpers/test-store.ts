/**
 * A store in the test process on the Firestore of a TestEnv, under its master key: what the function
 * processes started with that env read and write. For seeding and inspecting behind their back.
 */
import { freshState } from '../../functions/token/decide';
import { openStore } from '../../functions/store/open-store';
import { Sealer } from '../../functions/store/seal';
import type { Store } from '../../functions/store/store';
import type { SecretRecord } from '../../functions/store/types';
import type { TestEnv } from './processes';

/** The Firestore store of env (its project, its master key), as a Firebase app named appName. */
export function openTestStore(env: TestEnv, appName: string): Store {
  return openStore(
    { store: 'firestore', projectId: env.projectId, emulatorHost: env.emulatorHost },
    new Sealer(Buffer.from(env.masterKey, 'base64')),
    appName,
  );
}

/** Stores a secret as the admin API does: its token state starts afresh for secret.rev. */
export async function putFreshSecret(store: Store, secret: SecretRecord): Promise<void> {
  await store.putSecret(secret, (current) => freshState(secret.realm, secret.key, secret.rev, current));
}
