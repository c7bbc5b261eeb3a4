/**
 * The Firestore store when the database does not answer or answers "not now": every operation is
 * bounded by the store deadline and becomes one 503 UNAVAILABLE with Retry-After; other errors pass
 * through unchanged. A stand-in for firebase-admin's Firestore, so nothing needs to run.
 */
import { expect } from 'chai';
import type { Firestore } from 'firebase-admin/firestore';
import { AppError } from '../../../functions/errors';
import { FirestoreStore } from '../../../functions/store/firestore/firestore-store';
import { Sealer } from '../../../functions/store/seal';

/** A Firestore whose every call (get, set, query, batch, transaction) does what `answer` says. */
function fakeDb(answer: () => Promise<never>): Firestore {
  const ref = { get: answer, set: answer };
  const query = { get: answer, where: () => query, orderBy: () => query, limit: () => query };
  const collection = { ...query, doc: () => ref };
  const batch = { set: () => batch, delete: () => batch, commit: answer };
  return {
    collection: () => collection,
    batch: () => batch,
    getAll: answer,
    runTransaction: answer,
  } as unknown as Firestore;
}

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

describe('store/firestore: an unreachable database', () => {
  const sealer = new Sealer(Buffer.alloc(32, 7));

  it('answers UNAVAILABLE with Retry-After after the deadline when the database never answers', async () => {
    const store = new FirestoreStore(
      fakeDb(() => new Promise<never>(() => undefined)),
      sealer,
      { timeoutMs: 50 },
    );
    const started = Date.now();
    const calls = [
      store.getRealm('r'),
      store.listTokenStates(),
      store.mutateTokenState('r', 'k', () => ({ result: 1 })),
      store.putClient({ id: 'c', name: 'n', scopes: [], keyHash: 'h', createdAt: 0 }),
    ];
    for (const call of calls) {
      const err = await errorOf(call);
      expect(err).to.be.instanceOf(AppError);
      expect((err as AppError).code).to.equal('UNAVAILABLE');
      expect((err as AppError).status).to.equal(503);
      expect((err as AppError).retryAfter).to.be.greaterThan(0);
    }
    expect(Date.now() - started).to.be.below(1000);
  });

  for (const [code, name] of [
    [14, 'UNAVAILABLE'],
    [4, 'DEADLINE_EXCEEDED'],
    [8, 'RESOURCE_EXHAUSTED'],
    [10, 'ABORTED'],
  ] as const) {
    it(`turns gRPC ${name} (${code}) into UNAVAILABLE`, async () => {
      const grpc = Object.assign(new Error(`${code} ${name}: details with internals`), { code });
      const store = new FirestoreStore(
        fakeDb(() => Promise.reject(grpc)),
        sealer,
        { timeoutMs: 5000 },
      );
      const err = await errorOf(store.getSecret('r', 'k'));
      expect((err as AppError).code).to.equal('UNAVAILABLE');
      expect((err as AppError).message).to.not.include('internals');
    });
  }

  it('passes other errors through (they stay a generic 500)', async () => {
    const invalid = Object.assign(new Error('3 INVALID_ARGUMENT'), { code: 3 });
    const store = new FirestoreStore(
      fakeDb(() => Promise.reject(invalid)),
      sealer,
      { timeoutMs: 5000 },
    );
    expect(await errorOf(store.getRealm('r'))).to.equal(invalid);
  });
});
