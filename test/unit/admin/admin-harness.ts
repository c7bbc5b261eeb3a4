/**
 * The full route table on the memory store, driven in-process through createHandler with fake
 * Express objects; every log line is captured so that tests can prove no secret reaches a log.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { ManualClock } from '../../../functions/clock';
import { parseConfig } from '../../../functions/config';
import { createHandler, type HttpHandler } from '../../../functions/http/app';
import { fullRoutes } from '../../../functions/http/routes';
import type { ResolvedKeys } from '../../../functions/keys/keys';
import { setLogSink } from '../../../functions/log';
import { createRuntime, type Runtime } from '../../../functions/runtime';
import { MemoryStore } from '../../../functions/store/memory/memory-store';
import { Sealer } from '../../../functions/store/seal';
import type { JsonObject } from '../../../functions/store/types';
import { callHandler, type FakeRequestOptions, type FakeResponse } from '../../helpers/fake-express';

export interface AdminAppOptions {
  /** null: no admin key configured. */
  adminKey?: string | null;
  /** null: no master key configured. */
  masterKey?: Buffer | null;
}

export interface AdminApp {
  runtime: Runtime;
  handler: HttpHandler;
  clock: ManualClock;
  adminKey: string | undefined;
  /** Every log line written since the app was made. */
  logs: string[];
  /** A request with the admin key (unless options.bearer or an Authorization header says otherwise). */
  call(
    method: string,
    url: string,
    body?: unknown,
    options?: Partial<FakeRequestOptions>,
  ): Promise<FakeResponse>;
  /** Restores the log sink. */
  close(): void;
}

export async function adminApp(options: AdminAppOptions = {}): Promise<AdminApp> {
  const adminKey =
    options.adminKey === null ? undefined : (options.adminKey ?? randomBytes(32).toString('base64url'));
  const masterKey = options.masterKey === null ? undefined : (options.masterKey ?? randomBytes(32));
  const keys: ResolvedKeys = { problems: {} };
  if (adminKey === undefined) keys.problems.adminKey = 'No admin key is configured (test)';
  else keys.adminKey = adminKey;
  if (masterKey === undefined) keys.problems.masterKey = 'No master key is configured (test)';
  else keys.masterKey = masterKey;

  const logs: string[] = [];
  const previousSink = setLogSink((line) => logs.push(line));
  const clock = new ManualClock();
  const config = parseConfig({ TOKEN_SERVER_STORE: 'memory', TOKEN_SERVER_LOG_LEVEL: 'debug' });
  const runtime = await createRuntime(config, {
    keys,
    clock,
    store: new MemoryStore(new Sealer(masterKey), clock),
  });
  const handler = createHandler({ name: 'tokenServer', routes: fullRoutes(), runtime: async () => runtime });
  return {
    runtime,
    handler,
    clock,
    adminKey,
    logs,
    call: (method, url, body, extra = {}) =>
      callHandler(handler, {
        method,
        url,
        ...(body === undefined ? {} : { body }),
        ...(adminKey === undefined ? {} : { bearer: adminKey }),
        ...extra,
      }),
    close: () => {
      setLogSink(previousSink);
    },
  };
}

import { SEED_REALM } from '../../fakes/seed-realm';

export { SEED_REALM };

export function realmWithId(id: string, comment = ''): JsonObject {
  return { ...SEED_REALM, id, comment };
}

/** Saves each realm through the API, expecting 200 for every one. */
export async function postRealms(app: AdminApp, ...realms: JsonObject[]): Promise<void> {
  for (const realm of realms) {
    const res = await app.call('POST', '/api/realm', realm);
    expect(res.status, res.text).to.equal(200);
  }
}

/** The `data` of a list answer. */
export interface ListBody<T> {
  list: T[];
  total: number;
}

/** The `data` of a `{"data": ..., "success": "ok"}` body. */
export function dataOf<T = Record<string, unknown>>(res: FakeResponse): T {
  const body = res.body as { data?: unknown; success?: unknown };
  if (body.success !== 'ok') throw new Error(`expected a success body, got ${res.status} ${res.text}`);
  return body.data as T;
}

/** A single resource, answered bare (SPEC §4): a 2xx whose body is the object itself, not an envelope. */
export function resourceOf<T = Record<string, unknown>>(res: FakeResponse): T {
  const body = res.body as Record<string, unknown> | null;
  if (res.status < 200 || res.status > 299 || body === null || typeof body !== 'object') {
    throw new Error(`expected a resource, got ${res.status} ${res.text}`);
  }
  if ('success' in body || 'data' in body) throw new Error(`expected a bare resource, got ${res.text}`);
  return body as T;
}

export interface ErrorBody {
  code: string;
  message: string;
  details?: { field?: string; [key: string]: unknown };
}

export function errorOf(res: FakeResponse): ErrorBody {
  const body = res.body as { error?: ErrorBody };
  if (body.error === undefined) throw new Error(`expected an error body, got ${res.status} ${res.text}`);
  return body.error;
}
