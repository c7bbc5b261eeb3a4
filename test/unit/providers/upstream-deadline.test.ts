/**
 * sendUpstream's deadline against a provider that never answers: the call fails as an
 * UPSTREAM_TIMEOUT, the abandoned HTTP request's own rejection (gaxios' "The operation was
 * aborted.") is handled, and a deadline that passes before node-fetch starts (tiny budgets) does
 * not reach node-fetch (which then destroys the body stream with no listener: an uncaught
 * exception). Either ended a function process under the Functions Framework (its handlers answer
 * 500 and exit): seen in test/e2e/authorizers-processes on a loaded machine.
 */
import { expect } from 'chai';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ProviderFailure } from '../../../functions/providers/failure';
import { sendUpstream } from '../../../functions/providers/upstream';

describe('sendUpstream: a deadline that wins leaves no unhandled rejection', () => {
  let server: http.Server;
  let url: string;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };

  before(async () => {
    // Reads the request and never answers.
    server = http.createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
    process.on('unhandledRejection', onUnhandled);
  });
  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('answers UPSTREAM_TIMEOUT, and nothing rejects or throws unhandled afterwards', async () => {
    const call = (timeoutMs: number) =>
      sendUpstream(
        { url, method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' },
        { allowPrivate: true, timeoutMs },
      );
    // Budgets from "passed before the request starts" to "passed while it waits for the answer".
    for (const timeoutMs of [100, 1, 1, 2, 3, 5, 10, 1, 50]) {
      let failure: unknown;
      try {
        await call(timeoutMs);
      } catch (err) {
        failure = err;
      }
      expect(failure).to.be.instanceOf(ProviderFailure);
      expect((failure as ProviderFailure).code).to.equal('UPSTREAM_TIMEOUT');
    }
    // The abandoned requests reject on a later tick; give them a few.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(unhandled.map(String)).to.deep.equal([]);
  });
});
