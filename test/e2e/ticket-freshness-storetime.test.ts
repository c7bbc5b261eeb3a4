/**
 * Pushes stopped for 26 minutes of STORE time (issue 24, SPEC §11.2): a Firestore emulator JVM of
 * this file's own and the function processes (tokenServer, tokenServerRefresh) run on
 * one libfaketime clock that the test moves forward while they run (helpers/shared-clock.ts), so the
 * store's time — what freshness counts in — moves with them. Counted at the fake Open Platform
 * (api_start_push_ticket, the ticket each api_component_token call presented) and at a webhook
 * receiver that checks every signature:
 * pushes arrive; pushes stop; +26 min; two scheduled runs at once → exactly one start-push, status
 * `stale`, one `ticket.stale`; the component token is still served, and fetched again with the last
 * good ticket; +5 min → no second call; +6 min → a second call; a push → status `ok`, one
 * `ticket.recovered`, the next fetch presents the new ticket; then 61005 → 503 TICKET_STALE, never
 * remembered: after the next push the token is fetched at once.
 * The other platforms on the same clock and processes (issue 26), each counted at its fake: a WeCom
 * and a DingTalk suite (no call to ask again) go stale 26 minutes after their last push, one
 * `ticket.stale` each, nothing sent to either, the token still served; the next push ends it (one
 * `ticket.recovered`, the new ticket presented). A Feishu store app, fresh at 37 minutes (hourly
 * pushes), is stale at 2 h 31 min: app_ticket/resend once for two scheduled runs at once, again only
 * 10 minutes later, its app token renewed meanwhile with the last good ticket; the next push heals it.
 */
import { expect } from 'chai';
import { startWebhookReceiver, type WebhookReceiver } from '../fakes/webhook-receiver';
import { ticketRealm } from '../fakes/tickets';
import { startWechatOpenFake, type Push, type WechatOpenFake } from '../fakes/wechat-open';
import { startWecomSuiteFake, type WecomSuiteFake } from '../fakes/wecom-suite';
import { startDingtalkIsvFake, type DingtalkIsvFake } from '../fakes/dingtalk-isv';
import { startFeishuStoreFake, type FeishuEvent, type FeishuStoreFake } from '../fakes/feishu-store';
import { startEmulator, type FirestoreEmulator } from '../helpers/emulator';
import { request, type JsonResponse } from '../helpers/http';
import { recordDocuments } from '../helpers/leak-registry';
import { startFunction, testEnv, type FunctionProcess } from '../helpers/processes';
import { SHARED_CLOCK_REREAD_MS, SharedClock } from '../helpers/shared-clock';
import { observedOffsetSeconds } from '../helpers/skew';

const MINUTE_S = 60;
const SCHEDULER_HEADERS = {
  'X-CloudScheduler-JobName': 'firebase-schedule-tokenServerRefresh-us-central1',
  'X-CloudScheduler-ScheduleTime': '2026-12-07T00:00:00Z',
};

type StatusRow = Record<string, unknown>;

describe('pushed ticket freshness under store time (one shifted clock: emulator and functions)', function () {
  this.timeout(240_000);
  const clock = new SharedClock();
  const realm = `fresh${Date.now()}`;
  const KEY = 'platform';
  let emulator: FirestoreEmulator;
  let fake: WechatOpenFake;
  let wecom: WecomSuiteFake;
  let ding: DingtalkIsvFake;
  let feishu: FeishuStoreFake;
  /** The other platforms' realms (their secrets are made by their tests: a secret with no ticket ages). */
  const WECOM = `${realm}wecom`;
  const DING = `${realm}ding`;
  const FEISHU = `${realm}feishu`;
  let receiver: WebhookReceiver;
  let fn: FunctionProcess;
  let refreshers: FunctionProcess[] = [];
  let projectId: string;
  let admin: { bearer: string };
  let clientKey: string;

  const send = (
    push: Pick<Push, 'body'> & { query?: Record<string, string>; headers?: Record<string, string> },
    to = realm,
  ): Promise<JsonResponse> =>
    request(`${fn.url}/events/${to}/${KEY}?${new URLSearchParams(push.query ?? {}).toString()}`, {
      method: 'POST',
      body: push.body,
      headers: push.headers ?? { 'content-type': 'text/xml' },
    });
  /** A push WeChat sends now, in the shifted world's time. */
  // Each push a second after the one before at least: a ticket whose CreateTime equals the stored
  // one's is (rightly) refused as not newer, and on a fast machine two pushes can share a second.
  let lastPushS = 0;
  const nextPushS = (): number => {
    lastPushS = Math.max(Math.floor(clock.now() / 1000), lastPushS + 1);
    return lastPushS;
  };
  const pushNow = (): Push => fake.push({ timestamp: nextPushS() });
  const token = (
    flush = false,
    of = realm,
  ): Promise<JsonResponse<{ token?: string; error?: { code: string } }>> =>
    request(`${fn.url}/api/token?realm=${of}&key=${KEY}${flush ? '&flush=true' : ''}`, {
      bearer: clientKey,
    });
  /** The app reports the token dead (invalid_token): the broker must fetch a new one. */
  const reportDead = (dead: string | undefined): Promise<JsonResponse<{ error?: { code: string } }>> =>
    request(`${fn.url}/api/token`, {
      method: 'POST',
      bearer: clientKey,
      body: { realm, key: KEY, invalid_token: dead },
    });
  const row = async (of = realm): Promise<StatusRow | undefined> => {
    const res = await request<{ data: { list: StatusRow[] } }>(`${fn.url}/api/status?realm=${of}`, admin);
    expect(res.status, res.text).to.equal(200);
    return res.body.data.list.find((r) => r.key === KEY);
  };
  /**
   * Two scheduled runs at once (on one instance: each run's claim is its own transaction on the
   * emulator, as two instances' would be; one process fewer to start on a loaded machine).
   */
  const scheduledRuns = async (): Promise<void> => {
    const runs = await Promise.all(
      [...refreshers, ...refreshers].map((r) =>
        request(`${r.url}/`, { method: 'POST', headers: SCHEDULER_HEADERS }),
      ),
    );
    for (const run of runs) expect(run.status, run.text).to.equal(200);
  };
  /**
   * The emulator's time: a query's readTime over its REST API (this process's own Firestore client
   * would follow the run-wide FIRESTORE_EMULATOR_HOST, not this file's emulator).
   */
  const emulatorApi = (path: string, body?: unknown): Promise<Response> =>
    fetch(`http://${emulator.host}/v1/projects/${projectId}/databases/(default)/documents${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: 'Bearer owner', 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(60_000),
    });
  const storeNow = async (): Promise<number> => {
    const res = await emulatorApi(':runQuery', {
      structuredQuery: { from: [{ collectionId: 'nothing' }], limit: 1 },
    });
    const answer = (await res.json()) as Array<{ readTime?: string }>;
    const readTime = answer[0]?.readTime;
    if (readTime === undefined) throw new Error(`no readTime from the emulator: ${JSON.stringify(answer)}`);
    return Date.parse(readTime);
  };
  const recordAllDocuments = async (): Promise<void> => {
    const ids = (await (await emulatorApi(':listCollectionIds', { pageSize: 100 })).json()) as {
      collectionIds?: string[];
    };
    for (const id of ids.collectionIds ?? []) {
      const docs: unknown = await (await emulatorApi(`/${id}?pageSize=1000`)).json();
      recordDocuments(`ticket-freshness-storetime emulator: ${id}`, docs);
    }
  };
  /** Moves the shared clock and waits until the store and every function process read it. */
  const advance = async (seconds: number): Promise<void> => {
    clock.advance(seconds);
    const want = clock.offsetMs / 1000;
    const started = Date.now();
    for (;;) {
      const storeOffset = ((await storeNow()) - Date.now()) / 1000;
      // tokenServerRefresh's every request runs the job: it is not asked. It reads the same file on the
      // same period, so one more period after tokenServer has moved, it has too.
      const offsets = [await observedOffsetSeconds(fn.url)];
      if (Math.abs(storeOffset - want) < 3 && offsets.every((o) => Math.abs(o - want) <= 2)) {
        await new Promise((resolve) => setTimeout(resolve, SHARED_CLOCK_REREAD_MS));
        return;
      }
      if (Date.now() - started > 15_000)
        throw new Error(
          `the clock did not move to +${want}s: store +${storeOffset}s, functions ${offsets.join(', ')}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };
  const events = (type: string, of = realm) =>
    receiver.acked.filter((e) => e.type === type && e.data.realm === of);
  const until = async (what: string, check: () => boolean): Promise<void> => {
    const started = Date.now();
    while (!check()) {
      if (Date.now() - started > 20_000) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  before(async () => {
    // A loaded machine's fresh emulator can take more than the default 10 s to answer at first.
    const base = testEnv({ store: 'firestore', overrides: { TOKEN_SERVER_STORE_TIMEOUT_MS: '30000' } });
    emulator = await startEmulator({ env: clock.env(process.env) });
    const env = clock.env({ ...base.env, FIRESTORE_EMULATOR_HOST: emulator.host });
    admin = { bearer: base.adminKey };
    projectId = base.projectId;
    await storeNow(); // its first answer, before three processes ask at once
    [fake, receiver, wecom, ding, feishu] = await Promise.all([
      startWechatOpenFake(),
      startWebhookReceiver({ now: () => clock.now() }),
      startWecomSuiteFake(),
      startDingtalkIsvFake(),
      startFeishuStoreFake(),
    ]);
    [fn, ...refreshers] = await Promise.all([
      startFunction({ target: 'tokenServer', env }),
      // Its readiness probe runs the job: a loaded machine's new emulator can make that slow.
      startFunction({ target: 'tokenServerRefresh', env, timeoutMs: 180_000 }),
    ]);
    const config = { ...ticketRealm('wechat_component', fake.url), flush_min_interval_ms: 0 };
    const put = await request(`${fn.url}/api/realm`, {
      method: 'POST',
      ...admin,
      body: { id: realm, config },
    });
    expect(put.status, put.text).to.equal(200);
    for (const [id, preset, url] of [
      [WECOM, 'wecom_suite', wecom.url],
      [DING, 'dingtalk_isv_suite', ding.url],
      [FEISHU, 'feishu_app_store', feishu.url],
    ] as const) {
      const made = await request(`${fn.url}/api/realm`, {
        method: 'POST',
        ...admin,
        body: { id, config: { ...ticketRealm(preset, url), flush_min_interval_ms: 0 } },
      });
      expect(made.status, made.text).to.equal(200);
    }
    const { appid, secret, token: msgToken, encodingAesKey } = fake.account;
    const sec = await request(`${fn.url}/api/secret`, {
      method: 'POST',
      ...admin,
      body: { realm, key: KEY, key_1: appid, key_2: secret, key_3: msgToken, key_4: encodingAesKey },
    });
    expect(sec.status, sec.text).to.equal(200);
    const client = await request<{ client_key: string }>(`${fn.url}/api/client`, {
      method: 'POST',
      ...admin,
      body: {
        name: 'platform-app',
        scopes: [realm, WECOM, DING, FEISHU].map((r) => ({ realm: r, key: '*' })),
      },
    });
    clientKey = client.body.client_key;
    const hook = await request<{ secret: string }>(`${fn.url}/api/webhook`, {
      method: 'POST',
      ...admin,
      body: { url: receiver.url, events: ['ticket.stale', 'ticket.recovered'], comment: 'freshness' },
    });
    expect(hook.status).to.equal(201);
    receiver.secret = hook.body.secret;
  });
  after(async () => {
    await Promise.all([fn, ...refreshers].filter(Boolean).map((p) => p.stop()));
    // Every raw document joins the run-wide leak check (the ticket is sealed at rest).
    if (emulator?.running) await recordAllDocuments();
    await emulator?.stop();
    await Promise.all([fake, receiver, wecom, ding, feishu].map((f) => f?.close()));
    clock.close();
  });

  it('restarts a stopped push once per 10 minutes, reports it stale, and serves the last good ticket meanwhile', async () => {
    const first = pushNow();
    expect((await send(first)).text).to.equal('success');
    const t1 = await token();
    expect(t1.status, t1.text).to.equal(200);
    expect(fake.ticketsSeen.at(-1)).to.equal(first.ticket);
    expect((await row())?.ticket_state).to.equal('ok');
    await scheduledRuns();
    expect(fake.calls('start_push')).to.equal(0);

    // Pushes stop. 26 minutes of store time later, two scheduled runs at once ask for one push.
    await advance(26 * MINUTE_S);
    await scheduledRuns();
    expect(fake.calls('start_push')).to.equal(1);
    const stale = await row();
    expect(stale?.ticket_state).to.equal('stale');
    expect(stale?.ticket_age_ms)
      .to.be.a('number')
      .within(26 * 60_000, 28 * 60_000);
    await until('ticket.stale', () => events('ticket.stale').length === 1);
    expect(events('ticket.stale')[0]?.data).to.include({ key: KEY, ticket_state: 'stale' });

    // The component token is still served, and a fetch presents the last good ticket (valid 12 h).
    const served = await token();
    expect(served.status, served.text).to.equal(200);
    expect(served.body.token).to.equal(t1.body.token);
    const refetched = await token(true);
    expect(refetched.status, refetched.text).to.equal(200);
    expect(fake.ticketsSeen.at(-1)).to.equal(first.ticket);

    // +5 minutes: no second call; +6 more (11 since the first): a second call, no second event.
    await advance(5 * MINUTE_S);
    await scheduledRuns();
    expect(fake.calls('start_push')).to.equal(1);
    await advance(6 * MINUTE_S);
    await scheduledRuns();
    expect(fake.calls('start_push')).to.equal(2);
    expect(events('ticket.stale')).to.have.length(1);

    // A push arrives: ok again, one ticket.recovered, and the next fetch presents the new ticket.
    const second = pushNow();
    expect((await send(second)).text).to.equal('success');
    expect((await row())?.ticket_state).to.equal('ok');
    await until('ticket.recovered', () => events('ticket.recovered').length === 1);
    const renewed = await token(true);
    expect(renewed.status, renewed.text).to.equal(200);
    expect(fake.ticketsSeen.at(-1)).to.equal(second.ticket);
    await scheduledRuns();
    expect(fake.calls('start_push')).to.equal(2);
    expect(events('ticket.stale')).to.have.length(1);
    expect(receiver.badSignatures).to.equal(0);
  });

  it('answers 61005 as 503 TICKET_STALE, never remembered: the next push heals it at once', async () => {
    fake.invalidateTickets(61005);
    const current = await token();
    expect(current.status, current.text).to.equal(200);
    const stale = await reportDead(current.body.token);
    expect(stale.status, stale.text).to.equal(503);
    expect(stale.body.error?.code).to.equal('TICKET_STALE');
    // The push asked for less than 10 minutes ago (store time) is not asked for again.
    expect(fake.calls('start_push')).to.equal(2);
    const third = pushNow();
    expect((await send(third)).text).to.equal('success');
    const healed = await reportDead(current.body.token);
    expect(healed.status, healed.text).to.equal(200);
    expect(fake.ticketsSeen.at(-1)).to.equal(third.ticket);
  });
  /** The Feishu app's token when its first ticket arrived (the WeCom and DingTalk test makes it). */
  let feishuToken: JsonResponse<{ token?: string }> | undefined;
  let feishuFirstTicket: string | undefined;
  /** A platform secret made now (its age counts from here until its first push). */
  const putSecret = async (of: string, values: Record<string, string>): Promise<void> => {
    const res = await request(`${fn.url}/api/secret`, {
      method: 'POST',
      ...admin,
      body: { realm: of, key: KEY, ...values },
    });
    expect(res.status, res.text).to.equal(200);
  };
  /** Every call each fake has seen, by route: a platform with no "push again" call gets no other. */
  const wecomCalls = (): number[] =>
    (['suite_token', 'permanent_code', 'corp_token'] as const).map((r) => wecom.calls(r));
  const dingCalls = (): number[] => (['suite_token', 'corp_token'] as const).map((r) => ding.calls(r));
  const pushWecom = async (): Promise<string> => {
    const push = wecom.ticket({ timestamp: nextPushS() });
    expect((await send(push, WECOM)).text).to.equal('success');
    return push.ticket;
  };
  const pushDing = async (): Promise<string> => {
    const push = ding.ticket({ timestampMs: nextPushS() * 1000 });
    const res = await send({ ...push, headers: { 'content-type': 'application/json' } }, DING);
    expect(res.status, res.text).to.equal(200);
    expect(ding.readReply(res.text)).to.equal('success');
    return push.ticket;
  };
  const pushFeishu = async (): Promise<FeishuEvent & { ticket: string }> => {
    const event = feishu.event({ ts: nextPushS() });
    const res = await send(event, FEISHU);
    expect(res.status, res.text).to.equal(200);
    if (event.ticket === undefined) throw new Error('an app_ticket event without its ticket');
    return { ...event, ticket: event.ticket };
  };

  it('reports WeCom and DingTalk suite tickets stale by the store (no call to ask again: none made) and recovered by the next push; a Feishu app stays fresh', async () => {
    await putSecret(WECOM, {
      key_1: wecom.account.suiteId,
      key_2: wecom.account.secret,
      key_3: wecom.account.token,
      key_4: wecom.account.encodingAesKey,
    });
    await putSecret(DING, {
      key_1: ding.account.suiteKey,
      key_2: ding.account.suiteSecret,
      key_3: ding.account.token,
      key_4: ding.account.aesKey,
    });
    await putSecret(FEISHU, {
      key_1: feishu.app.appId,
      key_2: feishu.app.appSecret,
      key_3: feishu.app.verificationToken,
      ...(feishu.app.encryptKey === undefined ? {} : { key_4: feishu.app.encryptKey }),
    });
    feishuFirstTicket = (await pushFeishu()).ticket;
    feishuToken = await token(false, FEISHU);
    expect(feishuToken.status, feishuToken.text).to.equal(200);
    expect(feishu.ticketsSeen).to.deep.equal([feishuFirstTicket]);
    expect(feishu.resends()).to.equal(0);

    const firstWecom = await pushWecom();
    const firstDing = await pushDing();
    const served = { wecom: await token(false, WECOM), ding: await token(false, DING) };
    for (const t of Object.values(served)) expect(t.status, t.text).to.equal(200);
    expect(wecom.ticketsSeen).to.deep.equal([firstWecom]);
    expect(ding.ticketsSeen).to.deep.equal([firstDing]);
    expect(wecomCalls()).to.deep.equal([1, 0, 0]);
    expect(dingCalls()).to.deep.equal([1, 0]);
    expect((await row(WECOM))?.ticket_state).to.equal('ok');
    expect((await row(DING))?.ticket_state).to.equal('ok');

    // Pushes stop: 26 minutes of store time later, stale (2.5 intervals of 10 minutes); one event each.
    await advance(26 * MINUTE_S);
    await scheduledRuns();
    for (const of of [WECOM, DING]) {
      const stale = await row(of);
      expect(stale?.ticket_state, of).to.equal('stale');
      expect(stale?.ticket_age_ms)
        .to.be.a('number')
        .within(26 * 60_000, 28 * 60_000);
      await until(`ticket.stale of ${of}`, () => events('ticket.stale', of).length === 1);
      expect(events('ticket.stale', of)[0]?.data).to.include({ key: KEY, ticket_state: 'stale' });
    }
    // Their tokens are still served (valid 2 h at the fakes), and nothing was sent to either platform.
    expect((await token(false, WECOM)).body.token).to.equal(served.wecom.body.token);
    expect((await token(false, DING)).body.token).to.equal(served.ding.body.token);
    expect(wecomCalls()).to.deep.equal([1, 0, 0]);
    expect(dingCalls()).to.deep.equal([1, 0]);

    // 11 minutes more (past the 10-minute spacing a platform with a call would use): still no call,
    // and no second event; the WeCom ticket is now past its 30 minutes of validity.
    await advance(11 * MINUTE_S);
    await scheduledRuns();
    expect(wecomCalls()).to.deep.equal([1, 0, 0]);
    expect(dingCalls()).to.deep.equal([1, 0]);
    expect((await row(WECOM))?.ticket_state).to.equal('expired');
    expect(events('ticket.stale', WECOM)).to.have.length(1);
    expect(events('ticket.stale', DING)).to.have.length(1);
    // The Feishu app pushed at the start is not stale: hourly pushes, stale after 2.5 hours.
    expect((await row(FEISHU))?.ticket_state).to.equal('ok');
    expect(feishu.resends()).to.equal(0);

    // The next push ends each episode: ok, one ticket.recovered, and a fetch presents the new ticket.
    const next = { wecom: await pushWecom(), ding: await pushDing() };
    for (const of of [WECOM, DING]) {
      expect((await row(of))?.ticket_state, of).to.equal('ok');
      await until(`ticket.recovered of ${of}`, () => events('ticket.recovered', of).length === 1);
    }
    expect((await token(true, WECOM)).status).to.equal(200);
    expect((await token(true, DING)).status).to.equal(200);
    expect(wecom.ticketsSeen.at(-1)).to.equal(next.wecom);
    expect(ding.ticketsSeen.at(-1)).to.equal(next.ding);
    await scheduledRuns();
    expect(wecomCalls()).to.deep.equal([2, 0, 0]);
    expect(dingCalls()).to.deep.equal([2, 0]);
    for (const of of [WECOM, DING]) {
      expect(events('ticket.stale', of), of).to.have.length(1);
      expect(events('ticket.recovered', of), of).to.have.length(1);
    }
    expect(receiver.badSignatures).to.equal(0);
  });

  it('asks Feishu (pushed 37 minutes ago) for a stale app_ticket (app_ticket/resend) once per 10 minutes across two scheduled runs at once, by the store', async () => {
    // 2 h 31 min without a push (37 minutes of the test before): stale, one resend for the two runs
    // at once, one ticket.stale.
    await advance(114 * MINUTE_S);
    await scheduledRuns();
    expect(feishu.resends()).to.equal(1);
    const stale = await row(FEISHU);
    expect(stale?.ticket_state).to.equal('stale');
    expect(stale?.ticket_age_ms)
      .to.be.a('number')
      .within(151 * 60_000, 153 * 60_000);
    await until('ticket.stale of the Feishu app', () => events('ticket.stale', FEISHU).length === 1);
    // The app token (2 h at the fake) was renewed by the scheduled run with the last good ticket.
    const renewed = await token(false, FEISHU);
    expect(renewed.status, renewed.text).to.equal(200);
    expect(renewed.body.token).to.not.equal(feishuToken?.body.token);
    expect(feishu.ticketsSeen.at(-1)).to.equal(feishuFirstTicket);

    await advance(5 * MINUTE_S);
    await scheduledRuns();
    expect(feishu.resends()).to.equal(1);
    await advance(6 * MINUTE_S);
    await scheduledRuns();
    expect(feishu.resends()).to.equal(2);
    expect(events('ticket.stale', FEISHU)).to.have.length(1);

    // Feishu pushes: ok, one ticket.recovered, the next fetch presents it, and no more resends.
    const second = await pushFeishu();
    expect((await row(FEISHU))?.ticket_state).to.equal('ok');
    await until('ticket.recovered of the Feishu app', () => events('ticket.recovered', FEISHU).length === 1);
    expect((await token(true, FEISHU)).status).to.equal(200);
    expect(feishu.ticketsSeen.at(-1)).to.equal(second.ticket);
    await scheduledRuns();
    expect(feishu.resends()).to.equal(2);
    expect(events('ticket.stale', FEISHU)).to.have.length(1);
    expect(receiver.badSignatures).to.equal(0);
  });
});
