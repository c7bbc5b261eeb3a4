import { expect } from 'chai';
import * as net from 'node:net';
import { AppError } from '../../../functions/errors';
import { ProviderFailure } from '../../../functions/providers/failure';
import {
  assertUpstreamAllowed,
  checkUpstreamUrl,
  isPrivateAddress,
  pinnedLookup,
  resolvePublicAddress,
  type ResolveAll,
} from '../../../functions/providers/url-guard';

const PUBLIC_DNS: ResolveAll = async () => [{ address: '203.119.0.1', family: 4 }];
const strict = { allowPrivate: false, resolve: PUBLIC_DNS };

async function refusal(url: string, resolve: ResolveAll = PUBLIC_DNS): Promise<AppError> {
  try {
    await assertUpstreamAllowed(url, { allowPrivate: false, resolve });
  } catch (err) {
    expect(err, url).to.be.instanceOf(AppError);
    expect((err as AppError).code, url).to.equal('INVALID_ARGUMENT');
    expect((err as AppError).details?.field).to.equal('config.url');
    return err as AppError;
  }
  return expect.fail(`${url} should be refused`);
}

describe('providers/url-guard', () => {
  describe('refuses (allowPrivate: false)', () => {
    const REFUSED: Array<[string, string]> = [
      ['http://api.weixin.qq.com/cgi-bin/token', 'plain http'],
      ['file:///etc/passwd', 'file:'],
      ['gopher://example.com/', 'gopher:'],
      ['ftp://example.com/', 'ftp:'],
      ['data:text/plain,hi', 'data:'],
      ['javascript:alert(1)', 'javascript:'],
      ['https://user:pw@example.com/', 'credentials in the URL'],
      ['not a url', 'not a URL'],
      ['https://127.0.0.1/', 'loopback'],
      ['https://127.8.9.10/', 'loopback /8'],
      ['https://10.0.0.1/', 'RFC 1918 10/8'],
      ['https://172.16.0.1/', 'RFC 1918 172.16/12'],
      ['https://172.31.255.255/', 'RFC 1918 172.16/12 end'],
      ['https://192.168.1.1/', 'RFC 1918 192.168/16'],
      ['https://169.254.169.254/computeMetadata/v1/', 'metadata address'],
      ['https://169.254.1.1/', 'link-local'],
      ['https://100.64.0.1/', 'carrier-grade NAT'],
      ['https://0.0.0.0/', 'unspecified'],
      ['https://0/', 'zero'],
      ['https://224.0.0.1/', 'multicast'],
      ['https://255.255.255.255/', 'broadcast'],
      ['https://metadata.google.internal/computeMetadata/v1/', 'metadata name'],
      ['https://METADATA.GOOGLE.INTERNAL./', 'metadata name, upper case, trailing dot'],
      ['https://metadata/', 'metadata short name'],
      ['https://localhost/', 'localhost'],
      ['https://api.localhost/', '*.localhost'],
      ['https://vm.c.project.internal/', '*.internal'],
      ['https://printer.local/', '*.local'],
      ['https://2130706433/', 'decimal 127.0.0.1'],
      ['https://0x7f000001/', 'hex 127.0.0.1'],
      ['https://0x7f.0x0.0x0.0x1/', 'hex dotted 127.0.0.1'],
      ['https://0177.0.0.1/', 'octal 127.0.0.1'],
      ['https://017700000001/', 'octal 127.0.0.1 whole'],
      ['https://127.1/', 'short 127.0.0.1'],
      ['https://%31%32%37.0.0.1/', 'percent-encoded 127.0.0.1'],
      ['https://１２７.０.０.１/', 'full-width 127.0.0.1'],
      ['https://2852039166/', 'decimal 169.254.169.254'],
      ['https://0xa9fea9fe/', 'hex 169.254.169.254'],
      ['https://[::1]/', 'IPv6 loopback'],
      ['https://[0:0:0:0:0:0:0:1]/', 'IPv6 loopback long'],
      ['https://[::]/', 'IPv6 unspecified'],
      ['https://[fc00::1]/', 'IPv6 ULA fc00'],
      ['https://[fd12:3456::1]/', 'IPv6 ULA fd'],
      ['https://[fe80::1]/', 'IPv6 link-local'],
      ['https://[fec0::1]/', 'IPv6 site-local'],
      ['https://[ff02::1]/', 'IPv6 multicast'],
      ['https://[::ffff:127.0.0.1]/', 'IPv4-mapped loopback'],
      ['https://[::ffff:7f00:1]/', 'IPv4-mapped loopback, hex'],
      ['https://[::ffff:169.254.169.254]/', 'IPv4-mapped metadata'],
      ['https://[::ffff:10.1.2.3]/', 'IPv4-mapped RFC 1918'],
      ['https://[::127.0.0.1]/', 'IPv4-compatible loopback'],
      ['https://[64:ff9b::10.0.0.1]/', 'NAT64 of a private address'],
      ['https://[2002:7f00:1::]/', '6to4 of loopback'],
      ['https://[2001:db8::1]/', 'documentation'],
    ];
    for (const [url, what] of REFUSED) {
      it(what, async () => {
        await refusal(url);
        expect(() => checkUpstreamUrl(url, { allowPrivate: false }), url).to.throw(AppError);
      });
    }

    it('a host name that the real resolver resolves to a loopback address (localhost)', async () => {
      // "localhost" is also refused by name; resolvePublicAddress is the DNS step on its own.
      try {
        await resolvePublicAddress('localhost');
        expect.fail('localhost allowed');
      } catch (err) {
        expect(err).to.be.instanceOf(AppError);
        expect((err as AppError).message).to.include('resolves to a loopback');
      }
    });

    it('a host name whose DNS answer is 127.0.0.1 (e.g. 127.0.0.1.nip.io)', async () => {
      await refusal('https://127.0.0.1.nip.io/', async () => [{ address: '127.0.0.1', family: 4 }]);
    });

    it('a host name of which ANY address is private', async () => {
      await refusal('https://mixed.example.com/', async () => [
        { address: '203.119.0.1', family: 4 },
        { address: '10.0.0.8', family: 4 },
      ]);
      await refusal('https://v6.example.com/', async () => [
        { address: '::ffff:169.254.169.254', family: 6 },
      ]);
      await refusal('https://v6.example.com/', async () => [{ address: 'fd00::5', family: 6 }]);
    });
  });

  describe('allows', () => {
    it('https to public addresses and names, returning the checked address to pin', async () => {
      const literal = await assertUpstreamAllowed('https://203.119.0.1/x', strict);
      expect(literal.address).to.equal('203.119.0.1');
      expect(literal.family).to.equal(4);
      const v6 = await assertUpstreamAllowed('https://[2400:da00::6666]/x', strict);
      expect(v6.address).to.equal('2400:da00::6666');
      expect(v6.family).to.equal(6);
      const named = await assertUpstreamAllowed('https://api.weixin.qq.com/cgi-bin/token?x=1', {
        allowPrivate: false,
        resolve: async () => [
          { address: '2400:da00::1', family: 6 },
          { address: '101.91.0.1', family: 4 },
        ],
      });
      expect(named.host).to.equal('api.weixin.qq.com');
      expect(named.address).to.equal('2400:da00::1');
      expect(named.family).to.equal(6);
      expect(named.url.toString()).to.equal('https://api.weixin.qq.com/cgi-bin/token?x=1');
      for (const ok of [
        'https://8.8.8.8/',
        'https://[::ffff:8.8.8.8]/',
        'https://172.32.0.1/',
        'https://11.0.0.1/',
        'https://example.com:8443/t',
      ]) {
        expect(() => checkUpstreamUrl(ok, { allowPrivate: false }), ok).to.not.throw();
      }
    });

    it('everything http(s) with allowPrivate, without resolving or pinning', async () => {
      let resolved = false;
      const spy: ResolveAll = async () => {
        resolved = true;
        return [];
      };
      for (const url of [
        'http://127.0.0.1:8099/cgi-bin/token',
        'https://localhost/',
        'http://[::1]/',
        'http://169.254.169.254/',
      ]) {
        const target = await assertUpstreamAllowed(url, { allowPrivate: true, resolve: spy });
        expect(target.address, url).to.equal(undefined);
      }
      expect(resolved).to.equal(false);
      await assertUpstreamAllowed('file:///etc/passwd', { allowPrivate: true }).then(
        () => expect.fail('file: allowed'),
        (err: unknown) => expect(err).to.be.instanceOf(AppError),
      );
    });
  });

  it('reports a failed DNS lookup as a transient ProviderFailure', async () => {
    const failing: ResolveAll = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND nope.example'), { code: 'ENOTFOUND' });
    };
    try {
      await assertUpstreamAllowed('https://nope.example/', { allowPrivate: false, resolve: failing });
      expect.fail('expected a failure');
    } catch (err) {
      expect(err).to.be.instanceOf(ProviderFailure);
      expect((err as ProviderFailure).kind).to.equal('transient');
      expect((err as ProviderFailure).message).to.include('ENOTFOUND');
    }
  });

  it('classifies addresses', () => {
    for (const priv of [
      '127.0.0.1',
      '::1',
      '[::1]',
      '10.1.1.1',
      'fe80::1%eth0',
      '::ffff:192.168.0.1',
      'garbage',
      '',
    ]) {
      expect(isPrivateAddress(priv), priv).to.equal(true);
    }
    for (const pub of ['8.8.8.8', '1.1.1.1', '2001:4860:4860::8888', '::ffff:8.8.8.8']) {
      expect(isPrivateAddress(pub), pub).to.equal(false);
    }
  });

  it('refuses the special-purpose ranges ipaddr.js knows, and IPv4-compatible IPv6 (::a.b.c.d)', () => {
    for (const special of [
      '2002:808:808::1', // 6to4, even of a public IPv4 address: a tunnel relay decides where it goes
      '64:ff9b::8.8.8.8', // NAT64 of a public address: the translator is on someone's network
      '64:ff9b:1::1', // NAT64 local use
      '::ffff:0:8.8.8.8', // IPv4-translated (RFC 6145)
      '2001:20::1', // ORCHIDv2
      '5f00::1', // SRv6 SIDs
      '3fff::1', // documentation (RFC 9637)
      '::8.8.8.8', // deprecated IPv4-compatible form
      '100.64.0.1',
      '198.18.0.1',
      '240.0.0.1',
      '0.1.2.3',
      '0x7f.1', // a legacy IPv4 spelling is not an address here
    ]) {
      expect(isPrivateAddress(special), special).to.equal(true);
    }
  });

  it('pins connections to the checked address (both lookup call forms)', async () => {
    const lookup = pinnedLookup('203.119.0.1', 4);
    const single = await new Promise<[string, number | undefined]>((resolve, reject) =>
      lookup('api.example.com', {}, (err, address, family) =>
        err ? reject(err) : resolve([address as string, family]),
      ),
    );
    expect(single).to.deep.equal(['203.119.0.1', 4]);
    const all = await new Promise<unknown>((resolve, reject) =>
      lookup('api.example.com', { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))),
    );
    expect(all).to.deep.equal([{ address: '203.119.0.1', family: 4 }]);
    // The agent really connects there: pin "unreachable.invalid" to a local server.
    const server = net.createServer((socket) => socket.end('pinned'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const text = await new Promise<string>((resolve, reject) => {
      const socket = net.connect({ host: 'unreachable.invalid', port, lookup: pinnedLookup('127.0.0.1', 4) });
      let data = '';
      socket.on('data', (chunk) => (data += String(chunk)));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    server.close();
    expect(text).to.equal('pinned');
  });
});
