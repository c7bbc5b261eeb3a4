/** What the three functions share: their region and the Secret Manager secrets Firebase injects. */
import type * as Params from 'firebase-functions/params';
import type { SecretParam } from 'firebase-functions/params';
import { getRuntime, readyRuntime } from '../runtime';

/**
 * One region for all three, so that they share one Firestore latency and, when a static egress IP
 * is needed, one VPC connector and one Cloud NAT (add `vpcConnector` and
 * `vpcConnectorEgressSettings: 'ALL_TRAFFIC'` here: README "Static egress IP").
 */
export const COMMON = { region: 'us-central1', cpu: 1 } as const;

/**
 * Secret Manager secrets that Firebase injects as environment variables of the same name, which
 * config.ts reads like any other. Without Firebase, set them (or their *_SECRET variants) directly.
 * Declared when a manifest is made (deploy discovery): a serving HTTP instance never loads
 * firebase-functions/params (README "Cold start").
 */
export function adminKey(): SecretParam {
  return secretParam('TOKEN_SERVER_ADMIN_KEY');
}
export function masterKey(): SecretParam {
  return secretParam('TOKEN_SERVER_MASTER_KEY');
}

function secretParam(name: string): SecretParam {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- for the manifest only
  const { defineSecret } = require('firebase-functions/params') as typeof Params;
  return defineSecret(name);
}

export const runtime = () => getRuntime();
export const ready = () => readyRuntime();
