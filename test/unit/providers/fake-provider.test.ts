/** The fake provider behaves like the real ones where the engine's correctness depends on it. */
import { expect } from 'chai';
import * as http from 'node:http';
import { parseRealmConfig } from '../../../functions/providers/realm-config';
import { fetchToken } from '../../../functions/providers/upstream';
import { realmFor, startFakeProvider, type FakePresetName, type FakeProvider } from '../../fakes/providers';
import { parseProviderArgs } from '../../fakes/provider-main';
import { useFakeProvider } from './fake-provider-suite';

const PRIVATE = { allowPrivate: true };

describe('test/fakes/providers', function () {
  this.timeout(20_000);
  let fake: FakeProvider;
  useFakeProvider((started) => (fake = started));

  async function fetch(
    preset: FakePresetName,
    values = fake.credentials(preset),
  ): Promise<{ token: string; lifetimeMs: number }> {
    return fetchToken(parseRealmConfig(realmFor(preset, fake.url)), values, PRIVATE);
  }

  it('WeChat: a new token every call; the previous one dies 5 minutes later', async () => {
    const a = await fetch('wechat_offiaccount');
    const b = await fetch('wechat_offiaccount');
    expect(a.token).to.not.equal(b.token);
    expect(fake.tokenValid(a.token)).to.equal(true);
    fake.advanceTime(299_000);
    expect(fake.tokenValid(a.token)).to.equal(true);
    fake.advanceTime(2_000);
    expect(fake.tokenValid(a.token)).to.equal(false);
    expect(fake.tokenValid(b.token)).to.equal(true);
  });

  it('stable_token: the same token while valid, a new one in its last 5 minutes', async () => {
    const a = await fetch('wechat_stable');
    fake.advanceTime(3_600_000);
    const b = await fetch('wechat_stable');
    expect(b.token).to.equal(a.token);
    expect(b.lifetimeMs).to.equal(3_600_000);
    fake.advanceTime(3_600_000 - 200_000);
    const c = await fetch('wechat_stable');
    expect(c.token).to.not.equal(a.token);
    expect(fake.tokenValid(a.token)).to.equal(true);
  });

  it('Feishu: the same token until less than 30 minutes remain', async () => {
    const a = await fetch('feishu_tenant');
    fake.advanceTime(5_390_000); // 30 min 10 s left
    expect((await fetch('feishu_tenant')).token).to.equal(a.token);
    fake.advanceTime(11_000);
    const c = await fetch('feishu_tenant');
    expect(c.token).to.not.equal(a.token);
    expect(c.lifetimeMs).to.equal(7_200_000);
    expect(fake.tokenValid(a.token)).to.equal(true);
  });

  it('DingTalk: the same token, its expiry extended', async () => {
    const a = await fetch('dingtalk');
    fake.advanceTime(3_600_000);
    const b = await fetch('dingtalk');
    expect(b.token).to.equal(a.token);
    expect(b.lifetimeMs).to.equal(7_200_000);
  });

  it('WeCom: the same token while valid, a new one after expiry', async () => {
    const a = await fetch('wecom');
    fake.advanceTime(1_000_000);
    const b = await fetch('wecom');
    expect(b.token).to.equal(a.token);
    expect(b.lifetimeMs).to.equal(6_200_000);
    fake.advanceTime(6_200_001);
    expect((await fetch('wecom')).token).to.not.equal(a.token);
  });

  it('counts calls per route and per credential, and serves several credentials', async () => {
    fake.setCredentials('wecom', [
      { id: 'corp-a', secret: 'secret-a' },
      { id: 'corp-b', secret: 'secret-b' },
    ]);
    const a = await fetch('wecom', fake.credentials('wecom', 0));
    const b = await fetch('wecom', fake.credentials('wecom', 1));
    await fetch('wecom', fake.credentials('wecom', 1));
    expect(a.token).to.not.equal(b.token);
    expect(fake.currentToken('wecom', 'corp-b')).to.equal(b.token);
    expect(fake.calls('wecom')).to.equal(3);
    expect(fake.calls('/cgi-bin/gettoken', 'corp-b')).to.equal(2);
    expect(fake.calls()).to.equal(3);
    fake.reset();
    expect(fake.calls()).to.equal(0);
    expect(fake.credentials('wecom')).to.deep.equal({ key_1: 'ww-corpid-1', key_2: 'ww-corpsecret-1' });
  });

  it('a persistent mode stays until cleared; queued modes come first', async () => {
    fake.setMode('dingtalk', 'errcode:-1');
    fake.failNext('dingtalk', 'http500');
    const errors: string[] = [];
    for (let i = 0; i < 3; i++) {
      await fetch('dingtalk').catch((err: { httpStatus?: number; providerCode?: string }) =>
        errors.push(`${err.httpStatus}/${err.providerCode}`),
      );
    }
    expect(errors).to.deep.equal(['500/undefined', '200/-1', '200/-1']);
    fake.setMode('dingtalk', null);
    expect((await fetch('dingtalk')).token).to.be.a('string');
  });

  it('close() ends hanging and trickling connections', async () => {
    const other = await startFakeProvider();
    other.setMode('wecom', 'hang');
    other.failNext('dingtalk', 'trickle');
    const url = other.url;
    const pending = [
      `${url}/cgi-bin/gettoken?corpid=x&corpsecret=y`,
      `${url}/gettoken?appkey=x&appsecret=y`,
    ].map(
      (u) =>
        new Promise<string>((resolve) => {
          http
            .get(u, (res) => {
              res.on('data', () => undefined);
              res.on('end', () => resolve('end'));
              res.on('error', () => resolve('closed'));
              res.on('close', () => resolve('closed'));
            })
            .on('error', () => resolve('closed'));
        }),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = Date.now();
    await other.close();
    const outcomes = await Promise.all(pending);
    expect(Date.now() - started).to.be.below(1000);
    expect(outcomes).to.have.length(2);
  });

  it('answers 404 for unknown paths', async () => {
    const status = await new Promise<number>((resolve) => {
      http.get(`${fake.url}/nope`, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
    });
    expect(status).to.equal(404);
  });

  it('realmFor points a preset at the fake, keeping the path', () => {
    const config = realmFor('feishu_tenant', `${fake.url}/`);
    expect(config.url).to.equal(`${fake.url}/open-apis/auth/v3/tenant_access_token/internal`);
    expect(config.token_path).to.equal('tenant_access_token');
    expect(() => realmFor('nope', fake.url)).to.throw('unknown preset');
  });

  it('provider-main parses --port and --latency', () => {
    expect(parseProviderArgs(['--port', '8099', '--latency', '0'])).to.deep.equal({
      port: 8099,
      latencyMs: 0,
    });
    expect(parseProviderArgs(['--port=0', '--latency=25'])).to.deep.equal({ port: 0, latencyMs: 25 });
    expect(parseProviderArgs([])).to.deep.equal({ port: 0, latencyMs: 0 });
    expect(() => parseProviderArgs(['--port', 'x'])).to.throw();
    expect(() => parseProviderArgs(['--port', '70000'])).to.throw();
    expect(() => parseProviderArgs(['--verbose', '1'])).to.throw();
  });
});
