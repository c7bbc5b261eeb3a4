/**
 * The test harness itself: the emulator that `npm test` provides answers, clearEmulator really
 * empties the project, and an emulator the test owns can be stopped and restarted on its port
 * (what fault tests rely on).
 */
import assert from 'node:assert/strict';
import { deleteApp, initializeApp, type App } from 'firebase-admin/app';
import { getFirestore, type Firestore } from 'firebase-admin/firestore';
import {
  clearEmulator,
  emulatorHostFromEnv,
  startEmulator,
  type FirestoreEmulator,
} from '../helpers/emulator';
import { testProjectId } from '../helpers/processes';

async function answers(host: string): Promise<boolean> {
  try {
    const res = await fetch(`http://${host}/`, { signal: AbortSignal.timeout(2000) });
    await res.text();
    return res.status === 200;
  } catch {
    return false;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('test harness: Firestore emulator', function () {
  let host: string;
  let app: App;
  let db: Firestore;

  before(function () {
    host = emulatorHostFromEnv();
    app = initializeApp({ projectId: testProjectId() }, `harness-${process.pid}`);
    db = getFirestore(app);
  });

  after(async function () {
    await deleteApp(app);
  });

  it('answers at FIRESTORE_EMULATOR_HOST', async function () {
    assert.equal(await answers(host), true, `no emulator answering at ${host}`);
  });

  it('clearEmulator empties collections written with firebase-admin', async function () {
    const collection = db.collection('harness');
    await Promise.all([collection.doc('a').set({ n: 1 }), collection.doc('b').set({ n: 2 })]);
    assert.equal((await collection.get()).size, 2);

    await clearEmulator(host, testProjectId());

    assert.equal((await collection.get()).size, 0);
    assert.equal((await collection.doc('a').get()).exists, false);
  });

  describe('an emulator owned by the test', function () {
    this.timeout(120_000);
    let own: FirestoreEmulator | undefined;

    after(async function () {
      if (own?.running) await own.stop();
    });

    it('stops by its pid and restarts on the same port', async function () {
      own = await startEmulator();
      const firstPid = own.pid;
      assert.ok(firstPid !== undefined && firstPid > 0);
      assert.equal(await answers(own.host), true);

      await own.stop();
      assert.equal(own.running, false);
      assert.equal(isAlive(firstPid), false, 'the emulator JVM is still running after stop()');
      assert.equal(await answers(own.host), false, 'something still answers on the port after stop()');

      await own.start();
      assert.notEqual(own.pid, firstPid);
      assert.equal(await answers(own.host), true, 'no answer on the same port after start()');
    });
  });
});
