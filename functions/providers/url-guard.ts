/**
 * Server-side request forgery guard for upstream calls. A realm's URL is admin input, and this server
 * runs next to the metadata server and a VPC: unless private upstreams are allowed (local development
 * and tests), only https:// to public addresses is called, the host name is resolved here, every
 * address it resolves to must be public, and the connection is pinned to the address that was checked
 * (so that a second DNS answer cannot swap in a private one).
 */
import * as dns from 'node:dns';
import * as net from 'node:net';
import * as ipaddr from 'ipaddr.js';
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

/**
 * ipaddr.js names the special-purpose ranges of both families (RFC 6890 and its IANA registries);
 * only `unicast` is a public address. An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is judged by the
 * IPv4 address it carries.
 */
function isPublicParsed(ip: ipaddr.IPv4 | ipaddr.IPv6, text: string): boolean {
  if (ip.kind() === 'ipv6') {
    const v6 = ip as ipaddr.IPv6;
    if (v6.range() === 'ipv4Mapped') {
      // ipaddr.js 2.5 also parses the deprecated IPv4-compatible form (::a.b.c.d) as mapped
      // (::ffff:a.b.c.d); a mapped address spells its ffff group, a compatible one does not.
      return /ffff/i.test(text) && isPublicParsed(v6.toIPv4Address(), '');
    }
    // The rest of ::/96 (reserved, and IPv4-compatible addresses in any other spelling).
    if (v6.parts.slice(0, 6).every((part) => part === 0)) return false;
  }
  return ip.range() === 'unicast';
}

/**
 * Whether an IP address (IPv4, or IPv6 with or without brackets or zone id) is loopback, private,
 * link-local, reserved or otherwise not a public unicast address. Anything that does not parse as a
 * plain dotted-quad IPv4 or an IPv6 address counts as private.
 */
export function isPrivateAddress(address: string): boolean {
  const text = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const bare = text.replace(/%.*$/, '');
  // net.isIP first: ipaddr.js also accepts legacy IPv4 spellings (octal, hex, fewer parts).
  if (net.isIP(bare) === 0) return true;
  try {
    return !isPublicParsed(ipaddr.parse(bare), bare);
  } catch {
    return true;
  }
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
