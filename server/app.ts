/**
 * The Hono application: health, static assets, the /api/v1 routes behind Bearer auth,
 * and the pages behind a session. Built from a database handle and the config, so tests
 * drive it in-process with `app.request()`.
 */
import { Hono } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import type { Sql } from './db/connect.ts';
import { bearerAuth, type AuthVariables } from './auth/middleware.ts';
import { ApiError, handleError } from './http/errors.ts';
import { staticRoutes } from './http/static.ts';
import { agentRoutes } from './agents/routes.ts';
import { ingestRoutes } from './ingest/routes.ts';
import type { StoreResult } from './ingest/store_capture.ts';
import { inventoryRoutes } from './inventory/routes.ts';
import { pageRoutes } from './pages/routes.ts';
import { aggregationRoutes } from './aggregate/routes.ts';
import type { Jobs } from './jobs/boss.ts';

export type AppOptions = {
  maxBodyBytes: number;
  sessionHours: number;
  /** Called after each newly stored capture (e.g. to re-aggregate a closed day); errors are logged. */
  onCaptureStored?: (result: StoreResult) => void | Promise<void>;
  /** Background jobs (pg-boss); without them job-backed routes answer 503. */
  jobs?: Jobs;
};

export function createApp(sql: Sql, options: AppOptions) {
  const app = new Hono<{ Variables: AuthVariables }>();
  app.onError(handleError);
  app.notFound((c) => c.json({ error: { code: 'not_found', message: `no route for ${c.req.method} ${c.req.path}` } }, 404));
  app.use(
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        frameAncestors: ["'none'"],
        formAction: ["'self'"],
      },
    }),
  );

  app.get('/healthz', async (c) => {
    try {
      await sql`select 1`;
      return c.json({ status: 'ok', db: 'ok' });
    } catch {
      return c.json({ status: 'degraded', db: 'unavailable' }, 503);
    }
  });

  app.route('/', staticRoutes());

  const api = new Hono<{ Variables: AuthVariables }>();
  api.use('*', bearerAuth(sql));
  api.route('/', ingestRoutes(sql, { maxBodyBytes: options.maxBodyBytes, onStored: options.onCaptureStored }));
  api.route('/', agentRoutes(sql));
  api.route('/', inventoryRoutes(sql));
  api.route('/', aggregationRoutes(sql, options.jobs));
  api.all('*', (c) => {
    throw new ApiError(404, 'not_found', `no route for ${c.req.method} ${c.req.path}`);
  });
  app.route('/api/v1', api);

  app.route('/', pageRoutes(sql, { sessionHours: options.sessionHours }));
  return app;
}
