/**
 * The shared primitives of the platform brokers, in one process against a recording provider on
 * 127.0.0.1: customer secrets created, replaced and revoked by platform events
 * (platforms/child-secrets.ts: an older event never undoes a newer one; a revoked customer answers
 * 410 AUTHORIZER_REVOKED and comes back when it authorizes again), and a tenant realm's
 * ${parent.key_N} / ${parent.ticket} (engine/dependent.ts): the parent's values and pushed ticket go
 * to the tenant's call, the parent's token is not fetched when the realm does not name it, and a
 * missing parent ticket is TICKET_MISSING.
 */
import { expect } from 'chai';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ManualClock } from '../../../functions/clock';
import { TokenEngine } from '../../../functions/engine/engine';
import { AppError } from '../../../functions/errors';
import { putChildSecret, revokeChildSecret } from '../../../functions/platforms/child-secrets';
import { MemoryStore } from '../../../functions/store/memory/memory-store';
import { Sealer } from '../../../functions/store/seal';
import type { JsonObject } from '../../../functions/store/types';
import { templateProblem } from '../../../functions/providers/template';
import { freshState } from '../../../functions/token/decide';

interface Recorder {
  url: string;
  bodies: Array<{ path: string; body: Record<string, unknown> }>;
  close(): Promise<void>;
}

/** Answers every POST with a new token and records the JSON body it was sent. */
async function startRecorder(): Promise<Recorder> {
  const bodies: Recorder['bodies'] = [];
  let n = 0;
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
    req.on('end', () => {
      bodies.push({ path: req.url ?? '', body: JSON.parse(raw || '{}') as Record<string, unknown> });
      n += 1;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ access_token: `${(req.url ?? '').slice(1)}-token-${n}`, expires_in: 7200 }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    bodies,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function realmConfig(url: string, args: Array<[string, string]>): JsonObject {
  return {
    url,
    method: 'POST',
    content_type: 'json',
    arguments: args.map(([name, value]) => ({ name, place: 'body', value })),
    token_path: 'access_token',
    expires_in_path: 'expires_in',
  };
}

const clock = new ManualClock(Date.UTC(2026, 11, 6, 12, 0, 0));

async function rejection(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('platform primitives: customer secrets and ${parent.…}', function () {
  let provider: Recorder;
  let store: MemoryStore;
  let engine: TokenEngine;

  before(async () => {
    provider = await startRecorder();
  });
  after(() => provider.close());

  beforeEach(async () => {
    provider.bodies.length = 0;
    store = new MemoryStore(new Sealer(Buffer.alloc(32, 7)), clock);
    engine = new TokenEngine({
      store,
      clock,
      random: Math.random,
      instanceId: 'child-secrets-test',
      leaseMs: 15_000,
      waitMs: 20_000,
      allowPrivateUpstreams: true,
      firstPollDelayMs: 20,
    });
    const now = clock.now();
    await store.putRealm({
      id: 'suites',
      comment: '',
      config: realmConfig(`${provider.url}/suite`, [
        ['suite_id', '$key_1'],
        ['suite_secret', '$key_2'],
      ]),
      createdAt: now,
      updatedAt: now,
    });
    await store.putRealm({
      id: 'corps',
      comment: '',
      config: realmConfig(`${provider.url}/corp`, [
        ['suiteKey', '${parent.key_1}'],
        ['suiteSecret', '${parent.key_2}'],
        ['authCorpId', '${key_1}'],
        ['suiteTicket', '${parent.ticket}'],
      ]),
      createdAt: now,
      updatedAt: now,
    });
    await store.putSecret(
      {
        realm: 'suites',
        key: 'suite1',
        values: { key_1: 'suite-key-1', key_2: 'suite-secret-value-1' },
        rev: 'r1',
        createdAt: now,
        updatedAt: now,
      },
      (cur) => freshState('suites', 'suite1', 'r1', cur),
    );
  });

  const target = (eventAt: number) => ({
    realm: 'corps',
    key: 'corp-a',
    parent: { realm: 'suites', key: 'suite1' },
    eventAt,
    now: clock.now(),
  });

  it('${parent.key_N} and ${parent.ticket} reach the tenant call; the parent token is never fetched', async () => {
    expect(await putChildSecret(store, target(1000), { key_1: 'corp-a' })).to.equal('created');
    const missing = await rejection(engine.getToken({ realm: 'corps', key: 'corp-a' }));
    expect(missing.code).to.equal('TICKET_MISSING');
    expect(provider.bodies).to.have.length(0);
    clock.advance(60_000); // past the engine's short memory of that transient failure

    await store.mutatePushed('suites', 'suite1', (current, now) => ({
      next: {
        ...(current ?? { realm: 'suites', key: 'suite1' }),
        ticket: 'pushed-ticket-1',
        ticketArrivedAt: now,
      },
      result: undefined,
    }));
    const served = await engine.getToken({ realm: 'corps', key: 'corp-a' });
    expect(served.token).to.equal('corp-token-1');
    expect(provider.bodies).to.deep.equal([
      {
        path: '/corp',
        body: {
          suiteKey: 'suite-key-1',
          suiteSecret: 'suite-secret-value-1',
          authCorpId: 'corp-a',
          suiteTicket: 'pushed-ticket-1',
        },
      },
    ]);
  });

  it('a revoked customer answers 410 with its values erased, and comes back on a newer authorization', async () => {
    await store.mutatePushed('suites', 'suite1', (current, now) => ({
      next: {
        ...(current ?? { realm: 'suites', key: 'suite1' }),
        ticket: 'pushed-ticket-1',
        ticketArrivedAt: now,
      },
      result: undefined,
    }));
    await putChildSecret(store, target(1000), { key_1: 'corp-a' });
    const first = await engine.getToken({ realm: 'corps', key: 'corp-a' });

    expect(await revokeChildSecret(store, target(2000), 'cancel_auth')).to.equal('revoked');
    const stored = await store.getSecret('corps', 'corp-a');
    expect(stored?.values).to.deep.equal({});
    expect(stored?.revoked).to.deep.equal({ at: 2000, reason: 'cancel_auth' });
    expect((await store.getTokenState('corps', 'corp-a'))?.token, 'the old token is dropped').to.equal(
      undefined,
    );
    const gone = await rejection(engine.getToken({ realm: 'corps', key: 'corp-a' }));
    expect(gone.code).to.equal('AUTHORIZER_REVOKED');
    expect(gone.status).to.equal(410);

    // An authorization older than the revocation (delivered late) changes nothing.
    expect(await putChildSecret(store, target(1500), { key_1: 'corp-a' })).to.equal('older');
    expect((await rejection(engine.getToken({ realm: 'corps', key: 'corp-a' }))).code).to.equal(
      'AUTHORIZER_REVOKED',
    );
    // A newer one brings it back.
    expect(await putChildSecret(store, target(3000), { key_1: 'corp-a' })).to.equal('replaced');
    expect((await store.getSecret('corps', 'corp-a'))?.revoked).to.equal(undefined);
    const back = await engine.getToken({ realm: 'corps', key: 'corp-a' });
    expect(back.token)
      .to.match(/^corp-token-/)
      .and.not.equal(first.token);
    expect(provider.bodies.filter((b) => b.path === '/corp')).to.have.length(2);
  });

  it('revoking twice keeps the first time; revoking an unknown customer keeps nothing', async () => {
    await putChildSecret(store, target(1000), { key_1: 'corp-a' });
    await revokeChildSecret(store, target(2000), 'cancel_auth');
    expect(await revokeChildSecret(store, target(2500), 'cancel_auth')).to.equal('revoked');
    expect((await store.getSecret('corps', 'corp-a'))?.revoked?.at).to.equal(2000);
    expect(await revokeChildSecret(store, { ...target(2000), key: 'corp-b' }, 'cancel_auth')).to.equal(
      'not_found',
    );
    expect(await store.getSecret('corps', 'corp-b')).to.equal(null);
  });

  it('${parent.…} names only key_1..key_9 and ticket', () => {
    expect(templateProblem('${parent.key_1}:${parent.ticket}')).to.equal(undefined);
    expect(templateProblem('${parent.key_10}')).to.match(/key_10 is not a credential key/);
    expect(templateProblem('${parent.token}')).to.match(/unknown reference/);
    expect(templateProblem('${parent.}')).to.match(/unknown reference/);
  });
});
