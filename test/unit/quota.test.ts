/**
 * Quota truth against a fake WeChat on 127.0.0.1 that counts its /cgi-bin/token calls and answers
 * quota/get with that count plus what "another system" fetched: the broker's check finds foreign
 * use only when WeChat's count exceeds its own, shows it in /api/status, and checks at most hourly.
 * And the IP doctor: the refused caller IP parsed from allow-list errors, with the fix.
 */
import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toStatus } from '../../functions/admin/views';
import { parseConfig } from '../../functions/config';
import { ipAllowlistFix } from '../../functions/providers/ip-allowlist';
import { checkQuotas } from '../../functions/quota/check';
import { countQuotaAttempt, quotaCallsOn, wechatDay } from '../../functions/token/quota-day-count';
import { createRuntime, type Runtime } from '../../functions/runtime';
import { MemoryStore } from '../../functions/store/memory/memory-store';
import { Sealer } from '../../functions/store/seal';
import { seedQuotaSecret } from '../helpers/quota-seed';

describe('quota truth (fake WeChat)', () => {
  let server: Server;
  let base: string;
  let tokenCalls = 0;
  let foreignCalls = 0;
  let quotaCalls = 0;
  let runtime: Runtime;
  let clockNow = Date.parse('2026-12-06T20:00:00.000Z');
  const clock = { now: () => clockNow, sleep: async () => undefined };

  before(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      res.setHeader('content-type', 'application/json');
      if (url.pathname === '/cgi-bin/token') {
        tokenCalls++;
        res.end(JSON.stringify({ access_token: `tok-${tokenCalls}`, expires_in: 7200 }));
      } else if (url.pathname === '/cgi-bin/openapi/quota/get') {
        quotaCalls++;
        const used = tokenCalls + foreignCalls;
        res.end(JSON.stringify({ errcode: 0, quota: { daily_limit: 2000, used, remain: 2000 - used } }));
      } else res.end(JSON.stringify({ errcode: 404 }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const masterKey = Buffer.alloc(32, 9);
    runtime = await createRuntime(
      parseConfig({ TOKEN_SERVER_STORE: 'memory', TOKEN_SERVER_ALLOW_PRIVATE_UPSTREAMS: 'true' }),
      {
        keys: { adminKey: 'a'.repeat(40), masterKey, problems: {} },
        store: new MemoryStore(new Sealer(masterKey), clock),
        clock,
      },
    );
    await seedQuotaSecret(
      runtime.store,
      `${base}/cgi-bin/token`,
      { key_1: 'wxappid0001', key_2: 'appsecret0001' },
      clockNow,
    );
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  async function statusRow() {
    const page = await runtime.store.listTokenSummaries({ limit: 10 });
    const s = page.list[0];
    if (s === undefined) throw new Error('no status row');
    return toStatus(s, clockNow);
  }

  it('finds no foreign use while WeChat counts what the broker made', async () => {
    await runtime.engine.getToken({ realm: 'wx', key: 'main' });
    expect(tokenCalls).to.equal(1);
    const summary = await checkQuotas({ store: runtime.store, allowPrivateUpstreams: true, instanceId: 't' });
    expect(summary).to.deep.equal({ checked: 1, foreign: 0 });
    expect((await statusRow()).foreign_use).to.equal(undefined);
  });

  it('checks at most hourly, then reports foreign use when WeChat counts more than the broker', async () => {
    foreignCalls = 3; // another system fetched 3 tokens with the same appid
    await checkQuotas({ store: runtime.store, allowPrivateUpstreams: true, instanceId: 't' });
    expect(quotaCalls).to.equal(1); // within the hour: not asked again
    clockNow += 3_600_000;
    const summary = await checkQuotas({ store: runtime.store, allowPrivateUpstreams: true, instanceId: 't' });
    expect(summary).to.deep.equal({ checked: 1, foreign: 1 });
    expect((await statusRow()).foreign_use).to.deep.equal({
      wechat_used: 4,
      broker_calls: 1,
      day: wechatDay(clockNow),
    });
  });

  it('counts attempts on the UTC+8 day, partial for a state from before the counter', () => {
    const at = Date.parse('2026-12-06T15:59:00.000Z'); // 23:59 in UTC+8
    const one = countQuotaAttempt(null, at);
    expect(one).to.deep.equal({ quotaDay: '2026-12-06', quotaCalls: 1 });
    expect(quotaCallsOn(one, at)).to.equal(1);
    expect(quotaCallsOn(one, at + 120_000)).to.equal(0); // 00:01 next day in UTC+8
    const legacy = countQuotaAttempt({}, at);
    expect(legacy.quotaDay).to.equal('2026-12-06+partial');
    expect(quotaCallsOn(legacy, at)).to.equal(undefined); // never judged on a partial day
    expect(countQuotaAttempt(legacy, at + 120_000)).to.deep.equal({ quotaDay: '2026-12-07', quotaCalls: 1 });
  });
});

describe('IP doctor', () => {
  it('parses the refused caller IP from WeChat, Open Platform and WeCom messages, with the fix', () => {
    const cases: Array<[string, string, string]> = [
      ['40164', 'invalid ip 203.0.113.7 ipv6 ::ffff:203.0.113.7, not in whitelist rid: 6575', '203.0.113.7'],
      ['61004', 'access clientip is not registered, requestIP: 198.51.100.23 rid: 65', '198.51.100.23'],
      [
        '60020',
        'not allow to access from your ip, hint: [1564], from ip: 192.0.2.200, more info at',
        '192.0.2.200',
      ],
    ];
    for (const [code, message, ip] of cases) {
      const found = ipAllowlistFix(code, message);
      expect(found?.caller_ip, code).to.equal(ip);
      expect(found?.fix, code).to.match(new RegExp(`^add IP ${ip.replace(/\./g, '\\.')} to the allow-list`));
    }
    expect(ipAllowlistFix('40001', 'invalid credential 203.0.113.7')).to.equal(undefined);
    expect(ipAllowlistFix('40164', 'invalid ip, not in whitelist')).to.equal(undefined);
    expect(ipAllowlistFix('40164', 'invalid ip 1.2.3.4567')).to.equal(undefined);
  });
});
