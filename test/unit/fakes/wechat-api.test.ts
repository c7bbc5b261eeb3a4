/**
 * The fake provider's WeChat API calls (test/fakes/wechat-api.ts), which `npm start` serves so that
 * the README's app and JS-SDK examples run locally: each checks the token the fake issued.
 */
import { expect } from 'chai';
import { startFakeProvider, type FakeProvider } from '../../fakes/providers';

describe('fake provider: WeChat API calls that check the token', () => {
  let fake: FakeProvider;
  before(async () => {
    fake = await startFakeProvider();
  });
  after(async () => fake.close());

  const get = async (path: string): Promise<Record<string, unknown>> => {
    const res = await fetch(`${fake.url}${path}`);
    expect(res.status, path).to.equal(200);
    return (await res.json()) as Record<string, unknown>;
  };

  it('answers tickets and user/info for an issued token, 40001 for any other, 41001 without one', async () => {
    const { key_1: appid, key_2: secret } = fake.credentials('wechat_offiaccount');
    const issued = await get(`/cgi-bin/token?grant_type=client_credential&appid=${appid}&secret=${secret}`);
    const token = issued.access_token as string;
    const ticket = await get(`/cgi-bin/ticket/getticket?type=jsapi&access_token=${token}`);
    expect(ticket).to.include({ errcode: 0, errmsg: 'ok', expires_in: 7200 });
    expect(ticket.ticket).to.be.a('string');
    expect(await get(`/cgi-bin/user/info?openid=o1&access_token=${token}`)).to.include({
      openid: 'o1',
      subscribe: 1,
    });
    expect((await get(`/cgi-bin/user/info?openid=o1&access_token=${token}x`)).errcode).to.equal(40001);
    expect((await get(`/cgi-bin/ticket/getticket?type=jsapi&access_token=made-up`)).errcode).to.equal(40001);
    expect((await get('/cgi-bin/get_jsapi_ticket')).errcode).to.equal(41001);
    expect(fake.apiCalls('/cgi-bin/ticket/getticket')).to.equal(2);
    expect(fake.apiCalls('/cgi-bin/user/info')).to.equal(2);
    expect(fake.calls('wechat_offiaccount')).to.equal(1);
  });
});
