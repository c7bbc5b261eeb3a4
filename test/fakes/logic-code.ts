/**
 * A fake custom token function for logic_code realms, on 127.0.0.1: it takes the secret as JSON
 * (`{"realm", "key", "key_1", ...}`), answers `{"token", "expires_in"}` when key_1/key_2 are the
 * expected pair, and `{"errcode": 40001, "errmsg": ...}` (HTTP 200) when they are not, as a function
 * wrapping WeChat would. It counts its calls, records every body, and can be told to answer "busy"
 * (`errcode: -1`) or HTTP 500 a number of times.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type LogicCodeFault = 'busy' | 'http500';

export interface FakeLogicCode {
  /** The function's URL (http://127.0.0.1:PORT/token). */
  readonly url: string;
  /** Calls so far. */
  calls(): number;
  /** Every request body, parsed, in order. */
  bodies(): Array<Record<string, unknown>>;
  /** The tokens issued so far (the last one is current). */
  issued(): string[];
  /** The next `times` calls answer with this fault. */
  failNext(fault: LogicCodeFault, times?: number): void;
  close(): Promise<void>;
}

export interface FakeLogicCodeOptions {
  /** The credentials that get a token. */
  key1: string;
  key2: string;
  /** Seconds, answered as expires_in. Default 7200. */
  expiresIn?: number;
}

export async function startFakeLogicCode(options: FakeLogicCodeOptions): Promise<FakeLogicCode> {
  const bodies: Array<Record<string, unknown>> = [];
  const issued: string[] = [];
  const faults: LogicCodeFault[] = [];
  let calls = 0;
  const server: Server = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.method !== 'POST' || new URL(req.url ?? '/', 'http://127.0.0.1').pathname !== '/token') {
        res.statusCode = 404;
        res.end('{"error": "not_found"}');
        return;
      }
      calls++;
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        res.statusCode = 400;
        res.end('{"error": "invalid_request", "error_description": "the body is not JSON"}');
        return;
      }
      bodies.push(body);
      const fault = faults.shift();
      if (fault === 'busy') {
        res.end('{"errcode": -1, "errmsg": "system error"}');
        return;
      }
      if (fault === 'http500') {
        res.statusCode = 500;
        res.end('{"code": 500, "message": "function crashed"}');
        return;
      }
      if (body.key_1 !== options.key1 || body.key_2 !== options.key2) {
        res.end('{"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}');
        return;
      }
      const token = `lc-token-${calls}-${Math.random().toString(36).slice(2, 10)}`;
      issued.push(token);
      res.end(JSON.stringify({ token, expires_in: options.expiresIn ?? 7200 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/token`,
    calls: () => calls,
    bodies: () => bodies.map((b) => ({ ...b })),
    issued: () => [...issued],
    failNext: (fault, times = 1) => {
      for (let i = 0; i < times; i++) faults.push(fault);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
