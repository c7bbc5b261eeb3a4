/**
 * After the master key changes, what was sealed under the old one cannot be opened: replacing a
 * secret must still work (its old token is discarded unread), and listings must not break.
 * With several keys configured (the new one first), the old values stay readable, GET /api/keys'
 * counts come from the documents, and reseal moves every value to the new key: in pages, resumable,
 * with two reseals and a writer of new tokens running at once on separate Firestore clients.
 */
import { expect } from 'chai';
import { freshState } from '../../functions/token/decide';
import { openStore } from '../../functions/store/open-store';
import { Sealer } from '../../functions/store/seal';
import type { ResealPosition } from '../../functions/store/reseal';
import type { Store } from '../../functions/store/store';
import { clearEmulator, emulatorHostFromEnv } from '../helpers/emulator';
import { TEST_PROJECT_ID } from '../helpers/processes';

describe('master key rotation (emulator)', function () {
  this.timeout(30_000);
  const projectId = process.env.GOOGLE_CLOUD_PROJECT || TEST_PROJECT_ID;
  const oldStore = openStore(
    { store: 'firestore', projectId, emulatorHost: emulatorHostFromEnv() },
    new Sealer(Buffer.alloc(32, 1)),
    'rotation-old',
  );
  const newStore = openStore(
    { store: 'firestore', projectId, emulatorHost: emulatorHostFromEnv() },
    new Sealer(Buffer.alloc(32, 2)),
    'rotation-new',
  );

  before(async () => clearEmulator(emulatorHostFromEnv(), projectId));
  after(async () => {
    // What is left is sealed under this file's keys, not the run's (testEnv: runMasterKey).
    await clearEmulator(emulatorHostFromEnv(), projectId);
    await oldStore.close();
    await newStore.close();
  });

  it('replaces a secret whose token was sealed under the old key, keeping the call counter', async () => {
    const now = Date.now();
    await oldStore.putRealm({ id: 'r', comment: '', config: {}, createdAt: now, updatedAt: now });
    const secret = {
      realm: 'r',
      key: 'k',
      values: { key_1: 'old-credential-value' },
      rev: 'v1',
      createdAt: now,
      updatedAt: now,
    };
    await oldStore.putSecret(secret, (cur) => freshState('r', 'k', 'v1', cur));
    await oldStore.mutateTokenState('r', 'k', (cur) => ({
      next: {
        ...cur!,
        token: 'sealed-under-old-key',
        expiresAt: now + 60_000,
        callsDay: '2026-11-24',
        callsToday: 7,
      },
      result: null,
    }));

    let opened: string | undefined;
    try {
      await newStore.getTokenState('r', 'k');
    } catch (err) {
      opened = (err as { code?: string }).code;
    }
    expect(opened).to.equal('INTERNAL'); // the old token cannot be opened with the new key
    expect((await newStore.listTokenStates()).map((s) => s.hasToken)).to.deep.equal([true]);

    const outcome = await newStore.putSecret(
      { ...secret, values: { key_1: 'new-credential-value' }, rev: 'v2' },
      (cur) => freshState('r', 'k', 'v2', cur),
    );
    expect(outcome).to.equal('replaced');
    const state = await newStore.getTokenState('r', 'k');
    expect(state?.token).to.equal(undefined);
    expect(state?.callsToday).to.equal(7);
    expect((await newStore.getSecret('r', 'k'))?.values).to.deep.equal({ key_1: 'new-credential-value' });
  });

  describe('several keys and reseal', () => {
    const K1 = Buffer.alloc(32, 1);
    const K2 = Buffer.alloc(32, 2);
    const rotatedKeys = [
      { id: 'k2', key: K2 },
      { id: 'default', key: K1 },
    ];
    const stores = {
      a: openStore(
        { store: 'firestore', projectId, emulatorHost: emulatorHostFromEnv() },
        new Sealer(rotatedKeys),
        'rotation-a',
      ),
      b: openStore(
        { store: 'firestore', projectId, emulatorHost: emulatorHostFromEnv() },
        new Sealer(rotatedKeys),
        'rotation-b',
      ),
      writer: openStore(
        { store: 'firestore', projectId, emulatorHost: emulatorHostFromEnv() },
        new Sealer(rotatedKeys),
        'rotation-writer',
      ),
      onlyK2: openStore(
        { store: 'firestore', projectId, emulatorHost: emulatorHostFromEnv() },
        new Sealer([{ id: 'k2', key: K2 }]),
        'rotation-k2',
      ),
    };
    const N = 30;
    const keyOf = (i: number): string => `s${String(i).padStart(3, '0')}`;

    after(async () => {
      for (const s of Object.values(stores)) await s.close();
    });

    /** Every page of a reseal from the start, as tokenctl keys reseal follows them. */
    async function resealAll(store: Store, limit: number): Promise<{ pages: number; resealed: number }> {
      let position: ResealPosition | undefined = { collection: 'secrets' };
      let pages = 0;
      let resealed = 0;
      while (position !== undefined) {
        const page = await store.resealPage(position, limit);
        pages++;
        resealed += page.resealed;
        expect(page.unreadable).to.equal(0);
        position = page.next;
      }
      return { pages, resealed };
    }

    it('counts, then reseals in pages under two concurrent runs and token writes, overwriting nothing newer', async () => {
      await clearEmulator(emulatorHostFromEnv(), projectId);
      const now = Date.now();
      await oldStore.putRealm({ id: 'r', comment: '', config: {}, createdAt: now, updatedAt: now });
      for (let i = 0; i < N; i++) {
        const secret = {
          realm: 'r',
          key: keyOf(i),
          values: { key_1: `credential-${i}` },
          rev: 'v1',
          createdAt: now,
          updatedAt: now,
        };
        await oldStore.putSecret(secret, (cur) => ({
          ...freshState('r', keyOf(i), 'v1', cur),
          token: `old-token-${i}`,
        }));
      }
      // 30 secrets and 30 tokens, all under the single key of before (id default).
      expect(await stores.a.countSealedByKey()).to.deep.equal({ default: 2 * N });
      // The rotated store opens them; a store with only the new key does not.
      expect((await stores.a.getSecret('r', keyOf(0)))?.values).to.deep.equal({ key_1: 'credential-0' });
      let refused: string | undefined;
      await stores.onlyK2.getSecret('r', keyOf(0)).catch((err: { code?: string }) => (refused = err.code));
      expect(refused).to.equal('INTERNAL');

      // Traffic: new tokens written (under k2, by compare-and-set) while both reseals run.
      const written = new Map<string, string>();
      let writing = true;
      const writer = (async () => {
        for (let round = 0; writing || round < 2; round++) {
          for (let i = round % 3; i < N; i += 3) {
            const token = `new-token-${i}-${round}`;
            await stores.writer.mutateTokenState('r', keyOf(i), (cur) => ({
              next: { ...cur!, token },
              result: null,
            }));
            written.set(keyOf(i), token);
          }
        }
      })();
      const [a, b] = await Promise.all([resealAll(stores.a, 7), resealAll(stores.b, 11)]);
      writing = false;
      await writer;

      // Pages: 30 secrets then 30 tokens, 7 at a time (the last page of each collection short).
      expect(a.pages).to.equal(Math.ceil((N + 1) / 7) * 2);
      expect(b.pages).to.equal(Math.ceil((N + 1) / 11) * 2);
      // Every value moved to k2 exactly once in total (by a reseal, or by a token write before it).
      expect(a.resealed + b.resealed).to.be.at.most(2 * N);
      expect(await stores.a.countSealedByKey()).to.deep.equal({ k2: 2 * N });
      // Everything opens without the old key, and each token is the newest written: no reseal
      // wrote back an older value over the writer's.
      for (let i = 0; i < N; i++) {
        expect((await stores.onlyK2.getSecret('r', keyOf(i)))?.values).to.deep.equal({
          key_1: `credential-${i}`,
        });
        const state = await stores.onlyK2.getTokenState('r', keyOf(i));
        expect(state?.token, keyOf(i)).to.equal(written.get(keyOf(i)) ?? `old-token-${i}`);
      }
      // A reseal run again finds nothing to do (resumable: a finished run costs reads only).
      expect((await resealAll(stores.b, 50)).resealed).to.equal(0);
    });

    it('reports values under a key that is not configured, and counts them under their id', async () => {
      const k3 = openStore(
        { store: 'firestore', projectId, emulatorHost: emulatorHostFromEnv() },
        new Sealer([{ id: 'k3', key: Buffer.alloc(32, 3) }]),
        'rotation-k3',
      );
      try {
        const now = Date.now();
        const secret = {
          realm: 'r',
          key: 'stray',
          values: { key_1: 'credential-stray' },
          rev: 'v1',
          createdAt: now,
          updatedAt: now,
        };
        await k3.putSecret(secret, () => null);
        expect(await stores.a.countSealedByKey()).to.deep.equal({ k2: 2 * N, k3: 1 });
        const page = await stores.a.resealPage({ collection: 'secrets' }, 100);
        expect(page).to.include({ unreadable: 1, resealed: 0 });
        const raw = await k3.getSecret('r', 'stray');
        expect(raw?.values).to.deep.equal({ key_1: 'credential-stray' }); // left as it was
      } finally {
        await k3.close();
      }
    });
  });
});
