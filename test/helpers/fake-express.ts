/**
 * Minimal stand-ins for the Express request and response that the Functions Framework hands to a
 * function, for driving an HTTP handler in-process (no server, no port). The request looks like
 * what the framework's body parsers produce: a JSON body parsed into `body`, its bytes in `rawBody`.
 */
import type { Request, Response } from 'express';
import { recordExchange } from './leak-registry';

export interface FakeRequestOptions {
  method?: string;
  /** Path with query string: `/api/realm?page=2`. */
  url: string;
  headers?: Record<string, string>;
  /** A string or Buffer is sent as it is; anything else as JSON. */
  body?: unknown;
  /** Sets Authorization: Bearer <bearer>. */
  bearer?: string;
}

export interface FakeResponse {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  /** The body parsed as JSON, or the raw text when it is not JSON. */
  body: unknown;
  text: string;
}

export function fakeRequest(options: FakeRequestOptions): Request {
  const headers: Record<string, string> = {};
  let rawBody: Buffer | undefined;
  let body: unknown = {};
  if (options.body !== undefined) {
    const text =
      typeof options.body === 'string' || Buffer.isBuffer(options.body)
        ? options.body
        : JSON.stringify(options.body);
    rawBody = Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8');
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(rawBody.length);
    try {
      body = JSON.parse(rawBody.toString('utf8')) as unknown;
    } catch {
      // Express's JSON parser would have answered 400 itself; hand the handler the raw bytes.
      body = rawBody;
    }
  }
  if (options.bearer !== undefined) headers.authorization = `Bearer ${options.bearer}`;
  for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value;
  const req = {
    method: (options.method ?? 'GET').toUpperCase(),
    url: options.url,
    originalUrl: options.url,
    headers,
    body,
    rawBody,
  };
  return req as unknown as Request;
}

/** A response that records what the handler sent; `result()` reads it back. */
export function fakeResponse(): { res: Response; result: () => FakeResponse } {
  let status = 200;
  const headers: Record<string, string> = {};
  let text = '';
  const res = {
    get statusCode() {
      return status;
    },
    set statusCode(code: number) {
      status = code;
    },
    setHeader(name: string, value: string | number) {
      headers[name.toLowerCase()] = String(value);
      return res;
    },
    end(body?: unknown) {
      if (body !== undefined) res.send(body);
      return res;
    },
    status(code: number) {
      status = code;
      return res;
    },
    set(name: string, value: string) {
      headers[name.toLowerCase()] = value;
      return res;
    },
    type(type: string) {
      headers['content-type'] = type;
      return res;
    },
    send(body: unknown) {
      text =
        typeof body === 'string'
          ? body
          : Buffer.isBuffer(body)
            ? body.toString('utf8')
            : JSON.stringify(body);
      return res;
    },
  };
  const result = (): FakeResponse => {
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text) as unknown;
    } catch {
      // not JSON: keep the text
    }
    return { status, headers, body: parsed, text };
  };
  return { res: res as unknown as Response, result };
}

/** Calls an Express-style handler with a fake request and answers what it sent. */
export async function callHandler(
  handler: (req: Request, res: Response) => void | Promise<void>,
  options: FakeRequestOptions,
): Promise<FakeResponse> {
  const { res, result } = fakeResponse();
  await handler(fakeRequest(options), res);
  const answer = result();
  const requestBody =
    options.body === undefined
      ? undefined
      : typeof options.body === 'string' || Buffer.isBuffer(options.body)
        ? options.body
        : JSON.stringify(options.body);
  // The run-wide leak check (leak-registry.ts) sees in-process exchanges too.
  recordExchange({
    method: options.method ?? 'GET',
    url: options.url,
    requestBody,
    status: answer.status,
    text: answer.text,
  });
  return answer;
}
