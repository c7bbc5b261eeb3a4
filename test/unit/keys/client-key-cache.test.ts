/**
 * The client-key cache (keys/client-key-cache.ts): one store query per key however many requests
 * wait, refreshed ahead of expiry so that warm traffic never waits for a reload, immediate
 * revocation where revoked (even with a lookup in flight), and bounds that a flood of random
 * bearers cannot break. Then the same through the HTTP handler with a counting, gated store.
 */
import { expect } from 'chai';
import { ClientKeyCache } from '../../../functions/keys/client-key-cache';
import type { ClientRecord } from '../../../functions/store/types';
import { adminApp, dataOf, postRealms, realmWithId, resourceOf, type AdminApp } from '../admin/admin-harness';

const TTL = 30_000;

function client(id: string): ClientRecord {
  return { id, name: id, scopes: [{ realm: 'wx', key: '*' }], keyHash: `hash-${id}`, createdAt: 0 };
}

/** A store lookup that resolves only when told to, counting calls. */
class GatedLoad {
  calls = 0;
  private pending: Array<(c: ClientRecord | null) => void> = [];
  constructor(private readonly answer: ClientRecord | null) {}
  load = (): Promise<ClientRecord | null> => {
    this.calls += 1;
    return new Promise((resolve) => this.pending.push(resolve));
  };
  release(answer: ClientRecord | null = this.answer): void {
    for (const resolve of this.pending.splice(0)) resolve(answer);
  }
  /** Answers the oldest waiting lookup only. */
  releaseOne(answer: ClientRecord | null): void {
    this.pending.shift()?.(answer);
  }
  get waiting(): number {
    return this.pending.length;
  }
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('keys/client-key-cache', () => {
  it('runs one store query for 100 concurrent lookups of one key', async () => {
    const cache = new ClientKeyCache(TTL);
    const gate = new GatedLoad(client('a'));
    const all = Array.from({ length: 100 }, () => cache.lookup('k', 0, gate.load));
    expect(gate.calls).to.equal(1);
    gate.release();
    const answers = await Promise.all(all);
    expect(answers.every((c) => c?.id === 'a')).to.equal(true);
    expect(cache.peek('k', 1000)).to.deep.equal(client('a'));
  });

  it('reloads ahead of expiry in the background: warm lookups never wait', async () => {
    const cache = new ClientKeyCache(TTL);
    const gate = new GatedLoad(client('a'));
    const first = cache.lookup('k', 0, gate.load);
    gate.release();
    await first;
    // Past 3/4 of the entry's life: answered at once, one reload started, however many hits.
    for (let i = 0; i < 50; i++) expect(cache.peek('k', 0.8 * TTL, gate.load)?.id).to.equal('a');
    expect(gate.calls).to.equal(2);
    expect(gate.waiting).to.equal(1);
    gate.release(client('a2'));
    await settle();
    // The reload made a new entry: past the first one's expiry, still a hit without a query.
    expect(cache.peek('k', 1.5 * TTL, gate.load)?.id).to.equal('a2');
    expect(gate.calls).to.equal(2);
    // Never served past ttl after the read that made it.
    expect(cache.peek('k', 0.8 * TTL + TTL)).to.equal(undefined);
  });

  it('revokes at once where revoked, even with a lookup or a reload in flight', async () => {
    const cache = new ClientKeyCache(TTL);
    const gate = new GatedLoad(client('a'));
    const inFlight = cache.lookup('k', 0, gate.load);
    cache.forget('k');
    // A request after the revocation does not join the old query: it starts its own.
    const after = cache.lookup('k', 1, gate.load);
    expect(gate.calls).to.equal(2);
    gate.releaseOne(client('a')); // the first read saw the client before it was deleted
    gate.releaseOne(null); // the second one after
    expect(await inFlight).to.deep.equal(client('a'));
    expect(await after).to.equal(null);
    expect(cache.peek('k', 2), 'the older lookup cached nothing: the key is unknown').to.equal(null);

    // The same for a background reload.
    const warm = new ClientKeyCache(TTL);
    const first = warm.lookup('k', 0, gate.load);
    gate.release(client('a'));
    await first;
    warm.peek('k', 0.9 * TTL, gate.load); // starts the reload
    warm.forget('k');
    gate.release(client('a'));
    await settle();
    expect(warm.peek('k', 0.9 * TTL + 1)).to.equal(undefined);
  });

  it('keeps known clients through a flood of random bearers, with both maps bounded', async () => {
    const cache = new ClientKeyCache(TTL, { maxClients: 50, maxMisses: 100 });
    const known = new GatedLoad(client('a'));
    const first = cache.lookup('known', 0, known.load);
    known.release();
    await first;
    const unknown = new GatedLoad(null);
    const flood = Array.from({ length: 1000 }, (_, i) => cache.lookup(`random-${i}`, 10, unknown.load));
    unknown.release();
    expect((await Promise.all(flood)).every((c) => c === null)).to.equal(true);
    expect(cache.size().misses).to.equal(100);
    expect(cache.size().clients).to.equal(1);
    expect(cache.peek('known', 20)?.id, 'the known client is still cached').to.equal('a');
    // An unknown key just seen is remembered (no query) for a few seconds, then asked again.
    const again = new GatedLoad(null);
    expect(await cache.lookup('random-999', 20, again.load)).to.equal(null);
    expect(again.calls).to.equal(0);
    const later = cache.lookup('random-999', 10_000, again.load);
    expect(again.calls).to.equal(1);
    again.release();
    await later;
  });

  it('drops the least recently loaded client past maxClients', async () => {
    const cache = new ClientKeyCache(TTL, { maxClients: 3 });
    for (const id of ['a', 'b', 'c', 'd']) {
      const gate = new GatedLoad(client(id));
      const p = cache.lookup(id, 0, gate.load);
      gate.release();
      await p;
    }
    expect(cache.size().clients).to.equal(3);
    expect(cache.peek('a', 1)).to.equal(undefined);
    expect(cache.peek('d', 1)?.id).to.equal('d');
  });

  describe('through the HTTP handler, with a counting store', () => {
    let app: AdminApp;
    let clientKey: string;
    let gate: GatedLoad | undefined;
    let queries = 0;

    beforeEach(async () => {
      app = await adminApp();
      await postRealms(app, realmWithId('wx'));
      const created = await app.call('POST', '/api/client', {
        name: 'app',
        scopes: [{ realm: 'wx', key: 'main' }],
      });
      clientKey = resourceOf<{ client_key: string }>(created).client_key;
      const store = app.runtime.store;
      const real = store.findClientByKeyHash.bind(store);
      queries = 0;
      store.findClientByKeyHash = async (hash) => {
        queries += 1;
        const found = await real(hash);
        if (gate !== undefined) await gate.load();
        return found;
      };
    });
    afterEach(() => {
      gate = undefined;
      app.close();
    });

    /** A token request the client is not scoped for: authenticated, then 403, no engine work. */
    const ask = () => app.call('GET', '/api/token?realm=wx&key=other', undefined, { bearer: clientKey });

    it('answers 100 concurrent requests after expiry with one query, and warm traffic never waits', async () => {
      expect((await ask()).status).to.equal(403);
      expect(queries).to.equal(1);
      app.clock.advance(TTL + 1); // the entry has expired
      gate = new GatedLoad(null);
      const crowd = Array.from({ length: 100 }, () => ask());
      await settle();
      expect(queries, 'one query for the whole crowd').to.equal(2);
      gate.release();
      const answers = await Promise.all(crowd);
      expect(answers.map((a) => a.status)).to.deep.equal(Array(100).fill(403));

      // Warm traffic past 3/4 of the entry's life: the reload runs in the background (held back
      // here), and every request is answered while it is still pending.
      app.clock.advance(0.8 * TTL);
      const warm = await Promise.all(Array.from({ length: 20 }, () => ask()));
      expect(warm.map((a) => a.status)).to.deep.equal(Array(20).fill(403));
      expect(queries).to.equal(3);
      expect(gate.waiting, 'the reload is still pending').to.equal(1);
      gate.release();
      await settle();
      // Past the old entry's expiry: the reloaded one answers, with no query.
      app.clock.advance(0.5 * TTL);
      expect((await ask()).status).to.equal(403);
      expect(queries).to.equal(3);
    });

    it('stops a revoked key at once where revoked, though its lookup was in flight', async () => {
      expect((await ask()).status).to.equal(403);
      app.clock.advance(TTL + 1);
      gate = new GatedLoad(null);
      const inFlight = ask();
      await settle();
      const list = dataOf<{ list: Array<{ id: string }> }>(await app.call('GET', '/api/client'));
      expect((await app.call('DELETE', `/api/client/${list.list[0]?.id ?? ''}`)).status).to.equal(200);
      gate.release(); // the lookup read the client before it was deleted
      await inFlight;
      gate = undefined;
      expect((await ask()).status, 'revoked').to.equal(401);
    });
  });
});
