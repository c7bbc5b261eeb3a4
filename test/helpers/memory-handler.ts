/**
 * For in-process handler tests on a memory store (test/unit/http): a fake provider for the suite,
 * logs silenced during each test, a fresh store with its keys and a manual clock, and an instance
 * with one WeChat realm and secret saved.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { ManualClock } from '../../functions/clock';
import { parseConfig } from '../../functions/config';
import { createHandler } from '../../functions/http/app';
import { fullRoutes } from '../../functions/http/routes';
import type { ResolvedKeys } from '../../functions/keys/keys';
import { setLogSink } from '../../functions/log';
import { createRuntime } from '../../functions/runtime';
import { MemoryStore } from '../../functions/store/memory/memory-store';
import { Sealer } from '../../functions/store/seal';
import { realmFor, startFakeProvider, type FakeProvider } from '../fakes/providers';
import { callHandler, type FakeResponse } from './fake-express';

/** The fake provider's route wxInstance's realm uses. */
export const WX_ROUTE = 'wechat_offiaccount';

/** Registers the suite's hooks; the fake provider, once `before` has run. */
export function quietSuiteWithFake(): () => FakeProvider {
  let fake: FakeProvider | undefined;
  let restoreSink: ReturnType<typeof setLogSink> | undefined;
  before(async () => {
    fake = await startFakeProvider();
  });
  after(async () => {
    await fake?.close();
  });
  beforeEach(() => {
    restoreSink = setLogSink(() => undefined);
  });
  afterEach(() => {
    if (restoreSink !== undefined) setLogSink(restoreSink);
  });
  return () => {
    if (fake === undefined) throw new Error('the fake provider starts in before()');
    return fake;
  };
}

export interface MemoryParts {
  adminKey: string;
  keys: ResolvedKeys;
  clock: ManualClock;
  store: MemoryStore;
}

/** A new memory store under a new master key, with an admin key and a clock at now. */
export function memoryParts(): MemoryParts {
  const adminKey = randomBytes(32).toString('base64url');
  const masterKey = randomBytes(32);
  const clock = new ManualClock(Date.now());
  return {
    adminKey,
    keys: { adminKey, masterKey, problems: {} },
    clock,
    store: new MemoryStore(new Sealer(masterKey), clock),
  };
}

/** An admin call to an in-process handler: method, URL, optional JSON body. */
export type AdminCall = (method: string, url: string, body?: unknown) => Promise<FakeResponse>;

/**
 * A tokenServer instance on `parts` with the realm `wx` (the fake's WeChat Official Account route)
 * and its secret `wx/main` saved through the admin API; admin calls with the admin key.
 */
export async function wxInstance(parts: MemoryParts, fake: FakeProvider): Promise<AdminCall> {
  const { adminKey, keys, clock, store } = parts;
  const config = parseConfig({ TOKEN_SERVER_STORE: 'memory', TOKEN_SERVER_ALLOW_PRIVATE_UPSTREAMS: 'true' });
  const runtime = await createRuntime(config, { keys, store, clock });
  const handler = createHandler({ name: 'tokenServer', routes: fullRoutes(), runtime: async () => runtime });
  const call: AdminCall = (method, url, body) =>
    callHandler(handler, { method, url, bearer: adminKey, ...(body === undefined ? {} : { body }) });
  const realm = await call('POST', '/api/realm', { id: 'wx', config: realmFor(WX_ROUTE, fake.url) });
  expect(realm.status, realm.text).to.equal(200);
  const secret = { realm: 'wx', key: 'main', ...fake.credentials(WX_ROUTE), key_3: 'client_credential' };
  const saved = await call('POST', '/api/secret', secret);
  expect(saved.status, saved.text).to.equal(200);
  return call;
}
