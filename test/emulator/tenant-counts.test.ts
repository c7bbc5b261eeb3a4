/**
 * A platform secret's tenants on its status row (platforms/tenant-counts.ts over Store.countChildren),
 * on the memory store and on Firestore (the run's emulator), from the same seed: 120 companies
 * authorized, one ended by the platform (a tombstone), one whose refresh token the engine gave up
 * (NEEDS_REAUTHORIZATION), a secret of the same realm with no parent and another platform's
 * tenant, neither counted. On Firestore the count costs at most 4 document reads however many
 * tenants there are (count() aggregations, counted below the store: helpers/firestore-reads.ts),
 * and the same again with another 120 tenants.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { getApps, type App } from 'firebase-admin/app';
import { getFirestore, type Firestore } from 'firebase-admin/firestore';
import { NEEDS_REAUTHORIZATION } from '../../functions/platforms/authorizer-secrets';
import { tenantCounts } from '../../functions/platforms/tenant-counts';
import { encodeSecret, encodeTokenState } from '../../functions/store/codec';
import { openStore } from '../../functions/store/open-store';
import { Sealer } from '../../functions/store/seal';
import { COLLECTIONS, parentRef, secretDocId, type Store } from '../../functions/store/store';
import type { SecretRecord, TokenState } from '../../functions/store/types';
import { freshState } from '../../functions/token/decide';
import { emulatorHostFromEnv } from '../helpers/emulator';
import { countFirestoreReads } from '../helpers/firestore-reads';
import { TEST_PROJECT_ID } from '../helpers/processes';
import { putFreshSecret } from '../helpers/test-store';

const sealer = new Sealer(Buffer.alloc(32, 7));

describe('platform tenants counted for status (memory store and Firestore)', function () {
  this.timeout(60_000);
  const sfx = randomBytes(3).toString('hex');
  const PLATFORM = `tcsuite${sfx}`;
  const TENANTS = `tccorp${sfx}`;
  const OTHER = `tcother${sfx}`;
  const stores: Store[] = [];
  after(async () => {
    for (const s of stores) await s.close();
  });

  const secret = (realm: string, key: string, parent?: string): SecretRecord => {
    const now = Date.now();
    return {
      realm,
      key,
      values: { key_1: key },
      ...(parent === undefined ? {} : { parent }),
      rev: `rev-${key}`,
      createdAt: now,
      updatedAt: now,
    };
  };
  const parent = parentRef(PLATFORM, 'suite');

  /**
   * The seed: secrets, and the token states of the ones that have one (the tenant whose refresh
   * token was given up), written by `write` (the memory store: its own writes; Firestore: one bulk
   * write of the encoded documents, the store's own encoding).
   */
  async function seed(
    authorized: number,
    write: (secrets: SecretRecord[], tokens: TokenState[]) => Promise<void>,
    prefix = 'corp',
  ): Promise<void> {
    const now = Date.now();
    const givenUp = secret(TENANTS, `${prefix}givenup`, parent);
    await write(
      [
        ...(prefix === 'corp'
          ? [
              secret(PLATFORM, 'suite'),
              secret(PLATFORM, 'other'),
              {
                ...secret(TENANTS, 'ended', parent),
                values: {},
                revoked: { at: now, reason: 'cancel_auth' },
              },
              givenUp,
              secret(TENANTS, 'noparent'),
              secret(OTHER, 'corp0', parentRef(PLATFORM, 'other')),
            ]
          : []),
        ...Array.from({ length: authorized }, (_, i) => secret(TENANTS, `${prefix}${i}`, parent)),
      ],
      prefix === 'corp'
        ? [
            {
              ...freshState(TENANTS, givenUp.key, givenUp.rev, null),
              lastError: {
                at: now,
                code: NEEDS_REAUTHORIZATION,
                message: 'refresh token rejected',
                permanent: true,
              },
            },
          ]
        : [],
    );
  }

  const expected = (authorized: number) => ({
    total: authorized + 2,
    authorized,
    unauthorized: 1,
    needs_reauthorization: 1,
  });
  /** The other platform: its one tenant, authorized. */
  const OTHER_COUNTS = { total: 1, authorized: 1, unauthorized: 0, needs_reauthorization: 0 };
  const countsOf = async (store: Store) => {
    const rows = [
      { realm: PLATFORM, key: 'suite' },
      { realm: PLATFORM, key: 'other' },
    ];
    const counts = await tenantCounts(store, rows);
    return {
      suite: counts.get(secretDocId(PLATFORM, 'suite'))?.tenants,
      other: counts.get(secretDocId(PLATFORM, 'other'))?.tenants,
    };
  };

  it('counts the memory store’s tenants by state', async () => {
    const store = openStore(
      { store: 'memory', projectId: TEST_PROJECT_ID, emulatorHost: undefined },
      sealer,
      `tc-mem-${sfx}`,
    );
    stores.push(store);
    const now = Date.now();
    for (const id of [PLATFORM, TENANTS, OTHER]) {
      await store.putRealm({ id, comment: '', config: {}, createdAt: now, updatedAt: now });
    }
    await seed(120, async (secrets, tokens) => {
      for (const s of secrets) await putFreshSecret(store, s);
      for (const t of tokens) await store.mutateTokenState(t.realm, t.key, () => ({ next: t, result: null }));
    });
    const counts = await countsOf(store);
    expect(counts.suite).to.deep.equal(expected(120));
    expect(counts.other).to.deep.equal(OTHER_COUNTS);
  });

  it('counts Firestore’s tenants with count() aggregations: at most 4 reads a platform, whatever the tenants', async () => {
    const host = emulatorHostFromEnv();
    const name = `tc-fs-${sfx}`;
    const store = openStore(
      {
        store: 'firestore',
        projectId: TEST_PROJECT_ID,
        emulatorHost: host,
        // A cold emulator on a loaded machine can take longer than the default to answer at first.
        storeTimeoutMs: 30_000,
      },
      sealer,
      name,
    );
    stores.push(store);
    const app: App | undefined = getApps().find((a) => a.name === name);
    if (app === undefined) throw new Error(`no Firebase app ${name}`);
    const db: Firestore = getFirestore(app);
    const bulk = async (secrets: SecretRecord[], tokens: TokenState[]): Promise<void> => {
      const writer = db.bulkWriter();
      const doc = (collection: string, realm: string, key: string) =>
        db.collection(collection).doc(secretDocId(realm, key));
      for (const s of secrets)
        void writer.set(doc(COLLECTIONS.secrets, s.realm, s.key), encodeSecret(s, sealer));
      for (const t of tokens)
        void writer.set(doc(COLLECTIONS.tokens, t.realm, t.key), encodeTokenState(t, sealer));
      await writer.close();
    };
    await seed(120, bulk);
    const counter = countFirestoreReads(db);
    try {
      const counts = await countsOf(store);
      expect(counts.suite).to.deep.equal(expected(120));
      expect(counts.other).to.deep.equal(OTHER_COUNTS);
      expect(counter.reads, 'document reads for two platform rows').to.be.at.most(8);
      await seed(120, bulk, 'more');
      counter.reset();
      expect((await countsOf(store)).suite).to.deep.equal(expected(240));
      expect(counter.reads, 'document reads for two platform rows, twice the tenants').to.be.at.most(8);
    } finally {
      counter.restore();
    }
  });
});
