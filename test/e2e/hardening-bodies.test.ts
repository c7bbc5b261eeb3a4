/**
 * Bodies however they are sent (SPEC §4 intro): a real tokenServerCache process with the heap its
 * deployment has (256 MiB), attacked without any key by concurrent chunked bodies of 30 MiB and one
 * of 300 MiB, and by a declared Content-Length of 10 GB with no body. Each is cut off with 413 (the
 * connection then closed) as soon as it passes 64 KiB, the process survives, and its resident memory
 * stays flat: no body is buffered past the limit. tokenServer gets the same on every route.
 */
import { expect } from 'chai';
import { floodBody, residentBytes, type FloodResult } from '../helpers/body-flood';
import { request } from '../helpers/http';
import { startFunction, testEnv, type FunctionProcess } from '../helpers/processes';

const MiB = 1024 * 1024;
const LIMIT = 64 * 1024;

function expect413(result: FloodResult, what: string): void {
  const why = `${what}: status ${String(result.status)}, ${result.sent} bytes sent, ${result.answer.slice(0, 200)}`;
  // A 413 with the SPEC's error body; a reset after it may cut the body short, never the status line.
  expect(result.status, why).to.equal(413);
  expect(result.answer, why).to.match(/connection: close/i);
  if (result.answer.includes('\r\n\r\n{')) expect(result.answer, why).to.include('"PAYLOAD_TOO_LARGE"');
  // The server stopped taking the body long before its end.
  expect(result.cutOff, why).to.equal(true);
}

describe('hardening: request bodies, however sent (real processes, deployed heap)', function () {
  this.timeout(180_000);
  let cache: FunctionProcess;
  let full: FunctionProcess;

  before(async () => {
    const env = testEnv({ store: 'memory', overrides: { NODE_OPTIONS: '--max-old-space-size=256' } });
    [cache, full] = await Promise.all([
      startFunction({ target: 'tokenServerCache', env: env.env }),
      startFunction({ target: 'tokenServer', env: env.env }),
    ]);
  });
  after(async () => {
    await Promise.all([cache?.stop(), full?.stop()]);
  });

  it('cuts off 8 concurrent 30 MiB chunked bodies and one of 300 MiB at 64 KiB; memory stays flat', async () => {
    // Warm up, so that the baseline includes what a serving process normally holds.
    for (let i = 0; i < 20; i++) await request(`${cache.url}/healthz`);
    const before = residentBytes(cache.pid);
    const floods = [
      ...Array.from({ length: 8 }, () =>
        floodBody(cache.url, { path: '/api/token', bytes: 30 * MiB, framing: 'chunked' }),
      ),
      floodBody(cache.url, { path: '/api/token', bytes: 300 * MiB, framing: 'chunked' }),
    ];
    const results = await Promise.all(floods);
    const after = residentBytes(cache.pid);
    results.forEach((r, i) => expect413(r, `flood ${i}`));
    // Each connection was cut off within a few chunks of the limit (plus what socket buffers hold).
    for (const r of results) expect(r.sent).to.be.below(16 * MiB);
    const health = await request(`${cache.url}/healthz`);
    expect(health.status, 'the process still answers').to.equal(200);
    const growth = after - before;
    expect(growth, `RSS grew by ${Math.round(growth / MiB)} MiB`).to.be.below(64 * MiB);
  });

  it('answers a declared Content-Length of 10 GB at once (413, closed), with no body sent', async () => {
    for (const p of [cache, full]) {
      for (const path of ['/api/token', '/healthz']) {
        const r = await floodBody(p.url, {
          path,
          bytes: 0,
          framing: { contentLength: 10 * 1024 * MiB },
          timeoutMs: 10_000,
        });
        expect(r.status, `${p.target} ${path}: ${r.answer.slice(0, 200)}`).to.equal(413);
        expect(r.answer).to.include('"PAYLOAD_TOO_LARGE"');
        expect(r.answer).to.match(/connection: close/i);
        expect(r.answeredAfterMs, 'answered before the 10 s timeout').to.be.below(10_000);
      }
    }
  });

  it('cuts off a chunked body just over the limit on every route of tokenServer, /healthz included', async () => {
    const routes = [
      ['POST', '/api/realm'],
      ['POST', '/api/secret'],
      ['POST', '/api/client'],
      ['POST', '/api/refresh'],
      ['GET', '/api/status'],
      ['GET', '/healthz'],
      ['POST', '/no/such/route'],
    ];
    for (const [method, path] of routes) {
      const r = await floodBody(full.url, {
        method: method ?? 'POST',
        path: path ?? '/',
        bytes: 32 * MiB,
        framing: 'chunked',
      });
      expect413(r, `${method} ${path}`);
    }
    // A body exactly at the limit is read and judged as JSON (not a 413).
    const atLimit = await floodBody(full.url, { path: '/api/refresh', bytes: LIMIT, framing: 'chunked' });
    expect(atLimit.status, atLimit.answer.slice(0, 300)).to.equal(400);
    expect(atLimit.answer).to.include('"INVALID_JSON"');
    const health = await request(`${full.url}/healthz`);
    expect(health.status).to.equal(200);
  });
});
