/**
 * The IP doctor: providers that check the caller's IP against an allow-list name the refused IP in
 * their error message (WeChat 40164 "invalid ip 203.0.113.7 ipv6 ::ffff:203.0.113.7, not in
 * whitelist"; Open Platform 61004 "... requestIP: 203.0.113.7"; WeCom 60020 "... from ip:
 * 203.0.113.7"). The IP is parsed out so that status can say exactly which address to add.
 */
import { codeMatches } from './extract';

/** Provider codes whose message names the refused caller IP. */
export const IP_ALLOWLIST_CODES = [40164, 61004, 60020, 89503] as const;

const IPV4 =
  /(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\d.])/;

export interface IpAllowlistFix {
  caller_ip: string;
  fix: string;
}

/** The refused IP and the fix, for an allow-list error whose message names it; else undefined. */
export function ipAllowlistFix(
  providerCode: string | undefined,
  providerMessage: string | undefined,
): IpAllowlistFix | undefined {
  if (providerCode === undefined || providerMessage === undefined) return undefined;
  if (!codeMatches(IP_ALLOWLIST_CODES, providerCode)) return undefined;
  const ip = IPV4.exec(providerMessage)?.[0];
  if (ip === undefined) return undefined;
  return {
    caller_ip: ip,
    fix: `add IP ${ip} to the allow-list (IP whitelist) of this app at the provider; Cloud Functions keep one egress IP only behind Cloud NAT with a static address (README "Provider IP allow-lists")`,
  };
}
