/**
 * WeCom third-party apps (suites) end to end: two real tokenServer processes on one Firestore (the
 * emulator), a fake WeCom (test/fakes/wecom-suite.ts) that builds and encrypts its pushes with keys
 * the test holds and counts every call. Each condition is created for real:
 * - no ticket yet: 503 TICKET_MISSING, nothing sent to WeCom (it has no call to ask for a push);
 * - forged, replayed, tampered pushes: the same 401, nothing stored; the GET URL check;
 * - a suite_ticket stored, a duplicate a no-op, an older one never replacing a newer one;
 * - create_auth: the AuthCode exchanged once (get_permanent_code), the company a secret of the
 *   authorizer realm with the suite as parent, its token from get_corp_token; the same message
 *   again does nothing;
 * - cancel_auth: a tombstone, 410 AUTHORIZER_REVOKED on both processes, the secret kept; the
 *   suite's status row (and tokenctl status --realm) counts its companies by state;
 * - an admin-created company under a second suite secret: 30 concurrent token requests over both
 *   processes → one get_suite_token and one get_corp_token at the fake;
 * - 40085 (the ticket refused) → 503 TICKET_STALE, not a credential error.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { snapshotDatabase } from '../helpers/db-snapshot';
import { tokenctl } from '../helpers/tokenctl';
import { emulatorHostFromEnv } from '../helpers/emulator';
import { request, type JsonResponse } from '../helpers/http';
import { startFunction, testEnv, type FunctionProcess, type TestEnv } from '../helpers/processes';
import { ticketRealm } from '../fakes/tickets';
import { startWecomSuiteFake, type SuitePush, type WecomSuiteFake } from '../fakes/wecom-suite';

type ErrorBody = { token?: string; error?: { code: string; details?: Record<string, unknown> } };
type StatusRow = Record<string, unknown>;

describe('WeCom suites: suite_ticket pushes, create_auth and company tokens (two processes)', function () {
  this.timeout(120_000);
  const suiteRealm = `wcsuite${Date.now()}`;
  const corpRealm = `wccorp${Date.now()}`;
  const SUITE = 'suite';
  let env: TestEnv;
  let fake: WecomSuiteFake;
  let fns: FunctionProcess[] = [];
  let admin: { bearer: string };

  const fn = (): FunctionProcess => {
    const f = fns[0];
    if (f === undefined) throw new Error('no function process');
    return f;
  };
  const eventUrl = (key = SUITE): string => `${fn().url}/events/${suiteRealm}/${key}`;
  const send = (push: SuitePush, url = eventUrl(), body: string = push.body): Promise<JsonResponse> =>
    request(`${url}?${new URLSearchParams(push.query).toString()}`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'text/xml' },
    });
  const token = (realm: string, key: string, via = fn()): Promise<JsonResponse<ErrorBody>> =>
    request(`${via.url}/api/token?realm=${realm}&key=${key}`, admin);
  const statusRows = async (realm: string): Promise<StatusRow[]> =>
    (await request<{ data: { list: StatusRow[] } }>(`${fn().url}/api/status?realm=${realm}`, admin)).body.data
      .list;
  const unchanged = async (what: () => Promise<void>): Promise<void> => {
    const before = await snapshotDatabase();
    await what();
    expect(await snapshotDatabase()).to.deep.equal(before);
  };
  const putSuite = async (key: string): Promise<void> => {
    const { suiteId, secret, token: msgToken, encodingAesKey } = fake.account;
    const res = await request(`${fn().url}/api/secret`, {
      method: 'POST',
      ...admin,
      body: {
        realm: suiteRealm,
        key,
        key_1: suiteId,
        key_2: secret,
        key_3: msgToken,
        key_4: encodingAesKey,
        key_5: corpRealm,
      },
    });
    expect(res.status, res.text).to.equal(200);
  };

  before(async () => {
    emulatorHostFromEnv();
    env = testEnv({ store: 'firestore' });
    admin = { bearer: env.adminKey };
    fake = await startWecomSuiteFake();
    fns = await Promise.all([0, 1].map(() => startFunction({ target: 'tokenServer', env: env.env })));
    for (const [id, preset] of [
      [suiteRealm, 'wecom_suite'],
      [corpRealm, 'wecom_suite_corp'],
    ] as const) {
      const config = { ...ticketRealm(preset, fake.url), flush_min_interval_ms: 0 };
      // A cold emulator on a loaded machine can miss the store's first deadline: 503, said so; retried.
      let res = await request(`${fn().url}/api/realm`, { method: 'POST', ...admin, body: { id, config } });
      for (let i = 0; i < 3 && res.status === 503; i++) {
        res = await request(`${fn().url}/api/realm`, { method: 'POST', ...admin, body: { id, config } });
      }
      expect(res.status, res.text).to.equal(200);
    }
    await putSuite(SUITE);
  });
  after(async () => {
    await Promise.all(fns.map((f) => f.stop()));
    await fake.close();
  });

  it('answers 503 TICKET_MISSING before the first push and sends WeCom nothing (no push API)', async () => {
    const res = await token(suiteRealm, SUITE);
    expect(res.status, res.text).to.equal(503);
    expect(res.body.error?.code).to.equal('TICKET_MISSING');
    expect(fake.calls('suite_token')).to.equal(0);
    const row = (await statusRows(suiteRealm)).find((r) => r.key === SUITE);
    expect(row?.ticket_state).to.equal('missing');
  });

  it('refuses forged, replayed and tampered pushes alike (401), storing nothing', async () => {
    const genuine = fake.ticket();
    const refusals: JsonResponse[] = [];
    await unchanged(async () => {
      refusals.push(await send(fake.ticket({ signWith: 'not-the-message-token' })));
      refusals.push(await send(fake.ticket({ timestamp: Math.floor(Date.now() / 1000) - 400 })));
      refusals.push(
        await send(genuine, eventUrl(), genuine.body.replace('<Encrypt><![CDATA[', '<Encrypt><![CDATA[AAAA')),
      );
      refusals.push(await send({ ...genuine, query: { ...genuine.query, nonce: 'other' } }));
      refusals.push(await send(genuine, `${fn().url}/events/${suiteRealm}/nosuchsuite`));
      // A create_auth replayed 7 minutes late: refused before any exchange.
      refusals.push(await send(fake.createAuth({ timestamp: Math.floor(Date.now() / 1000) - 420 })));
    });
    for (const r of refusals) {
      expect(r.status).to.equal(401);
      expect(r.text).to.equal(refusals[0]?.text);
    }
    expect(fake.calls('permanent_code')).to.equal(0);
  });

  it('answers the console URL check (GET echostr) with the decrypted echo', async () => {
    const echo = `echo-${randomBytes(8).toString('hex')}`;
    const q = fake.echo(echo);
    const ok = await request(`${eventUrl()}?${new URLSearchParams(q).toString()}`);
    expect(ok.status).to.equal(200);
    expect(ok.text).to.equal(echo);
    const forged = await request(`${eventUrl()}?${new URLSearchParams({ ...q, nonce: 'x' }).toString()}`);
    expect(forged.status).to.equal(401);
  });

  it('stores suite_tickets: duplicates change nothing, an older one never replaces a newer one', async () => {
    const now = Math.floor(Date.now() / 1000);
    const newer = fake.ticket({ createTime: now });
    const older = fake.ticket({ createTime: now - 30 });
    expect((await send(newer)).text).to.equal('success');
    await unchanged(async () => {
      expect((await send(newer)).text).to.equal('success'); // WeCom's retry of the same message
      expect((await send(older)).text).to.equal('success'); // out of order: acknowledged, not stored
    });
    const res = await token(suiteRealm, SUITE);
    expect(res.status, res.text).to.equal(200);
    expect(fake.calls('suite_token')).to.equal(1);
    expect(fake.ticketsSeen.at(-1)).to.equal(newer.ticket);
    const row = (await statusRows(suiteRealm)).find((r) => r.key === SUITE);
    expect(row?.ticket_state).to.equal('ok');
    expect(row?.ticket_age_ms).to.be.a('number').within(0, 60_000);
  });

  it('create_auth: the company becomes a secret of the authorizer realm, its token from get_corp_token', async () => {
    const auth = fake.createAuth();
    const res = await send(auth);
    expect(res.status, res.text).to.equal(200);
    expect(res.text).to.equal('success');
    expect(fake.calls('permanent_code')).to.equal(1);
    // WeCom retries a message it thinks was lost: the AuthCode is not exchanged twice.
    expect((await send(auth)).text).to.equal('success');
    expect(fake.calls('permanent_code')).to.equal(1);
    const secret = await request<{ data: Record<string, unknown> }>(
      `${fn().url}/api/secret/${corpRealm}/${auth.corpid}`,
      admin,
    );
    expect(secret.status, secret.text).to.equal(200);
    expect(JSON.stringify(secret.body)).to.include(`${suiteRealm}/${SUITE}`);
    const corp = await token(corpRealm, auth.corpid, fns[1]);
    expect(corp.status, corp.text).to.equal(200);
    expect(corp.body.token).to.match(/^corptok_/);
    expect(fake.calls('suite_token')).to.equal(1); // the suite token fetched once, shared
  });

  it('cancel_auth: the company is kept as a tombstone, its token route answers 410 AUTHORIZER_REVOKED', async () => {
    const auth = fake.createAuth();
    expect((await send(auth)).text).to.equal('success');
    expect((await token(corpRealm, auth.corpid)).status).to.equal(200);
    const cancel = fake.cancelAuth(auth.corpid);
    expect((await send(cancel)).text).to.equal('success');
    for (const via of fns) {
      const gone = await token(corpRealm, auth.corpid, via);
      expect(gone.status, gone.text).to.equal(410);
      expect(gone.body.error?.code).to.equal('AUTHORIZER_REVOKED');
    }
    const kept = await request(`${fn().url}/api/secret/${corpRealm}/${auth.corpid}`, admin);
    expect(kept.status, kept.text).to.equal(200);
    const row = (await statusRows(corpRealm)).find((r) => r.key === auth.corpid);
    expect(row?.authorizer_state).to.equal('unauthorized');
    // The suite's row counts its companies by state (count queries, not a listing), and so does
    // tokenctl status: the first test's company and this one.
    const suiteRow = (await statusRows(suiteRealm)).find((r) => r.key === SUITE);
    expect(suiteRow?.tenants).to.deep.equal({
      total: 2,
      authorized: 1,
      unauthorized: 1,
      needs_reauthorization: 0,
    });
    const cli = await tokenctl(['status', '--realm', suiteRealm], {
      TOKENCTL_URL: fn().url,
      TOKENCTL_ADMIN_KEY: env.adminKey,
    });
    expect(cli.code, cli.stderr).to.equal(0);
    expect(cli.stdout).to.match(
      new RegExp(
        `^${suiteRealm}/${SUITE}: pushed ticket ok, \\d+ min old; tenants: 1 authorized, 1 unauthorized, 0 needing re-authorization$`,
        'm',
      ),
    );
    // The retried cancel_auth changes nothing.
    await unchanged(async () => {
      expect((await send(cancel)).text).to.equal('success');
    });
  });

  it('30 concurrent company-token requests over two processes: one get_suite_token, one get_corp_token', async () => {
    const key = 'suite2';
    await putSuite(key);
    const push = fake.ticket();
    expect((await send(push, eventUrl(key))).text).to.equal('success');
    const { corpid, permanentCode } = fake.authorized();
    const put = await request(`${fn().url}/api/secret`, {
      method: 'POST',
      ...admin,
      body: {
        realm: corpRealm,
        key: corpid,
        key_1: corpid,
        key_2: permanentCode,
        parent: `${suiteRealm}/${key}`,
      },
    });
    expect(put.status, put.text).to.equal(200);
    const suiteBefore = fake.calls('suite_token');
    const corpBefore = fake.calls('corp_token');
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => token(corpRealm, corpid, fns[i % 2])),
    );
    for (const a of answers) expect(a.status, a.text).to.equal(200);
    expect(new Set(answers.map((a) => a.body.token)).size).to.equal(1);
    expect(fake.calls('suite_token') - suiteBefore).to.equal(1);
    expect(fake.calls('corp_token') - corpBefore).to.equal(1);
    const row = (await statusRows(corpRealm)).find((r) => r.key === corpid);
    expect(row?.authorizer_state).to.equal('authorized');
  });

  it('40085 (the suite_ticket refused) is 503 TICKET_STALE, not a credential error; a push heals it', async () => {
    const key = 'suite3';
    await putSuite(key);
    // A ticket the fake never issued: as if WeCom had invalidated it.
    const genuine = fake.ticket();
    expect((await send(genuine, eventUrl(key))).text).to.equal('success');
    fake.forgetTickets();
    const stale = await token(suiteRealm, key);
    expect(stale.status, stale.text).to.equal(503);
    expect(stale.body.error?.code).to.equal('TICKET_STALE');
    const fresh = fake.ticket({ createTime: Math.floor(Date.now() / 1000) + 1 });
    expect((await send(fresh, eventUrl(key))).text).to.equal('success');
    const healed = await token(suiteRealm, key);
    expect(healed.status, healed.text).to.equal(200);
    expect(fake.ticketsSeen.at(-1)).to.equal(fresh.ticket);
  });
});
