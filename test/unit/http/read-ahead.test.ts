/**
 * A new instance's first token request reads its token beside its caller's client-key lookup (one
 * round trip instead of two: README "Cold start"), serves nothing before the caller is authorised,
 * and reads ahead no more once the instance's first lookup is answered. In-process handler on the
 * edge cache's routes, memory store with a lookup held back and reads counted, a fake provider on
 * loopback counting its calls.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { parseConfig } from '../../../functions/config';
import { createHandler } from '../../../functions/http/app';
import { cacheRoutes } from '../../../functions/http/routes';
import { createRuntime } from '../../../functions/runtime';
import type { ClientRecord } from '../../../functions/store/types';
import { callHandler } from '../../helpers/fake-express';
import { memoryParts, quietSuiteWithFake, WX_ROUTE as ROUTE, wxInstance } from '../../helpers/memory-handler';

describe('http: a new instance reads its first token beside the client-key lookup', () => {
  const fakeProvider = quietSuiteWithFake();

  it('one read for the first request, none ahead of an unauthorised one, and none once a lookup was answered', async () => {
    const fake = fakeProvider();
    const { adminKey, keys, clock, store } = memoryParts();
    const config = parseConfig({
      TOKEN_SERVER_STORE: 'memory',
      TOKEN_SERVER_ALLOW_PRIVATE_UPSTREAMS: 'true',
    });

    // Set up through one instance: a realm, a secret with its token stored, a client.
    const call = await wxInstance({ adminKey, keys, clock, store }, fake);
    const stored = await call('GET', '/api/token?realm=wx&key=main');
    expect(stored.status, stored.text).to.equal(200);
    const client = await call('POST', '/api/client', { name: 'app', scopes: [{ realm: 'wx', key: 'main' }] });
    const clientKey = (client.body as { client_key: string }).client_key;
    expect(fake.calls(ROUTE)).to.equal(1);

    // What the store sees from here: reads of the token, and lookups held until released.
    const events: string[] = [];
    const read = store.readTokenState.bind(store);
    store.readTokenState = (realm, key) => {
      events.push(`read ${realm}/${key}`);
      return read(realm, key);
    };
    const find = store.findClientByKeyHash.bind(store);
    let release: () => void = () => undefined;
    store.findClientByKeyHash = (keyHash): Promise<ClientRecord | null> => {
      events.push('lookup');
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      return held.then(() => {
        events.push('lookup answered');
        return find(keyHash);
      });
    };

    // A new edge instance on the same store: its first request is an app's.
    const edge = await createRuntime(config, { keys, store, clock });
    const handler = createHandler({
      name: 'tokenServerCache',
      routes: cacheRoutes(),
      runtime: async () => edge,
    });
    const first = callHandler(handler, {
      method: 'GET',
      url: '/api/token?realm=wx&key=main',
      bearer: clientKey,
    });
    while (!events.includes('lookup')) await new Promise((resolve) => setImmediate(resolve));
    expect(events, 'the read starts while the lookup is held').to.deep.equal(['lookup', 'read wx/main']);
    release();
    const answer = await first;
    expect(answer.status, answer.text).to.equal(200);
    expect(answer.body).to.include({ token: (stored.body as { token: string }).token, source: 'database' });
    expect(events, 'one read: the request used the one started ahead').to.deep.equal([
      'lookup',
      'read wx/main',
      'lookup answered',
    ]);

    // Once a lookup was answered, an unknown key's request reads nothing but its lookup.
    events.length = 0;
    const stranger = callHandler(handler, {
      method: 'GET',
      url: '/api/token?realm=wx&key=other',
      bearer: `tsk_${randomBytes(32).toString('base64url')}`,
    });
    while (!events.includes('lookup')) await new Promise((resolve) => setImmediate(resolve));
    release();
    expect((await stranger).status).to.equal(401);
    expect(events).to.deep.equal(['lookup', 'lookup answered']);
    expect(fake.calls(ROUTE), 'no provider call').to.equal(1);
  });

  it('a first request whose key is unknown costs its lookup and the one read ahead, no write and no provider call, and is refused', async () => {
    const fake = fakeProvider();
    const calls = fake.calls(ROUTE);
    const { keys, clock, store } = memoryParts();
    const counts = { reads: 0, writes: 0 };
    const read = store.readTokenState.bind(store);
    store.readTokenState = (realm, key) => {
      counts.reads += 1;
      return read(realm, key);
    };
    const mutate = store.mutateTokenState.bind(store);
    store.mutateTokenState = (realm, key, mutator) => {
      counts.writes += 1;
      return mutate(realm, key, mutator);
    };
    const config = parseConfig({ TOKEN_SERVER_STORE: 'memory' });
    const edge = await createRuntime(config, { keys, store, clock });
    const handler = createHandler({
      name: 'tokenServerCache',
      routes: cacheRoutes(),
      runtime: async () => edge,
    });
    const refused = await callHandler(handler, {
      method: 'GET',
      url: '/api/token?realm=wx&key=main',
      bearer: `tsk_${randomBytes(32).toString('base64url')}`,
    });
    expect(refused.status).to.equal(401);
    expect(refused.text).to.not.include('token":');
    expect(counts).to.deep.equal({ reads: 1, writes: 0 });
    expect(fake.calls(ROUTE)).to.equal(calls);
  });
});
