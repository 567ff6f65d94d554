/**
 * Route matching as API Gateway REST does it: the request path (below the stage) is split into segments, each
 * segment is URL-decoded, and the most specific resource wins (at every level a literal segment beats a
 * `{param}`); only then is the method looked up on that resource. A resource without the method, or no resource,
 * is API Gateway's MISSING_AUTHENTICATION_TOKEN (our 404). A `{param}` takes exactly one non-empty segment.
 *
 * The resources are those the CDK stack creates for the route table: every route path, every path on the way to
 * one (`/credentials/{clientId}` for `/credentials/{clientId}/reset`) and the root. Each has an OPTIONS method
 * (the CORS preflight of `defaultCorsPreflightOptions`) unless the route table gives it one.
 */
import { ROUTES, type RouteDef } from '../../../lambdas/shared/contract/routes';

type Segment = { readonly literal: string } | { readonly param: string };

interface Resource {
  readonly path: string;
  readonly segments: readonly Segment[];
  readonly methods: ReadonlyMap<string, RouteDef>;
}

export type RouteMatch =
  | { readonly kind: 'route'; readonly route: RouteDef; readonly pathParameters: Record<string, string> | null }
  | { readonly kind: 'not_found' }
  /** A segment is not valid percent-encoding: API Gateway refuses such a request before routing. */
  | { readonly kind: 'bad_path' }
  /** OPTIONS on a resource: the CORS preflight's mock integration answers. */
  | { readonly kind: 'preflight'; readonly resourcePath: string };

function compile(path: string): Segment[] {
  return path
    .split('/')
    .slice(1)
    .map((part) => {
      const param = /^\{([^}+]+)\}$/.exec(part);
      return param ? { param: param[1] as string } : { literal: part };
    });
}

/** Positive when `a` is more specific than `b`: the first differing level decides, a literal beats a param. */
function specificity(a: Resource, b: Resource): number {
  for (let i = 0; i < a.segments.length; i++) {
    const la = 'literal' in (a.segments[i] as Segment);
    const lb = 'literal' in (b.segments[i] as Segment);
    if (la !== lb) return la ? 1 : -1;
  }
  return 0;
}

export type Router = (method: string, pathBelowStage: string) => RouteMatch;

export function createRouter(routes: readonly RouteDef[] = ROUTES): Router {
  const byPath = new Map<string, Map<string, RouteDef>>([['/', new Map()]]);
  for (const route of routes) {
    const parts = route.path.split('/');
    for (let i = 2; i < parts.length; i++) {
      const ancestor = parts.slice(0, i).join('/');
      if (!byPath.has(ancestor)) byPath.set(ancestor, new Map());
    }
    const methods = byPath.get(route.path) ?? new Map<string, RouteDef>();
    if (methods.has(route.method)) throw new Error(`Duplicate route ${route.method} ${route.path}`);
    methods.set(route.method, route);
    byPath.set(route.path, methods);
  }
  const resources: Resource[] = [...byPath].map(([path, methods]) => ({ path, segments: compile(path), methods }));

  return (method, pathBelowStage) => {
    // API Gateway treats `/notes/` like `/notes`, and the bare stage (`/v1`) like its root (`/v1/`).
    const below = pathBelowStage === '' ? '/' : pathBelowStage;
    const trimmed = below.length > 1 && below.endsWith('/') ? below.slice(0, -1) : below;
    if (!trimmed.startsWith('/')) return { kind: 'not_found' };
    const decoded: string[] = [];
    for (const raw of trimmed.split('/').slice(1)) {
      try {
        // Split on the raw `/` first, so an encoded `%2F` stays inside its segment.
        decoded.push(decodeURIComponent(raw));
      } catch {
        return { kind: 'bad_path' };
      }
    }

    let best: Resource | undefined;
    for (const resource of resources) {
      if (resource.segments.length !== decoded.length) continue;
      const matches = resource.segments.every((segment, i) => {
        const value = decoded[i] as string;
        return 'literal' in segment ? segment.literal === value : value.length > 0;
      });
      if (matches && (!best || specificity(resource, best) > 0)) best = resource;
    }
    const route = best?.methods.get(method);
    if (best && !route && method === 'OPTIONS') return { kind: 'preflight', resourcePath: best.path };
    if (!best || !route) return { kind: 'not_found' };

    const pathParameters: Record<string, string> = {};
    best.segments.forEach((segment, i) => {
      if ('param' in segment) pathParameters[segment.param] = decoded[i] as string;
    });
    return { kind: 'route', route, pathParameters: Object.keys(pathParameters).length > 0 ? pathParameters : null };
  };
}
