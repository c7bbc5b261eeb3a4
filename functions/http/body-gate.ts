/**
 * Requests that the Functions Framework turns away before our handler runs. The stock framework
 * (which Cloud Functions runs too) builds an Express app after loading our module and parses every
 * body with body-parser; a body that is not valid JSON, an unknown charset or Content-Encoding, or a
 * path that is not valid percent-encoding then ends in Express's default final handler, which
 * answers an HTML page (with a stack trace unless NODE_ENV=production) and prints the error, whose
 * message can quote part of the body, to stderr. The framework offers no error-handler option, so
 * this module wraps the `handle` of the Express copy that the framework resolves: such requests get
 * the JSON error body (errors.ts) through http/respond.ts and one request log line like any other.
 *
 * The wrapper is also the body reader, in front of body-parser (whose limit the framework sets to
 * 1 GB): it reads every request body itself, counting bytes as they stream, and answers 413 and
 * closes the connection as soon as the 64 KiB limit is passed, or at once when the declared
 * Content-Length is over it, or when the body is compressed (415). A body within the limit is kept
 * as `req.rawBody` (where the framework's own parser keeps it) and the request goes on to the
 * framework fully read: body-parser skips a request whose body has ended (body-parser 2.x
 * read.js: `onFinished.isFinished(req)` → "body already parsed"), so it never buffers or parses a
 * byte. http/parse-request.ts parses the JSON.
 *
 * Benchmarked hot-path shape (the patch of the framework's Express `handle` runs on every request):
 * guarded by the `npm run bench` rows "tokenServerCache memory hit" and "tokenServerCache over
 * hello behind onRequest" (bench/scenarios/hit-throughput.ts).
 */
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import type { Request, Response } from 'express';
import { AppError } from '../errors';
import { log } from '../log';
import { bodyTooLarge, headerValue, MAX_BODY_BYTES, requestIdOf } from './parse-request';
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

/** What we refuse before reading a byte of the body; undefined to let it go on. */
function refuseBeforeReading(req: Request): AppError | undefined {
  const declared = Number(headerValue(req.headers['content-length']) ?? '0');
  if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) return bodyTooLarge(declared);
  const encoding = (headerValue(req.headers['content-encoding']) ?? 'identity').trim().toLowerCase();
  if (encoding !== '' && encoding !== 'identity') return appErrorOfFrameworkError({ status: 415 });
  return undefined;
}

/** RFC 9112 §6.3: a request has a body only with Transfer-Encoding or a non-zero Content-Length. */
function hasBody(req: Request): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = headerValue(req.headers['content-length']);
  return length !== undefined && length.trim() !== '0';
}

/** How long a refused connection is kept half-closed, so that the client can read the answer. */
const LINGER_MS = 1000;

/**
 * Makes the connection close once the answer is out, without reading any more of the body: the
 * request is paused (the socket stops reading: back-pressure, nothing buffered), the answer says
 * `Connection: close`, and instead of Node's close right after the answer (which, with unread bytes
 * in the receive buffer, resets the connection and can destroy the answer before the client reads
 * it) the socket sends FIN and is destroyed LINGER_MS later.
 */
function closeAfterReply(req: Request, res: Response): void {
  req.pause();
  // Marks the request as being consumed, so that Node does not "dump" (read and discard) the rest.
  req.read(0);
  res.setHeader('Connection', 'close');
  const socket = req.socket as Socket & { destroySoon?: () => void };
  socket.destroySoon = function lingeringClose(this: Socket) {
    if (this.writable) this.end();
    const timer = setTimeout(() => this.destroy(), LINGER_MS);
    timer.unref();
    this.once('close', () => clearTimeout(timer));
  };
}

function routeOf(req: Request): string {
  return (req.url ?? '/').split('?')[0] ?? '/';
}

/**
 * Answers an error (or 404 when nothing handled the request). `close`: the body was not (fully)
 * read and will not be; otherwise the body has been read (or is drained first).
 */
function finalReply(req: Request, res: Response, err: unknown, close = false): void {
  if (res.headersSent) {
    // Too late for an answer (Express's final handler does the same).
    req.socket.destroy();
    return;
  }
  const error =
    err === undefined || err === 'router' || err === 'route'
      ? new AppError('NOT_FOUND', `No route for ${req.method} ${routeOf(req)}`)
      : appErrorOfFrameworkError(err);
  const requestId = requestIdOf(req.headers);
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
  if (close) {
    closeAfterReply(req, res);
    send();
    return;
  }
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
 * Reads the body, at most MAX_BODY_BYTES of it: `done(body)` once it has ended, `done(undefined)`
 * when it passed the limit (the reading stops there) or the connection went away first.
 */
function readBounded(req: Request, done: (body: Buffer | undefined, tooLarge: boolean) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let finished = false;
  const finish = (body: Buffer | undefined, tooLarge: boolean): void => {
    if (finished) return;
    finished = true;
    req.removeListener('data', onData);
    req.removeListener('end', onEnd);
    req.removeListener('close', onClose);
    req.removeListener('error', onClose);
    done(body, tooLarge);
  };
  const onData = (chunk: Buffer): void => {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      chunks.length = 0;
      finish(undefined, true);
      return;
    }
    chunks.push(chunk);
  };
  const onEnd = (): void => finish(Buffer.concat(chunks, size), false);
  const onClose = (): void => finish(undefined, false);
  req.on('data', onData);
  req.once('end', onEnd);
  req.once('close', onClose);
  req.once('error', onClose);
}

/**
 * Installs the wrapper once per process; answers whether the framework's Express was found (when
 * not, for example under another server, nothing changes). Called once by entries/http-function.ts
 * when the framework loads an HTTP function's entry, before it builds its Express app.
 */
export function installFrameworkErrorReplies(): boolean {
  const application = frameworkExpress();
  if (application === undefined) return false;
  if (application[INSTALLED] === true) return true;
  const original = application.handle;
  application.handle = function handle(this: unknown, req, res, callback) {
    // A nested app (callback given) keeps Express's behaviour; only the top-level app is ours.
    if (callback !== undefined) return original.call(this, req, res, callback);
    const next = (): void => original.call(this, req, res, (err?: unknown) => finalReply(req, res, err));
    const refusal = refuseBeforeReading(req);
    if (refusal?.code === 'PAYLOAD_TOO_LARGE') return finalReply(req, res, refusal, true);
    if (refusal === undefined && !hasBody(req)) return next();
    readBounded(req, (body, tooLarge) => {
      if (tooLarge) return finalReply(req, res, refusal ?? bodyTooLarge(undefined), true);
      if (body === undefined) return req.socket.destroy();
      if (refusal !== undefined) return finalReply(req, res, refusal);
      (req as Request & { rawBody?: Buffer }).rawBody = body;
      return next();
    });
  };
  application[INSTALLED] = true;
  return true;
}
