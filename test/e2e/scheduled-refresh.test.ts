/**
 * tokenServerRefresh as deployed code: the real export of lib/functions/index.js served by the stock
 * Functions Framework, called the way Cloud Scheduler calls it, refreshing a token in Firestore (the
 * emulator) from the fake provider.
 */
import { expect } from 'chai';
import type { Store } from '../../functions/store/store';
import { realmFor, startFakeProvider, type FakeProvider } from '../fakes/providers';
import { clearEmulator, emulatorHostFromEnv } from '../helpers/emulator';
import { request } from '../helpers/http';
import { startFunction, testEnv, type FunctionProcess, type TestEnv } from '../helpers/processes';
import { openTestStore, putFreshSecret } from '../helpers/test-store';

const SCHEDULER_HEADERS = {
  'X-CloudScheduler-JobName': 'firebase-schedule-tokenServerRefresh-us-central1',
  'X-CloudScheduler-ScheduleTime': '2026-11-24T08:00:00Z',
};

describe('tokenServerRefresh under the Functions Framework (emulator)', function () {
  this.timeout(120_000);
  let env: TestEnv;
  let fake: FakeProvider;
  let store: Store;
  let proc: FunctionProcess | undefined;

  before(async () => {
    emulatorHostFromEnv();
    env = testEnv({ store: 'firestore' });
    store = openTestStore(env, 'scheduled-e2e');
    fake = await startFakeProvider();
    await clearEmulator(env.emulatorHost ?? '', env.projectId);
  });

  after(async () => {
    await proc?.stop();
    await fake.close();
    await store.close();
    // Later suites share the emulator: leave it empty (these documents are sealed under this env's key).
    await clearEmulator(env.emulatorHost ?? '', env.projectId);
  });

  it('refreshes a due token when Cloud Scheduler calls it, and does nothing while the token is valid', async () => {
    // Any request runs the job; the readiness probe runs it once on an empty database.
    proc = await startFunction({ target: 'tokenServerRefresh', env: env.env });

    const now = Date.now();
    const config = realmFor('wechat_offiaccount', fake.url);
    await store.putRealm({ id: 'wx', comment: '', config, createdAt: now, updatedAt: now });
    await putFreshSecret(store, {
      realm: 'wx',
      key: 'main',
      values: fake.credentials('wechat_offiaccount'),
      rev: 'rev-1',
      createdAt: now,
      updatedAt: now,
    });

    const first = await request(`${proc.url}/`, { method: 'POST', headers: SCHEDULER_HEADERS });
    expect(first.status, first.text).to.equal(200);
    expect(fake.calls()).to.equal(1);
    const state = await store.getTokenState('wx', 'main');
    expect(state?.token).to.equal(fake.currentToken('wechat_offiaccount'));

    const second = await request(`${proc.url}/`, { method: 'POST', headers: SCHEDULER_HEADERS });
    expect(second.status).to.equal(200);
    expect(fake.calls()).to.equal(1);

    const runs = proc.logs
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((entry) => entry.event === 'scheduled_refresh');
    expect(
      runs.some((r) => r.refreshed === 1 && r.job === SCHEDULER_HEADERS['X-CloudScheduler-JobName']),
    ).to.equal(true);
    expect(proc.logs.join('\n')).to.not.include(fake.credentials('wechat_offiaccount').key_2 ?? '(none)');
  });
});
