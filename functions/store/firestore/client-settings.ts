/**
 * The Firestore client's settings for each transport (transport.ts).
 *
 * Against the emulator a REST client would look for Google credentials, and fail without them (or
 * use real ones if some are lying around): a known bug of the library (googleapis/nodejs-firestore
 * #1811, firebase-tools #6837). In emulator mode only, the REST client is given the emulator's
 * credentials explicitly: an auth client whose token is `owner`, the header the gRPC client sends
 * the emulator, which never refreshes and so never reaches for real credentials or the metadata
 * server.
 */
import type { Settings } from 'firebase-admin/firestore';
import { OAuth2Client } from 'google-auth-library';
import type { FirestoreTransport } from './transport';

/**
 * gRPC reconnects with exponential backoff up to 120 s by default: after an outage, an instance
 * could keep failing for up to two minutes after Firestore is back. Capped so it recovers soon.
 */
const MAX_RECONNECT_BACKOFF_MS = 2_000;

/** Settings of a client on gRPC (the one transport listeners can use). */
export function grpcSettings(): Settings {
  return { ignoreUndefinedProperties: true, 'grpc.max_reconnect_backoff_ms': MAX_RECONNECT_BACKOFF_MS };
}

/**
 * Settings of a client on `transport`; `emulator`: the client talks to the emulator
 * (FIRESTORE_EMULATOR_HOST, which the library itself obeys).
 */
export function transportSettings(transport: FirestoreTransport, emulator: boolean): Settings {
  if (transport === 'grpc') return grpcSettings();
  return { ignoreUndefinedProperties: true, preferRest: true, ...(emulator ? emulatorRestSettings() : {}) };
}

/**
 * The REST client against the emulator: its credentials (token `owner`, valid for ever, no refresh
 * token: it cannot fetch another), and in place of the gRPC module, the one call the library makes
 * of it when it builds any client against the emulator (insecure channel credentials, which a REST
 * client ignores): without it the library would load gRPC for that call alone. A client with these
 * settings can make no gRPC call; listeners use a client of grpcSettings().
 */
function emulatorRestSettings(): Settings {
  const authClient = new OAuth2Client();
  authClient.setCredentials({ access_token: 'owner', expiry_date: Number.MAX_SAFE_INTEGER });
  const grpc = { credentials: { createInsecure: (): undefined => undefined } };
  return { authClient, grpc };
}
