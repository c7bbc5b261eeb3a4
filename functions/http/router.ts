/** Matches a method and path against the route table; 404 and 405 in the error body of errors.ts. */
import { AppError } from '../errors';
import type { Route } from './types';

export interface Match {
  route: Route;
  params: Record<string, string>;
}

function matchPattern(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i] ?? '';
    const g = got[i] ?? '';
    if (w.startsWith(':')) {
      if (g === '') return null;
      let value: string;
      try {
        value = decodeURIComponent(g);
      } catch {
        throw new AppError(
          'INVALID_ARGUMENT',
          `The path segment for ${w.slice(1)} is not valid percent-encoding`,
          {
            details: { field: w.slice(1) },
          },
        );
      }
      params[w.slice(1)] = value;
    } else if (w !== g) return null;
  }
  return params;
}

/** On tokenServerCache, a route of the full API (the admin routes) says where it is served. */
function elsewhere(functionName: string | undefined, path: string): string {
  if (functionName !== 'tokenServerCache' || !path.startsWith('/api/')) return '';
  return ': tokenServerCache serves only the token routes and /healthz; the admin API (realms, secrets, clients, status, refresh) is on tokenServer';
}

export function findRoute(
  routes: readonly Route[],
  method: string,
  path: string,
  functionName?: string,
): Match {
  let pathMatched = false;
  for (const route of routes) {
    const params = matchPattern(route.pattern, path);
    if (params === null) continue;
    pathMatched = true;
    if (route.method === method || (method === 'HEAD' && route.method === 'GET')) return { route, params };
  }
  if (pathMatched) throw new AppError('METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}`);
  throw new AppError('NOT_FOUND', `No route for ${method} ${path}${elsewhere(functionName, path)}`);
}
