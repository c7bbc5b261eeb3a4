/**
 * HTTP exactly as given, for hostile-input tests: the path is sent byte for byte (fetch would
 * normalise `..` and percent-encoding), the body and headers as they are, and nothing is added but
 * Host and, for a body, Content-Length (or chunked framing when asked).
 */
import { request as httpRequest } from 'node:http';
import { recordExchange } from './leak-registry';

export interface RawRequest {
  method: string;
  /** Path and query, sent unchanged: `/api/realm/..`, `/api/realm/%E0%A4%A`. */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Send the body with Transfer-Encoding: chunked instead of Content-Length. */
  chunked?: boolean;
  /** Default 30 s. */
  timeoutMs?: number;
}

export interface RawResponse {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

/** Sends one request to baseUrl (http://127.0.0.1:PORT) and reads the whole answer. */
export function rawHttp(baseUrl: string, req: RawRequest): Promise<RawResponse> {
  const base = new URL(baseUrl);
  const headers: Record<string, string> = { ...(req.headers ?? {}) };
  if (req.body !== undefined) {
    if (req.chunked === true) headers['transfer-encoding'] = 'chunked';
    else headers['content-length'] = String(Buffer.byteLength(req.body));
  }
  return new Promise((resolve, reject) => {
    const out = httpRequest(
      {
        host: base.hostname,
        port: base.port,
        method: req.method,
        path: req.path,
        headers,
        timeout: req.timeoutMs ?? 30_000,
        // Our own header casing and values, including ones Node would refuse to build itself.
        insecureHTTPParser: true,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const responseHeaders: Record<string, string> = {};
          for (const [name, value] of Object.entries(res.headers)) {
            if (value !== undefined) responseHeaders[name] = Array.isArray(value) ? value.join(', ') : value;
          }
          let json: unknown;
          try {
            json = JSON.parse(text) as unknown;
          } catch {
            json = undefined;
          }
          const status = res.statusCode ?? 0;
          recordExchange({
            method: req.method,
            url: `${baseUrl}${req.path}`,
            requestBody: req.body,
            status,
            text,
          });
          resolve({ status, headers: responseHeaders, text, json });
        });
      },
    );
    out.on('timeout', () => out.destroy(new Error(`${req.method} ${req.path} timed out`)));
    out.on('error', reject);
    if (req.body !== undefined) out.write(req.body);
    out.end();
  });
}
