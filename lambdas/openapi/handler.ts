/** GET /openapi.json: the public OpenAPI document, built once per container from the route table. */
import { loadConfig } from '../shared/config';
import { FUNCTIONS } from '../shared/contract/functions';
import { type ProxyHandler, createApiHandler } from '../shared/http';
import { type JsonObject, buildOpenApiDocument } from './document';

/**
 * The handler over a token URL source. The token endpoint is on the Cognito domain, not the API's host, so the
 * document names it absolutely.
 */
export function createOpenApiHandler(
  tokenUrl: () => string,
  resourceServer: () => string = () => loadConfig(['RESOURCE_SERVER_IDENTIFIER']).RESOURCE_SERVER_IDENTIFIER,
): ProxyHandler {
  let document: JsonObject | undefined;
  return createApiHandler({
    name: 'openapi',
    routes: {
      getOpenApi: async () => {
        document ??= buildOpenApiDocument({ tokenUrl: tokenUrl(), resourceServer: resourceServer() });
        // Public and the same for everyone: caches may keep it for a few minutes.
        return { status: 200, body: document, headers: { 'Cache-Control': 'public, max-age=300' } };
      },
    },
    lookup: () => {
      throw new Error('The openapi function serves public routes only; it never resolves a caller');
    },
  });
}

/** Configuration is read at the first request, so importing this module needs no environment. */
export const handler: ProxyHandler = createOpenApiHandler(() => loadConfig(FUNCTIONS.openapi.config).TOKEN_URL);
