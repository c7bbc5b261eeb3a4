/**
 * tokenServer's route table in two parts (HandlerOptions.lazyRoutes): its token routes from the
 * start, the whole table loaded by the first request they have no route for. Every request is
 * answered as by the whole table from the start (same status and body, 404 and 405 included), and
 * the whole table is loaded once, by the first request that needs it, never by a token request.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { parseConfig } from '../../../functions/config';
import { createHandler, type HttpHandler } from '../../../functions/http/app';
import { fullRoutes, serverTokenRoutes } from '../../../functions/http/routes';
import { setLogSink } from '../../../functions/log';
import { createRuntime, type Runtime } from '../../../functions/runtime';
import { MemoryStore } from '../../../functions/store/memory/memory-store';
import { Sealer } from '../../../functions/store/seal';
import { SEED_REALM } from '../../fakes/seed-realm';
import { callHandler, type FakeRequestOptions } from '../../helpers/fake-express';

describe('tokenServer: the admin routes loaded by the first request for one', () => {
  let runtime: Runtime;
  let restoreSink: ReturnType<typeof setLogSink>;
  const adminKey = randomBytes(32).toString('base64url');

  before(async () => {
    restoreSink = setLogSink(() => undefined);
    const masterKey = randomBytes(32);
    runtime = await createRuntime(parseConfig({ TOKEN_SERVER_STORE: 'memory' }), {
      keys: { adminKey, masterKey, problems: {} },
      store: new MemoryStore(new Sealer(masterKey)),
    });
  });

  after(() => {
    setLogSink(restoreSink);
  });

  it('answers as the whole table does, loading it once and only for a request outside the token routes', async () => {
    let loads = 0;
    const split: HttpHandler = createHandler({
      name: 'tokenServer',
      routes: serverTokenRoutes(),
      lazyRoutes: () => {
        loads++;
        return fullRoutes();
      },
      runtime: async () => runtime,
    });
    const whole = createHandler({ name: 'tokenServer', routes: fullRoutes(), runtime: async () => runtime });
    const same = async (request: FakeRequestOptions, status: number) => {
      const [a, b] = [await callHandler(split, request), await callHandler(whole, request)];
      expect(a.status, request.url).to.equal(status);
      const withoutId = (body: unknown) => JSON.stringify(body).replace(/"request_?[iI]d":"[^"]*"/g, '');
      expect(withoutId(a.body), request.url).to.equal(withoutId(b.body));
    };

    await same({ url: '/healthz' }, 200);
    await same({ url: '/api/token?realm=wx&key=s1' }, 401);
    await same({ url: '/api/token?realm=wx&key=s1', bearer: 'not-a-client-key' }, 401);
    expect(loads).to.equal(0);

    // A method the token routes lack on their own path: 405 from the whole table.
    await same({ method: 'DELETE', url: '/api/token' }, 405);
    expect(loads).to.equal(1);
    await same({ url: '/api/realm', bearer: adminKey }, 200);
    const created = await callHandler(split, {
      method: 'POST',
      url: '/api/realm',
      bearer: adminKey,
      body: SEED_REALM,
    });
    expect(created.status, created.text).to.be.oneOf([200, 201]);
    await same({ url: `/api/realm/${SEED_REALM.id}`, bearer: adminKey }, 200);
    await same({ url: '/no/such/route' }, 404);
    await same({ url: '/api/token?realm=wx&key=s1' }, 401);
    expect(loads).to.equal(1);
  });
});
