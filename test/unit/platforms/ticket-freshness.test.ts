/**
 * The freshness scan of pushed tickets (platforms/ticket-freshness.ts) in the scheduled run, on the
 * memory store with a manual clock, against the fake WeChat Open Platform (api_start_push_ticket
 * counted there) and a webhook receiver checking every delivery's signature: no ticket for 26
 * minutes → one start-push however many runs at once, `stale` in status, one `ticket.stale`; the
 * 10-minute spacing; a push ends the episode with one `ticket.recovered`; a ticket that never came
 * counts from the secret's creation; a refused start-push is logged and not retried at once.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { ManualClock } from '../../../functions/clock';
import { parseConfig } from '../../../functions/config';
import { setLogSink } from '../../../functions/log';
import { applyPush } from '../../../functions/platforms/pushed-messages';
import { freshnessDecision, scanTicketFreshness } from '../../../functions/platforms/ticket-freshness';
import { ticketStatus } from '../../../functions/platforms/ticket-status';
import { createRuntime, type Runtime } from '../../../functions/runtime';
import { runScheduledRefresh } from '../../../functions/scheduled';
import { MemoryStore } from '../../../functions/store/memory/memory-store';
import { Sealer } from '../../../functions/store/seal';
import { freshState } from '../../../functions/token/decide';
import { ticketRealm } from '../../fakes/tickets';
import { startWebhookReceiver, type WebhookReceiver } from '../../fakes/webhook-receiver';
import { startWechatOpenFake, type WechatOpenFake } from '../../fakes/wechat-open';
import { registerSecret } from '../../helpers/leak-registry';

const MINUTE = 60_000;
const RUN = { jobName: 'freshness-test', scheduleTime: '2026-12-06T00:00:00Z' };

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('ticket freshness scan (scheduled run)', function () {
  this.timeout(20_000);
  let fake: WechatOpenFake;
  let receiver: WebhookReceiver;
  let clock: ManualClock;
  let runtime: Runtime;
  let restoreSink: (() => void) | undefined;
  let logs: Array<Record<string, unknown>>;
  let n = 0;

  before(async () => {
    fake = await startWechatOpenFake();
    clock = new ManualClock();
    receiver = await startWebhookReceiver({ now: () => clock.now() });
  });
  after(async () => {
    await fake.close();
    await receiver.close();
  });
  beforeEach(async () => {
    clock.set(Date.now());
    logs = [];
    const previous = setLogSink((line) => logs.push(JSON.parse(line) as Record<string, unknown>));
    restoreSink = () => setLogSink(previous);
    const masterKey = randomBytes(32);
    runtime = await createRuntime(
      parseConfig({ TOKEN_SERVER_STORE: 'memory', TOKEN_SERVER_ALLOW_PRIVATE_UPSTREAMS: 'true' }),
      {
        keys: { masterKey, problems: { adminKey: 'not needed here' } },
        clock,
        store: new MemoryStore(new Sealer(masterKey), clock),
      },
    );
    const secret = `whsec_${randomBytes(16).toString('hex')}`;
    registerSecret(secret, 'webhook secret', 'ticket-freshness unit test');
    receiver.secret = secret;
    await runtime.ops.store.createWebhook(
      {
        id: `wh_${n++}`,
        url: receiver.url,
        events: ['ticket.stale', 'ticket.recovered'],
        comment: '',
        secret,
        createdAt: clock.now(),
      },
      [],
    );
  });
  afterEach(() => restoreSink?.());

  /** A component realm and secret created now (values: the fake's account, or as given). */
  async function seed(realm: string, values: Record<string, string> = fakeValues()): Promise<void> {
    const now = clock.now();
    const config = ticketRealm('wechat_component', fake.url);
    await runtime.store.putRealm({ id: realm, comment: '', config, createdAt: now, updatedAt: now });
    await runtime.store.putSecret(
      { realm, key: 'platform', values, rev: `rev-${realm}`, createdAt: now, updatedAt: now },
      (current) => freshState(realm, 'platform', `rev-${realm}`, current),
    );
  }
  function fakeValues(): Record<string, string> {
    const a = fake.account;
    return { key_1: a.appid, key_2: a.secret, key_3: a.token, key_4: a.encodingAesKey };
  }
  /** A ticket pushed now (as the event route stores a verified message). */
  async function pushTicket(realm: string): Promise<void> {
    const push = fake.push({ timestamp: Math.floor(clock.now() / 1000) });
    const fields = {
      InfoType: 'component_verify_ticket',
      ComponentVerifyTicket: push.ticket,
      CreateTime: push.query.timestamp,
    };
    const outcome = await runtime.store.mutatePushed(
      realm,
      'platform',
      applyPush(realm, 'platform', { timestampMs: clock.now(), encrypt: push.body, fields }),
    );
    expect(outcome).to.equal('stored');
  }
  async function state(realm: string): Promise<string> {
    const { state: pushed, now } = await runtime.store.readPushed(realm, 'platform', { open: false });
    return ticketStatus(pushed, now).ticket_state;
  }
  const types = (): string[] => receiver.acked.map((e) => `${e.type}:${String(e.data.realm)}`);

  it('asks for a push once after 26 minutes however many runs at once, reports stale, and recovers on a push', async () => {
    await seed('compa');
    await pushTicket('compa');
    const startPushes = fake.calls('start_push');
    const acked = receiver.acked.length;
    await scanTicketFreshness({ store: runtime.store, allowPrivate: true });
    expect(fake.calls('start_push')).to.equal(startPushes);
    expect(await state('compa')).to.equal('ok');

    clock.advance(26 * MINUTE);
    const runs = await Promise.all([1, 2, 3].map(() => runScheduledRefresh(runtime, RUN)));
    expect(runs).to.have.length(3);
    expect(fake.calls('start_push')).to.equal(startPushes + 1);
    expect(await state('compa')).to.equal('stale');
    await until('ticket.stale', () => receiver.acked.length > acked);
    const stale = receiver.acked.at(-1);
    expect(stale?.type).to.equal('ticket.stale');
    expect(stale?.data).to.include({ realm: 'compa', key: 'platform', ticket_state: 'stale' });
    expect(stale?.data.ticket_age_ms).to.equal(26 * MINUTE);
    // Sent once, by the scan or by the refresh beside it (a stale ticket's token fetch asks too:
    // engine/pushed-fetcher.ts); both take the same claim.
    const sent = logs.filter((l) => l.event === 'start_push' && l.outcome === 'sent');
    expect(sent).to.have.length(1);
    expect(sent[0]).to.include({ outcome: 'sent', realm: 'compa' });

    // +5 min: still stale, no second call, no second event.
    clock.advance(5 * MINUTE);
    const again = await scanTicketFreshness({ store: runtime.store, allowPrivate: true });
    expect(again).to.deep.equal({ scanned: 1, stale: 1, startPushSent: 0, startPushFailed: 0 });
    expect(fake.calls('start_push')).to.equal(startPushes + 1);
    // +6 min (11 since the call): another call is allowed, and the episode is not reported again.
    clock.advance(6 * MINUTE);
    const third = await scanTicketFreshness({ store: runtime.store, allowPrivate: true });
    expect(third.startPushSent).to.equal(1);
    expect(fake.calls('start_push')).to.equal(startPushes + 2);

    await pushTicket('compa');
    expect(await state('compa')).to.equal('ok');
    await until('ticket.recovered', () => receiver.acked.length > acked + 1);
    expect(types().slice(acked)).to.deep.equal(['ticket.stale:compa', 'ticket.recovered:compa']);
    expect(receiver.acked.at(-1)?.data.stale_ms).to.equal(11 * MINUTE);
    expect(receiver.badSignatures).to.equal(0);
    // Fresh again: nothing to do.
    clock.advance(MINUTE);
    expect((await scanTicketFreshness({ store: runtime.store, allowPrivate: true })).stale).to.equal(0);
    expect(fake.calls('start_push')).to.equal(startPushes + 2);
  });

  it('counts a ticket that never came from the secret’s creation: missing, one start-push, one event', async () => {
    await seed('compb');
    const startPushes = fake.calls('start_push');
    const acked = receiver.acked.length;
    clock.advance(20 * MINUTE);
    await scanTicketFreshness({ store: runtime.store, allowPrivate: true });
    expect(fake.calls('start_push')).to.equal(startPushes);
    clock.advance(6 * MINUTE);
    await scanTicketFreshness({ store: runtime.store, allowPrivate: true });
    expect(fake.calls('start_push')).to.equal(startPushes + 1);
    expect(await state('compb')).to.equal('missing');
    await until('ticket.stale', () => receiver.acked.length > acked);
    expect(receiver.acked.at(-1)?.data).to.deep.equal({
      realm: 'compb',
      key: 'platform',
      ticket_state: 'missing',
    });
  });

  it('logs a refused start-push (WeChat code), still reports stale, and does not retry within 10 minutes', async () => {
    await seed('compc', { ...fakeValues(), key_2: `wrong-${randomBytes(12).toString('hex')}` });
    await pushTicket('compc');
    const startPushes = fake.calls('start_push');
    clock.advance(26 * MINUTE);
    const first = await scanTicketFreshness({ store: runtime.store, allowPrivate: true });
    expect(first).to.deep.equal({ scanned: 1, stale: 1, startPushSent: 0, startPushFailed: 1 });
    expect(fake.calls('start_push')).to.equal(startPushes + 1);
    const failed = logs.find((l) => l.event === 'start_push' && l.outcome === 'failed');
    expect(failed).to.include({ realm: 'compc', providerCode: '40013' });
    clock.advance(MINUTE);
    await scanTicketFreshness({ store: runtime.store, allowPrivate: true });
    expect(fake.calls('start_push')).to.equal(startPushes + 1);
    expect(await state('compc')).to.equal('stale');
  });

  it('decides purely: fresh, claimed (and marked), waiting, marked only when a request asked recently', () => {
    const t0 = 1_800_000_000_000;
    const decide = freshnessDecision('r', 'k', t0);
    expect(decide(null, t0 + 25 * MINUTE).result).to.equal('fresh');
    const claimed = decide(null, t0 + 26 * MINUTE);
    expect(claimed.result).to.equal('claimed');
    expect(claimed.next).to.deep.include({ staleSince: t0 + 26 * MINUTE, startPushAt: t0 + 26 * MINUTE });
    expect(decide(claimed.next ?? null, t0 + 30 * MINUTE)).to.deep.equal({ result: 'waiting' });
    const asked = { realm: 'r', key: 'k', ticketArrivedAt: t0, startPushAt: t0 + 20 * MINUTE };
    const marked = decide(asked, t0 + 26 * MINUTE);
    expect(marked.result).to.equal('marked');
    expect(marked.next).to.deep.include({ staleSince: t0 + 26 * MINUTE, startPushAt: t0 + 20 * MINUTE });
  });
});
