/**
 * Runs tokenctl commands in-process against a recording HTTP server on 127.0.0.1 (real fetch, real
 * sockets), capturing stdout and stderr separately. Nothing is spawned.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FetchFn } from '../../../cli/api';
import type { CliIo } from '../../../cli/io';
import { runCli } from '../../../cli/program';

export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  /** Parsed JSON body, or undefined when there was none. */
  body: unknown;
}

export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  /** Sent as JSON unless it is a string (sent as it is). */
  body?: unknown;
}

export type Handler = (req: RecordedRequest) => Reply;

/** `GET /api/realm` → handler; unknown routes answer the server's 404 error body. */
export class RecordingServer {
  readonly requests: RecordedRequest[] = [];
  private readonly routes = new Map<string, Handler>();
  private server: Server | undefined;
  url = '';

  on(method: string, path: string, handler: Handler | Reply): this {
    this.routes.set(`${method} ${path}`, typeof handler === 'function' ? handler : () => handler);
    return this;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.server = undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://localhost');
    const recorded: RecordedRequest = {
      method: req.method ?? '',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body: text === '' ? undefined : (JSON.parse(text) as unknown),
    };
    this.requests.push(recorded);
    const handler = this.routes.get(`${recorded.method} ${recorded.path}`);
    const reply: Reply = handler
      ? handler(recorded)
      : {
          status: 404,
          body: { error: { code: 'NOT_FOUND', message: `No route ${recorded.method} ${recorded.path}` } },
        };
    const body =
      reply.body === undefined
        ? ''
        : typeof reply.body === 'string'
          ? reply.body
          : JSON.stringify(reply.body);
    res.writeHead(reply.status ?? 200, {
      ...(typeof reply.body === 'string' ? {} : { 'content-type': 'application/json' }),
      ...reply.headers,
    });
    res.end(body);
  }
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  stdin?: string;
  files?: Record<string, string>;
  fetch?: FetchFn;
  now?: number;
}

export const ADMIN_KEY = 'admin-key-0123456789-0123456789-0123456789';

/** The environment pointing at a server with the admin key. */
export function envFor(server: RecordingServer): Record<string, string> {
  return { TOKENCTL_URL: server.url, TOKENCTL_ADMIN_KEY: ADMIN_KEY };
}

/** A fetch that fails the test if called: proves that no request was made. */
export const noFetch: FetchFn = () => Promise.reject(new Error('unexpected request'));

export async function run(argv: string[], options: RunOptions = {}): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    env: options.env ?? {},
    readStdin: () => {
      if (options.stdin === undefined)
        return Promise.reject(new Error('stdin is not available in this test'));
      return Promise.resolve(options.stdin);
    },
    readFile: (path) => {
      const content = options.files?.[path];
      if (content === undefined) {
        return Promise.reject(Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' }));
      }
      return Promise.resolve(content);
    },
    fetch: options.fetch ?? ((url, init) => fetch(url, init)),
    now: () => options.now ?? Date.parse('2026-11-24T06:00:00.000Z'),
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

/**
 * A command line (given in one or more pieces) split into argv as a shell splits it, without any
 * expansion: at white space, a word in single quotes kept whole (quotes around whole words only).
 * `words("a 'b c'", 'd')` is `['a', 'b c', 'd']`.
 */
export function words(...pieces: string[]): string[] {
  return (pieces.join(' ').match(/'[^']*'|[^\s']+/g) ?? []).map((word) => word.replace(/^'(.*)'$/s, '$1'));
}

/** `{"data": {"list": [...], "total": N}, "success": "ok"}` */
export function listBody(list: unknown[], total = list.length): unknown {
  return { data: { list, total }, success: 'ok' };
}

export function errorBody(code: string, message: string, details?: Record<string, unknown>): unknown {
  return { error: { code, message, ...(details === undefined ? {} : { details }) } };
}
