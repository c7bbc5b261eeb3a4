/**
 * `quota.foreign_use` (README "When another system fetches your token"): a fake WeChat on 127.0.0.1
 * counts its /cgi-bin/token calls per UTC+8 day and answers quota/get with that count plus what
 * "another system" fetched. The hourly check that first finds more calls than the broker's writes
 * the event's outbox entry in the same commit as the status change; later checks that day (one of
 * them failing at WeChat) send nothing more; the next day's foreign use is a new event. Delivered to
 * a local receiver that checks the signature itself, while down and then up (retried by the sweep).
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseConfig } from '../../functions/config';
import { OUTBOX_COLLECTION } from '../../functions/ops/ops-store';
import { checkQuotas } from '../../functions/quota/check';
import { createRuntime, type Runtime } from '../../functions/runtime';
import { MemoryStore } from '../../functions/store/memory/memory-store';
import { Sealer } from '../../functions/store/seal';
import type { SideWrite } from '../../functions/store/side-writes';
import { wechatDay } from '../../functions/token/quota-day-count';
import { startWebhookReceiver, type WebhookReceiver } from '../fakes/webhook-receiver';
import { registerSecret } from '../helpers/leak-registry';
import { seedQuotaSecret } from '../helpers/quota-seed';

describe('quota.foreign_use webhook (fake WeChat, local receiver)', function () {
  this.timeout(20_000);
  let server: Server;
  let receiver: WebhookReceiver;
  let runtime: Runtime;
  let store: MemoryStore;
  // 09:00 in UTC+8: WeChat's day does not turn for the first hours of the test.
  let clockNow = Date.parse('2026-12-07T01:00:00.000Z');
  const clock = { now: () => clockNow, sleep: async () => undefined };
  const tokenCalls = new Map<string, number>();
  const foreignCalls = new Map<string, number>();
  let quotaFails = false;
  /** Every outbox entry committed (the event ids, in commit order). */
  const committedEvents: string[] = [];

  const check = () => checkQuotas({ store: runtime.store, allowPrivateUpstreams: true, instanceId: 't' });
  const token = () => runtime.engine.getToken({ realm: 'wx', key: 'main' });
  const outboxEntries = () => [...(store.sideDocs.get(OUTBOX_COLLECTION)?.values() ?? [])];
  async function until(what: string, done: () => boolean): Promise<void> {
    for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setTimeout(r, 25));
    expect(done(), what).to.equal(true);
  }

  before(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const day = wechatDay(clockNow);
      res.setHeader('content-type', 'application/json');
      if (url.pathname === '/cgi-bin/token') {
        tokenCalls.set(day, (tokenCalls.get(day) ?? 0) + 1);
        res.end(
          JSON.stringify({
            access_token: `quota-hook-token-${randomBytes(8).toString('hex')}`,
            expires_in: 7200,
          }),
        );
      } else if (url.pathname === '/cgi-bin/openapi/quota/get') {
        if (quotaFails) {
          res.end(JSON.stringify({ errcode: 45009, errmsg: 'reach max api daily quota limit' }));
          return;
        }
        const used = (tokenCalls.get(day) ?? 0) + (foreignCalls.get(day) ?? 0);
        res.end(JSON.stringify({ errcode: 0, quota: { daily_limit: 2000, used, remain: 2000 - used } }));
      } else res.end(JSON.stringify({ errcode: 404 }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    receiver = await startWebhookReceiver({ now: () => clockNow });
    const masterKey = randomBytes(32);
    store = new MemoryStore(new Sealer(masterKey), clock);
    runtime = await createRuntime(
      parseConfig({ TOKEN_SERVER_STORE: 'memory', TOKEN_SERVER_ALLOW_PRIVATE_UPSTREAMS: 'true' }),
      { keys: { adminKey: 'a'.repeat(40), masterKey, problems: {} }, store, clock },
    );
    const hook = store.tokenHook;
    if (hook === undefined) throw new Error('the runtime set no token hook');
    store.tokenHook = {
      writesFor: (before, after, now) => hook.writesFor(before, after, now),
      committed: (writes: SideWrite[]) => {
        committedEvents.push(...writes.filter((w) => w.collection === OUTBOX_COLLECTION).map((w) => w.id));
        hook.committed(writes);
      },
    };
    const appSecret = `quota-hook-app-secret-${randomBytes(12).toString('hex')}`;
    registerSecret(appSecret, 'credential', 'quota-webhook.test');
    await seedQuotaSecret(
      store,
      `${base}/cgi-bin/token`,
      { key_1: 'wxquotahook01', key_2: appSecret },
      clockNow,
    );
    receiver.secret = `whsec_${randomBytes(32).toString('base64url')}`;
    registerSecret(receiver.secret, 'webhook secret', 'quota-webhook.test');
    await runtime.ops.store.createWebhook(
      {
        id: 'wh_quotaforeignuse000000',
        url: receiver.url,
        events: ['quota.foreign_use'],
        comment: '',
        secret: receiver.secret,
        createdAt: clockNow,
      },
      [],
    );
  });
  after(async () => {
    await receiver.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('sends one event per day and secret, in the commit that finds it, delivered once with a valid signature', async () => {
    const day1 = wechatDay(clockNow);
    await token();
    expect(await check()).to.deep.equal({ checked: 1, foreign: 0 });
    expect(committedEvents).to.deep.equal([]);

    // Another system fetched 3 tokens with the same appid; the receiver is down.
    foreignCalls.set(day1, 3);
    receiver.mode = 'down';
    clockNow += 3_600_000;
    await token();
    expect(await check()).to.deep.equal({ checked: 1, foreign: 1 });
    expect(committedEvents).to.have.length(1);
    const brokerCalls = tokenCalls.get(day1) ?? 0;
    // The status change and the event's outbox entry are one commit: both there, the entry pending.
    const state = await store.getTokenState('wx', 'main');
    expect(state?.quotaCheck?.foreign).to.equal(true);
    expect(state?.quotaCheck?.foreignReported).to.equal(day1);
    await until('the immediate attempt reached the receiver', () => receiver.arrived.length === 1);
    const pending = outboxEntries();
    expect(pending.map((d) => [d.id, d.type])).to.deep.equal([[committedEvents[0], 'quota.foreign_use']]);

    // The next hour WeChat's quota/get fails; the hour after, it answers foreign use again: no new event.
    receiver.mode = 'up';
    quotaFails = true;
    clockNow += 3_600_000;
    await token();
    expect(await check()).to.deep.equal({ checked: 1, foreign: 0 });
    quotaFails = false;
    clockNow += 3_600_000;
    await token();
    expect(await check()).to.deep.equal({ checked: 1, foreign: 1 });
    expect(committedEvents).to.have.length(1);
    expect((await store.getTokenState('wx', 'main'))?.quotaCheck?.foreignReported).to.equal(day1);

    // The sweep retries the pending entry: delivered, the same id, the signature checked by the receiver.
    await runtime.ops.sweep();
    await until('the retry was acknowledged', () => receiver.acked.length === 1);
    expect(receiver.badSignatures).to.equal(0);
    const [sent] = receiver.acked;
    expect(sent?.id).to.equal(committedEvents[0]);
    expect(sent?.type).to.equal('quota.foreign_use');
    expect(sent?.data).to.deep.equal({
      realm: 'wx',
      key: 'main',
      day: day1,
      wechat_used: brokerCalls + 3,
      broker_calls: brokerCalls,
    });
    expect(outboxEntries()).to.deep.equal([]);

    // WeChat's next day: foreign use again is a new episode, a new event.
    clockNow += 86_400_000;
    const day2 = wechatDay(clockNow);
    expect(day2).to.not.equal(day1);
    foreignCalls.set(day2, 1);
    await token();
    expect(await check()).to.deep.equal({ checked: 1, foreign: 1 });
    expect(committedEvents).to.have.length(2);
    await until('the second day was delivered', () => receiver.acked.length === 2);
    expect(receiver.acked[1]?.data.day).to.equal(day2);
    expect(receiver.acked[1]?.id).to.not.equal(committedEvents[0]);
    expect(receiver.unique().size).to.equal(2);
    expect(receiver.badSignatures).to.equal(0);
  });
});
