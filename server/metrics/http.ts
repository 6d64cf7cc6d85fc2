/**
 * HTTP request metrics: one counter increment and one histogram observation per request,
 * labelled by the matched route template (`/api/v1/vms/:source/:key`), never the raw path,
 * so the number of series is bounded by the routes the code declares. Mounted first, so the
 * duration covers every other middleware; errors and 404s are counted with the status the
 * client got.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes, routePath } from 'hono/route';
import type { Metrics } from './metrics.ts';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * The template of the endpoint the request matched — the first matched route registered for
 * a method (middleware and catch-alls are `ALL`), so a request refused by a middleware (401)
 * still counts under the route it asked for; without one, the route that answered (the API's
 * catch-all `/api/v1/*`, or `/*` for the pages' not-found).
 */
export function routeTemplate(c: Context): string {
  for (const r of matchedRoutes(c)) if (r.method !== 'ALL') return r.path;
  return routePath(c) || 'unmatched';
}

export function httpMetrics(metrics: Metrics): MiddlewareHandler {
  return async function httpMetrics(c, next) {
    const started = performance.now();
    await next();
    const seconds = (performance.now() - started) / 1000;
    const route = routeTemplate(c);
    const method = METHODS.has(c.req.method) ? c.req.method : 'OTHER';
    metrics.httpRequests.inc({ method, route, status: String(c.res.status) });
    metrics.httpSeconds.observe({ method, route }, seconds);
  };
}
