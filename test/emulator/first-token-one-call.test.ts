/**
 * A new instance's first token request with a client key is one call to Firestore: the lookup of
 * the key's document and the token read ahead beside it go out as one BatchGetDocuments (README
 * "Cold start"; store/firestore/batched-gets.ts). In-process handlers on the emulator (REST, the
 * default transport), a fake provider on loopback; calls counted at the new instance's Firestore
 * client, whose every get goes through getAll.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import type { DocumentReference } from 'firebase-admin/firestore';
import { parseConfig } from '../../functions/config';
import { createHandler } from '../../functions/http/app';
import { cacheRoutes, fullRoutes } from '../../functions/http/routes';
import { createRuntime } from '../../functions/runtime';
import type { FirestoreStore } from '../../functions/store/firestore/firestore-store';
import { openStore } from '../../functions/store/open-store';
import { Sealer } from '../../functions/store/seal';
import { realmFor } from '../fakes/providers';
import { clearEmulator, emulatorHostFromEnv } from '../helpers/emulator';
import { callHandler } from '../helpers/fake-express';
import { quietSuiteWithFake, WX_ROUTE } from '../helpers/memory-handler';
import { TEST_PROJECT_ID } from '../helpers/processes';

describe('a new instance’s first token is one call to Firestore (emulator)', function () {
  this.timeout(60_000);
  const fakeProvider = quietSuiteWithFake();
  const projectId = process.env.GOOGLE_CLOUD_PROJECT || TEST_PROJECT_ID;
  const stores: FirestoreStore[] = [];
  after(async () => Promise.all(stores.map((s) => s.close())));

  it('reads the client key’s document and the token in one getAll, and serves the token', async () => {
    const fake = fakeProvider();
    const emulatorHost = emulatorHostFromEnv();
    await clearEmulator(emulatorHost, projectId);
    const adminKey = randomBytes(32).toString('base64url');
    const masterKey = randomBytes(32);
    const keys = { adminKey, masterKey, problems: {} };
    const config = parseConfig({
      TOKEN_SERVER_STORE: 'firestore',
      GOOGLE_CLOUD_PROJECT: projectId,
      FIRESTORE_EMULATOR_HOST: emulatorHost,
      TOKEN_SERVER_ALLOW_PRIVATE_UPSTREAMS: 'true',
    });
    const storeNamed = (name: string): FirestoreStore => {
      const store = openStore(
        config,
        new Sealer(masterKey),
        `first-token-one-call-${name}`,
      ) as FirestoreStore;
      stores.push(store);
      return store;
    };

    // Set up through an admin instance: a realm, a secret with its token stored, a client.
    const admin = await createRuntime(config, { keys, store: storeNamed('admin') });
    const adminHandler = createHandler({
      name: 'tokenServer',
      routes: fullRoutes(),
      runtime: async () => admin,
    });
    const call = (method: string, url: string, body?: unknown) =>
      callHandler(adminHandler, { method, url, bearer: adminKey, ...(body === undefined ? {} : { body }) });
    expect(
      (await call('POST', '/api/realm', { id: 'wx', config: realmFor(WX_ROUTE, fake.url) })).status,
    ).to.equal(200);
    const secret = { realm: 'wx', key: 'main', ...fake.credentials(WX_ROUTE), key_3: 'client_credential' };
    expect((await call('POST', '/api/secret', secret)).status).to.equal(200);
    const stored = await call('GET', '/api/token?realm=wx&key=main');
    expect(stored.status, stored.text).to.equal(200);
    const client = await call('POST', '/api/client', { name: 'app', scopes: [{ realm: 'wx', key: 'main' }] });
    const clientKey = (client.body as { client_key: string }).client_key;
    const providerCalls = fake.calls(WX_ROUTE);

    // A new edge instance with its own Firestore client, every get of it counted.
    const edgeStore = storeNamed('edge');
    const gets: string[][] = [];
    const getAll = edgeStore.db.getAll.bind(edgeStore.db);
    edgeStore.db.getAll = (...refs: DocumentReference[]) => {
      gets.push(refs.map((r) => r.parent.id));
      return getAll(...refs);
    };
    const edge = await createRuntime(config, { keys, store: edgeStore });
    const handler = createHandler({
      name: 'tokenServerCache',
      routes: cacheRoutes(),
      runtime: async () => edge,
    });
    const first = await callHandler(handler, {
      method: 'GET',
      url: '/api/token?realm=wx&key=main',
      bearer: clientKey,
    });
    expect(first.status, first.text).to.equal(200);
    expect(first.body).to.include({ token: (stored.body as { token: string }).token, source: 'database' });
    expect(gets, 'one call: the key’s document and the token').to.deep.equal([['clientKeys', 'tokens']]);
    expect(fake.calls(WX_ROUTE), 'no provider call').to.equal(providerCalls);
  });
});
