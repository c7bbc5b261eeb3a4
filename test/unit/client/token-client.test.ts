/**
 * TokenClient on an injected clock and an injected fetch (no sleeping, no network): the deadline is
 * counted from when the request was sent, concurrent calls share one request, Retry-After is
 * honoured within the wait budget, and withToken retries once on 40001/40014/42001.
 */
import { expect } from 'chai';
import { TokenClient, TokenClientError, parseRetryAfter, type FetchLike } from '../../../client/src';

interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** A broker on a manual clock: each request waits until the test answers it. */
function harness() {
  let now = 1_000_000;
  const sleeps: number[] = [];
  const pending: { url: URL; sentAt: number; answer: (a: Answer) => void }[] = [];
  const requests: URL[] = [];
  const fetch: FetchLike = (url, init) => {
    expect(init.headers.authorization).to.equal('Bearer ck-test-key');
    const parsed = new URL(url);
    requests.push(parsed);
    return new Promise((resolve) => {
      pending.push({
        url: parsed,
        sentAt: now,
        answer: (a) =>
          resolve({
            status: a.status,
            headers: { get: (name: string) => a.headers?.[name.toLowerCase()] ?? null },
            text: async () => JSON.stringify(a.body),
          }),
      });
    });
  };
  const client = new TokenClient({
    url: 'http://broker.test/tokenServerCache/',
    clientKey: 'ck-test-key',
    realm: 'wx',
    key: 'app',
    fetch,
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
    refreshMarginMs: 1_000,
    maxWaitMs: 20_000,
  });
  const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
  return {
    client,
    requests,
    sleeps,
    advance: (ms: number) => (now += ms),
    now: () => now,
    /** Answers a pending request, the oldest by default (after letting queued work run). */
    async answer(a: Answer, index = 0): Promise<URL> {
      await settle();
      const next = pending.splice(index, 1)[0];
      if (next === undefined) throw new Error('no request is pending');
      next.answer(a);
      await settle();
      return next.url;
    },
    pendingCount: async () => {
      await settle();
      return pending.length;
    },
  };
}

const ok = (token: string, expiresIn: number, extra: Record<string, unknown> = {}): Answer => ({
  status: 200,
  body: { token, expires_in: expiresIn, source: 'memory', ...extra },
});

describe('TokenClient', () => {
  it('asks /api/token of the function URL with realm and key', async () => {
    const h = harness();
    const p = h.client.getToken();
    const url = await h.answer(ok('T1', 60_000));
    expect(await p).to.equal('T1');
    expect(url.pathname).to.equal('/tokenServerCache/api/token');
    expect(url.searchParams.get('realm')).to.equal('wx');
    expect(url.searchParams.get('key')).to.equal('app');
    expect(url.searchParams.has('flush')).to.equal(false);
  });

  it('counts the deadline from when the request was sent, not from when the answer arrived', async () => {
    const h = harness();
    const sentAt = h.now();
    const p = h.client.getTokenInfo();
    h.advance(4_000); // the answer takes 4 s to arrive
    await h.answer(ok('T1', 10_000));
    const info = await p;
    expect(info.expiresAt).to.equal(sentAt + 10_000);
    // Cached until the deadline minus the margin (1 s): at sent+8.9 s still cached...
    h.advance(4_900);
    expect(await h.client.getToken()).to.equal('T1');
    expect(h.requests).to.have.length(1);
    // ...at sent+9 s (the answer's arrival + 10 s would be sent+14 s) it asks again.
    h.advance(100);
    const again = h.client.getToken();
    await h.answer(ok('T2', 10_000));
    expect(await again).to.equal('T2');
    expect(h.requests).to.have.length(2);
  });

  it('shares one request among concurrent calls', async () => {
    const h = harness();
    const calls = Array.from({ length: 20 }, () => h.client.getToken());
    expect(await h.pendingCount()).to.equal(1);
    await h.answer(ok('T1', 60_000));
    expect(await Promise.all(calls)).to.deep.equal(Array(20).fill('T1'));
    expect(h.requests).to.have.length(1);
  });

  it('waits out Retry-After on 503 and then gets the token (on the injected clock)', async () => {
    const h = harness();
    const p = h.client.getToken();
    await h.answer({
      status: 503,
      body: { error: { code: 'REFRESH_IN_PROGRESS', message: 'still refreshing' } },
      headers: { 'retry-after': '3' },
    });
    expect(h.sleeps).to.deep.equal([3_000]);
    await h.answer(ok('T1', 60_000));
    expect(await p).to.equal('T1');
    expect(h.requests).to.have.length(2);
  });

  it('takes Retry-After as an HTTP date too', () => {
    const now = Date.parse('2026-12-01T00:00:00Z');
    expect(parseRetryAfter('Tue, 01 Dec 2026 00:00:07 GMT', now)).to.equal(7_000);
    expect(parseRetryAfter('2', now)).to.equal(2_000);
    expect(parseRetryAfter(null, now)).to.equal(undefined);
  });

  it('gives up at once when Retry-After is past the wait budget (429 of a spent daily budget)', async () => {
    const h = harness();
    const p = h.client.getToken().catch((e: unknown) => e);
    await h.answer({
      status: 429,
      body: { error: { code: 'QUOTA_EXHAUSTED', message: 'The daily budget is spent' } },
      headers: { 'retry-after': '3600' },
    });
    const err = (await p) as TokenClientError;
    expect(err).to.be.instanceOf(TokenClientError);
    expect(err.status).to.equal(429);
    expect(err.code).to.equal('QUOTA_EXHAUSTED');
    expect(err.retryAfterMs).to.equal(3_600_000);
    expect(h.sleeps).to.deep.equal([]);
    expect(err.message).to.not.include('ck-test-key');
  });

  it('stops retrying 503s when the wait budget is spent', async () => {
    const h = harness();
    const p = h.client.getToken().catch((e: unknown) => e);
    const busy: Answer = {
      status: 503,
      body: { error: { code: 'REFRESH_IN_PROGRESS', message: 'busy' } },
      headers: { 'retry-after': '8' },
    };
    await h.answer(busy); // t=0 → sleep 8
    await h.answer(busy); // t=8 → sleep 8
    await h.answer(busy); // t=16: 16+8 > 20 → give up
    const err = (await p) as TokenClientError;
    expect(err.status).to.equal(503);
    expect(h.sleeps).to.deep.equal([8_000, 8_000]);
  });

  it('does not retry a provider failure (502): it reports the provider code', async () => {
    const h = harness();
    const p = h.client.getToken().catch((e: unknown) => e);
    await h.answer({
      status: 502,
      body: { error: { code: 'UPSTREAM_ERROR', message: 'bad', details: { providerCode: '40125' } } },
    });
    const err = (await p) as TokenClientError;
    expect(err.code).to.equal('UPSTREAM_ERROR');
    expect(err.details?.providerCode).to.equal('40125');
    expect(h.requests).to.have.length(1);
  });

  it('flush asks for flush=true even with a valid cached token', async () => {
    const h = harness();
    const first = h.client.getToken();
    await h.answer(ok('T1', 60_000));
    await first;
    const flushed = h.client.getToken({ flush: true });
    const url = await h.answer(ok('T2', 60_000, { source: 'upstream' }));
    expect(await flushed).to.equal('T2');
    expect(url.searchParams.get('flush')).to.equal('true');
    expect(await h.client.getToken()).to.equal('T2');
  });

  it('reportInvalid sends invalid_token, caches the answer, and concurrent reports share one request', async () => {
    const h = harness();
    const first = h.client.getToken();
    await h.answer(ok('T1', 60_000));
    await first;
    const reports = [
      h.client.reportInvalid('T1'),
      h.client.reportInvalid('T1'),
      h.client.reportInvalid('T1'),
    ];
    expect(await h.pendingCount()).to.equal(1);
    const url = await h.answer(ok('T2', 60_000, { outcome: 'refreshed' }));
    expect(url.searchParams.get('invalid_token')).to.equal('T1');
    expect(await Promise.all(reports)).to.deep.equal(['T2', 'T2', 'T2']);
    // A late report of the old token is answered from the cache: no second refresh.
    expect(await h.client.reportInvalid('T1')).to.equal('T2');
    expect(await h.client.getToken()).to.equal('T2');
    expect(h.requests).to.have.length(2);
  });

  it('a slow answer started before a report never replaces the newer token', async () => {
    const h = harness();
    const first = h.client.getToken();
    await h.answer(ok('T1', 10_000));
    await first;
    h.advance(9_500); // T1 is due: a get goes out...
    const slowGet = h.client.getToken();
    const report = h.client.reportInvalid('T1'); // ...and a report, both pending
    await h.pendingCount();
    // The report (second request) is answered first, then the get, late, with the old token.
    await h.answer(ok('T2', 60_000, { outcome: 'refreshed' }), 1);
    expect(await report).to.equal('T2');
    await h.answer(ok('T1', 5_000)); // the get: the broker still had T1 when it was asked
    expect(await slowGet).to.equal('T2');
    expect(await h.client.getToken()).to.equal('T2');
    expect(h.requests).to.have.length(3);
  });

  describe('withToken', () => {
    for (const code of [40001, 40014, 42001]) {
      it(`reports and retries once when fn returns errcode ${code}`, async () => {
        const h = harness();
        const seen: string[] = [];
        const p = h.client.withToken(async (token) => {
          seen.push(token);
          return token === 'T1' ? { errcode: code, errmsg: 'invalid credential' } : { errcode: 0, ok: token };
        });
        await h.answer(ok('T1', 60_000));
        const url = await h.answer(ok('T2', 60_000, { outcome: 'refreshed' }));
        expect(url.searchParams.get('invalid_token')).to.equal('T1');
        expect(await p).to.deep.equal({ errcode: 0, ok: 'T2' });
        expect(seen).to.deep.equal(['T1', 'T2']);
      });
    }

    it('reports and retries once when fn throws an error with code 40001 (as SDKs throw)', async () => {
      const h = harness();
      let calls = 0;
      const p = h.client.withToken(async (token) => {
        calls++;
        if (token === 'T1') throw Object.assign(new Error('invalid credential'), { code: '40001' });
        return 'done';
      });
      await h.answer(ok('T1', 60_000));
      await h.answer(ok('T2', 60_000));
      expect(await p).to.equal('done');
      expect(calls).to.equal(2);
    });

    it('does not retry other errors, and retries a rejected token only once', async () => {
      const h = harness();
      const first = h.client
        .withToken(async () => {
          throw Object.assign(new Error('no such user'), { errcode: 46004 });
        })
        .catch((err: unknown) => err);
      await h.answer(ok('T1', 60_000));
      const thrown = await first;
      expect((thrown as { errcode: number }).errcode).to.equal(46004);
      let calls = 0;
      const second = h.client.withToken(async () => {
        calls++;
        return { errcode: 40001 };
      });
      await h.answer(ok('T2', 60_000));
      expect(await second).to.deep.equal({ errcode: 40001 });
      expect(calls).to.equal(2);
      expect(h.requests).to.have.length(2);
    });
  });

  describe('jssdkConfig', () => {
    const signed = {
      timestamp: 1764633600,
      nonceStr: 'n0nce',
      signature: 'a'.repeat(40),
      url: 'https://shop.test/p?id=1',
    };

    it('asks /api/jssdk/signature for the page without its fragment, with the ticket secret named', async () => {
      const h = harness();
      const p = h.client.jssdkConfig('https://shop.test/p?id=1#pay', { realm: 'wxticket', key: 'main' });
      const url = await h.answer({ status: 200, body: signed });
      expect(await p).to.deep.equal(signed);
      expect(url.pathname).to.equal('/tokenServerCache/api/jssdk/signature');
      expect(Object.fromEntries(url.searchParams)).to.deep.equal({
        realm: 'wxticket',
        key: 'main',
        url: 'https://shop.test/p?id=1',
      });
      // Without a ticket named: this client's own realm/key.
      const own = h.client.jssdkConfig('https://shop.test/p?id=1');
      const ownUrl = await h.answer({ status: 200, body: signed });
      await own;
      expect([ownUrl.searchParams.get('realm'), ownUrl.searchParams.get('key')]).to.deep.equal(['wx', 'app']);
    });

    it('waits out a 503 with Retry-After, and throws the broker error of a 400 naming the field', async () => {
      const h = harness();
      const p = h.client.jssdkConfig('https://shop.test/p');
      await h.answer({
        status: 503,
        body: { error: { code: 'NOT_READY', message: 'busy' } },
        headers: { 'retry-after': '2' },
      });
      await h.answer({ status: 200, body: signed });
      expect(await p).to.deep.equal(signed);
      expect(h.sleeps).to.deep.equal([2_000]);
      const bad = h.client.jssdkConfig('ftp://nope').then(
        () => undefined,
        (e: unknown) => e,
      );
      await h.answer({
        status: 400,
        body: {
          error: { code: 'INVALID_ARGUMENT', message: 'url must be http(s)', details: { field: 'url' } },
        },
      });
      const err = await bad;
      expect(err).to.be.instanceOf(TokenClientError);
      expect((err as TokenClientError).status).to.equal(400);
      expect((err as TokenClientError).details).to.deep.equal({ field: 'url' });
      expect(h.requests).to.have.length(3);
    });
  });

  it('refuses missing options by name', () => {
    expect(() => new TokenClient({ url: 'http://x', clientKey: '', realm: 'r', key: 'k' })).to.throw(
      /clientKey/,
    );
  });
});
