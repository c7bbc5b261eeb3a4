/**
 * Turns a route table into an HTTP handler: parse → runtime → route → authenticate → handle →
 * respond, with one structured log line per request.
 */
import type { Request, Response } from 'express';
import { AppError } from '../errors';
import { log } from '../log';
import type { Runtime } from '../runtime';
import { assertInScope, authenticateAny, requireAdmin } from './auth';
import { installFrameworkErrorReplies } from './framework-errors';
import { headerValue, parseRequest } from './parse-request';
import { errorReply, sendReply } from './respond';
import { findRoute } from './router';
import { traceFields, type TraceFields } from './trace';
import type { ParsedRequest, Reply, Route, RouteContext, RouteLogFields } from './types';

export interface HandlerOptions {
  /** The function's name: a leading /NAME path segment (some URL forms keep it) is ignored. */
  name: string;
  routes: readonly Route[];
  runtime: () => Promise<Runtime>;
}

export type HttpHandler = (req: Request, res: Response) => Promise<void>;

function stripFunctionName(path: string, name: string): string {
  if (path === `/${name}`) return '/';
  if (path.startsWith(`/${name}/`)) return path.slice(name.length + 1);
  return path;
}

function traceOf(req: Request, runtime: Runtime | undefined): TraceFields {
  if (runtime === undefined) return {};
  const headers = {
    cloudTraceContext: headerValue(req.headers['x-cloud-trace-context']),
    traceparent: headerValue(req.headers.traceparent),
  };
  return traceFields(headers, runtime.config.projectId);
}

export function createHandler(options: HandlerOptions): HttpHandler {
  // Requests the Functions Framework refuses before this handler runs get our JSON errors too.
  installFrameworkErrorReplies();
  return async (req, res) => {
    const started = process.hrtime.bigint();
    const logFields: RouteLogFields = {};
    let parsed: ParsedRequest | undefined;
    let runtime: Runtime | undefined;
    let routePattern = 'unmatched';
    let reply: Reply;
    let errorCode: string | undefined;
    try {
      parsed = parseRequest(req);
      parsed.path = stripFunctionName(parsed.path, options.name);
      const { route, params } = findRoute(options.routes, parsed.method, parsed.path);
      routePattern = route.pattern;
      parsed.params = params;
      runtime = await options.runtime();
      if (route.auth === 'admin') requireAdmin(parsed, runtime);
      const ctx: RouteContext = { req: parsed, runtime, logFields };
      if (route.auth === 'token') {
        const principal = await authenticateAny(parsed, runtime);
        ctx.authorize = (realm, key) => assertInScope(principal, realm, key);
      }
      reply = await route.handle(ctx);
    } catch (err) {
      const out = errorReply(err, parsed?.requestId ?? 'unknown');
      reply = out.reply;
      errorCode = out.error.code;
    }
    sendReply(res, reply);
    const latencyMs = Number(process.hrtime.bigint() - started) / 1e6;
    const status = reply.status ?? 200;
    log(
      status >= 500 ? 'ERROR' : status >= 400 ? 'WARNING' : 'INFO',
      `${req.method} ${routePattern} ${status}`,
      {
        event: 'request',
        function: options.name,
        method: req.method,
        route: routePattern,
        status,
        latencyMs: Math.round(latencyMs * 100) / 100,
        realm: logFields.realm,
        key: logFields.key,
        source: logFields.source,
        code: errorCode,
        requestId: parsed?.requestId,
        ...traceOf(req, runtime),
      },
    );
  };
}

/** For routes that need a token-route principal check: throws if the route forgot to authorise. */
export function notAuthorised(): never {
  throw new AppError('INTERNAL', 'Route did not authorise the request');
}
