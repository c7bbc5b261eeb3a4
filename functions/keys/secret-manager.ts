/**
 * Reads one Secret Manager secret version: the only place that talks to Secret Manager. The client
 * library is loaded on first use, so instances configured with plain environment keys never pay for
 * loading gRPC.
 */
import type { CallOptions } from 'google-gax';
import { AppError } from '../errors';
import { GrpcStatus, grpcStatusName } from '../grpc-status';
import { crc32c } from './crc32c';

export interface ReadSecretOptions {
  /**
   * host:port of a Secret Manager endpoint speaking REST over plain HTTP, without authentication
   * (tests, local fakes). Unset: the real service over gRPC with Application Default Credentials.
   */
  endpoint?: string;
  /** The configuration variable that named this secret, so that error messages can point at it. */
  variable?: string;
  /** The whole time budget for the read, retries included. Default 20 s. */
  timeoutMs?: number;
}

/** The shape of readSecretVersion, for injecting a different reader in tests. */
export type ReadSecret = (name: string, options?: ReadSecretOptions) => Promise<Buffer>;

const DEFAULT_TIMEOUT_MS = 20_000;

const HINTS: Record<string, string> = {
  NOT_FOUND: 'check the project, secret and version, and that the version is enabled',
  PERMISSION_DENIED:
    "grant the function's service account roles/secretmanager.secretAccessor on the secret, and check the Secret Manager API is enabled",
  FAILED_PRECONDITION: 'the version may be disabled or destroyed',
};

/**
 * Retries are explicit: only UNAVAILABLE and RESOURCE_EXHAUSTED (the codes Google's own client
 * configuration retries for this call), exponential backoff from 250 ms doubling up to 4 s, each
 * attempt bounded by the remaining budget, the whole read bounded by `timeoutMs`.
 */
function callOptions(timeoutMs: number): CallOptions {
  return {
    timeout: timeoutMs,
    retry: {
      retryCodes: [GrpcStatus.UNAVAILABLE, GrpcStatus.RESOURCE_EXHAUSTED],
      backoffSettings: {
        initialRetryDelayMillis: 250,
        retryDelayMultiplier: 2,
        maxRetryDelayMillis: 4_000,
        initialRpcTimeoutMillis: timeoutMs,
        rpcTimeoutMultiplier: 1,
        maxRpcTimeoutMillis: timeoutMs,
        totalTimeoutMillis: timeoutMs,
      },
    },
  };
}

function splitEndpoint(endpoint: string): { host: string; port: number } | undefined {
  const colon = endpoint.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const port = Number(endpoint.slice(colon + 1));
  if (!Number.isInteger(port) || port < 1 || port > 65_535) return undefined;
  return { host: endpoint.slice(0, colon), port };
}

/** "NOT_FOUND: Secret Version [...] not found." from a gRPC or REST-fallback error, never a payload. */
function describeError(err: unknown): { reason: string; text: string } {
  if (!(err instanceof Error)) return { reason: 'UNKNOWN', text: 'unknown error' };
  const e = err as Error & { code?: unknown; details?: unknown };
  let reason = 'UNKNOWN';
  if (typeof e.code === 'number') reason = grpcStatusName(e.code) ?? `code ${e.code}`;
  else if (typeof e.code === 'string' && e.code !== '') reason = e.code;
  let text = typeof e.details === 'string' && e.details !== '' ? e.details : e.message;
  // grpc-js prefixes the server's message with "5 NOT_FOUND: ".
  text = text.replace(/^\d+ [A-Z_]+: /, '');
  if (text.length > 300) text = `${text.slice(0, 300)}…`;
  return { reason, text };
}

function payloadBytes(data: Uint8Array | string | null | undefined): Buffer {
  if (data === null || data === undefined) return Buffer.alloc(0);
  // protobufjs renders bytes as base64 text when asked to convert bytes to strings.
  if (typeof data === 'string') return Buffer.from(data, 'base64');
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** int64 arrives as a decimal string (REST, and gRPC, both with longs: String); a number or a Long otherwise. */
function checksumValue(value: unknown): number | undefined {
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string') n = Number(value);
  else if (
    typeof value === 'object' &&
    value !== null &&
    'toNumber' in value &&
    typeof value.toNumber === 'function'
  ) {
    n = Number((value as { toNumber(): unknown }).toNumber());
  } else return undefined;
  return Number.isFinite(n) ? n : undefined;
}

/**
 * Read a secret version's payload (`projects/P/secrets/S/versions/V`). Verifies the payload's
 * CRC-32C when the service sends one. Any failure is an AppError NOT_READY whose message names the
 * variable, the secret and the gRPC/HTTP reason; it never contains the payload.
 */
export async function readSecretVersion(name: string, options: ReadSecretOptions = {}): Promise<Buffer> {
  const subject = `${options.variable ? `${options.variable}: ` : ''}cannot read Secret Manager version ${name}`;
  const fail = (reason: string, text: string, cause?: unknown): AppError => {
    const hint = HINTS[reason];
    return new AppError('NOT_READY', `${subject}: ${reason}: ${text}${hint ? ` (${hint})` : ''}`, {
      details: { variable: options.variable, secret: name, reason },
      cause,
    });
  };

  const { SecretManagerServiceClient } = await import('@google-cloud/secret-manager');
  let client: InstanceType<typeof SecretManagerServiceClient>;
  if (options.endpoint === undefined) {
    client = new SecretManagerServiceClient();
  } else {
    const target = splitEndpoint(options.endpoint);
    if (target === undefined) {
      throw fail('INVALID_ARGUMENT', `TOKEN_SERVER_SECRET_MANAGER_ENDPOINT must be host:port`);
    }
    const { googleAuthLibrary } = await import('google-gax');
    client = new SecretManagerServiceClient({
      fallback: true,
      protocol: 'http',
      apiEndpoint: target.host,
      port: target.port,
      // PassThroughClient sends no credentials. Its gaxios transporter throws on any non-2xx status
      // before google-gax sees the response, which turns Google's JSON errors into bare HTTP errors
      // (no gRPC code, so no retries); accepting every status lets google-gax decode them itself.
      authClient: new googleAuthLibrary.PassThroughClient({
        transporterOptions: { validateStatus: () => true },
      }),
    });
  }

  try {
    // Create the stub (and find credentials) first: accessSecretVersion() also calls initialize(),
    // but rethrows its failure from a detached .catch, an unhandled rejection that ends the process.
    await client.initialize();
    const [response] = await client.accessSecretVersion(
      { name },
      callOptions(options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    );
    const payload = response.payload;
    if (!payload) throw fail('DATA_LOSS', 'the response has no payload');
    const data = payloadBytes(payload.data);
    const expected = checksumValue(payload.dataCrc32c);
    if (expected !== undefined && crc32c(data) !== expected) {
      throw fail('DATA_LOSS', 'the payload does not match its CRC-32C checksum');
    }
    return data;
  } catch (err) {
    if (err instanceof AppError) throw err;
    const { reason, text } = describeError(err);
    throw fail(reason, text, err);
  } finally {
    await client.close().catch(() => undefined);
  }
}
