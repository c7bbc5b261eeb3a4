/**
 * Feishu/Lark store apps end to end (SPEC §11.4): a fake Feishu (test/fakes/feishu-store.ts) that
 * speaks the real format, and a tokenServer and a tokenServerCache process on the run's Firestore. Each condition is created for real and counted at the
 * fake: url_verification (encrypted and plain), forged, replayed, duplicated and reordered events
 * (401, nothing stored); app_ticket → app_access_token; app_open → a tenant secret → its ~4.6 KB JWT
 * tenant token, whole through the memory cache, the token route, a compat route and the client library, 30 concurrent
 * requests over two processes costing one app_access_token and one tenant_access_token call; a ticket
 * Feishu refuses (10012) answered 503 TICKET_STALE and healed by the next push; an admin's forced
 * app_ticket/resend; app_uninstalled → a tombstone (410 AUTHORIZER_REVOKED) that only a newer app_open
 * brings back. The stale scan (no push for 2.5 h of store time, two scheduled runs at once) runs on
 * a shifted clock in ticket-freshness-storetime.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { TokenClient } from '../../client/src';
import { startFeishuStoreFake, type FeishuEvent, type FeishuStoreFake } from '../fakes/feishu-store';
import { ticketRealm } from '../fakes/tickets';
import { snapshotDatabase } from '../helpers/db-snapshot';
import { emulatorHostFromEnv } from '../helpers/emulator';
import { request, type JsonResponse } from '../helpers/http';
import { startFunction, testEnv, type FunctionProcess, type TestEnv } from '../helpers/processes';

interface TokenBody {
  token?: string;
  error?: { code: string };
}
interface StatusRow {
  realm: string;
  key: string;
  state?: string;
  ticket_state?: string;
  ticket_age_ms?: number | null;
}

describe('Feishu/Lark store apps: events, app and tenant tokens', function () {
  this.timeout(90_000);
  const suffix = randomBytes(3).toString('hex');
  const APP_REALM = `fsapp${suffix}`;
  const TENANT_REALM = `fstenant${suffix}`;
  let env: TestEnv;
  let fake: FeishuStoreFake;
  let plain: FeishuStoreFake;
  let server: FunctionProcess;
  let cache: FunctionProcess;
  let clientKey: string;
  const admin = (): { bearer: string } => ({ bearer: env.adminKey });
  const eventUrl = (key = 'app'): string => `${server.url}/events/${APP_REALM}/${key}`;
  const send = (e: FeishuEvent, url = eventUrl(), body = e.body): Promise<JsonResponse> =>
    request(url, { method: 'POST', body, headers: e.headers });
  const appToken = (): Promise<JsonResponse<TokenBody>> =>
    request(`${server.url}/api/token?realm=${APP_REALM}&key=app`, { bearer: clientKey });
  const tenantToken = (p: FunctionProcess, tenant: string): Promise<JsonResponse<TokenBody>> =>
    request(`${p.url}/api/token?realm=${TENANT_REALM}&key=${tenant}`, { bearer: clientKey });
  const status = async (realm: string): Promise<StatusRow[]> =>
    (await request<{ data: { list: StatusRow[] } }>(`${server.url}/api/status?realm=${realm}`, admin())).body
      .data.list;
  const unchanged = async (what: () => Promise<void>): Promise<void> => {
    const before = await snapshotDatabase();
    await what();
    expect(await snapshotDatabase()).to.deep.equal(before);
  };
  const now = (): number => Date.now() / 1000;

  before(async () => {
    emulatorHostFromEnv();
    env = testEnv({ store: 'firestore' });
    [fake, plain] = await Promise.all([startFeishuStoreFake(), startFeishuStoreFake({ encrypt: false })]);
    [server, cache] = await Promise.all([
      startFunction({ target: 'tokenServer', env: env.env, timeoutMs: 60_000 }),
      startFunction({ target: 'tokenServerCache', env: env.env, timeoutMs: 60_000 }),
    ]);
    // A loaded machine: the emulator may answer the first writes late (503 UNAVAILABLE); try again.
    const post = async (path: string, body: unknown): Promise<JsonResponse> => {
      for (let attempt = 1; ; attempt++) {
        const res = await request(`${server.url}${path}`, { method: 'POST', ...admin(), body });
        if (res.status !== 503 || attempt === 20) return res;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    };
    for (const [id, preset] of [
      [APP_REALM, 'feishu_app_store'],
      [TENANT_REALM, 'feishu_tenant_store'],
    ] as const) {
      const config = { ...ticketRealm(preset, fake.url), flush_min_interval_ms: 0 };
      const made = await post('/api/realm', { id, config });
      expect(made.status, made.text).to.equal(200);
    }
    for (const [key, f] of [
      ['app', fake],
      ['plainapp', plain],
    ] as const) {
      const put = await post('/api/secret', {
        realm: APP_REALM,
        key,
        key_1: f.app.appId,
        key_2: f.app.appSecret,
        key_3: f.app.verificationToken,
        ...(f.app.encryptKey === undefined ? {} : { key_4: f.app.encryptKey }),
        authorizer_realm: TENANT_REALM,
      });
      expect(put.status, put.text).to.equal(200);
    }
    const client = await post('/api/client', {
      name: 'feishu-app',
      scopes: [
        { realm: APP_REALM, key: '*' },
        { realm: TENANT_REALM, key: '*' },
      ],
    });
    clientKey = (client.body as { client_key: string }).client_key;
  });

  after(async () => {
    await Promise.all([server?.stop(), cache?.stop()]);
    await Promise.all([fake?.close(), plain?.close()]);
  });

  it('answers 503 TICKET_MISSING before the first app_ticket and asks Feishu to resend it, once', async () => {
    const res = await appToken();
    expect(res.status, res.text).to.equal(503);
    expect(res.body.error?.code).to.equal('TICKET_MISSING');
    expect(fake.calls('app_token')).to.equal(0);
    expect(fake.resends()).to.equal(1);
    expect((await appToken()).status).to.equal(503);
    expect(fake.resends()).to.equal(1);
    const row = (await status(APP_REALM)).find((r) => r.key === 'app');
    expect(row?.ticket_state).to.equal('missing');
  });

  it('answers url_verification with its challenge (encrypted and plain), and 401 with a wrong token', async () => {
    const challenge = `ch-${randomBytes(8).toString('hex')}`;
    const enc = await send(fake.event({ type: 'url_verification', challenge }));
    expect(enc.status, enc.text).to.equal(200);
    expect(enc.body).to.deep.equal({ challenge });
    const pl = await send(plain.event({ type: 'url_verification', challenge }), eventUrl('plainapp'));
    expect(pl.status, pl.text).to.equal(200);
    expect(pl.body).to.deep.equal({ challenge });
    await unchanged(async () => {
      const wrong = await send(fake.event({ type: 'url_verification', challenge, token: 'not-the-token' }));
      expect(wrong.status).to.equal(401);
      expect(wrong.text).to.not.include(challenge);
      const wrongPlain = await send(
        plain.event({ type: 'url_verification', challenge, token: 'not-the-token' }),
        eventUrl('plainapp'),
      );
      expect(wrongPlain.status).to.equal(401);
    });
  });

  it('refuses forged, replayed, misdirected and malformed events alike: 401, nothing stored', async () => {
    const genuine = fake.event();
    const refusals: JsonResponse[] = [];
    await unchanged(async () => {
      refusals.push(await send(fake.event({ signWith: 'not-the-encrypt-key' }))); // forged signature
      refusals.push(await send(fake.event({ token: 'not-the-verification-token' }))); // wrong token inside
      refusals.push(await send(fake.event({ ts: now() - 400 }))); // 6m40s old: a replay
      refusals.push(await send(genuine, eventUrl(), genuine.body.replace('"encrypt":"', '"encrypt":"AAAA'))); // tampered
      refusals.push(
        await send({ ...genuine, headers: { ...genuine.headers, 'x-lark-request-nonce': 'other' } }),
      );
      refusals.push(await send(plain.event(), eventUrl())); // plain JSON to an app with an Encrypt Key
      refusals.push(await send(genuine, eventUrl('plainapp'))); // encrypted to an app without one
      refusals.push(await send(genuine, `${server.url}/events/${APP_REALM}/nosuchkey`));
      refusals.push(await send(genuine, `${server.url}/events/nosuchrealm/app`));
      refusals.push(await send(genuine, eventUrl(), '{"encrypt": '));
      refusals.push(await send(plain.event({ token: 'not-the-verification-token' }), eventUrl('plainapp')));
    });
    for (const r of refusals) {
      expect(r.status, r.text).to.equal(401);
      expect(r.text).to.equal(refusals[0]?.text);
    }
    expect((await appToken()).body.error?.code).to.equal('TICKET_MISSING');
    expect(fake.calls('app_token')).to.equal(0);
  });

  it('app_open creates the tenant; 30 concurrent requests over two processes cost one app and one tenant call; the ~4.6 KB JWT arrives whole', async () => {
    const ticket = fake.event({ ts: now() - 10 });
    expect((await send(ticket)).status).to.equal(200);
    const tenant = `tk${randomBytes(6).toString('hex')}`;
    const opened = fake.event({ type: 'app_open', tenantKey: tenant });
    expect((await send(opened)).status).to.equal(200);
    // Feishu retries: the same event again (and a schema 2.0 app_open of the same tenant) change nothing.
    await unchanged(async () => {
      expect((await send(opened)).status).to.equal(200);
      expect(
        (await send(fake.event({ type: 'app_open', tenantKey: tenant, schema2: true }))).status,
      ).to.equal(200);
    });
    const secret = await request<{ parent?: string; key_1?: string }>(
      `${server.url}/api/secret/${TENANT_REALM}/${tenant}`,
      admin(),
    );
    expect(secret.status, secret.text).to.equal(200);
    expect(secret.body.parent).to.equal(`${APP_REALM}/app`);

    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => tenantToken(i % 2 === 0 ? server : cache, tenant)),
    );
    expect(
      answers.map((a) => a.status).filter((s) => s !== 200),
      answers[0]?.text,
    ).to.deep.equal([]);
    const issued = fake.tenantTokens.get(tenant);
    expect(issued).to.be.a('string').with.length.above(4096);
    for (const a of answers) expect(a.body.token).to.equal(issued);
    expect(fake.calls('app_token'), 'app_access_token calls').to.equal(1);
    expect(fake.calls('tenant_token'), 'tenant_access_token calls').to.equal(1);
    expect(fake.ticketsSeen).to.deep.equal([ticket.ticket]);
    // The memory cache again, and the client library: still whole.
    expect((await tenantToken(cache, tenant)).body.token).to.equal(issued);
    const client = new TokenClient({ url: cache.url, clientKey, realm: TENANT_REALM, key: tenant });
    expect(await client.getToken()).to.equal(issued);
    // And a compat route (an SDK that only takes a base URL), on the cache function: whole too.
    const compat = await request<{ access_token?: string; expires_in?: number }>(
      `${cache.url}/wechat/${TENANT_REALM}/${tenant}/cgi-bin/token?${new URLSearchParams({
        grant_type: 'client_credential',
        appid: tenant,
        secret: clientKey,
      }).toString()}`,
    );
    expect(compat.status, compat.text).to.equal(200);
    expect(compat.body.access_token).to.equal(issued);
    expect(fake.calls('tenant_token')).to.equal(1);

    const rows = await status(TENANT_REALM);
    expect(rows.find((r) => r.key === tenant)?.state).to.be.a('string');
    const app = (await status(APP_REALM)).find((r) => r.key === 'app');
    expect(app?.ticket_state).to.equal('ok');
    expect(app?.ticket_age_ms).to.be.a('number').within(0, 60_000);
  });

  it('never lets an older app_ticket replace a newer one; a duplicate changes nothing', async () => {
    const newer = fake.event({ ts: now() - 2 });
    const older = fake.event({ ts: now() - 5 });
    expect((await send(newer)).status).to.equal(200);
    await unchanged(async () => {
      expect((await send(older)).status).to.equal(200); // acknowledged, not stored
      expect((await send(newer)).status).to.equal(200); // a retry
    });
    const flushed = await request<TokenBody>(
      `${server.url}/api/token?realm=${APP_REALM}&key=app&flush=true`,
      {
        bearer: clientKey,
      },
    );
    expect(flushed.status, flushed.text).to.equal(200);
    expect(fake.ticketsSeen.at(-1)).to.equal(newer.ticket);
  });

  it('answers a refused app_ticket (10012) 503 TICKET_STALE, not remembered: the next push heals it', async () => {
    const current = await appToken();
    expect(current.status, current.text).to.equal(200);
    fake.invalidateTickets();
    // The app reports its app_access_token dead: the broker must fetch, and Feishu refuses the ticket.
    const report = (): Promise<JsonResponse<TokenBody>> =>
      request<TokenBody>(`${server.url}/api/token`, {
        method: 'POST',
        bearer: clientKey,
        body: { realm: APP_REALM, key: 'app', invalid_token: current.body.token },
      });
    const stale = await report();
    expect(stale.status, stale.text).to.equal(503);
    expect(stale.body.error?.code).to.equal('TICKET_STALE');
    // Asked for again at most once per 10 minutes: the first request's resend still counts.
    expect(fake.resends()).to.equal(1);
    const fresh = fake.event();
    expect((await send(fresh)).status).to.equal(200);
    const healed = await report();
    expect(healed.status, healed.text).to.equal(200);
    expect(fake.ticketsSeen.at(-1)).to.equal(fresh.ticket);
  });

  it('an admin asks Feishu to resend the app_ticket now, whatever the 10-minute spacing', async () => {
    // The stale scan itself (no push for 2.5 h of store time, two scheduled runs at once) runs on a
    // shifted clock in ticket-freshness-storetime.test.ts.
    // The first request's resend, minutes ago, holds the claim: only a forced call goes out now.
    expect(fake.resends()).to.equal(1);
    const asked = await request<{ start_push?: string }>(
      `${server.url}/api/component/${APP_REALM}/app/start-push`,
      {
        method: 'POST',
        ...admin(),
      },
    );
    expect(asked.status, asked.text).to.equal(200);
    expect(asked.body.start_push).to.equal('sent');
    expect(fake.resends()).to.equal(2);
  });
  it('app_uninstalled keeps the tenant as a tombstone (410); a late app_open does not undo it, a new one does', async () => {
    const tenant = `tk${randomBytes(6).toString('hex')}`;
    expect((await send(fake.event({ type: 'app_open', tenantKey: tenant, ts: now() - 20 }))).status).to.equal(
      200,
    );
    expect((await tenantToken(server, tenant)).status).to.equal(200);
    expect(
      (await send(fake.event({ type: 'app_uninstalled', tenantKey: tenant, ts: now() - 5 }))).status,
    ).to.equal(200);
    const gone = await tenantToken(server, tenant);
    expect(gone.status, gone.text).to.equal(410);
    expect(gone.body.error?.code).to.equal('AUTHORIZER_REVOKED');
    // An app_open sent before the uninstall but delivered after it changes nothing.
    expect((await send(fake.event({ type: 'app_open', tenantKey: tenant, ts: now() - 10 }))).status).to.equal(
      200,
    );
    expect((await tenantToken(server, tenant)).status).to.equal(410);
    expect((await send(fake.event({ type: 'app_open', tenantKey: tenant }))).status).to.equal(200);
    const back = await tenantToken(server, tenant);
    expect(back.status, back.text).to.equal(200);
    expect(back.body.token).to.equal(fake.tenantTokens.get(tenant));
  });
});
