/**
 * The `platform` scenario's parts beyond the event route (platform.ts): issue 24's authorizers
 * (platform-authorizers.ts) and sync (platform-sync.ts), and issue 26's tenants of the other
 * platforms (platform-tenants.ts). Run one after another, each with its own fakes and processes;
 * the sync last, since the scheduled refresh would otherwise fetch the tokens of all it creates.
 */
import type { Row } from '../report';
import type { Stack } from '../stack';
import { authorizerRows, platformAuthorizers, type AuthorizerResult } from './platform-authorizers';
import { platformSync, syncRows, type SyncBenchResult } from './platform-sync';
import { platformTenants, tenantRows, type TenantsResult } from './platform-tenants';

export interface PlatformOptions {
  /** 10,000 authorizers instead of 1,000. */
  scale?: boolean;
}

export interface PlatformParts {
  authorizers: AuthorizerResult;
  tenants: TenantsResult;
  sync: SyncBenchResult;
}

/** Tenants per platform (issue 26) and authorizers synced (issue 24). */
const TENANTS = 200;
const SYNCED = 10_000;

export async function platformParts(stack: Stack, options: PlatformOptions): Promise<PlatformParts> {
  const authorizers = await platformAuthorizers(stack, {
    authorizers: options.scale === true ? 10_000 : 1_000,
  });
  const tenants = await platformTenants(stack, { tenants: TENANTS });
  const sync = await platformSync(stack, { authorizers: SYNCED });
  return { authorizers, tenants, sync };
}

export function partsRows(p: PlatformParts): Row[] {
  return [...authorizerRows(p.authorizers), ...tenantRows(p.tenants), ...syncRows(p.sync)];
}
