/**
 * The event route against a fake WeChat Open Platform that speaks the real format (WXBizMsgCrypt
 * pushes built and encrypted by the fake, test/fakes/wechat-open.ts), on a real tokenServer process
 * over the store the run uses (the Firestore emulator under run-tests). Each condition is created for
 * real and counted at the fake: forged, replayed, reordered, duplicated and oversized pushes; the
 * component token fetched with the newest pushed ticket; TICKET_MISSING before the first push and
 * TICKET_STALE (61005/61006) never remembered as a credential error.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { snapshotDatabase } from '../helpers/db-snapshot';
import { request, type JsonResponse } from '../helpers/http';
import { startFunction, testEnv, type FunctionProcess } from '../helpers/processes';
import { ticketRealm } from '../fakes/tickets';
import { startWechatOpenFake, type Push, type WechatOpenFake } from '../fakes/wechat-open';

describe('WeChat Open Platform: the event route and the component token', function () {
  this.timeout(90_000);
  const env = testEnv();
  const admin = { bearer: env.adminKey };
  const realm = `comp${Date.now()}`;
  /** The component secret's key (its appid is a credential value, never a name in URLs or logs). */
  const COMPONENT_KEY = 'platform';
  let fake: WechatOpenFake;
  let fn: FunctionProcess;
  let clientKey: string;
  let eventUrl: string;

  const send = (push: Push, url = eventUrl, body: string = push.body): Promise<JsonResponse> =>
    request(`${url}?${new URLSearchParams(push.query).toString()}`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'text/xml' },
    });
  const token = (): Promise<JsonResponse<{ token?: string; error?: { code: string } }>> =>
    request(`${fn.url}/api/token?realm=${realm}&key=${COMPONENT_KEY}`, { bearer: clientKey });
  /** The database (Firestore runs only) before and after something that must store nothing. */
  const unchanged = async (what: () => Promise<void>): Promise<void> => {
    const before = env.emulatorHost === undefined ? undefined : await snapshotDatabase();
    await what();
    if (before !== undefined) expect(await snapshotDatabase()).to.deep.equal(before);
  };

  before(async () => {
    fake = await startWechatOpenFake();
    fn = await startFunction({ target: 'tokenServer', env: env.env });
    const config = { ...ticketRealm('wechat_component', fake.url), flush_min_interval_ms: 0 };
    expect(
      (await request(`${fn.url}/api/realm`, { method: 'POST', ...admin, body: { id: realm, config } }))
        .status,
    ).to.equal(200);
    const { appid, secret, token: msgToken, encodingAesKey } = fake.account;
    const put = await request(`${fn.url}/api/secret`, {
      method: 'POST',
      ...admin,
      body: {
        realm,
        key: COMPONENT_KEY,
        key_1: appid,
        key_2: secret,
        key_3: msgToken,
        key_4: encodingAesKey,
      },
    });
    expect(put.status).to.equal(200);
    const client = await request<{ client_key: string }>(`${fn.url}/api/client`, {
      method: 'POST',
      ...admin,
      body: { name: 'platform-app', scopes: [{ realm, key: '*' }] },
    });
    clientKey = client.body.client_key;
    eventUrl = `${fn.url}/events/${realm}/${COMPONENT_KEY}`;
  });
  after(async () => {
    await fn.stop();
    await fake.close();
  });

  it('answers 503 TICKET_MISSING before the first push, without calling WeChat', async () => {
    const res = await token();
    expect(res.status).to.equal(503);
    expect(res.body.error?.code).to.equal('TICKET_MISSING');
    expect(res.headers['retry-after']).to.not.equal(undefined);
    expect(fake.calls('component_token')).to.equal(0);
    // ... and asks WeChat to push (api_start_push_ticket), once however often it is asked.
    expect(fake.calls('start_push')).to.equal(1);
    const status = await request<{ data: { list: Array<Record<string, unknown>> } }>(
      `${fn.url}/api/status?realm=${realm}`,
      admin,
    );
    expect(status.body.data.list[0]?.ticket_state, status.text).to.equal('missing');
    expect((await token()).status).to.equal(503);
    expect(fake.calls('start_push')).to.equal(1);
  });

  it('refuses forged, unknown, replayed and oversized pushes alike: 401 (413), nothing stored', async () => {
    const genuine = fake.push();
    const refusals: JsonResponse[] = [];
    await unchanged(async () => {
      refusals.push(await send(fake.push({ signWith: 'not-the-message-token' }))); // forged signature
      refusals.push(await send(genuine, `${fn.url}/events/${realm}/wxunknownkey`)); // unknown key
      refusals.push(await send(genuine, `${fn.url}/events/nosuchrealm/${COMPONENT_KEY}`)); // unknown realm
      refusals.push(await send(fake.push({ timestamp: Math.floor(Date.now() / 1000) - 400 }))); // 6m40s old
      const tampered = genuine.body.replace('<Encrypt><![CDATA[', '<Encrypt><![CDATA[AAAA');
      refusals.push(await send(genuine, eventUrl, tampered)); // body changed after signing
      refusals.push(await send({ ...genuine, query: { ...genuine.query, nonce: 'other' } })); // query changed
      refusals.push(await send(genuine, eventUrl, '<xml><Encrypt>unclosed</xml>'));
      refusals.push(
        await send(genuine, eventUrl, `<!DOCTYPE x [<!ENTITY a "b">]><xml><Encrypt>&a;</Encrypt></xml>`),
      );
    });
    for (const r of refusals) {
      expect(r.status).to.equal(401);
      expect(r.text).to.equal(refusals[0]?.text); // one body for every refusal: nothing said, nothing echoed
    }
    const big = await send(genuine, eventUrl, `<xml><Encrypt>${'A'.repeat(20_000)}</Encrypt></xml>`);
    expect(big.status).to.equal(413);
    const res = await token();
    expect(res.body.error?.code).to.equal('TICKET_MISSING');
    expect(fake.calls('component_token')).to.equal(0);
  });

  it('answers the console URL check (GET echostr) with the decrypted echo, and 401 when forged', async () => {
    // Random, as WeChat's echostr is (a fixed digit run would match fragments of other tests' credentials).
    const echo = `echo-${randomBytes(8).toString('hex')}`;
    const q = fake.echo(echo);
    const ok = await request(`${eventUrl}?${new URLSearchParams(q).toString()}`);
    expect(ok.status).to.equal(200);
    expect(ok.text).to.equal(echo);
    const forged = await request(`${eventUrl}?${new URLSearchParams({ ...q, nonce: 'x' }).toString()}`);
    expect(forged.status).to.equal(401);
    expect(forged.text).to.not.include(echo);
  });

  it('stores a pushed ticket and fetches the component token with it; a duplicate changes nothing', async () => {
    const now = Math.floor(Date.now() / 1000);
    const first = fake.push({ createTime: now - 30 });
    const started = Date.now();
    const res = await send(first);
    expect(Date.now() - started).to.be.below(2_000);
    expect(res.status).to.equal(200);
    expect(res.text).to.equal('success');
    const t = await token();
    expect(t.status).to.equal(200);
    expect(fake.calls('component_token')).to.equal(1);
    expect(fake.ticketsSeen.at(-1)).to.equal(first.ticket);
    const status = await request<{ data: { list: Array<Record<string, unknown>> } }>(
      `${fn.url}/api/status?realm=${realm}`,
      admin,
    );
    const row = status.body.data.list.find((r) => r.key === COMPONENT_KEY);
    expect(row?.ticket_state, status.text).to.equal('ok');
    expect(row?.ticket_age_ms).to.be.a('number').within(0, 60_000);
    // WeChat retries a push it thinks was lost: the same message again has no effect.
    await unchanged(async () => {
      const again = await send(first);
      expect(again.status).to.equal(200);
      expect(again.text).to.equal('success');
    });
  });

  it('never lets an older ticket replace a newer one (pushes out of order)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const newer = fake.push({ createTime: now });
    const older = fake.push({ createTime: now - 20 });
    expect((await send(newer)).text).to.equal('success');
    await unchanged(async () => {
      expect((await send(older)).text).to.equal('success'); // acknowledged, not stored
    });
    const flushed = await request(`${fn.url}/api/token?realm=${realm}&key=${COMPONENT_KEY}&flush=true`, {
      bearer: clientKey,
    });
    expect(flushed.status, flushed.text).to.equal(200);
    expect(fake.ticketsSeen.at(-1)).to.equal(newer.ticket);
  });

  it('answers 61005/61006 as 503 TICKET_STALE, not remembered: the next push heals it', async () => {
    const current = await token();
    expect(current.status).to.equal(200);
    fake.invalidateTickets(61006);
    const before = fake.calls('component_token');
    // The app reports the component token dead: the broker must fetch, and WeChat refuses the ticket.
    const stale = await request<{ error?: { code: string } }>(`${fn.url}/api/token`, {
      method: 'POST',
      bearer: clientKey,
      body: { realm, key: COMPONENT_KEY, invalid_token: current.body.token },
    });
    expect(stale.status, stale.text).to.equal(503);
    expect(stale.body.error?.code, stale.text).to.equal('TICKET_STALE');
    expect(fake.calls('component_token')).to.be.above(before);
    // A stale ticket asks for a push too, but not again within 10 minutes of the first request.
    expect(fake.calls('start_push')).to.equal(1);
    const fresh = fake.push({ createTime: Math.floor(Date.now() / 1000) + 1 });
    expect((await send(fresh)).text).to.equal('success');
    // Not a credential error: the push clears the wait, and the app's next report fetches with the
    // new ticket at once (no negative cache, no backoff left).
    const healed = await request(`${fn.url}/api/token`, {
      method: 'POST',
      bearer: clientKey,
      body: { realm, key: COMPONENT_KEY, invalid_token: current.body.token },
    });
    expect(healed.status, healed.text).to.equal(200);
    expect(fake.ticketsSeen.at(-1)).to.equal(fresh.ticket);
  });

  it('start-push (admin) asks WeChat now, whatever the 10-minute spacing', async () => {
    const sent = fake.calls('start_push');
    const res = await request<{ start_push: string }>(
      `${fn.url}/api/component/${realm}/${COMPONENT_KEY}/start-push`,
      {
        method: 'POST',
        ...admin,
      },
    );
    expect(res.status, res.text).to.equal(200);
    expect(res.body.start_push).to.equal('sent');
    expect(fake.calls('start_push')).to.equal(sent + 1);
  });
});
