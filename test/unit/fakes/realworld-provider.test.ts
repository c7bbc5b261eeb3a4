/** The real-world fake provider itself (test/fakes/realworld-provider.ts), over real HTTP. */
import { expect } from 'chai';
import {
  ALIVE_PATH,
  FAKE_APPID,
  FAKE_SECRET,
  RealworldProvider,
  WECHAT_PATH,
  WECOM_PATH,
} from '../../fakes/realworld-provider';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('real-world fake provider', function () {
  this.timeout(10_000);
  let fake: RealworldProvider;

  afterEach(async () => {
    await fake.close();
  });

  async function get(
    path: string,
    timeoutMs = 5_000,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${fake.url}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }
  const wechat = (secret = FAKE_SECRET) =>
    get(`${WECHAT_PATH}?grant_type=client_credential&appid=${FAKE_APPID}&secret=${secret}`);
  const wecom = () => get(`${WECOM_PATH}?corpid=${FAKE_APPID}&corpsecret=${FAKE_SECRET}`);

  it('mints a new token per call and kills the previous one killAfterMs after the newer call', async () => {
    fake = await RealworldProvider.start({ mode: 'mint', lifetimeMs: 30_000, killAfterMs: 200 });
    const one = await wechat();
    expect(one.body.expires_in).to.be.within(29, 30);
    const t1 = one.body.access_token as string;
    expect(fake.isAlive(t1)).to.equal(true);
    const two = await wechat();
    const t2 = two.body.access_token as string;
    expect(t2).to.not.equal(t1);
    const second = fake.calls()[1]!;
    expect(fake.deathOf(t1)).to.equal(second.arrivedAt + 200);
    expect(fake.isAlive(t1)).to.equal(true);
    await sleep(250);
    expect(fake.isAlive(t1)).to.equal(false);
    expect(fake.isAlive(t2)).to.equal(true);
    expect((await get(`${ALIVE_PATH}?access_token=${t1}`)).body.alive).to.equal(false);
    expect((await get(`${ALIVE_PATH}?access_token=${t2}`)).body.alive).to.equal(true);
    expect(fake.isAlive('never-issued')).to.equal(false);
    expect(fake.calls().map((c) => c.outcome)).to.deep.equal(['issued', 'issued']);
  });

  it('lets the previous token live out its lifetime when killAfterMs is null', async () => {
    fake = await RealworldProvider.start({ mode: 'mint', lifetimeMs: 30_000, killAfterMs: null });
    const t1 = (await wechat()).body.access_token as string;
    await wechat();
    expect(fake.deathOf(t1)).to.equal(fake.tokenInfo(t1)!.expiresAt);
  });

  it('issues the token at arrival and answers after latencyMs, even when the caller gave up', async () => {
    fake = await RealworldProvider.start({ mode: 'mint', killAfterMs: 100, latencyMs: 400 });
    const t1 = (await wechat()).body.access_token as string;
    const started = Date.now();
    expect((await wechat()).body.access_token).to.be.a('string');
    expect(Date.now() - started).to.be.at.least(390);
    fake.set({ latencyMs: 1_000 });
    const abandoned = get(
      `${WECHAT_PATH}?grant_type=client_credential&appid=${FAKE_APPID}&secret=${FAKE_SECRET}`,
      100,
    );
    expect(await abandoned.catch(() => 'timed out')).to.equal('timed out');
    expect(fake.callCount).to.equal(3);
    expect(fake.calls()[2]!.outcome).to.equal('issued');
    await sleep(150);
    expect(fake.isAlive(t1)).to.equal(false);
  });

  it('holds answers until release()', async () => {
    fake = await RealworldProvider.start({ mode: 'mint' });
    fake.hold();
    let answered = false;
    const pending = wechat().then((r) => {
      answered = true;
      return r;
    });
    await fake.waitForCalls(1);
    await sleep(100);
    expect(answered).to.equal(false);
    expect(fake.calls()[0]!.answeredAt).to.equal(undefined);
    fake.release();
    const res = await pending;
    expect(res.body.access_token).to.equal(fake.calls()[0]!.token);
  });

  it('fails during outages (errcode -1, HTTP 500, reset) and counts those calls', async () => {
    fake = await RealworldProvider.start({ mode: 'mint' });
    fake.down('errcode');
    expect(await wechat()).to.deep.equal({ status: 200, body: { errcode: -1, errmsg: 'system error' } });
    fake.up();
    fake.down('http500');
    expect((await wechat()).status).to.equal(500);
    fake.up();
    fake.down('reset');
    expect(await wechat().catch(() => 'reset')).to.equal('reset');
    fake.up();
    const now = Date.now();
    fake.downBetween(now + 150, now + 300);
    expect((await wechat()).body.access_token).to.be.a('string');
    await sleep(200);
    expect((await wechat()).body.errcode).to.equal(-1);
    await sleep(150);
    expect((await wechat()).body.access_token).to.be.a('string');
    expect(fake.calls().map((c) => c.outcome)).to.deep.equal([
      'outage',
      'outage',
      'outage',
      'issued',
      'outage',
      'issued',
    ]);
    expect(fake.callsBetween(now + 150, now + 300)).to.have.length(1);
  });

  it('refuses wrong credentials in the provider format', async () => {
    fake = await RealworldProvider.start({ mode: 'mint' });
    expect((await wechat('wrong')).body.errcode).to.equal(40125);
    expect(fake.calls()[0]!.outcome).to.equal('bad_credentials');
  });

  it('same mode: the same token with its remaining life, a new one inside the reissue window', async () => {
    fake = await RealworldProvider.start({ mode: 'same', lifetimeMs: 3_000, reissueWindowMs: 2_000 });
    const one = await wecom();
    expect(one.body).to.include({ errcode: 0, errmsg: 'ok', expires_in: 3 });
    await sleep(500);
    const two = await wecom();
    expect(two.body.access_token).to.equal(one.body.access_token);
    expect(two.body.expires_in).to.equal(2);
    await sleep(700);
    const three = await wecom();
    expect(three.body.access_token).to.not.equal(one.body.access_token);
    expect(three.body.expires_in).to.equal(3);
    // The old one lives out its life.
    expect(fake.isAlive(one.body.access_token as string)).to.equal(true);
    expect(fake.calls().map((c) => c.outcome)).to.deep.equal(['issued', 'same', 'issued']);
  });
});
