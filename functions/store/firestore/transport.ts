/**
 * Which wire the Firestore client speaks (TOKEN_SERVER_FIRESTORE_TRANSPORT):
 *
 * - `rest` (default): HTTP/1.1 REST for every read, write, query and transaction. The client loads
 *   no gRPC and opens no HTTP/2 channel, which takes a large share off a cold start (`npm run
 *   bench`'s cold-start rows). Listeners need a gRPC stream: they go through a second client on
 *   gRPC, created when a request first has to wait (open-store.ts).
 * - `grpc`: one gRPC client for everything, listeners included (the library's default).
 *
 * The settings of each are in client-settings.ts. This module imports nothing, so that config.ts
 * can name the choices without loading a client.
 */
export const FIRESTORE_TRANSPORTS = ['rest', 'grpc'] as const;
export type FirestoreTransport = (typeof FIRESTORE_TRANSPORTS)[number];
export const DEFAULT_FIRESTORE_TRANSPORT: FirestoreTransport = 'rest';
