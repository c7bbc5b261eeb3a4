/**
 * A fake Secret Manager: a real HTTP server on 127.0.0.1 speaking the REST surface that
 * @google-cloud/secret-manager uses in fallback (REST) mode, for the one call token-server makes,
 * `GET /v1/projects/P/secrets/S/versions/V:access`. Errors use Google's JSON error format so the
 * client decodes them into the same gRPC codes as the real service. Counts calls.
 */
import * as http from 'node:http';
import { crc32c } from '../../functions/keys/crc32c';
import { listenOnLoopback } from '../helpers/ports';

export interface FakeSecretManagerOptions {
  /** Version name (`projects/P/secrets/S/versions/V`) → payload. Unknown versions answer 404. */
  secrets?: Record<string, string | Buffer>;
  /** Version names that answer 403 PERMISSION_DENIED, as when the caller lacks secretAccessor. */
  forbidden?: string[];
  /** Version name → how many requests answer 503 UNAVAILABLE before the normal answer. */
  unavailable?: Record<string, number>;
  /** Version names whose answer carries a wrong `dataCrc32c` (a payload damaged in transit). */
  badChecksum?: string[];
  /** Version names whose answer carries no `dataCrc32c` at all (the field is optional). */
  noChecksum?: string[];
}

export interface FakeSecretManager {
  /** host:port, for TOKEN_SERVER_SECRET_MANAGER_ENDPOINT / Config.secretManagerEndpoint. */
  endpoint: string;
  /** How many access requests arrived, in all or for one version name as requested. */
  calls(name?: string): number;
  /** Add or replace a version's payload. */
  set(name: string, value: string | Buffer): void;
  close(): Promise<void>;
}

const ACCESS_PATH =
  /^\/v1\/(projects\/[^/]+(?:\/locations\/[^/]+)?\/secrets\/[^/]+\/versions\/[^/:]+):access$/;

interface GoogleErrorBody {
  error: { code: number; message: string; status: string; details?: unknown[] };
}

function googleError(code: number, status: string, message: string, details?: unknown[]): GoogleErrorBody {
  return { error: { code, message, status, ...(details === undefined ? {} : { details }) } };
}

/** Start the fake on a random port of 127.0.0.1. */
export async function startFakeSecretManager(
  options: FakeSecretManagerOptions = {},
): Promise<FakeSecretManager> {
  const secrets = new Map<string, Buffer>(
    Object.entries(options.secrets ?? {}).map(([name, value]) => [name, Buffer.from(value)]),
  );
  const forbidden = new Set(options.forbidden ?? []);
  const unavailable = new Map(Object.entries(options.unavailable ?? {}));
  const badChecksum = new Set(options.badChecksum ?? []);
  const noChecksum = new Set(options.noChecksum ?? []);
  const callsByName = new Map<string, number>();
  let total = 0;

  /** `versions/latest` resolves to the highest numbered version, as in the real service. */
  function resolve(name: string): string {
    if (secrets.has(name) || !name.endsWith('/versions/latest')) return name;
    const prefix = name.slice(0, -'latest'.length);
    let best: string | undefined;
    let bestNumber = -1;
    for (const candidate of secrets.keys()) {
      if (!candidate.startsWith(prefix)) continue;
      const n = Number(candidate.slice(prefix.length));
      if (Number.isInteger(n) && n > bestNumber) {
        best = candidate;
        bestNumber = n;
      }
    }
    return best ?? name;
  }

  function answer(method: string | undefined, path: string): { status: number; body: unknown } {
    const match = ACCESS_PATH.exec(path);
    const requested = match?.[1];
    if (method !== 'GET' || requested === undefined) {
      return { status: 404, body: googleError(404, 'NOT_FOUND', `Method not found: ${method} ${path}`) };
    }
    const name = decodeURIComponent(requested);
    total += 1;
    callsByName.set(name, (callsByName.get(name) ?? 0) + 1);
    const pending = unavailable.get(name) ?? 0;
    if (pending > 0) {
      unavailable.set(name, pending - 1);
      return { status: 503, body: googleError(503, 'UNAVAILABLE', 'The service is currently unavailable.') };
    }
    if (forbidden.has(name)) {
      return {
        status: 403,
        body: googleError(
          403,
          'PERMISSION_DENIED',
          `Permission 'secretmanager.versions.access' denied for resource '${name}' (or it may not exist).`,
          [
            {
              '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
              reason: 'IAM_PERMISSION_DENIED',
              domain: 'iam.googleapis.com',
              metadata: { permission: 'secretmanager.versions.access', resource: name },
            },
          ],
        ),
      };
    }
    const resolved = resolve(name);
    const payload = secrets.get(resolved);
    if (payload === undefined) {
      return { status: 404, body: googleError(404, 'NOT_FOUND', `Secret Version [${name}] not found.`) };
    }
    const checksum = badChecksum.has(name) ? (crc32c(payload) + 1) % 2 ** 32 : crc32c(payload);
    return {
      status: 200,
      body: {
        name: resolved,
        payload: {
          data: payload.toString('base64'),
          // int64 in proto3 JSON is a decimal string.
          ...(noChecksum.has(name) ? {} : { dataCrc32c: String(checksum) }),
        },
      },
    };
  }

  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    req.resume();
    req.on('end', () => {
      const { status, body } = answer(req.method, path);
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'Content-Type': 'application/json; charset=UTF-8',
        'Content-Length': Buffer.byteLength(text),
      });
      res.end(text);
    });
  });
  const port = await listenOnLoopback(server);

  return {
    endpoint: `127.0.0.1:${port}`,
    calls: (name?: string) => (name === undefined ? total : (callsByName.get(name) ?? 0)),
    set: (name, value) => {
      secrets.set(name, Buffer.from(value));
    },
    close: () =>
      new Promise<void>((resolveClose, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolveClose()));
      }),
  };
}
