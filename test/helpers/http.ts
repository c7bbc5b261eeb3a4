/** A small JSON request helper for tests, on Node's global fetch (rawHttp for a GET with a body). */
import { recordExchange } from './leak-registry';
import { rawHttp } from './raw-http';

export interface RequestOptions {
  /** Default GET. */
  method?: string;
  headers?: Record<string, string>;
  /**
   * A string or Buffer is sent as it is (for malformed or oversized bodies); anything else is sent as
   * JSON. Content-Type defaults to application/json whenever there is a body.
   */
  body?: unknown;
  /** Sets Authorization: Bearer <bearer>. */
  bearer?: string;
  /** Default 30 s. */
  timeoutMs?: number;
}

export interface JsonResponse<T = unknown> {
  status: number;
  /** Response headers, names in lower case. */
  headers: Record<string, string>;
  /** The body parsed as JSON, or the raw text when it is not JSON (T is then only a claim). */
  body: T;
  text: string;
}

/**
 * request<{ token: string }>(`${fn.url}/api/token?realm=r&key=k`, { bearer: clientKey }).
 * Never throws on an HTTP error status: tests assert on `status`. Network errors do throw.
 */
export async function request<T = unknown>(
  url: string,
  options: RequestOptions = {},
): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { accept: 'application/json' };
  let body: string | Buffer | undefined;
  if (options.body !== undefined) {
    body =
      typeof options.body === 'string' || Buffer.isBuffer(options.body)
        ? options.body
        : JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  if (options.bearer !== undefined) headers.authorization = `Bearer ${options.bearer}`;
  for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value;

  const method = (options.method ?? 'GET').toUpperCase();
  const timeoutMs = options.timeoutMs ?? 30_000;
  if (body !== undefined && (method === 'GET' || method === 'HEAD')) {
    // fetch refuses a GET with a body; the API accepts one (the original design sent them).
    const target = new URL(url);
    const raw = await rawHttp(target.origin, {
      method,
      path: `${target.pathname}${target.search}`,
      headers,
      body,
      timeoutMs,
    });
    return { status: raw.status, headers: raw.headers, body: parseJson(raw.text) as T, text: raw.text };
  }
  const res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  const responseHeaders: Record<string, string> = {};
  res.headers.forEach((value, name) => (responseHeaders[name] = value));
  // The run-wide leak check (leak-registry.ts) sees every exchange (rawHttp records its own).
  recordExchange({ method, url, requestBody: body, status: res.status, text });
  return { status: res.status, headers: responseHeaders, body: parseJson(text) as T, text };
}

function parseJson(text: string): unknown {
  if (text === '') return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
