/**
 * Large request bodies sent over a raw socket, for the body-limit attacks: chunked or with a declared
 * Content-Length, written in a bounded loop that stops by itself when the body is sent, when the
 * server answers, or when it closes the connection. Reports what the server answered and how much
 * of the body it took.
 */
import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';

export interface FloodOptions {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  /** Bytes of body to send at most. */
  bytes: number;
  /** 'chunked' (Transfer-Encoding) or a declared Content-Length (which may be larger than `bytes`). */
  framing: 'chunked' | { contentLength: number };
  /** Give up after this long (default 60 s). */
  timeoutMs?: number;
}

export interface FloodResult {
  /** The status line's code, when the server answered. */
  status: number | undefined;
  /** The answer's bytes as text (headers and body). */
  answer: string;
  /** Body bytes written before the loop stopped. */
  sent: number;
  /** The connection was closed or reset by the server before the whole body was sent. */
  cutOff: boolean;
  /** Milliseconds from the first byte written to the status line (undefined without one). */
  answeredAfterMs: number | undefined;
}

const CHUNK = Buffer.alloc(64 * 1024, 0x61);

/** Sends one request with a large body to baseUrl (http://127.0.0.1:PORT). Never rejects. */
export function floodBody(baseUrl: string, options: FloodOptions): Promise<FloodResult> {
  const { hostname, port } = new URL(baseUrl);
  const headerLines = [
    `${options.method ?? 'POST'} ${options.path} HTTP/1.1`,
    `Host: ${hostname}:${port}`,
    'Content-Type: application/json',
    options.framing === 'chunked'
      ? 'Transfer-Encoding: chunked'
      : `Content-Length: ${options.framing.contentLength}`,
    ...Object.entries(options.headers ?? {}).map(([name, value]) => `${name}: ${value}`),
  ];
  return new Promise((resolve) => {
    const socket: Socket = connect(Number(port), hostname);
    const received: Buffer[] = [];
    let sent = 0;
    let closed = false;
    let started = 0;
    let answeredAfterMs: number | undefined;
    const timer = setTimeout(() => socket.destroy(), options.timeoutMs ?? 60_000);
    const statusOf = (): number | undefined => {
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(Buffer.concat(received).toString('latin1'));
      return m === null ? undefined : Number(m[1]);
    };
    socket.on('data', (data: Buffer) => {
      received.push(data);
      if (answeredAfterMs === undefined && statusOf() !== undefined) answeredAfterMs = Date.now() - started;
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      closed = true;
      clearTimeout(timer);
      resolve({
        status: statusOf(),
        answer: Buffer.concat(received).toString('utf8'),
        sent,
        cutOff: sent < options.bytes,
        answeredAfterMs,
      });
    });
    const write = (data: Buffer | string): Promise<void> =>
      new Promise((done) => {
        if (closed || socket.destroyed) return done();
        if (socket.write(data)) done();
        else {
          const go = (): void => {
            socket.removeListener('close', go);
            socket.removeListener('drain', go);
            done();
          };
          socket.once('drain', go);
          socket.once('close', go);
        }
      });
    socket.once('connect', () => {
      started = Date.now();
      void (async () => {
        await write(`${headerLines.join('\r\n')}\r\n\r\n`);
        // The loop ends when the body is sent, the server answered, or the connection is gone.
        while (sent < options.bytes && !closed && !socket.destroyed && answeredAfterMs === undefined) {
          const piece = CHUNK.subarray(0, Math.min(CHUNK.length, options.bytes - sent));
          await write(
            options.framing === 'chunked'
              ? Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')])
              : piece,
          );
          sent += piece.length;
        }
        if (options.framing === 'chunked' && sent >= options.bytes) await write('0\r\n\r\n');
        // Give the server a moment to answer, then let go of the connection.
        setTimeout(() => socket.end(), 2000).unref();
      })();
    });
  });
}

/** The resident set size of a process on Linux (/proc/PID/status VmRSS), in bytes. */
export function residentBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (m === null) throw new Error(`no VmRSS for process ${pid}`);
  return Number(m[1]) * 1024;
}
