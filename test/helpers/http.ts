/** A small JSON request helper for tests, on Node's global fetch. */
import { request as httpRequest } from 'node:http';
import { recordExchange } from './leak-registry';

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
  let answer: JsonResponse<T>;
  if (body !== undefined && (method === 'GET' || method === 'HEAD')) {
    // fetch refuses a GET with a body; the API accepts one (the original design sent them).
    answer = await rawRequest<T>(url, method, headers, body, timeoutMs);
  } else {
    const res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    const responseHeaders: Record<string, string> = {};
    res.headers.forEach((value, name) => (responseHeaders[name] = value));
    answer = { status: res.status, headers: responseHeaders, body: parseJson(text) as T, text };
  }
  // The run-wide leak check (leak-registry.ts) sees every exchange.
  recordExchange({ method, url, requestBody: body, status: answer.status, text: answer.text });
  return answer;
}

function rawRequest<T>(
  url: string,
  method: string,
  headers: Record<string, string>,
  body: string | Buffer,
  timeoutMs: number,
): Promise<JsonResponse<T>> {
  return new Promise((resolve, reject) => {
    // Node's client frames a GET body neither by length nor by chunks unless told the length.
    const framed = { ...headers, 'content-length': String(Buffer.byteLength(body)) };
    const req = httpRequest(url, { method, headers: framed, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const responseHeaders: Record<string, string> = {};
        for (const [name, value] of Object.entries(res.headers)) {
          if (value !== undefined) responseHeaders[name] = Array.isArray(value) ? value.join(', ') : value;
        }
        resolve({ status: res.statusCode ?? 0, headers: responseHeaders, body: parseJson(text) as T, text });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

function parseJson(text: string): unknown {
  if (text === '') return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
