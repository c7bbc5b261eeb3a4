/**
 * A fake DNS for function processes under test, preloaded with
 * `NODE_OPTIONS=--require lib/test/fakes/dns-override.js` and configured by TEST_DNS_OVERRIDES, a JSON
 * object from host name to address(es): `{"provider.example.com": "127.0.0.1"}`. Only the names listed
 * are answered here; every other name goes to the real resolver. It lets an end-to-end test give a
 * public-looking host name a private address, as a hostile DNS server would, without any network.
 */
import dns from 'node:dns';
import * as net from 'node:net';

type Overrides = Record<string, string[]>;

export const DNS_OVERRIDES_VARIABLE = 'TEST_DNS_OVERRIDES';

/** The environment entry for a function process (merge it into testEnv overrides). */
export function dnsOverrideEnv(
  preload: string,
  overrides: Record<string, string | string[]>,
  existingNodeOptions = '',
): Record<string, string> {
  return {
    NODE_OPTIONS: `${existingNodeOptions} --require ${preload}`.trim(),
    [DNS_OVERRIDES_VARIABLE]: JSON.stringify(overrides),
  };
}

function parseOverrides(text: string | undefined): Overrides {
  if (text === undefined || text === '') return {};
  const parsed = JSON.parse(text) as Record<string, string | string[]>;
  const out: Overrides = {};
  for (const [name, value] of Object.entries(parsed)) {
    out[name.toLowerCase()] = Array.isArray(value) ? value : [value];
  }
  return out;
}

function install(overrides: Overrides): void {
  const answer = (host: string): dns.LookupAddress[] | undefined =>
    overrides[host.toLowerCase()]?.map((address) => ({ address, family: net.isIPv6(address) ? 6 : 4 }));

  const realPromiseLookup = dns.promises.lookup.bind(dns.promises) as (
    hostname: string,
    options?: unknown,
  ) => Promise<unknown>;
  const fakePromiseLookup = (hostname: string, options?: unknown): Promise<unknown> => {
    const found = answer(hostname);
    if (found === undefined) return realPromiseLookup(hostname, options);
    const all =
      typeof options === 'object' && options !== null && (options as { all?: unknown }).all === true;
    return Promise.resolve(all ? found : found[0]);
  };
  (dns.promises as { lookup: unknown }).lookup = fakePromiseLookup;

  const realLookup = dns.lookup.bind(dns) as (...args: unknown[]) => void;
  const fakeLookup = (hostname: string, ...rest: unknown[]): void => {
    const found = answer(hostname);
    if (found === undefined) {
      realLookup(hostname, ...rest);
      return;
    }
    const callback = rest[rest.length - 1] as (...args: unknown[]) => void;
    const options = rest.length > 1 ? rest[0] : undefined;
    const all =
      typeof options === 'object' && options !== null && (options as { all?: unknown }).all === true;
    const first = found[0] as dns.LookupAddress;
    process.nextTick(() => (all ? callback(null, found) : callback(null, first.address, first.family)));
  };
  (dns as { lookup: unknown }).lookup = fakeLookup;
}

const configured = parseOverrides(process.env[DNS_OVERRIDES_VARIABLE]);
if (Object.keys(configured).length > 0) install(configured);
