/**
 * The scheduled refresh at scale, on the Firestore emulator: its document reads (counted in the
 * Firestore client, below the store) grow with the due tokens, not with the secrets; documents
 * written by the previous version (without `dueAt`) are backfilled and refreshed, not lost.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { getFirestore, type Firestore } from 'firebase-admin/firestore';
import { getApps } from 'firebase-admin/app';
import { systemClock } from '../../functions/clock';
import { parseConfig } from '../../functions/config';
import { refreshDueTokens } from '../../functions/engine/refresh-due';
import { freshState } from '../../functions/token/decide';
import { setLogSink } from '../../functions/log';
import { createRuntime, type Runtime } from '../../functions/runtime';
import { runScheduledRefresh } from '../../functions/scheduled';
import { encodeSecret, encodeTokenState } from '../../functions/store/codec';
import { openStore } from '../../functions/store/open-store';
import { Sealer } from '../../functions/store/seal';
import { BACKFILL_DOC, COLLECTIONS, secretDocId, type Store } from '../../functions/store/store';
import { realmFor, startFakeProvider, type FakeProvider } from '../fakes/providers';
import { clearEmulator, emulatorHostFromEnv } from '../helpers/emulator';
import { countFirestoreReads, type ReadCounter } from '../helpers/firestore-reads';
import { TEST_PROJECT_ID } from '../helpers/processes';

const REALM = 'wecom';
const RUN = { scheduleTime: '2026-11-24T00:00:00Z' };
const HOUR = 3_600_000;

describe('due scan on the Firestore emulator', function () {
  this.timeout(180_000);
  const masterKey = randomBytes(32);
  const sealer = new Sealer(masterKey);
  const projectId = process.env.GOOGLE_CLOUD_PROJECT || TEST_PROJECT_ID;
  let host: string;
  let fake: FakeProvider;
  let counter: ReadCounter;
  let store: Store;
  const stores: Store[] = [];
  let db: Firestore;
  let restoreSink: (() => void) | undefined;

  before(async () => {
    host = emulatorHostFromEnv();
    fake = await startFakeProvider();
    const previous = setLogSink(() => undefined);
    restoreSink = () => setLogSink(previous);
  });
  after(async () => {
    counter?.restore();
    restoreSink?.();
    await fake.close();
    for (const s of stores) await s.close();
  });

  /** A fresh database, a fresh store instance (nothing cached) and its runtime. */
  async function fresh(name: string): Promise<Runtime> {
    await clearEmulator(host, projectId);
    fake.reset();
    store = openStore({ store: 'firestore', projectId, emulatorHost: host }, sealer, `due-scan-${name}`);
    stores.push(store);
    db = getFirestore(getApps().find((a) => a.name === `due-scan-${name}`)!);
    counter?.restore();
    counter = countFirestoreReads(db);
    const now = Date.now();
    await store.putRealm({
      id: REALM,
      comment: '',
      config: realmFor('wecom', fake.url),
      createdAt: now,
      updatedAt: now,
    });
    const config = parseConfig({
      TOKEN_SERVER_STORE: 'memory',
      TOKEN_SERVER_ALLOW_PRIVATE_UPSTREAMS: 'true',
    });
    return createRuntime(config, { keys: { masterKey, problems: {} }, store, clock: systemClock });
  }

  /**
   * Secrets with their token documents, written in bulk: `due` never fetched (due now), `notDue`
   * holding a token that falls due in an hour.
   */
  async function seed(due: number, notDue: number, options: { withoutDueAt?: boolean } = {}) {
    const now = Date.now();
    const writer = db.bulkWriter();
    const values = fake.credentials('wecom');
    for (let i = 0; i < due + notDue; i++) {
      const key = `${i < due ? 'due' : 'later'}-${String(i).padStart(6, '0')}`;
      const rev = `rev-${key}`;
      const id = secretDocId(REALM, key);
      void writer.set(
        db.collection(COLLECTIONS.secrets).doc(id),
        encodeSecret({ realm: REALM, key, values, rev, createdAt: now, updatedAt: now }, sealer),
      );
      const state =
        i < due
          ? freshState(REALM, key, rev, null)
          : {
              ...freshState(REALM, key, rev, null),
              token: `token-${key}`,
              fetchedAt: now,
              expiresAt: now + 2 * HOUR,
              refreshAt: now + HOUR,
            };
      const doc = encodeTokenState(state, sealer);
      if (options.withoutDueAt === true) delete doc.dueAt;
      void writer.set(db.collection(COLLECTIONS.tokens).doc(id), doc);
    }
    await writer.close();
  }

  it('reads the same for 50 due secrets alone and for 50 due among 2,000 that are not', async () => {
    const reads: number[] = [];
    const idleReads: number[] = [];
    for (const notDue of [0, 2_000]) {
      const runtime = await fresh(`reads-${notDue}`);
      await seed(50, notDue);
      // A deployment past its one-time dueAt backfill (the next test covers the backfill itself).
      await db.collection(COLLECTIONS.meta).doc(BACKFILL_DOC).set({ done: true });
      counter.reset();
      const summary = await runScheduledRefresh(runtime, RUN);
      reads.push(counter.reads);
      expect(summary).to.deep.equal({ refreshed: 50, failed: 0, skipped: 0, complete: true });
      expect(fake.calls()).to.equal(50);
      // Nothing is due any more: the next run reads one (empty) page, the probe pass its cursor and
      // its (empty) query for realms with a probe, the quota check its query, the webhook outbox
      // sweep its clock and its query: a constant, whatever the number of secrets.
      counter.reset();
      expect((await runScheduledRefresh(runtime, RUN)).refreshed).to.equal(0);
      idleReads.push(counter.reads);
      expect(counter.reads).to.be.at.most(8);
    }
    expect(idleReads[1], `idle runs read ${idleReads.join(' and ')}`).to.equal(idleReads[0]);
    // Per due token a constant (secret, realm, lease and result reads); per run a page overhead.
    const [alone, among] = reads as [number, number];
    expect(alone).to.be.at.least(50);
    expect(Math.abs(among - alone), `reads: ${alone} vs ${among}`).to.be.at.most(2);
  });

  it('backfills documents written without dueAt, a bounded number per run, and refreshes the due ones', async () => {
    const runtime = await fresh('backfill');
    await seed(3, 4, { withoutDueAt: true });
    const run = () =>
      refreshDueTokens({
        store,
        clock: systemClock,
        refreshOne: (realm, key) => runtime.engine.refreshOne(realm, key),
        concurrency: 4,
        budgetMs: 30_000,
        backfillPerRun: 3,
      });
    const summaries = [await run(), await run(), await run()];
    // Runs 1-2 give 3 documents each their due time (the 3 due ones come first by id), run 3 the last.
    expect(summaries.map((s) => s.refreshed)).to.deep.equal([3, 0, 0]);
    expect(fake.calls()).to.equal(3);
    const docs = await db.collection(COLLECTIONS.tokens).get();
    expect(docs.docs.every((d) => typeof d.get('dueAt') === 'number')).to.equal(true);
    const later = docs.docs.filter((d) => d.id.includes('later'));
    for (const d of later) expect(d.get('dueAt')).to.equal(d.get('refreshAt'));
    expect((await db.collection(COLLECTIONS.meta).doc(BACKFILL_DOC).get()).get('done')).to.equal(true);
    // Finished: a later call reads nothing.
    counter.reset();
    expect(await store.backfillDueTimes(3)).to.deep.equal({ scanned: 0, updated: 0, done: true });
    expect(counter.reads).to.equal(0);
  });
});
