/**
 * Waiters on real Firestore (emulator) are woken by a snapshot listener when the lease holder
 * writes: the waiter runs in another process with a clock whose sleeps never end, so it can only be
 * answered through its listener; it never calls the provider, and its listener is closed after.
 */
import { join } from 'node:path';
import { expect } from 'chai';
import { systemClock } from '../../functions/clock';
import { openStore } from '../../functions/store/open-store';
import { Sealer } from '../../functions/store/seal';
import type { Store } from '../../functions/store/store';
import { clearEmulator, emulatorHostFromEnv } from '../helpers/emulator';
import { readLines, repoRoot, spawnTracked, TEST_PROJECT_ID } from '../helpers/processes';
import { deferred, makeEngine, MASTER, ScriptedProvider, seed } from '../unit/engine/engine-harness';
import { ManualClock } from '../../functions/clock';

type Line = { event: string; at?: number; token?: string; message?: string; openWatches?: number };

describe('waiters woken by a Firestore listener (emulator, two processes)', function () {
  this.timeout(60_000);
  let store: Store;
  const projectId = process.env.GOOGLE_CLOUD_PROJECT || TEST_PROJECT_ID;

  before(() => {
    store = openStore(
      { store: 'firestore', projectId, emulatorHost: emulatorHostFromEnv() },
      new Sealer(MASTER),
      'waiter-wake',
    );
  });
  beforeEach(async () => {
    await clearEmulator(emulatorHostFromEnv(), projectId);
    await seed(store, new ManualClock(Date.now()));
  });
  after(async () => store.close());

  it('hands the holder’s token to a waiter in another process through its listener', async () => {
    const gate = deferred();
    const provider = new ScriptedProvider().then({ token: 'written-by-the-holder', gate: gate.promise });
    const holder = makeEngine(store, systemClock, provider, { instanceId: 'holder' });
    const held = holder.getToken({ realm: 'wx', key: 's1' });
    while (provider.calls === 0) await new Promise((resolve) => setTimeout(resolve, 10));

    const lines: Line[] = [];
    const waiter = spawnTracked(
      process.execPath,
      [join(repoRoot(), 'lib', 'test', 'fakes', 'waiter-main.js'), 'wx', 's1'],
      {
        env: {
          ...process.env,
          METADATA_SERVER_DETECTION: 'none',
          GOOGLE_CLOUD_PROJECT: projectId,
          WAITER_MASTER_KEY: MASTER.toString('base64'),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const errors: string[] = [];
    readLines(waiter.child, (line, stream) => {
      if (stream === 'stderr') errors.push(line);
      else if (line.startsWith('{')) lines.push(JSON.parse(line) as Line);
    });
    const seen = async (test: (l: Line[]) => boolean) => {
      const deadline = Date.now() + 30_000;
      while (!test(lines) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(test(lines), `waiter said ${JSON.stringify(lines)} ${errors.join('\n')}`).to.equal(true);
    };
    // The waiter found the lease, started its listener and got its first snapshot (the lease).
    await seen((l) => l.some((x) => x.event === 'change'));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(lines.some((x) => x.event === 'served')).to.equal(false);

    gate.resolve();
    expect((await held).token).to.equal('written-by-the-holder');
    const written = Date.now();
    await seen((l) => l.some((x) => x.event === 'served' || x.event === 'failed'));
    const exit = await waiter.exited;
    const served = lines.find((x) => x.event === 'served');
    expect(served?.token, JSON.stringify(lines)).to.equal('written-by-the-holder');
    // Woken by the listener's report of the write (a second snapshot), the only way its clock allows.
    const changes = lines.filter((x) => x.event === 'change');
    expect(changes.length).to.be.at.least(2);
    expect(provider.calls).to.equal(1);
    // The listener was closed when the wait ended, and the process ended by itself.
    expect(served?.openWatches).to.equal(0);
    expect(exit.code, errors.join('\n')).to.equal(0);
    // For the record (not asserted: machine speed): the write's arrival at the other process.
    process.stdout.write(
      `      (token in the waiter process ${(served?.at ?? 0) - written} ms after the holder's write returned)\n`,
    );
  });
});
