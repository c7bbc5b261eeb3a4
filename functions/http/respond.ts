/** The one place where outcomes become HTTP responses. Unknown errors become a generic 500. */
import type { Response } from 'express';
import { AppError } from '../errors';
import { log } from '../log';
import type { Reply } from './types';

export function sendReply(res: Response, reply: Reply): void {
  res.status(reply.status ?? 200);
  res.set('Cache-Control', 'no-store');
  for (const [k, v] of Object.entries(reply.headers ?? {})) res.set(k, v);
  res.type('application/json').send(JSON.stringify(reply.body));
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
