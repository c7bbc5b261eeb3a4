/**
 * Server-side request forgery guard for upstream calls. A realm's URL is admin input, and this server
 * runs next to the metadata server and a VPC: unless private upstreams are allowed (local development
 * and tests), only https:// to public addresses is called, the host name is resolved here, every
 * address it resolves to must be public, and the connection is pinned to the address that was checked
 * (so that a second DNS answer cannot swap in a private one).
 */
import * as dns from 'node:dns';
import * as net from 'node:net';
import { AppError } from '../errors';
import { ProviderFailure } from './failure';

export interface UpstreamTarget {
  url: URL;
  /** The host name without IPv6 brackets. */
  host: string;
  /** The checked address to connect to; absent when private upstreams are allowed (no check, no pin). */
  address?: string;
  family?: 4 | 6;
}

export interface ResolvedAddress {
  address: string;
  family: number;
}
/** Resolves every address of a host name (injectable for tests). */
export type ResolveAll = (host: string) => Promise<ResolvedAddress[]>;

export interface UpstreamGuardOptions {
  /** TOKEN_SERVER_ALLOW_PRIVATE_UPSTREAMS: http:// and any address allowed. */
  allowPrivate: boolean;
  resolve?: ResolveAll;
}

const defaultResolve: ResolveAll = (host) => dns.promises.lookup(host, { all: true, verbatim: true });

/** Names that are local by definition, whatever DNS says. */
const BLOCKED_NAMES: ReadonlySet<string> = new Set(['localhost', 'metadata', 'metadata.google.internal']);
const BLOCKED_SUFFIXES = ['.localhost', '.internal', '.local'];

function refuse(reason: string): never {
  throw new AppError('INVALID_ARGUMENT', `config.url: upstream refused: ${reason}`, {
    details: { field: 'config.url' },
  });
}

// ---------------------------------------------------------------------------------------------------
// addresses

function parseIPv4(text: string): [number, number, number, number] | undefined {
  if (!net.isIPv4(text)) return undefined;
  const parts = text.split('.').map(Number);
  return [parts[0] ?? 0, parts[1] ?? 0, parts[2] ?? 0, parts[3] ?? 0];
}

function isPrivateIPv4([a, b, c]: [number, number, number, number]): boolean {
  return (
    a === 0 || // "this network"
    a === 10 ||
    (a === 100 && b >= 64 && b <= 127) || // carrier-grade NAT
    a === 127 ||
    (a === 169 && b === 254) || // link-local, incl. the metadata server 169.254.169.254
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 0 && (c === 0 || c === 2)) || // IETF protocol assignments, TEST-NET-1
    (a === 192 && b === 88 && c === 99) || // 6to4 relay anycast
    (a === 192 && b === 168) ||
    (a === 198 && (b === 18 || b === 19)) || // benchmarking
    (a === 198 && b === 51 && c === 100) || // TEST-NET-2
    (a === 203 && b === 0 && c === 113) || // TEST-NET-3
    a >= 224 // multicast, reserved, broadcast
  );
}

/** The eight 16-bit groups of an IPv6 address (zone id ignored), or undefined if it is not one. */
function parseIPv6(text: string): number[] | undefined {
  const bare = text.replace(/%.*$/, '');
  if (!net.isIPv6(bare)) return undefined;
  let head = bare;
  const tail: number[] = [];
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
  if (dotted) {
    const v4 = parseIPv4(dotted[2] ?? '');
    if (!v4) return undefined;
    head = `${dotted[1] ?? ''}`;
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
    tail.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
  }
  const toGroups = (part: string): number[] =>
    part === '' ? [] : part.split(':').map((group) => Number.parseInt(group, 16));
  const doubleColon = head.indexOf('::');
  let groups: number[];
  if (doubleColon >= 0) {
    const left = toGroups(head.slice(0, doubleColon));
    const right = toGroups(head.slice(doubleColon + 2));
    const fill = 8 - tail.length - left.length - right.length;
    if (fill < 0) return undefined;
    groups = [...left, ...new Array<number>(fill).fill(0), ...right, ...tail];
  } else {
    groups = [...toGroups(head), ...tail];
  }
  if (groups.length !== 8 || groups.some((g) => !Number.isInteger(g) || g < 0 || g > 0xffff))
    return undefined;
  return groups;
}

function v4From(high: number, low: number): [number, number, number, number] {
  return [high >> 8, high & 0xff, low >> 8, low & 0xff];
}

function isPrivateIPv6(g: number[]): boolean {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = g;
  const zeroUpTo = (n: number): boolean => g.slice(0, n).every((x) => x === 0);
  if (zeroUpTo(8)) return true; // ::
  if (zeroUpTo(7) && g7 === 1) return true; // ::1
  if (zeroUpTo(5) && g5 === 0xffff) return isPrivateIPv4(v4From(g6, g7)); // ::ffff:a.b.c.d (mapped)
  if (zeroUpTo(4) && g4 === 0xffff && g5 === 0) return isPrivateIPv4(v4From(g6, g7)); // ::ffff:0:a.b.c.d
  if (zeroUpTo(6)) return true; // ::a.b.c.d (deprecated IPv4-compatible) and other reserved ::/96
  if (g0 === 0x64 && g1 === 0xff9b) {
    // NAT64: the well-known prefix embeds an IPv4 address; the local-use prefix 64:ff9b:1::/48 is private.
    if (g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return isPrivateIPv4(v4From(g6, g7));
    return true;
  }
  if (g0 === 0x2002) return isPrivateIPv4(v4From(g1, g2)); // 6to4
  if (g0 === 0x2001 && g1 === 0) return true; // Teredo (tunnels to an obfuscated IPv4 address)
  if (g0 === 0x2001 && g1 === 0xdb8) return true; // documentation
  if (g0 === 0x100 && g1 === 0 && g2 === 0 && g3 === 0) return true; // discard-only
  if ((g0 & 0xfe00) === 0xfc00) return true; // unique local fc00::/7
  if ((g0 & 0xffc0) === 0xfe80) return true; // link-local fe80::/10
  if ((g0 & 0xffc0) === 0xfec0) return true; // site-local fec0::/10 (deprecated)
  if ((g0 & 0xff00) === 0xff00) return true; // multicast
  return false;
}

/**
 * Whether an IP address (IPv4, or IPv6 with or without brackets) is loopback, private, link-local,
 * reserved or otherwise not a public unicast address. Anything that does not parse counts as private.
 */
export function isPrivateAddress(address: string): boolean {
  const text = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const v4 = parseIPv4(text);
  if (v4) return isPrivateIPv4(v4);
  const v6 = parseIPv6(text);
  if (v6) return isPrivateIPv6(v6);
  return true;
}

// ---------------------------------------------------------------------------------------------------
// URLs

/**
 * The checks that need no DNS: scheme, credentials, and a host that is not a local name or a private
 * IP literal (in any spelling the URL parser normalises: decimal, hex, octal, IPv4-mapped IPv6).
 * Admin routes may call this when a realm is written; assertUpstreamAllowed repeats it at request time.
 */
export function checkUpstreamUrl(raw: string, options: { allowPrivate: boolean }): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse('not an absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') refuse(`scheme ${url.protocol} is not allowed`);
  if (url.username !== '' || url.password !== '') refuse('credentials in the URL are not allowed');
  if (options.allowPrivate) return url;
  if (url.protocol !== 'https:') {
    refuse('only https:// upstreams are allowed (TOKEN_SERVER_ALLOW_PRIVATE_UPSTREAMS=true allows http://)');
  }
  const host = hostOf(url);
  if (host === '') refuse('no host');
  if (net.isIP(host) !== 0) {
    if (isPrivateAddress(host)) refuse('the host is a loopback, private, link-local or reserved address');
    return url;
  }
  const name = host.toLowerCase().replace(/\.+$/, '');
  if (BLOCKED_NAMES.has(name) || BLOCKED_SUFFIXES.some((suffix) => name.endsWith(suffix))) {
    refuse('the host is a local or metadata name');
  }
  // Numeric-looking names that the URL parser did not turn into an address are never public hosts.
  if (/^[0-9.]+$/.test(name) || /^0x/i.test(name)) refuse('the host is not a valid public name');
  return url;
}

function hostOf(url: URL): string {
  const host = url.hostname;
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * The request-time check. Without allowPrivate: checkUpstreamUrl, then the host name is resolved and
 * refused if ANY of its addresses is private; the answer names the checked address so that the caller
 * connects to exactly that one (see pinnedLookup). With allowPrivate: http(s) to anywhere, unpinned.
 * Refusals are INVALID_ARGUMENT (field config.url); a failed DNS lookup is a transient ProviderFailure.
 */
export async function assertUpstreamAllowed(
  raw: string,
  options: UpstreamGuardOptions,
): Promise<UpstreamTarget> {
  const url = checkUpstreamUrl(raw, options);
  const host = hostOf(url);
  if (options.allowPrivate) return { url, host };
  const literal = net.isIP(host);
  if (literal !== 0) return { url, host, address: host, family: literal === 6 ? 6 : 4 };

  const resolved = await resolvePublicAddress(host, options.resolve);
  return { url, host, ...resolved };
}

/**
 * Resolves a host name (all addresses) and answers the first one, refusing (INVALID_ARGUMENT) when any
 * of them is private; a failed lookup is a transient ProviderFailure.
 */
export async function resolvePublicAddress(
  host: string,
  resolve: ResolveAll = defaultResolve,
): Promise<{ address: string; family: 4 | 6 }> {
  let addresses: ResolvedAddress[];
  try {
    addresses = await resolve(host);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new ProviderFailure({
      kind: 'transient',
      reason: 'network',
      message: `Could not resolve the upstream host ${host}${typeof code === 'string' ? ` (${code})` : ''}`,
    });
  }
  if (addresses.length === 0) {
    throw new ProviderFailure({
      kind: 'transient',
      reason: 'network',
      message: `The upstream host ${host} resolved to no address`,
    });
  }
  if (addresses.some((a) => isPrivateAddress(a.address))) {
    refuse('the host resolves to a loopback, private, link-local or reserved address');
  }
  const first = addresses[0] as ResolvedAddress;
  return { address: first.address, family: net.isIPv6(first.address) ? 6 : 4 };
}

/**
 * A `lookup` for http(s).Agent that always answers the checked address, so the connection goes where
 * the guard looked (TLS still verifies the certificate against the host name).
 */
export function pinnedLookup(address: string, family: 4 | 6): net.LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all === true) {
      (callback as (err: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[]) => void)(null, [
        { address, family },
      ]);
    } else {
      callback(null, address, family);
    }
  };
}
