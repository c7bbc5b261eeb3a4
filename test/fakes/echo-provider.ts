/**
 * A hostile token provider on 127.0.0.1 that echoes the credentials it was sent back in its error
 * answers, in every way a real one might: `POST /echo/MODE` with a JSON body, answering WeChat-style
 * `{"errcode", "errmsg"}`. The credential it echoes is the body's `client_secret` (what it received).
 *
 *   near-cut   the secret preceded by 290 characters, so that it straddles a 300-character cut
 *   body       the raw request body (JSON: `"` and `\` in the secret arrive escaped)
 *   fragment   a run of 10 characters from the middle of the secret, alone
 *   raw        the secret as received (a TAB in it arrives as a TAB once the answer is parsed)
 *   query      the request's path and query (percent-encoded), in upper- and lower-case hex
 *   basic      the Authorization header (the HTTP Basic blob)
 *   unicode    the body as PHP/Python write JSON: `\/` for "/" and `\uXXXX` for non-ASCII
 *   code       the secret as the error *code*
 *   http400    HTTP 400 with the body echoed in errmsg
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export const ECHO_MODES = [
  'near-cut',
  'body',
  'fragment',
  'raw',
  'query',
  'basic',
  'unicode',
  'code',
  'http400',
] as const;
export type EchoMode = (typeof ECHO_MODES)[number];

export interface EchoProvider {
  url: string;
  /** Requests received, per mode. */
  calls(mode?: EchoMode): number;
  close(): Promise<void>;
}

function pythonJson(text: string): string {
  return text
    .replace(/\//g, '\\/')
    .replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function answerFor(
  mode: EchoMode,
  req: http.IncomingMessage,
  body: string,
): { status: number; json: unknown } {
  let secret = '';
  try {
    const parsed = JSON.parse(body) as { client_secret?: unknown };
    if (typeof parsed.client_secret === 'string') secret = parsed.client_secret;
  } catch {
    // not JSON: nothing to pick
  }
  const url = req.url ?? '';
  const messages: Record<EchoMode, string> = {
    'near-cut': `${'e'.repeat(290)} ${secret} is wrong`,
    body: `invalid request body ${body}`,
    fragment: `the secret ...${secret.slice(3, 13)}... is not valid`,
    raw: `invalid secret ${secret}`,
    query: `bad query ${url} (${url.replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase())})`,
    basic: `bad client authentication ${req.headers.authorization ?? ''}`,
    unicode: `invalid request body ${pythonJson(body)}`,
    code: 'invalid code',
    http400: `rejected ${body}`,
  };
  return {
    status: mode === 'http400' ? 400 : 200,
    json: { errcode: mode === 'code' ? `E-${secret}` : 40001, errmsg: messages[mode] },
  };
}

export async function startEchoProvider(): Promise<EchoProvider> {
  const counts = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const mode = /^\/echo\/([a-z0-9-]+)/.exec(req.url ?? '')?.[1] as EchoMode | undefined;
      if (mode === undefined || !(ECHO_MODES as readonly string[]).includes(mode)) {
        res.writeHead(404).end();
        return;
      }
      counts.set(mode, (counts.get(mode) ?? 0) + 1);
      const { status, json } = answerFor(mode, req, Buffer.concat(chunks).toString('utf8'));
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(json));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls: (mode) =>
      mode === undefined ? [...counts.values()].reduce((a, b) => a + b, 0) : (counts.get(mode) ?? 0),
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** The realm config that sends key_1/key_2 in a JSON body, key_3 in the query and Basic in a header. */
export function echoRealm(providerUrl: string, mode: EchoMode): Record<string, unknown> {
  return {
    url: `${providerUrl}/echo/${mode}`,
    method: 'POST',
    content_type: 'json',
    arguments: [
      { name: 'client_id', place: 'body', value: '$key_1' },
      { name: 'client_secret', place: 'body', value: '$key_2' },
      { name: 'scope', place: 'url', value: '$key_3' },
      { name: 'Authorization', place: 'header', value: 'Basic ${basic:key_1:key_2}' },
    ],
    token_path: 'access_token',
    expires_in_path: 'expires_in',
    error_path: 'errcode',
    success_values: [0],
    error_message_path: 'errmsg',
    timeout_ms: 5000,
  };
}
