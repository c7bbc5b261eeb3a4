/**
 * Infrastructure faults with real function processes, on a Firestore emulator of this file's own (not
 * the shared one: one is stopped, and the other leaves transactions of killed processes holding locks
 * that would block the next suites until they expire):
 * - the emulator is stopped mid-run: every route that
 *   needs the database answers a clear 503 UNAVAILABLE with Retry-After within the store deadline,
 *   nothing crashes or hangs, the edge cache keeps serving, and everything recovers once it is back;
 * - a function process is SIGKILLed in the middle of a burst of writes (realms, secrets, token
 *   refreshes): a fresh process never serves a half-written document, and every stored document
 *   still decodes and decrypts.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import type { Store } from '../../functions/store/store';
import { startFakeProvider, realmFor, type FakeProvider } from '../fakes/providers';
import { startEmulator, type FirestoreEmulator } from '../helpers/emulator';
import { request, type JsonResponse } from '../helpers/http';
import { startFunction, testEnv, type FunctionProcess, type TestEnv } from '../helpers/processes';
import { openTestStore } from '../helpers/test-store';

interface TokenBody {
  token: string;
  source: string;
}
interface ErrorBody {
  error: { code: string; message: string };
}

const ROUTE = 'wechat_offiaccount';
/** The store deadline in these processes: an unreachable database answers 503 after this long. */
const STORE_TIMEOUT_MS = 2500;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A store deadline for the fresh process, scaled by how slow the machine is right now: 200 times
 * the median of 9 sequential reads through the in-process store (~2–5 ms on a quiet machine, so the
 * 3 s floor), at most 20 s — still well under the ~60 s a killed transaction's lock lasts.
 */
async function storeDeadlineFor(store: Store): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 9; i++) {
    const t0 = performance.now();
    await store.getRealm('r0');
    times.push(performance.now() - t0);
  }
  const median = times.sort((a, b) => a - b)[4] ?? 0;
  return Math.round(Math.min(20_000, Math.max(3000, 200 * median)));
}

async function isRunning(p: FunctionProcess): Promise<boolean> {
  return Promise.race([p.exited.then(() => false), delay(50).then(() => true)]);
}

/**
 * An in-process store on this file's emulator. The Firestore client takes its address from
 * FIRESTORE_EMULATOR_HOST when it is set up (and only then), which in this process names the shared one.
 */
function storeOn(emulator: FirestoreEmulator, env: TestEnv, appName: string): Store {
  const shared = process.env.FIRESTORE_EMULATOR_HOST;
  process.env.FIRESTORE_EMULATOR_HOST = emulator.host;
  try {
    return openTestStore(env, appName);
  } finally {
    if (shared === undefined) delete process.env.FIRESTORE_EMULATOR_HOST;
    else process.env.FIRESTORE_EMULATOR_HOST = shared;
  }
}

describe('hardening: faults (a Firestore emulator of its own)', function () {
  let emulator: FirestoreEmulator;

  before(async function () {
    this.timeout(90_000);
    emulator = await startEmulator();
  });

  after(async () => {
    if (emulator?.running) await emulator.stop();
  });

  describe('the Firestore emulator stops mid-run', function () {
    this.timeout(180_000);
    let env: TestEnv;
    let fake: FakeProvider;
    let full: FunctionProcess;
    let cache: FunctionProcess;
    let values: Record<string, string>;

    const admin = (method: string, path: string, body?: unknown) =>
      request(`${full.url}${path}`, {
        method,
        bearer: env.adminKey,
        timeoutMs: 30_000,
        ...(body === undefined ? {} : { body }),
      });

    /**
     * The state before the fault, not what is under test: a write that meets the short store
     * deadline while the emulator's first connection is still slow (a loaded machine) is sent again
     * (both writes replace what they write).
     */
    async function seedWrite(path: string, body: unknown): Promise<void> {
      let res = await admin('POST', path, body);
      for (let retry = 0; retry < 5 && res.status === 503; retry++) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        res = await admin('POST', path, body);
      }
      expect(res.status, res.text).to.equal(200);
    }

    async function seed(): Promise<void> {
      await seedWrite('/api/realm', { id: 'wx', config: realmFor(ROUTE, fake.url) });
      await seedWrite('/api/secret', { realm: 'wx', key: 'main', ...values });
    }

    before(async () => {
      env = testEnv({
        store: 'firestore',
        overrides: {
          FIRESTORE_EMULATOR_HOST: emulator.host,
          TOKEN_SERVER_STORE_TIMEOUT_MS: String(STORE_TIMEOUT_MS),
          TOKEN_SERVER_WAIT_MS: '2000',
        },
      });
      fake = await startFakeProvider();
      const id = `wx${randomBytes(8).toString('hex')}`;
      const secret = randomBytes(16).toString('hex');
      fake.setCredentials(ROUTE, { id, secret });
      values = { key_1: id, key_2: secret, key_3: 'client_credential' };
      [full, cache] = await Promise.all([
        startFunction({ target: 'tokenServer', env: env.env }),
        startFunction({ target: 'tokenServerCache', env: env.env }),
      ]);
    });

    after(async () => {
      await Promise.all([full?.stop(), cache?.stop()]);
      await fake?.close();
    });

    it('answers 503 UNAVAILABLE with Retry-After while it is down, never crashes, and recovers when it is back', async () => {
      await seed();
      const first = await request<TokenBody>(`${full.url}/api/token?realm=wx&key=main`, {
        bearer: env.adminKey,
      });
      expect(first.status, first.text).to.equal(200);
      const cached = await request<TokenBody>(`${cache.url}/api/token?realm=wx&key=main`, {
        bearer: env.adminKey,
      });
      expect(cached.status, cached.text).to.equal(200);

      await emulator.stop();

      const calls: Array<[string, () => Promise<JsonResponse>]> = [
        ['GET /api/realm', () => admin('GET', '/api/realm')],
        ['GET /api/realm/wx', () => admin('GET', '/api/realm/wx')],
        [
          'POST /api/realm',
          () => admin('POST', '/api/realm', { id: 'other', config: realmFor(ROUTE, fake.url) }),
        ],
        ['DELETE /api/realm/other', () => admin('DELETE', '/api/realm/other')],
        ['GET /api/secret', () => admin('GET', '/api/secret')],
        ['POST /api/secret', () => admin('POST', '/api/secret', { realm: 'wx', key: 'main', ...values })],
        ['DELETE /api/secret/wx/main', () => admin('DELETE', '/api/secret/wx/main')],
        [
          'POST /api/client',
          () => admin('POST', '/api/client', { name: 'app', scopes: [{ realm: 'wx', key: '*' }] }),
        ],
        ['GET /api/client', () => admin('GET', '/api/client')],
        ['GET /api/status', () => admin('GET', '/api/status')],
        ['POST /api/refresh', () => admin('POST', '/api/refresh')],
        ['GET /api/token', () => admin('GET', '/api/token?realm=wx&key=main')],
        ['GET /api/token flush', () => admin('GET', '/api/token?realm=wx&key=main&flush=true')],
        ['POST /api/token', () => admin('POST', '/api/token', { realm: 'wx', key: 'other' })],
        [
          'GET /api/token (a client key)',
          () =>
            request(`${full.url}/api/token?realm=wx&key=main`, {
              bearer: `not-a-known-client-key-${randomBytes(8).toString('hex')}`,
            }),
        ],
      ];
      const started = Date.now();
      const results = await Promise.all(
        calls.map(async ([name, call]) => {
          const t0 = Date.now();
          const res = await call();
          return { name, res, ms: Date.now() - t0 };
        }),
      );
      for (const { name, res, ms } of results) {
        const why = `${name}: ${res.status} after ${ms} ms: ${res.text.slice(0, 200)}`;
        expect(res.status, why).to.equal(503);
        expect((res.body as ErrorBody).error.code, why).to.equal('UNAVAILABLE');
        expect(res.headers['retry-after'], why).to.match(/^[1-9]\d*$/);
        // One store deadline, or a few in a row (a route may make several calls), never a hang.
        expect(ms, why).to.be.below(4 * STORE_TIMEOUT_MS + 2000);
      }
      expect(Date.now() - started).to.be.below(4 * STORE_TIMEOUT_MS + 3000);

      // What needs no database keeps working: health, and the edge cache's token from memory.
      for (const p of [full, cache]) {
        expect((await request(`${p.url}/healthz`)).status).to.equal(200);
        expect(await isRunning(p), `${p.target} is still running`).to.equal(true);
      }
      const fromMemory = await request<TokenBody>(`${cache.url}/api/token?realm=wx&key=main`, {
        bearer: env.adminKey,
      });
      expect(fromMemory.status, fromMemory.text).to.equal(200);
      expect(fromMemory.body).to.include({ token: first.body.token, source: 'memory' });
      // The outage is logged as such (event store_unavailable), and nothing was logged as a crash.
      expect(full.logs.some((l) => l.includes('"event":"store_unavailable"'))).to.equal(true);
      for (const p of [full, cache]) {
        expect(
          p.logs.filter((l) => /Uncaught|unhandled|FATAL|"event":"unexpected_error"/i.test(l)),
        ).to.deep.equal([]);
      }

      // Back (empty, as after any emulator restart): the same processes recover on their own.
      await emulator.start();
      const back = Date.now();
      let status = 0;
      while (Date.now() - back < 30_000) {
        status = (await admin('GET', '/api/realm')).status;
        if (status === 200) break;
        await delay(250);
      }
      expect(status, 'GET /api/realm after the emulator came back').to.equal(200);
      await seed();
      fake.reset();
      fake.setCredentials(ROUTE, { id: values.key_1 ?? '', secret: values.key_2 ?? '' });
      // A miss also needs the gRPC client (the lease's compare-and-set), which reconnects on its own
      // backoff, grown while the database was down: until then it answers 503 with Retry-After.
      const tokenBack = Date.now();
      let again = await request<TokenBody>(`${full.url}/api/token?realm=wx&key=main`, {
        bearer: env.adminKey,
      });
      while (again.status === 503 && Date.now() - tokenBack < 30_000) {
        await delay(500);
        again = await request<TokenBody>(`${full.url}/api/token?realm=wx&key=main`, { bearer: env.adminKey });
      }
      console.log(`      [faults] a miss served ${Date.now() - tokenBack} ms after the realms were`);
      expect(again.status, again.text).to.equal(200);
      expect(again.body.token).to.equal(fake.currentToken(ROUTE));
      expect(await isRunning(full)).to.equal(true);
      expect(await isRunning(cache)).to.equal(true);
    });
  });

  describe('a function process killed in the middle of writes', function () {
    // Generous: on a starved machine only the latency may suffer, not the property.
    this.timeout(300_000);
    let env: TestEnv;
    let fake: FakeProvider;
    let store: Store;
    const procs: FunctionProcess[] = [];

    const ROUNDS = 3;
    const WRITES = 40;

    before(async () => {
      env = testEnv({
        store: 'firestore',
        // The victims' leases are short (they lapse before the fresh process needs the tokens);
        // their store deadline is long, so a starved machine slows their writes without failing them.
        overrides: {
          FIRESTORE_EMULATOR_HOST: emulator.host,
          TOKEN_SERVER_LEASE_MS: '4000',
          TOKEN_SERVER_STORE_TIMEOUT_MS: '60000',
        },
      });
      await emulator.clear(env.projectId);
      store = storeOn(emulator, env, 'hardening-faults');
      fake = await startFakeProvider({ latencyMs: 20 });
    });

    after(async () => {
      await Promise.all(procs.map((p) => p.stop()));
      await fake?.close();
      await store?.close();
    });

    it('never serves a half-written realm, secret or token, and every stored document decodes', async () => {
      const realms = new Map<string, unknown>();
      const secrets = new Map<string, Record<string, string>>();
      /** Writes (with their flush) not answered before a kill: at most these can leave a lock behind. */
      let cutOff = 0;
      const admin = (p: FunctionProcess, method: string, path: string, body?: unknown) =>
        request(`${p.url}${path}`, {
          method,
          bearer: env.adminKey,
          timeoutMs: 90_000,
          ...(body === undefined ? {} : { body }),
        });

      for (let round = 0; round < ROUNDS; round++) {
        const victim = await startFunction({ target: 'tokenServer', env: env.env });
        procs.push(victim);
        const realmId = `r${round}`;
        const config = {
          ...realmFor(ROUTE, fake.url),
          // Large enough that a write is a real payload, not a few bytes.
          error_hints: Object.fromEntries(
            Array.from({ length: 30 }, (_, i) => [`${40000 + i}`, `hint ${'h'.repeat(900)}`]),
          ),
        };
        realms.set(realmId, config);
        const created = await admin(victim, 'POST', '/api/realm', { id: realmId, config });
        expect(created.status, created.text.slice(0, 300)).to.equal(200);

        let answered = 0;
        const inFlight: Array<Promise<unknown>> = [];
        for (let i = 0; i < WRITES; i++) {
          const key = `k${i}`;
          const values = Object.fromEntries(
            Array.from({ length: 9 }, (_, n) => [`key_${n + 1}`, randomBytes(1500).toString('base64')]),
          );
          Object.assign(values, fake.credentials(ROUTE), { key_3: 'client_credential' });
          secrets.set(`${realmId}/${key}`, values);
          const write =
            i % 2 === 0
              ? admin(victim, 'POST', '/api/secret', { realm: realmId, key, ...values })
              : admin(victim, 'POST', '/api/secret', { realm: realmId, key, ...values }).then(() =>
                  admin(victim, 'GET', `/api/token?realm=${realmId}&key=${key}&flush=true`),
                );
          inFlight.push(
            write.then(
              () => answered++,
              () => undefined,
            ),
          );
          if (i === Math.floor(WRITES / 2)) realms.set(`${realmId}-late`, config);
          if (i === Math.floor(WRITES / 2))
            inFlight.push(
              admin(victim, 'POST', '/api/realm', { id: `${realmId}-late`, config }).catch(() => undefined),
            );
        }
        // Kill it while writes are still going on: after a few have completed, before all have.
        const target = Math.floor(WRITES / (3 - round * 0.5));
        const t0 = Date.now();
        while (answered < target && Date.now() - t0 < 10_000) await delay(2);
        victim.kill('SIGKILL');
        cutOff += WRITES + 1 - answered;
        await victim.exited;
        await Promise.all(inFlight);
        expect(answered, 'the process was killed before every write was answered').to.be.below(WRITES);
      }

      // A fresh process serves each thing either whole or not at all. It answers a document locked
      // by a killed process's transaction (about 60 s in the emulator) with 503 after its store
      // deadline: one that scales with what the machine shows now, so that a slow but unlocked read
      // is not taken for a lock. Its lease and wait are generous (the dead processes' 4 s leases
      // lapse first): on a starved machine a refresh answered 504 UPSTREAM_TIMEOUT past a 4 s lease.
      const freshStoreTimeoutMs = await storeDeadlineFor(store);
      const fresh = await startFunction({
        target: 'tokenServer',
        env: {
          ...env.env,
          TOKEN_SERVER_STORE_TIMEOUT_MS: String(freshStoreTimeoutMs),
          TOKEN_SERVER_LEASE_MS: '60000',
          TOKEN_SERVER_WAIT_MS: '90000',
        },
      });
      procs.push(fresh);
      let found = 0;
      for (const [id, config] of realms) {
        const r = await admin(fresh, 'GET', `/api/realm/${id}`);
        expect([200, 404], r.text).to.include(r.status);
        if (r.status === 200) expect((r.body as { config: unknown }).config).to.deep.equal(config);
      }
      for (const [path, values] of secrets) {
        const r = await admin(fresh, 'GET', `/api/secret/${path}`);
        expect([200, 404], `${path}: ${r.text.slice(0, 200)}`).to.include(r.status);
        if (r.status !== 200) continue;
        found++;
        const view = r.body as Record<string, string>;
        for (const [name, value] of Object.entries(values)) {
          expect(view[name], `${path} ${name}`).to.equal(`${[...value].slice(0, 4).join('')}****`);
        }
      }
      expect(found, 'secrets written before the kills').to.be.greaterThan(0);
      for (const list of [
        '/api/realm?pageSize=100',
        '/api/secret?pageSize=100',
        '/api/status',
        '/api/client',
      ]) {
        const r = await admin(fresh, 'GET', list);
        expect(r.status, `${list}: ${r.text.slice(0, 200)}`).to.equal(200);
      }
      // Every token this process serves is one the provider really issued (leases of the dead
      // processes lapse after TOKEN_SERVER_LEASE_MS, then the secret refreshes). A transaction that a
      // killed process left open keeps its documents locked until Firestore expires it (about 60 s in
      // the emulator): a request that needs such a document answers 503 UNAVAILABLE after the store
      // deadline, never a half-written or made-up token, and only writes cut off by a kill can do that.
      const outcomes = await Promise.all(
        [...secrets.keys()].map(async (path) => {
          const [realm = '', key = ''] = path.split('/');
          if ((await store.getSecret(realm, key)) === null) return 'absent';
          const r = await request<TokenBody>(`${fresh.url}/api/token?realm=${realm}&key=${key}`, {
            bearer: env.adminKey,
            timeoutMs: 120_000,
          });
          const why = `${path}: ${r.status} ${r.text.slice(0, 200)}`;
          if (r.status === 503) {
            expect((r.body as unknown as ErrorBody).error.code, why).to.equal('UNAVAILABLE');
            expect(r.headers['retry-after'], why).to.match(/^[1-9]\d*$/);
            return 'locked';
          }
          expect(r.status, why).to.equal(200);
          expect(fake.tokenValid(r.body.token), `${path}: a token the provider never issued`).to.equal(true);
          return 'served';
        }),
      );
      const count = (what: string) => outcomes.filter((o) => o === what).length;
      expect(count('served'), outcomes.join(',')).to.be.greaterThan(0);
      expect(count('locked'), 'more locked secrets than writes cut off by the kills').to.be.at.most(cutOff);

      // And the raw documents: each decodes and decrypts whole.
      for (const summary of await store.listTokenStates()) {
        const state = await store.getTokenState(summary.realm, summary.key);
        expect(state?.generation, `${summary.realm}/${summary.key}`).to.be.a('number');
        if (state?.token !== undefined) expect(fake.tokenValid(state.token)).to.equal(true);
      }
      const page = await store.listSecrets({ offset: 0, limit: 1000 });
      for (const secret of page.list) {
        expect(secret.values, `${secret.realm}/${secret.key}`).to.deep.equal(
          secrets.get(`${secret.realm}/${secret.key}`),
        );
      }
    });
  });
});
