/**
 * The scheduled refresh (tokenServerRefresh's handler): due tokens are refreshed through the engine's
 * refreshDue, against a fake provider on loopback, with the memory store and a manual clock.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { ManualClock } from '../../functions/clock';
import { parseConfig } from '../../functions/config';
import { freshState } from '../../functions/token/decide';
import { AppError } from '../../functions/errors';
import type { ResolvedKeys } from '../../functions/keys/keys';
import { setLogSink } from '../../functions/log';
import { createRuntime, type Runtime } from '../../functions/runtime';
import {
  runScheduledRefresh,
  scheduledRefresh,
  SCHEDULED_REFRESH_CONCURRENCY,
} from '../../functions/scheduled';
import { MemoryStore } from '../../functions/store/memory/memory-store';
import { Sealer } from '../../functions/store/seal';
import { realmFor, startFakeProvider, type FakePresetName, type FakeProvider } from '../fakes/providers';

const RUN = {
  jobName: 'firebase-schedule-tokenServerRefresh-us-central1',
  scheduleTime: '2026-11-24T00:00:00Z',
};
const HOUR = 3_600_000;

type LogEntry = Record<string, unknown>;

/** What `promise` rejects with (undefined when it resolves). */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('scheduled refresh', function () {
  this.timeout(20_000);
  let fake: FakeProvider;
  let clock: ManualClock;
  let logs: LogEntry[];
  let restoreSink: (() => void) | undefined;

  before(async () => {
    clock = new ManualClock();
    fake = await startFakeProvider({ now: () => clock.now() });
  });
  after(async () => {
    await fake.close();
  });
  beforeEach(() => {
    clock.set(Date.UTC(2026, 10, 24, 0, 0, 0));
    fake.reset();
    logs = [];
    const previous = setLogSink((line) => logs.push(JSON.parse(line) as LogEntry));
    restoreSink = () => setLogSink(previous);
  });
  afterEach(() => restoreSink?.());

  async function makeRuntime(keys?: ResolvedKeys): Promise<Runtime> {
    const masterKey = randomBytes(32);
    const config = parseConfig({
      TOKEN_SERVER_STORE: 'memory',
      TOKEN_SERVER_ALLOW_PRIVATE_UPSTREAMS: 'true',
    });
    return createRuntime(config, {
      keys: keys ?? { masterKey, problems: { adminKey: 'not needed here' } },
      clock,
      store: new MemoryStore(new Sealer(masterKey), clock),
    });
  }

  async function seed(
    runtime: Runtime,
    realm: string,
    preset: FakePresetName,
    values = fake.credentials(preset),
  ): Promise<void> {
    const now = clock.now();
    const config = realmFor(preset, fake.url);
    await runtime.store.putRealm({ id: realm, comment: '', config, createdAt: now, updatedAt: now });
    await runtime.store.putSecret(
      { realm, key: 'main', values, rev: `rev-${realm}`, createdAt: now, updatedAt: now },
      (current) => freshState(realm, 'main', `rev-${realm}`, current),
    );
  }

  async function tokenOf(runtime: Runtime, realm: string): Promise<string | undefined> {
    return (await runtime.store.getTokenState(realm, 'main'))?.token;
  }

  /** Runs the schedule once and expects it to refresh `refreshed` tokens, complete, with no failure or skip. */
  async function expectCleanRun(runtime: Runtime, refreshed: number): Promise<void> {
    expect(await runScheduledRefresh(runtime, RUN)).to.deep.equal({
      refreshed,
      failed: 0,
      skipped: 0,
      complete: true,
    });
  }

  function runLogs(): LogEntry[] {
    return logs.filter((entry) => entry.event === 'scheduled_refresh');
  }

  it('fetches never-fetched tokens, skips valid ones, and refreshes them once they fall due', async () => {
    const runtime = await makeRuntime();
    await seed(runtime, 'wx', 'wechat_offiaccount');
    await seed(runtime, 'wecom', 'wecom');
    const refreshDue = runtime.engine.refreshDue.bind(runtime.engine);
    const concurrencies: Array<number | undefined> = [];
    runtime.engine.refreshDue = (concurrency, budgetMs) => {
      concurrencies.push(concurrency);
      return refreshDue(concurrency, budgetMs);
    };
    const handler = scheduledRefresh(async () => runtime);

    await handler(RUN);
    expect(fake.calls()).to.equal(2);
    const first = [await tokenOf(runtime, 'wx'), await tokenOf(runtime, 'wecom')];
    expect(first[0]).to.equal(fake.currentToken('wechat_offiaccount'));
    expect(first[1]).to.equal(fake.currentToken('wecom'));
    expect(runLogs()[0]).to.include({
      severity: 'INFO',
      outcome: 'ok',
      refreshed: 2,
      failed: 0,
      skipped: 0,
      job: RUN.jobName,
    });

    // A minute later nothing is due: the due query finds nothing, no upstream call.
    clock.advance(60_000);
    await expectCleanRun(runtime, 0);
    expect(fake.calls()).to.equal(2);

    // Two hours minus 30 s later both are due (the latest due time is 60 s before expiry).
    clock.advance(2 * HOUR - 90_000);
    await expectCleanRun(runtime, 2);
    expect(fake.calls()).to.equal(4);
    expect(await tokenOf(runtime, 'wx')).to.not.equal(first[0]);
    expect(concurrencies).to.deep.equal([
      SCHEDULED_REFRESH_CONCURRENCY,
      SCHEDULED_REFRESH_CONCURRENCY,
      SCHEDULED_REFRESH_CONCURRENCY,
    ]);
  });

  it('counts a provider failure without failing the run, and does not retry a permanent one every minute', async () => {
    const runtime = await makeRuntime();
    await seed(runtime, 'wx', 'wechat_offiaccount', { key_1: 'wrong-appid', key_2: 'wrong-secret' });
    await seed(runtime, 'wecom', 'wecom');
    const handler = scheduledRefresh(async () => runtime);

    await handler(RUN);
    expect(runLogs()[0]).to.include({ severity: 'WARNING', outcome: 'partial', refreshed: 1, failed: 1 });
    expect(await tokenOf(runtime, 'wecom')).to.be.a('string');
    const calls = fake.calls();

    // The wrong secret is never due for the schedule (token/due-time.ts), the other not yet.
    clock.advance(60_000);
    await expectCleanRun(runtime, 0);
    clock.advance(30 * 60_000);
    expect((await runScheduledRefresh(runtime, RUN)).refreshed).to.equal(0);
    expect(fake.calls()).to.equal(calls);
    expect(JSON.stringify(logs)).to.not.include('wrong-secret');
  });

  it('fails the run (so that Cloud Scheduler shows it) when no master key is configured', async () => {
    const runtime = await makeRuntime({ problems: { masterKey: 'No master key is configured (test)' } });
    const handler = scheduledRefresh(async () => runtime);
    const caught = await rejectionOf(handler(RUN));
    expect(caught).to.be.instanceOf(AppError);
    expect((caught as AppError).code).to.equal('NOT_READY');
    expect(runLogs()[0]).to.include({ severity: 'ERROR', outcome: 'not_ready' });
    expect(fake.calls()).to.equal(0);
  });

  it('fails the run when the runtime cannot be built, naming the problem but no value', async () => {
    const handler = scheduledRefresh(async () =>
      createRuntime(parseConfig({ TOKEN_SERVER_MASTER_KEY: 'not-base64-of-32-bytes' })),
    );
    const caught = await rejectionOf(handler(RUN));
    expect(caught).to.be.instanceOf(AppError);
    const entry = runLogs()[0];
    expect(entry).to.include({ severity: 'ERROR', outcome: 'not_ready', code: 'NOT_READY' });
    expect(String(entry?.message)).to.include('TOKEN_SERVER_MASTER_KEY');
    expect(JSON.stringify(logs)).to.not.include('not-base64-of-32-bytes');
  });
});
