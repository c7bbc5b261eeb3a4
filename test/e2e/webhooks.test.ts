/**
 * Webhooks end to end, on the Firestore emulator with real function processes, a fake provider and a
 * receiver that checks signatures itself (test/fakes/webhook-receiver.ts):
 * - one failure episode under 50 requests is one `token.refresh_failed`, delivered (same id) after
 *   the receiver was down, and the healing is one `token.recovered`;
 * - an instance SIGKILLed while its delivery is in flight: the event goes out from another instance's
 *   sweep (POST /api/refresh), acknowledged once by id.
 * The processes run with a short retry backoff and delivery lease (TOKEN_SERVER_WEBHOOK_RETRY_MIN_MS,
 * TOKEN_SERVER_WEBHOOK_LEASE_MS; production: 30 s and 15 s), and the tests check both are waited out.
 */
import { expect } from 'chai';
import { realmFor, startFakeProvider, type FakeProvider } from '../fakes/providers';
import { startWebhookReceiver, type WebhookReceiver } from '../fakes/webhook-receiver';
import { request } from '../helpers/http';
import { startFunction, testEnv, type FunctionProcess } from '../helpers/processes';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The first retry comes 0.5–1 × this after a refused delivery. */
const RETRY_MIN_MS = 4_000;
/** A delivering instance holds its entry this long. */
const LEASE_MS = 3_000;

describe('webhooks (processes on the emulator)', function () {
  this.timeout(120_000);
  const env = testEnv({
    store: 'firestore',
    overrides: {
      // A generous store deadline: on a loaded machine a fresh process's first writes were answered
      // 503 UNAVAILABLE after the default 10 s (nothing here is about the store's deadline).
      TOKEN_SERVER_STORE_TIMEOUT_MS: '30000',
      TOKEN_SERVER_WEBHOOK_RETRY_MIN_MS: String(RETRY_MIN_MS),
      TOKEN_SERVER_WEBHOOK_LEASE_MS: String(LEASE_MS),
    },
  });
  const admin = { bearer: env.adminKey };
  let fake: FakeProvider;
  let receiver: WebhookReceiver;
  const started: FunctionProcess[] = [];

  before(async function () {
    if (env.emulatorHost === undefined) this.skip();
    fake = await startFakeProvider();
  });
  beforeEach(async () => {
    receiver = await startWebhookReceiver();
  });
  afterEach(async () => {
    await Promise.all(started.splice(0).map((p) => p.stop()));
    await receiver.close();
  });
  after(async () => {
    await fake?.close();
  });

  async function start(): Promise<FunctionProcess> {
    const fn = await startFunction({ target: 'tokenServer', env: env.env });
    started.push(fn);
    return fn;
  }

  /** A realm and secret on the fake, a first token, and a webhook to the receiver. */
  async function setUp(fn: FunctionProcess, realm: string): Promise<string> {
    const config = { ...realmFor('wechat_offiaccount', fake.url), flush_min_interval_ms: 0 };
    expect(
      (await request(`${fn.url}/api/realm`, { method: 'POST', ...admin, body: { id: realm, config } }))
        .status,
    ).to.equal(200);
    const creds = fake.credentials('wechat_offiaccount');
    expect(
      (
        await request(`${fn.url}/api/secret`, {
          method: 'POST',
          ...admin,
          body: { realm, key: 'k', ...creds },
        })
      ).status,
    ).to.equal(200);
    const first = await request<{ token: string }>(`${fn.url}/api/token?realm=${realm}&key=k`, admin);
    expect(first.status).to.equal(200);
    const hook = await request<{ secret: string }>(`${fn.url}/api/webhook`, {
      method: 'POST',
      ...admin,
      body: { url: receiver.url, events: ['token.refresh_failed', 'token.recovered'], comment: 'test' },
    });
    expect(hook.status).to.equal(201);
    receiver.secret = hook.body.secret;
    return first.body.token;
  }

  async function until(what: string, ms: number, check: () => boolean | Promise<boolean>): Promise<void> {
    const end = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await sleep(250);
    }
  }

  it('sends one refresh_failed per episode however many requests, retried while the receiver is down, then recovered', async () => {
    const fn = await start();
    const realm = `wh${Date.now()}`;
    await setUp(fn, realm);
    receiver.mode = 'down';
    fake.setMode('wechat_offiaccount', 'http500');
    const path = `${fn.url}/api/token?realm=${realm}&key=k&flush=true`;
    const answers = await Promise.all(Array.from({ length: 50 }, () => request(path, admin)));
    expect(answers.every((a) => a.status === 200)).to.equal(true); // stale-if-error: still served
    await until('the first (refused) delivery', 20_000, () => receiver.arrived.length > 0);
    expect(receiver.acked).to.have.length(0);
    receiver.mode = 'up';
    // Retried with backoff (RETRY_MIN_MS/2 to RETRY_MIN_MS after the refusal) by the sweep of POST
    // /api/refresh, asked every 250 ms: not before the backoff has passed.
    await until('the retried delivery', 60_000, async () => {
      await request(`${fn.url}/api/refresh`, { method: 'POST', ...admin });
      return receiver.acked.length > 0;
    });
    // The backoff counts from the attempt's claim, before its POST arrived (on a loaded machine up to
    // a second before: 1 s allowed): a sweep that ignored it would have sent the retry within ~250 ms.
    const refusedAt = receiver.arrivedAt[receiver.arrivedAt.length - 2]!; // the last refused attempt
    expect(receiver.ackedAt[0]! - refusedAt, 'ms from the last refusal to the retry').to.be.at.least(
      RETRY_MIN_MS / 2 - 1000,
    );
    const failed = [...receiver.unique().values()].filter((e) => e.type === 'token.refresh_failed');
    expect(failed).to.have.length(1);
    expect(failed[0]?.id).to.equal(receiver.arrived[0]?.id); // the same id on every attempt
    expect(failed[0]?.data).to.include({ realm, key: 'k', serving_stale: true });

    // Heals: the next round that succeeds sends token.recovered (once).
    fake.setMode('wechat_offiaccount', null);
    await until('token.recovered', 60_000, async () => {
      await request(path, admin);
      return [...receiver.unique().values()].some((e) => e.type === 'token.recovered');
    });
    await sleep(1_000);
    const types = [...receiver.unique().values()].map((e) => e.type).sort();
    expect(types).to.deep.equal(['token.recovered', 'token.refresh_failed']);
    expect(receiver.badSignatures).to.equal(0);
  });

  it('delivers once by id an event whose instance was SIGKILLed before its delivery finished', async () => {
    const [a, b] = await Promise.all([start(), start()]);
    const realm = `wk${Date.now()}`;
    await setUp(a, realm);
    receiver.mode = 'hang';
    fake.setMode('wechat_offiaccount', 'http500');
    expect((await request(`${a.url}/api/token?realm=${realm}&key=k&flush=true`, admin)).status).to.equal(200);
    await until('the held delivery', 20_000, () => receiver.arrived.length > 0);
    const id = receiver.arrived[0]?.id;
    a.kill('SIGKILL');
    await a.exited;
    receiver.mode = 'up';
    // B's sweep, asked every 250 ms, takes the entry only once A's delivery lease has passed.
    await until('the delivery from B', 60_000, async () => {
      await request(`${b.url}/api/refresh`, { method: 'POST', ...admin });
      return receiver.acked.length > 0;
    });
    // The lease counts from A's claim, a little before its POST arrived (500 ms allowed).
    const heldFor = receiver.ackedAt[0]! - receiver.arrivedAt[0]!;
    expect(heldFor, 'ms from the held delivery to the delivery from B').to.be.at.least(LEASE_MS - 500);
    await request(`${b.url}/api/refresh`, { method: 'POST', ...admin });
    fake.setMode('wechat_offiaccount', null);
    expect(receiver.acked.map((e) => e.id)).to.deep.equal([id]);
    expect(receiver.acked[0]?.type).to.equal('token.refresh_failed');
    expect(receiver.badSignatures).to.equal(0);
  });
});
