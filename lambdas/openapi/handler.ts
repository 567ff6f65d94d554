/** GET /openapi.json: the public OpenAPI document, built once per container from the route table. */
import { type ProxyHandler, type PublicRouteImpl, createApiHandler } from '../shared/http';
import { type JsonObject, buildOpenApiDocument } from './document';

let document: JsonObject | undefined;

export const openApiRoutes: Record<string, PublicRouteImpl> = {
  getOpenApi: async () => {
    document ??= buildOpenApiDocument();
    // Public and the same for everyone: caches may keep it for a few minutes.
    return { status: 200, body: document, headers: { 'Cache-Control': 'public, max-age=300' } };
  },
};

export const handler: ProxyHandler = createApiHandler({
  name: 'openapi',
  routes: openApiRoutes,
  lookup: () => {
    throw new Error('The openapi function serves public routes only; it never resolves a caller');
  },
});
