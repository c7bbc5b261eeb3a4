/**
 * Turns a route table into an HTTP handler: parse → runtime → route → authenticate → handle →
 * respond, with one structured log line per request, except token hits: those are counted in the
 * hit summary (one line per secret per minute, hit-summary.ts) and logged one by one only at debug.
 */
import type { Request, Response } from 'express';
import { log, logEnabled, type Severity } from '../log';
import type { Runtime } from '../runtime';
import { assertInScope, authenticateAny, requireAdmin, type Principal } from './auth';
import { hitSummary } from './hit-summary';
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
  /** The runtime when it is ready, without a promise (runtime.ts readyRuntime). */
  readyRuntime?: () => Runtime | undefined;
  /**
   * The whole route table (`routes` and the rest, in the order that decides between them), loaded
   * by the first request that `routes` has no route for, and asked for every such request: a
   * function whose `routes` are its token routes loads its admin side on first use.
   */
  lazyRoutes?: () => readonly Route[];
}

export type HttpHandler = (req: Request, res: Response) => void | Promise<void>;

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

/** Runtimes whose first client-key lookup has been answered: they read ahead no more. */
const lookedUp = new WeakSet<Runtime>();

/**
 * A new instance's first requests wait for a client-key lookup (a store query) before their own
 * read: the route's reads start beside it instead, one round trip instead of two for the first
 * token (README "Cold start"). Only until the instance's first lookup is answered, so that the
 * extra read an unknown key may cost is bounded to those first moments; reads only, never a write
 * or a provider call, and nothing is served before the caller is authorised.
 */
function readAheadWhileCold(route: Route, ctx: RouteContext, lookup: Promise<Principal>): void {
  const { runtime } = ctx;
  if (route.readAhead === undefined || lookedUp.has(runtime)) return;
  const answered = (): void => {
    lookedUp.add(runtime);
  };
  lookup.then(answered, answered);
  route.readAhead(ctx);
}

export function createHandler(options: HandlerOptions): HttpHandler {
  let all: readonly Route[] | undefined;
  /** The route of a request: in `routes`, else (when given) in the whole table. */
  const routeOf = (method: string, path: string) => {
    try {
      return findRoute(options.routes, method, path, options.name);
    } catch (err) {
      if (options.lazyRoutes === undefined) throw err;
      all ??= options.lazyRoutes();
      return findRoute(all, method, path, options.name);
    }
  };
  return (req, res) => {
    const started = process.hrtime.bigint();
    const logFields: RouteLogFields = {};
    let parsed: ParsedRequest | undefined;
    let runtime: Runtime | undefined;
    let routePattern = 'unmatched';

    const finish = (reply: Reply, errorCode?: string): void => {
      sendReply(res, reply);
      const latencyMs = Number(process.hrtime.bigint() - started) / 1e6;
      const status = reply.status ?? 200;
      let severity: Severity = status >= 500 ? 'ERROR' : status >= 400 ? 'WARNING' : 'INFO';
      if (logFields.hit === true && status === 200) {
        const source = logFields.source === 'memory' ? 'memory' : 'database';
        hitSummary.count(options.name, logFields.realm ?? '', logFields.key ?? '', source, latencyMs);
        if (!logEnabled('DEBUG')) return;
        severity = 'DEBUG';
      }
      log(severity, `${req.method} ${routePattern} ${status}`, {
        event: 'request',
        function: options.name,
        method: req.method,
        route: routePattern,
        status,
        latencyMs: Math.round(latencyMs * 100) / 100,
        realm: logFields.realm,
        key: logFields.key,
        source: logFields.source,
        reason: logFields.reason,
        code: errorCode,
        requestId: parsed?.requestId,
        ...traceOf(req, runtime),
      });
    };
    const fail = (err: unknown): void => {
      const out = errorReply(err, parsed?.requestId ?? 'unknown');
      finish(out.reply, out.error.code);
    };
    const answer = (out: Reply | Promise<Reply>): void | Promise<void> =>
      out instanceof Promise ? out.then((reply) => finish(reply), fail) : finish(out);

    let route: Route;
    /** A client-key lookup the fast path started (the slow path continues with it). */
    let lookup: Promise<Principal> | undefined;
    try {
      parsed = parseRequest(req);
      parsed.path = stripFunctionName(parsed.path, options.name);
      const found = routeOf(parsed.method, parsed.path);
      route = found.route;
      routePattern = route.pattern;
      parsed.params = found.params;
      if (parsed.bodyError !== undefined && route.rawBody !== true) throw parsed.bodyError;
      // The fast path: a ready runtime and a cached caller answer without a single await (every
      // promise costs microseconds inside the Functions Framework's per-request domain).
      runtime = options.readyRuntime?.();
      if (runtime !== undefined) {
        if (route.auth === 'admin') requireAdmin(parsed, runtime);
        const ctx: RouteContext = { req: parsed, runtime, logFields };
        if (route.auth !== 'token') return answer(route.handle(ctx));
        const principal = authenticateAny(parsed, runtime);
        if (principal instanceof Promise) {
          lookup = principal;
        } else {
          ctx.authorize = (realm, key) => assertInScope(principal, realm, key);
          ctx.principal = principal;
          return answer(route.handle(ctx));
        }
      }
    } catch (err) {
      fail(err);
      return;
    }
    const ready = runtime;
    const slow = async (): Promise<Reply> => {
      const rt = ready ?? (await options.runtime());
      runtime = rt;
      const p = parsed;
      if (route.auth === 'admin') requireAdmin(p, rt);
      const ctx: RouteContext = { req: p, runtime: rt, logFields };
      if (route.auth === 'token') {
        const pending = lookup ?? authenticateAny(p, rt);
        if (pending instanceof Promise) readAheadWhileCold(route, ctx, pending);
        const principal = await pending;
        ctx.authorize = (realm, key) => assertInScope(principal, realm, key);
        ctx.principal = principal;
      }
      return route.handle(ctx);
    };
    return answer(slow());
  };
}
