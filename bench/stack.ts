/**
 * Everything the process-level benchmarks need, started here and stopped at the end: the Firestore
 * emulator (or the one FIRESTORE_EMULATOR_HOST names), a fake WeChat-style provider with a realistic
 * latency, a store of our own on the same Firestore for seeding, and the environment (keys) that the
 * function processes share.
 */
import { randomUUID } from 'node:crypto';
import { systemClock } from '../functions/clock';
import { TokenEngine, type ServedToken } from '../functions/engine/engine';
import { freshState } from '../functions/token/decide';
import { generateClientKey, hashClientKey } from '../functions/keys/keys';
import { openStore } from '../functions/store/open-store';
import { Sealer } from '../functions/store/seal';
import type { Store } from '../functions/store/store';
import { realmFor, startFakeProvider, type FakeCredential, type FakeProvider } from '../test/fakes/providers';
import { useEmulator, type FirestoreEmulator } from '../test/helpers/emulator';
import { testEnv, type TestEnv } from '../test/helpers/processes';

export const REALM = 'bench';
export const PRESET = 'wechat_offiaccount';
export const BENCH_PROJECT_ID = 'demo-token-server-bench';

export interface Stack {
  emulator: FirestoreEmulator;
  /** Environment and keys shared by every function process. */
  env: TestEnv;
  /** Our own connection to the same Firestore, for seeding and inspection (not counted anywhere). */
  store: Store;
  fake: FakeProvider;
  providerLatencyMs: number;
  /** Creates a secret whose credential the fake accepts under its own id, so its calls are counted apart. */
  addSecret(key: string): Promise<void>;
  /** Upstream calls the fake received for one secret. */
  callsFor(key: string): number;
  /** A client key allowed every secret of the realm. */
  addClient(name: string): Promise<string>;
  /** Fetches a secret's token once, in this process (through the real upstream client). */
  prime(key: string): Promise<ServedToken>;
  stop(): Promise<void>;
}

export async function startStack(providerLatencyMs: number): Promise<Stack> {
  const emulator = await useEmulator();
  // firebase-admin in this process and testEnv() read these from here. A project of its own, so that
  // clearing it cannot touch a test run's data on a shared emulator.
  process.env.FIRESTORE_EMULATOR_HOST = emulator.host;
  process.env.GOOGLE_CLOUD_PROJECT = BENCH_PROJECT_ID;
  const env = testEnv({ store: 'firestore' });
  const sealer = new Sealer(Buffer.from(env.masterKey, 'base64'));
  const store = openStore(
    { store: 'firestore', projectId: env.projectId, emulatorHost: emulator.host },
    sealer,
    'bench-seed',
  );
  await emulator.clear(env.projectId);
  const fake = await startFakeProvider({ latencyMs: providerLatencyMs });
  const credentials: FakeCredential[] = [];
  const now = Date.now();
  await store.putRealm({
    id: REALM,
    comment: 'benchmark: fake WeChat',
    config: realmFor(PRESET, fake.url),
    createdAt: now,
    updatedAt: now,
  });
  const engine = new TokenEngine({
    store,
    clock: systemClock,
    random: Math.random,
    instanceId: 'bench-seed',
    leaseMs: 15_000,
    waitMs: 20_000,
    allowPrivateUpstreams: true,
  });
  const idOf = (key: string) => `bench-${key}`;

  return {
    emulator,
    env,
    store,
    fake,
    providerLatencyMs,
    async addSecret(key) {
      const credential = { id: idOf(key), secret: `secret-of-${key}` };
      credentials.push(credential);
      fake.setCredentials(PRESET, credentials);
      const at = Date.now();
      const rev = randomUUID();
      await store.putSecret(
        {
          realm: REALM,
          key,
          values: { key_1: credential.id, key_2: credential.secret },
          rev,
          createdAt: at,
          updatedAt: at,
        },
        (cur) => freshState(REALM, key, rev, cur),
      );
    },
    callsFor: (key) => fake.calls(PRESET, idOf(key)),
    async addClient(name) {
      const clientKey = generateClientKey();
      await store.putClient({
        id: randomUUID(),
        name,
        scopes: [{ realm: REALM, key: '*' }],
        keyHash: hashClientKey(clientKey),
        createdAt: Date.now(),
      });
      return clientKey;
    },
    prime: (key) => engine.getToken({ realm: REALM, key }),
    async stop() {
      await fake.close();
      await store.close();
      if (emulator.owned) await emulator.stop();
    },
  };
}
