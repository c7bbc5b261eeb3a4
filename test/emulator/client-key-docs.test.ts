/**
 * A client-key lookup on Firestore is a get of the client's copy under its key hash
 * (COLLECTIONS.clientKeys), sent in one call with a token read asked for in the same turn
 * (store/firestore/batched-gets.ts). Clients stored before the copies existed are still found (by a
 * query) and then copied, and a deleted client's copy goes with it, never brought back. Each
 * transport, on the emulator; calls counted at the client's getAll, which every get goes through.
 */
import { expect } from 'chai';
import type { DocumentReference, Firestore } from 'firebase-admin/firestore';
import type { FirestoreStore } from '../../functions/store/firestore/firestore-store';
import { FIRESTORE_TRANSPORTS } from '../../functions/store/firestore/transport';
import { openStore } from '../../functions/store/open-store';
import { Sealer } from '../../functions/store/seal';
import { COLLECTIONS } from '../../functions/store/store';
import type { ClientRecord } from '../../functions/store/types';
import { freshState } from '../../functions/token/decide';
import { clearEmulator, emulatorHostFromEnv } from '../helpers/emulator';
import { TEST_PROJECT_ID } from '../helpers/processes';

const HASH = 'a'.repeat(64);
const client: ClientRecord = {
  id: 'c1',
  name: 'app',
  scopes: [{ realm: 'r', key: '*' }],
  keyHash: HASH,
  createdAt: 5,
};

/** Counts the documents of each getAll call on `db` (a DocumentReference.get() is one of one). */
function countGetAll(db: Firestore): number[][] {
  const calls: number[][] = [];
  const real = db.getAll.bind(db);
  db.getAll = (...refs: DocumentReference[]) => {
    calls.push([refs.length]);
    return real(...refs);
  };
  return calls;
}

async function eventually(check: () => Promise<boolean>, ms = 5_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('not within the time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

for (const transport of FIRESTORE_TRANSPORTS) {
  describe(`client-key lookups as gets (emulator, ${transport})`, function () {
    this.timeout(60_000);
    const projectId = process.env.GOOGLE_CLOUD_PROJECT || TEST_PROJECT_ID;
    let store: FirestoreStore;
    const copyRef = () => store.db.collection(COLLECTIONS.clientKeys).doc(HASH);

    before(() => {
      store = openStore(
        { store: 'firestore', projectId, emulatorHost: emulatorHostFromEnv(), firestoreTransport: transport },
        new Sealer(Buffer.alloc(32, 9)),
        `client-key-docs-${transport}`,
      ) as FirestoreStore;
    });
    beforeEach(async () => clearEmulator(emulatorHostFromEnv(), projectId));
    after(async () => store.close());

    it('stores the client under its key hash too, and finds it with one get', async () => {
      await store.putClient(client);
      expect((await copyRef().get()).data()).to.deep.include({ id: 'c1', keyHash: HASH });
      const calls = countGetAll(store.db);
      expect(await store.findClientByKeyHash(HASH)).to.deep.equal(client);
      expect(calls).to.deep.equal([[1]]);
    });

    it('sends a lookup and a token read ahead of the same turn as one call, other reads alone', async () => {
      await store.putClient(client);
      await store.mutateTokenState('r', 'k', () => ({
        next: freshState('r', 'k', 'rev1', null),
        result: null,
      }));
      const calls = countGetAll(store.db);
      const ahead = { withLookups: true };
      const [found, read] = await Promise.all([
        store.findClientByKeyHash(HASH),
        store.readTokenState('r', 'k', ahead),
      ]);
      expect(found?.id).to.equal('c1');
      expect(read.state?.secretRev).to.equal('rev1');
      expect(calls).to.deep.equal([[2]]);
      // An unknown key in the same turn as a read: its get shares the call, then it is queried.
      const [none, again] = await Promise.all([
        store.findClientByKeyHash('b'.repeat(64)),
        store.readTokenState('r', 'k', ahead),
      ]);
      expect(none).to.equal(null);
      expect(again.state?.secretRev).to.equal('rev1');
      expect(calls).to.deep.equal([[2], [2]]);
      // Apart, or a token read of the hit path (no withLookups): one call each.
      await store.findClientByKeyHash(HASH);
      await store.readTokenState('r', 'k', ahead);
      await Promise.all([store.findClientByKeyHash(HASH), store.readTokenState('r', 'k')]);
      expect(calls).to.deep.equal([[2], [2], [1], [1], [1], [1]]);
    });

    it('finds a client stored before the copies by a query, then copies it', async () => {
      await store.putClient(client);
      await copyRef().delete(); // as the previous version stored it
      expect(await store.findClientByKeyHash(HASH)).to.deep.equal(client);
      await eventually(async () => (await copyRef().get()).exists);
      const calls = countGetAll(store.db);
      expect(await store.findClientByKeyHash(HASH)).to.deep.equal(client);
      expect(calls).to.deep.equal([[1]]);
    });

    it('deletes the copy with the client, and a copy racing the delete does not bring it back', async () => {
      await store.putClient(client);
      expect(await store.deleteClient('c1')).to.equal(true);
      expect((await copyRef().get()).exists).to.equal(false);
      expect(await store.findClientByKeyHash(HASH)).to.equal(null);

      // An old client's lookup finds it; its copy's transaction waits until the delete committed.
      await store.putClient(client);
      await copyRef().delete();
      let release!: () => void;
      const deleted = new Promise<void>((r) => (release = r));
      const realTx = store.db.runTransaction.bind(store.db);
      let copy: Promise<unknown> | undefined;
      store.db.runTransaction = ((...args: Parameters<Firestore['runTransaction']>) => {
        if (copy !== undefined) return realTx(...args);
        copy = deleted.then(() => realTx(...args));
        return copy;
      }) as Firestore['runTransaction'];
      try {
        expect((await store.findClientByKeyHash(HASH))?.id).to.equal('c1');
        expect(copy).to.not.equal(undefined);
        expect(await store.deleteClient('c1')).to.equal(true);
        release();
        await copy;
      } finally {
        store.db.runTransaction = realTx;
      }
      expect((await copyRef().get()).exists).to.equal(false);
      expect(await store.findClientByKeyHash(HASH)).to.equal(null);
    });
  });
}
