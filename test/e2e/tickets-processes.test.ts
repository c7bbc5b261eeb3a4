/**
 * Tickets (dependent secrets) and probes as deployed: several real function processes on one
 * Firestore (the emulator), the ticket fake counting every call.
 * - A stampede of ticket requests with nothing cached: one parent call and one ticket call.
 * - The parent's token killed at the fake while apps flush the ticket and report the parent: one
 *   parent refresh for everybody, the ticket call retried once, every answer live at the fake.
 * - The signature route answers from the ticket without ever showing it.
 * - tokenServerRefresh probes the parent (fetched 400 s ago by the store's clock, older than the
 *   probe interval; the refresher's own clock 400 s ahead changes nothing, as the probe judges by the
 *   store's time), finds it killed from outside, and refreshes it: the next request gets a live
 *   token; a second run does not probe again.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { Store } from '../../functions/store/store';
import type { JsonObject } from '../../functions/store/types';
import { startTicketFake, ticketRealm, WECHAT_APP, type TicketFake } from '../fakes/tickets';
import { clearEmulator, emulatorHostFromEnv } from '../helpers/emulator';
import { request } from '../helpers/http';
import { startFunction, testEnv, type FunctionProcess, type TestEnv } from '../helpers/processes';
import { openTestStore, putFreshSecret } from '../helpers/test-store';

interface TokenBody {
  token: string;
  expires_in: number;
}

const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
/** Flushes and reports within this window of a fetch get that token: the heal phase waits it out. */
const FLUSH_WINDOW_MS = 3000;

describe('tickets and probes across function processes (emulator)', function () {
  this.timeout(180_000);
  let env: TestEnv;
  let fake: TicketFake;
  let store: Store;
  let procs: FunctionProcess[] = [];

  async function seed(withTicket = true): Promise<void> {
    const now = Date.now();
    const realm = async (id: string, preset: string): Promise<void> => {
      const config: JsonObject = { ...ticketRealm(preset, fake.url), flush_min_interval_ms: FLUSH_WINDOW_MS };
      await store.putRealm({ id, comment: preset, config, createdAt: now, updatedAt: now });
    };
    await realm('wx', 'wechat_offiaccount');
    if (withTicket) await realm('wxticket', 'wechat_jsapi_ticket');
    const secret = async (
      realmId: string,
      values: Record<string, string>,
      parent?: string,
    ): Promise<void> => {
      await putFreshSecret(store, {
        realm: realmId,
        key: 'main',
        values,
        ...(parent === undefined ? {} : { parent }),
        rev: `rev-${realmId}`,
        createdAt: now,
        updatedAt: now,
      });
    };
    await secret('wx', { ...WECHAT_APP });
    if (withTicket) await secret('wxticket', {}, 'wx/main');
  }

  const get = (p: FunctionProcess, query: string) =>
    request<TokenBody>(`${p.url}/api/token?${query}`, { bearer: env.adminKey });

  before(async () => {
    emulatorHostFromEnv();
    env = testEnv({
      store: 'firestore',
      overrides: { TOKEN_SERVER_LEASE_MS: '8000', TOKEN_SERVER_WAIT_MS: '20000' },
    });
    store = openTestStore(env, 'tickets-e2e');
    fake = await startTicketFake();
  });

  beforeEach(async () => {
    await clearEmulator(env.emulatorHost!, env.projectId);
    fake.reset();
  });

  afterEach(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    procs = [];
  });

  after(async () => {
    await fake.close();
    await store.close();
    await clearEmulator(env.emulatorHost ?? '', env.projectId);
  });

  async function start(targets: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<FunctionProcess[]> {
    const started = await Promise.all(
      // Several processes start at once on a shared machine: give them time.
      targets.map((target) => startFunction({ target, env: { ...env.env, ...extraEnv }, timeoutMs: 90_000 })),
    );
    procs.push(...started);
    return started;
  }

  it('a stampede of ticket requests on 4 processes costs one parent call and one ticket call; a parent killed at the fake heals with one parent refresh and one retry', async () => {
    await seed();
    const servers = await start(['tokenServer', 'tokenServer', 'tokenServer', 'tokenServerCache']);
    const on = (i: number) => servers[i % servers.length]!;

    const stampede = await Promise.all(
      Array.from({ length: 200 }, (_, i) => get(on(i), 'realm=wxticket&key=main')),
    );
    expect(stampede.map((r) => r.status).filter((s) => s !== 200)).to.deep.equal([]);
    const tickets = new Set(stampede.map((r) => r.body.token));
    expect(tickets.size).to.equal(1);
    const ticket = [...tickets][0]!;
    expect(fake.ticketValid(ticket)).to.equal(true);
    expect(fake.calls('wechat_offiaccount'), 'parent calls').to.equal(1);
    expect(fake.calls('wechat_jsapi_ticket'), 'ticket calls').to.equal(1);

    // The signature route signs with that ticket and never shows it.
    const page = 'https://shop.example.com/pay?id=1';
    const signed = await request<{ timestamp: number; nonceStr: string; signature: string; url: string }>(
      `${on(3).url}/api/jssdk/signature?realm=wxticket&key=main&url=${encodeURIComponent(`${page}#x`)}`,
      { bearer: env.adminKey },
    );
    expect(signed.status, signed.text).to.equal(200);
    expect(signed.text).to.not.include(ticket);
    const { nonceStr, timestamp } = signed.body;
    expect(signed.body.signature).to.equal(
      createHash('sha1')
        .update(`jsapi_ticket=${ticket}&noncestr=${nonceStr}&timestamp=${timestamp}&url=${page}`)
        .digest('hex'),
    );

    // Killed from outside; apps on every process flush the ticket at once.
    const parentToken = fake.currentToken('wechat')!;
    await new Promise((resolve) => setTimeout(resolve, FLUSH_WINDOW_MS + 500));
    fake.kill(parentToken);
    const heal = await Promise.all(
      Array.from({ length: 40 }, (_, i) => get(on(i), 'realm=wxticket&key=main&flush=true')),
    );
    expect(heal.map((r) => r.status).filter((s) => s !== 200)).to.deep.equal([]);
    const newTickets = new Set(heal.map((r) => r.body.token));
    expect(newTickets.size).to.equal(1);
    expect(fake.ticketValid([...newTickets][0]!)).to.equal(true);
    expect(fake.calls('wechat_offiaccount'), 'one parent refresh').to.equal(2);
    expect(fake.calls('wechat_jsapi_ticket'), 'the rejected call and its one retry').to.equal(3);
    // Apps that saw the parent's token rejected too get the new one, with no further call.
    const reports = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        get(on(i), `realm=wx&key=main&invalid_token=${encodeURIComponent(parentToken)}`),
      ),
    );
    const parents = new Set(reports.map((r) => r.body.token));
    expect(parents.size).to.equal(1);
    expect(fake.tokenValid([...parents][0]!)).to.equal(true);
    expect(fake.calls('wechat_offiaccount'), 'collapsed with the ticket heal').to.equal(2);
    for (const p of servers) expect(p.logs.join('\n')).to.not.include(ticket);
  });

  it('tokenServerRefresh probes a token killed from outside and refreshes it; the next request gets a live token', async function () {
    if (!existsSync(LIBFAKETIME)) this.skip();
    // Started on an empty database: its readiness request runs the job once with nothing to do.
    const [refresher] = await start(['tokenServerRefresh'], { LD_PRELOAD: LIBFAKETIME, FAKETIME: '+400s' });
    const [server] = await start(['tokenServer']);
    // No ticket: its refresh would heal the parent itself (the other test); here only the probe can.
    await seed(false);
    const first = await get(server!, 'realm=wx&key=main');
    expect(first.status).to.equal(200);
    const killed = first.body.token;
    fake.kill(killed);
    expect(fake.calls('wechat_offiaccount')).to.equal(1);
    // An outside kill comes minutes after a fetch: the fetch is moved 400 s back in the store (the
    // probe interval, and flush_min_interval, are judged by the store's time, which faketime does
    // not shift).
    await store.mutateTokenState('wx', 'main', (cur, now) =>
      cur === null
        ? { result: null }
        : { next: { ...cur, fetchedAt: now - 400_000, lastRefreshAt: now - 400_000 }, result: null },
    );

    const run = () =>
      request(`${refresher!.url}/`, {
        method: 'POST',
        headers: {
          'X-CloudScheduler-JobName': 'tickets-e2e',
          'X-CloudScheduler-ScheduleTime': new Date().toISOString(),
        },
      });
    expect((await run()).status).to.equal(200);
    expect(fake.calls('wechat_probe'), `one probe; the job said:\n${refresher!.logs.join('\n')}`).to.equal(1);
    expect(fake.calls('wechat_offiaccount'), 'the dead token refreshed at once').to.equal(2);

    const next = await get(server!, 'realm=wx&key=main');
    expect(next.status).to.equal(200);
    expect(next.body.token).to.not.equal(killed);
    expect(fake.tokenValid(next.body.token)).to.equal(true);

    expect((await run()).status).to.equal(200);
    expect(fake.calls('wechat_probe'), 'not probed again within the interval').to.equal(1);
    expect(fake.calls('wechat_offiaccount')).to.equal(2);
    const probeLog = refresher!.logs.find((l) => l.includes('token_probe_dead'));
    expect(probeLog).to.not.equal(undefined);
    expect(refresher!.logs.join('\n')).to.not.include(killed);
  });
});
