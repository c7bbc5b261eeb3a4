/** The one place where outcomes become HTTP responses. Unknown errors become a generic 500. */
import type { ServerResponse } from 'node:http';
import { AppError } from '../errors';
import { log } from '../log';
import type { Reply } from './types';

/**
 * Node's own response API, so that it serves an Express response and a bare one alike (the
 * framework's early refusals in body-gate.ts answer before Express has set up the response).
 * The body goes to res.end as a string: Node then sends it in one write with the headers (a Buffer
 * is a second chunk, a writev of two).
 */
export function sendReply(res: ServerResponse, reply: Reply): void {
  const body = reply.raw?.text ?? reply.text ?? JSON.stringify(reply.body);
  res.statusCode = reply.status ?? 200;
  res.setHeader('Cache-Control', 'no-store');
  if (reply.headers !== undefined)
    for (const k in reply.headers) res.setHeader(k, reply.headers[k] as string);
  res.setHeader(
    'Content-Type',
    reply.raw?.contentType ??
      (reply.text === undefined ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8'),
  );
  res.setHeader('Content-Length', Buffer.byteLength(body, 'utf8'));
  res.end(body, 'utf8');
}

export function errorReply(err: unknown, requestId: string): { reply: Reply; error: AppError } {
  const error =
    err instanceof AppError
      ? err
      : new AppError('INTERNAL', `Internal error (request id ${requestId})`, { details: { requestId } });
  if (!(err instanceof AppError)) {
    // Log the class and message of an unexpected error, never its data; the id ties it to the response.
    log('ERROR', 'unexpected error', {
      event: 'unexpected_error',
      requestId,
      errorName: err instanceof Error ? err.name : typeof err,
      errorMessage: err instanceof Error ? err.message : undefined,
    });
  }
  const headers: Record<string, string> = {};
  if (error.retryAfter !== undefined)
    headers['Retry-After'] = String(Math.max(1, Math.ceil(error.retryAfter)));
  return { reply: { status: error.status, body: error.toBody(), headers }, error };
}

/**
 * A single resource (a realm, a secret, a client) answered as itself, as the original design does;
 * lists keep the `{"data": ..., "success": "ok"}` envelope (types.ts `ok`).
 */
export function resource(body: unknown, status = 200): Reply {
  return { status, body };
}
