/**
 * DingTalk ISV suites end to end: a real tokenServer process over the run's store and a fake
 * DingTalk (test/fakes/dingtalk-isv.ts) that encrypts its pushes with the aes_key the test holds and
 * counts every call. Each condition is created for real: forged and replayed pushes (401, nothing
 * stored), a suite_ticket answered with DingTalk's encrypted `success` (checked and decrypted by the
 * test), duplicates and older tickets, the suite token, a company's corpAccessToken with the
 * parent's key, secret and ticket, and a refused ticket as 503 TICKET_STALE that the next push heals.
 */
import { expect } from 'chai';
import { snapshotDatabase } from '../helpers/db-snapshot';
import { request, type JsonResponse } from '../helpers/http';
import { startFunction, testEnv, type FunctionProcess } from '../helpers/processes';
import { ticketRealm } from '../fakes/tickets';
import { startDingtalkIsvFake, type DingtalkIsvFake, type IsvPush } from '../fakes/dingtalk-isv';

type TokenAnswer = { token?: string; error?: { code: string } };

describe('DingTalk ISV: suite_ticket pushes in encrypted JSON, suite and company tokens', function () {
  this.timeout(90_000);
  const env = testEnv();
  const admin = { bearer: env.adminKey };
  const suiteRealm = `dtsuite${Date.now()}`;
  const corpRealm = `dtcorp${Date.now()}`;
  const SUITE = 'suite';
  let fake: DingtalkIsvFake;
  let fn: FunctionProcess;
  let eventUrl: string;

  const send = (push: IsvPush, body: string = push.body): Promise<JsonResponse> =>
    request(`${eventUrl}?${new URLSearchParams(push.query).toString()}`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
    });
  const token = (realm: string, key: string): Promise<JsonResponse<TokenAnswer>> =>
    request(`${fn.url}/api/token?realm=${realm}&key=${key}`, admin);
  const unchanged = async (what: () => Promise<void>): Promise<void> => {
    const before = env.emulatorHost === undefined ? undefined : await snapshotDatabase();
    await what();
    if (before !== undefined) expect(await snapshotDatabase()).to.deep.equal(before);
  };

  /** A company that authorized the suite, added by an admin (DingTalk's auth events are not handled). */
  const addCorp = async (): Promise<string> => {
    const corp = fake.authorizedCorp();
    const put = await request(`${fn.url}/api/secret`, {
      method: 'POST',
      ...admin,
      body: { realm: corpRealm, key: corp, key_1: corp, parent: `${suiteRealm}/${SUITE}` },
    });
    expect(put.status, put.text).to.equal(200);
    return corp;
  };
  const statusRow = async (realm: string, key: string): Promise<Record<string, unknown> | undefined> =>
    (
      await request<{ data: { list: Array<Record<string, unknown>> } }>(
        `${fn.url}/api/status?realm=${realm}`,
        admin,
      )
    ).body.data.list.find((r) => r.key === key);

  before(async () => {
    fake = await startDingtalkIsvFake();
    fn = await startFunction({ target: 'tokenServer', env: env.env });
    for (const [id, preset] of [
      [suiteRealm, 'dingtalk_isv_suite'],
      [corpRealm, 'dingtalk_isv_corp'],
    ] as const) {
      const config = { ...ticketRealm(preset, fake.url), flush_min_interval_ms: 0 };
      // A cold emulator on a loaded machine can miss the store's first deadline: 503, said so; retried.
      let res = await request(`${fn.url}/api/realm`, { method: 'POST', ...admin, body: { id, config } });
      for (let i = 0; i < 3 && res.status === 503; i++) {
        res = await request(`${fn.url}/api/realm`, { method: 'POST', ...admin, body: { id, config } });
      }
      expect(res.status, res.text).to.equal(200);
    }
    const { suiteKey, suiteSecret, token: msgToken, aesKey } = fake.account;
    const put = await request(`${fn.url}/api/secret`, {
      method: 'POST',
      ...admin,
      body: {
        realm: suiteRealm,
        key: SUITE,
        key_1: suiteKey,
        key_2: suiteSecret,
        key_3: msgToken,
        key_4: aesKey,
        key_5: corpRealm,
      },
    });
    expect(put.status, put.text).to.equal(200);
    eventUrl = `${fn.url}/events/${suiteRealm}/${SUITE}`;
  });
  after(async () => {
    await fn.stop();
    await fake.close();
  });

  it('refuses forged, replayed and tampered pushes alike (401), storing nothing', async () => {
    const genuine = fake.ticket();
    const refusals: JsonResponse[] = [];
    await unchanged(async () => {
      refusals.push(await send(fake.ticket({ signWith: 'not-the-message-token' })));
      refusals.push(await send(fake.ticket({ timestampMs: Date.now() - 400_000 })));
      refusals.push(await send(genuine, JSON.stringify({ encrypt: `AAAA${genuine.body.slice(12, -2)}` })));
      refusals.push(await send({ ...genuine, query: { ...genuine.query, nonce: 'other' } }));
      refusals.push(await send(genuine, JSON.stringify({ other: 'field' })));
    });
    for (const r of refusals) {
      expect(r.status).to.equal(401);
      expect(r.text).to.equal(refusals[0]?.text);
    }
    const missing = await token(suiteRealm, SUITE);
    expect(missing.status).to.equal(503);
    expect(missing.body.error?.code).to.equal('TICKET_MISSING');
    expect(fake.calls('suite_token')).to.equal(0);
  });

  it('answers a suite_ticket with an encrypted success; duplicates and older tickets change nothing', async () => {
    const now = Date.now();
    const newer = fake.ticket({ createTimeMs: now });
    const older = fake.ticket({ createTimeMs: now - 30_000 });
    const res = await send(newer);
    expect(res.status, res.text).to.equal(200);
    expect(fake.readReply(res.text)).to.equal('success');
    await unchanged(async () => {
      expect(fake.readReply((await send(newer)).text)).to.equal('success');
      expect(fake.readReply((await send(older)).text)).to.equal('success');
    });
    const suite = await token(suiteRealm, SUITE);
    expect(suite.status, suite.text).to.equal(200);
    expect(fake.calls('suite_token')).to.equal(1);
    expect(fake.ticketsSeen.at(-1)).to.equal(newer.ticket);
    expect((await statusRow(suiteRealm, SUITE))?.ticket_state).to.equal('ok');
  });

  it("a company added by an admin gets its corpAccessToken with the parent's key, secret and ticket", async () => {
    const corp = await addCorp();
    const before = fake.calls('corp_token');
    const answers = await Promise.all(Array.from({ length: 10 }, () => token(corpRealm, corp)));
    for (const a of answers) expect(a.status, a.text).to.equal(200);
    expect(new Set(answers.map((a) => a.body.token)).size).to.equal(1);
    expect(fake.calls('corp_token') - before).to.equal(1);
    expect((await statusRow(corpRealm, corp))?.authorizer_state).to.equal('authorized');
  });

  it('a refused suite ticket is 503 TICKET_STALE, not a credential error; the next push heals it', async () => {
    const corp = await addCorp();
    fake.forgetTickets();
    const stale = await token(corpRealm, corp);
    expect(stale.status, stale.text).to.equal(503);
    expect(stale.body.error?.code).to.equal('TICKET_STALE');
    const fresh = fake.ticket({ createTimeMs: Date.now() + 1000 });
    expect(fake.readReply((await send(fresh)).text)).to.equal('success');
    // A transient failure: the company waits out a short backoff (never a remembered credential
    // error), then the next request uses the new ticket.
    let healed = await token(corpRealm, corp);
    for (let i = 0; i < 20 && healed.status === 503; i++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      healed = await token(corpRealm, corp);
    }
    expect(healed.status, healed.text).to.equal(200);
    expect(fake.ticketsSeen.at(-1)).to.equal(fresh.ticket);
  });
});
