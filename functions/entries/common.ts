/** What the three functions share: their region and the Secret Manager secrets Firebase injects. */
import { defineSecret } from 'firebase-functions/params';
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
 */
export const adminKey = defineSecret('TOKEN_SERVER_ADMIN_KEY');
export const masterKey = defineSecret('TOKEN_SERVER_MASTER_KEY');

export const runtime = () => getRuntime();
export const ready = () => readyRuntime();
