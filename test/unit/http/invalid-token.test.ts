/**
 * The work an invalid_token report causes is bounded by what it names: a made-up or old value costs
 * one plain read (no transaction, no provider call), and only a report of the token being served
 * goes on to the report path. In-process handler, memory store with counted calls, a fake provider
 * on loopback counting its calls.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { memoryParts, quietSuiteWithFake, WX_ROUTE as ROUTE, wxInstance } from '../../helpers/memory-handler';

describe('http: invalid_token reports of unknown values', () => {
  const fakeProvider = quietSuiteWithFake();

  it('cost one plain read each, never a transaction or a provider call', async () => {
    const fake = fakeProvider();
    const { adminKey, keys, clock, store } = memoryParts();
    const counts = { reads: 0, transactions: 0 };
    const read = store.readTokenState.bind(store);
    const mutate = store.mutateTokenState.bind(store);
    store.readTokenState = (realm, key) => {
      counts.reads += 1;
      return read(realm, key);
    };
    store.mutateTokenState = (realm, key, mutator) => {
      counts.transactions += 1;
      return mutate(realm, key, mutator);
    };
    const call = await wxInstance({ adminKey, keys, clock, store }, fake);
    const first = await call('GET', '/api/token?realm=wx&key=main');
    expect(first.status, first.text).to.equal(200);
    const token = (first.body as { token: string }).token;
    expect(fake.calls(ROUTE)).to.equal(1);

    const before = { ...counts };
    for (let i = 0; i < 50; i++) {
      const made_up = `made-up-${randomBytes(12).toString('hex')}`;
      const r = await call('GET', `/api/token?realm=wx&key=main&invalid_token=${made_up}`);
      expect(r.status, r.text).to.equal(200);
      expect((r.body as { token: string }).token).to.equal(token);
    }
    expect(counts.transactions - before.transactions, 'no transaction for unknown values').to.equal(0);
    expect(counts.reads - before.reads, 'one read per report').to.equal(50);
    expect(fake.calls(ROUTE), 'no provider call').to.equal(1);

    // The token being served, reported (once it is no longer brand new): the report path runs, and
    // a new token comes from the provider.
    clock.advance(60_000);
    const reported = await call('POST', '/api/token', { realm: 'wx', key: 'main', invalid_token: token });
    expect(reported.status, reported.text).to.equal(200);
    expect((reported.body as { token: string }).token).to.not.equal(token);
    expect(fake.calls(ROUTE)).to.equal(2);
    expect(counts.transactions - before.transactions).to.be.at.least(1);
  });
});
