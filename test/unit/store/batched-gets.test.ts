/**
 * store/firestore/batched-gets.ts on a stand-in Firestore that records its calls: gets of one turn
 * go as one getAll (a document asked for twice, once), gets of different turns alone, and a failed
 * call fails every get in it.
 */
import { expect } from 'chai';
import type { DocumentReference, DocumentSnapshot, Firestore } from 'firebase-admin/firestore';
import { BatchedGets } from '../../../functions/store/firestore/batched-gets';

interface FakeDb {
  db: Firestore;
  calls: string[][];
  ref(path: string): DocumentReference;
  fail?: Error;
}

function fakeDb(): FakeDb {
  const fake: FakeDb = {
    calls: [],
    db: undefined as unknown as Firestore,
    ref: (path) => {
      const ref = {
        path,
        get: () => fake.db.getAll(ref as unknown as DocumentReference).then((snaps) => snaps[0]),
      };
      return ref as unknown as DocumentReference;
    },
  };
  fake.db = {
    getAll: (...refs: DocumentReference[]) => {
      fake.calls.push(refs.map((r) => r.path));
      if (fake.fail !== undefined) return Promise.reject(fake.fail);
      return Promise.resolve(refs.map((r) => ({ ref: r, id: r.path }) as unknown as DocumentSnapshot));
    },
  } as unknown as Firestore;
  return fake;
}

describe('store/firestore: gets of one turn in one call', () => {
  it('sends the gets of one turn as one getAll, each answered with its own document', async () => {
    const fake = fakeDb();
    const gets = new BatchedGets(fake.db);
    const [a, b] = await Promise.all([gets.get(fake.ref('k/a')), gets.get(fake.ref('t/b'))]);
    expect(fake.calls).to.deep.equal([['k/a', 't/b']]);
    expect([a.id, b.id]).to.deep.equal(['k/a', 't/b']);
  });

  it('asks once for a document asked for twice in a turn, and answers both', async () => {
    const fake = fakeDb();
    const gets = new BatchedGets(fake.db);
    const all = await Promise.all([
      gets.get(fake.ref('t/x')),
      gets.get(fake.ref('k/y')),
      gets.get(fake.ref('t/x')),
    ]);
    expect(fake.calls).to.deep.equal([['t/x', 'k/y']]);
    expect(all.map((s) => s.id)).to.deep.equal(['t/x', 'k/y', 't/x']);
  });

  it('sends gets of different turns apart, one document each', async () => {
    const fake = fakeDb();
    const gets = new BatchedGets(fake.db);
    await gets.get(fake.ref('k/a'));
    await gets.get(fake.ref('t/b'));
    expect(fake.calls).to.deep.equal([['k/a'], ['t/b']]);
  });

  it('fails every get of a call that fails', async () => {
    const fake = fakeDb();
    fake.fail = new Error('unavailable');
    const gets = new BatchedGets(fake.db);
    const outcomes = await Promise.allSettled([gets.get(fake.ref('k/a')), gets.get(fake.ref('t/b'))]);
    expect(outcomes.map((o) => (o.status === 'rejected' ? (o.reason as Error).message : 'ok'))).to.deep.equal(
      ['unavailable', 'unavailable'],
    );
    expect(fake.calls).to.have.length(1);
  });
});
