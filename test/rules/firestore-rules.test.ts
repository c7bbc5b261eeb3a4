/**
 * firestore.rules refuses every client: signed in or not, for get, list and write, on every
 * collection the Admin SDK uses and on any other. Data seeded past the rules stays unreadable.
 * A control run against allow-all rules shows that these checks do fail when a rule is open.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  assertFails,
  assertSucceeds,
  initializeTestEnvironment,
  type RulesTestContext,
  type RulesTestEnvironment,
} from '@firebase/rules-unit-testing';
import { setLogLevel } from 'firebase/firestore';
import { emulatorHostFromEnv } from '../helpers/emulator';
import { repoRoot } from '../helpers/processes';

const COLLECTIONS = ['realms', 'secrets', 'tokens', 'clients', 'clientKeys', 'some-other-collection'];
const SEEDED_ID = 'seeded';

type Firestore = ReturnType<RulesTestContext['firestore']>;

function emulatorAddress(): { host: string; port: number } {
  const hostPort = emulatorHostFromEnv();
  const colon = hostPort.lastIndexOf(':');
  return { host: hostPort.slice(0, colon), port: Number(hostPort.slice(colon + 1)) };
}

async function environment(projectId: string, rules: string): Promise<RulesTestEnvironment> {
  return initializeTestEnvironment({ projectId, firestore: { ...emulatorAddress(), rules } });
}

async function seed(env: RulesTestEnvironment): Promise<void> {
  await env.withSecurityRulesDisabled(async (ctx) => {
    const db = ctx.firestore();
    for (const name of COLLECTIONS) {
      await db.collection(name).doc(SEEDED_ID).set({ realm: 'wxgzh', value: 'v1.sealed' });
    }
  });
}

/** Every client operation on one collection: each must be refused by the rules. */
function operations(db: Firestore, name: string): Record<string, () => Promise<unknown>> {
  const collection = db.collection(name);
  return {
    get: () => collection.doc(SEEDED_ID).get(),
    'get a missing document': () => collection.doc('missing').get(),
    list: () => collection.get(),
    query: () => collection.where('realm', '==', 'wxgzh').get(),
    'collection group': () => db.collectionGroup(name).get(),
    create: () => collection.doc('new').set({ a: 1 }),
    'create with a generated id': () => collection.add({ a: 1 }),
    update: () => collection.doc(SEEDED_ID).update({ value: 'changed' }),
    overwrite: () => collection.doc(SEEDED_ID).set({ value: 'changed' }),
    delete: () => collection.doc(SEEDED_ID).delete(),
  };
}

describe('firestore.rules', function () {
  this.timeout(60_000);
  const rules = readFileSync(join(repoRoot(), 'firestore.rules'), 'utf8');
  let env: RulesTestEnvironment;

  before(async function () {
    // Every refused request would otherwise log a PERMISSION_DENIED warning.
    setLogLevel('error');
    env = await environment('demo-token-server-rules', rules);
  });

  beforeEach(async function () {
    await env.clearFirestore();
    await seed(env);
  });

  after(async function () {
    await env?.cleanup();
  });

  const clients: Record<string, () => RulesTestContext> = {
    'an unauthenticated client': () => env.unauthenticatedContext(),
    'a signed-in client': () => env.authenticatedContext('alice', { email: 'alice@example.com' }),
    'a signed-in client claiming admin': () =>
      env.authenticatedContext('mallory', { admin: true, role: 'admin' }),
  };

  for (const [who, context] of Object.entries(clients)) {
    for (const name of COLLECTIONS) {
      it(`refuses ${who} every read and write on ${name}`, async function () {
        const db = context().firestore();
        for (const [operation, run] of Object.entries(operations(db, name))) {
          await assertFails(run()).catch((err: unknown) => {
            throw new Error(`${who}: ${operation} on ${name} was allowed`, { cause: err });
          });
        }
      });
    }
  }

  it('keeps data seeded past the rules unchanged and unreadable to clients', async function () {
    const db = env.unauthenticatedContext().firestore();
    await assertFails(db.collection('secrets').doc(SEEDED_ID).update({ value: 'changed' }));
    await assertFails(db.collection('secrets').doc(SEEDED_ID).get());
    await env.withSecurityRulesDisabled(async (ctx) => {
      const snap = await assertSucceeds(ctx.firestore().collection('secrets').doc(SEEDED_ID).get());
      assert.equal(snap.exists, true);
      assert.deepEqual(snap.data(), { realm: 'wxgzh', value: 'v1.sealed' });
    });
  });

  describe('control: allow-all rules', function () {
    let open: RulesTestEnvironment;

    before(async function () {
      const allowAll =
        "rules_version = '2';\nservice cloud.firestore {\n  match /databases/{database}/documents {\n" +
        '    match /{document=**} { allow read, write: if true; }\n  }\n}\n';
      open = await environment('demo-token-server-rules-open', allowAll);
      await open.clearFirestore();
      await seed(open);
    });

    after(async function () {
      await open?.cleanup();
    });

    it('makes the same checks fail, so they can detect an open rule', async function () {
      const db = open.unauthenticatedContext().firestore();
      for (const [operation, run] of Object.entries(operations(db, 'secrets'))) {
        await assert.rejects(assertFails(run()), `assertFails passed for ${operation} under allow-all rules`);
      }
    });
  });
});
