/**
 * Requests that the Functions Framework turns away before our handler runs. The stock framework
 * (which Cloud Functions runs too) builds an Express app after loading our module and parses every
 * body with body-parser; a body that is not valid JSON, an unknown charset or Content-Encoding, or a
 * path that is not valid percent-encoding then ends in Express's default final handler, which
 * answers an HTML page (with a stack trace unless NODE_ENV=production) and prints the error, whose
 * message can quote part of the body, to stderr. The framework offers no error-handler option, so
 * this module wraps the final handler of the Express copy that the framework resolves: such requests
 * get the SPEC's JSON error body through http/respond.ts and one request log line like any other.
 *
 * It also turns a request away before its body is read when the declared Content-Length is over the
 * 64 KiB limit (413) or the body is compressed (415), so that no instance buffers a large body or
 * inflates a compressed one only to refuse it afterwards.
 */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Request, Response } from 'express';
import { AppError } from '../errors';
import { log } from '../log';
import { bodyTooLarge, headerValue, MAX_BODY_BYTES } from './parse-request';
import { errorReply, sendReply } from './respond';

type Done = (err?: unknown) => void;
type Handle = (this: unknown, req: Request, res: Response, callback?: Done) => void;
interface ExpressApplication {
  handle: Handle;
  [INSTALLED]?: true;
}

const INSTALLED = Symbol.for('token-server.framework-errors');

/** The Express that the Functions Framework uses (resolved from its own folder), if any. */
function frameworkExpress(): ExpressApplication | undefined {
  try {
    const fromHere = createRequire(__filename);
    const framework = fromHere.resolve('@google-cloud/functions-framework');
    const express = createRequire(framework)('express') as { application?: ExpressApplication };
    return typeof express.application?.handle === 'function' ? express.application : undefined;
  } catch {
    return undefined;
  }
}

interface HttpErrorLike {
  status?: unknown;
  statusCode?: unknown;
  type?: unknown;
}

/** A framework error as one of ours. Never quotes its message: body-parser's can contain the body. */
export function appErrorOfFrameworkError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const e = (err !== null && typeof err === 'object' ? err : {}) as HttpErrorLike;
  const status =
    typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : 500;
  const type = typeof e.type === 'string' && /^[a-z.]{1,40}$/.test(e.type) ? e.type : undefined;
  if (type === 'entity.parse.failed')
    return new AppError('INVALID_JSON', 'The request body is not valid JSON');
  if (status === 413) return bodyTooLarge(undefined);
  if (status === 415) {
    return new AppError(
      'UNSUPPORTED_MEDIA_TYPE',
      'Request bodies must be UTF-8 JSON without Content-Encoding (Content-Type: application/json)',
      { details: { field: 'Content-Type' } },
    );
  }
  if (err instanceof URIError) {
    return new AppError('INVALID_ARGUMENT', 'The request path is not valid percent-encoding', {
      details: { field: 'path' },
    });
  }
  if (status >= 400 && status < 500) {
    return new AppError('INVALID_ARGUMENT', 'The request could not be read', {
      details: { field: '(body)', ...(type === undefined ? {} : { reason: type }) },
    });
  }
  return new AppError('INTERNAL', 'Internal error while reading the request', {
    details: { ...(type === undefined ? {} : { reason: type }) },
  });
}

/** What we refuse before the framework reads the body; undefined to let it go on. */
function refuseBeforeReading(req: Request): AppError | undefined {
  const declared = Number(headerValue(req.headers['content-length']) ?? '0');
  if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) return bodyTooLarge(declared);
  const encoding = (headerValue(req.headers['content-encoding']) ?? 'identity').trim().toLowerCase();
  if (encoding !== '' && encoding !== 'identity') return appErrorOfFrameworkError({ status: 415 });
  return undefined;
}

/** Answers an error (or 404 when nothing handled the request) once the request body is drained. */
function finalReply(req: Request, res: Response, err: unknown): void {
  if (res.headersSent) {
    // Too late for an answer (Express's final handler does the same).
    req.socket.destroy();
    return;
  }
  const error =
    err === undefined || err === 'router' || err === 'route'
      ? new AppError('NOT_FOUND', `No route for ${req.method} ${(req.url ?? '/').split('?')[0] ?? '/'}`)
      : appErrorOfFrameworkError(err);
  const requestId = headerValue(req.headers['x-request-id']) ?? randomUUID();
  const { reply } = errorReply(error, requestId);
  let sent = false;
  const send = (): void => {
    if (sent) return;
    sent = true;
    sendReply(res, reply);
    log(error.status >= 500 ? 'ERROR' : 'WARNING', `${req.method} (framework) ${error.status}`, {
      event: 'request',
      method: req.method,
      route: '(framework)',
      status: error.status,
      code: error.code,
      requestId,
    });
  };
  if (req.complete) {
    send();
    return;
  }
  // Read (and discard) the rest of the body first, so the client sees the answer, not a reset.
  req.once('end', send);
  req.once('close', send);
  req.unpipe();
  req.resume();
}

/**
 * Installs the wrapper once per process; answers whether the framework's Express was found (when
 * not, for example under another server, nothing changes). Called when a handler is created, which
 * is when the framework loads our module, before it builds its Express app.
 */
export function installFrameworkErrorReplies(): boolean {
  const application = frameworkExpress();
  if (application === undefined) return false;
  if (application[INSTALLED] === true) return true;
  const original = application.handle;
  application.handle = function handle(this: unknown, req, res, callback) {
    // A nested app (callback given) keeps Express's behaviour; only the top-level app is ours.
    if (callback !== undefined) return original.call(this, req, res, callback);
    const refusal = refuseBeforeReading(req);
    if (refusal !== undefined) return finalReply(req, res, refusal);
    return original.call(this, req, res, (err?: unknown) => finalReply(req, res, err));
  };
  application[INSTALLED] = true;
  return true;
}
