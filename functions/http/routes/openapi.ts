/** GET /api/openapi.json: the OpenAPI 3.1 document of the API (no authentication), built once per instance. */
import { buildOpenApiDocument, type FunctionName, type OpenApiDocument } from '../openapi';
import type { Route } from '../types';

/**
 * The route documents the route tables it is given (functions, so that a table can document
 * itself, and the document is built on first request rather than at cold start).
 */
export function openApiRoute(tables: Readonly<Record<FunctionName, () => readonly Route[]>>): Route {
  let document: OpenApiDocument | undefined;
  return {
    method: 'GET',
    pattern: '/api/openapi.json',
    auth: 'none',
    handle: async () => {
      document ??= buildOpenApiDocument({
        tokenServer: tables.tokenServer(),
        tokenServerCache: tables.tokenServerCache(),
      });
      return { body: document };
    },
  };
}
