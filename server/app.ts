/**
 * The Hono application: health, static assets, the /api/v1 routes behind Bearer auth,
 * and the pages behind a session. Built from a database handle and the config, so tests
 * drive it in-process with `app.request()`.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { secureHeaders } from 'hono/secure-headers';
import type { Sql } from './db/connect.ts';
import { setListModelMaxVms } from './inventory/list_vms.ts';
import { type AuthVariables, bearerAuth, requireRole } from './auth/middleware.ts';
import { createReads, type Reads } from './db/reads.ts';
import { createAuthLimiter } from './auth/rate_limit.ts';
import { scopedSql, scopeRequests } from './auth/scope.ts';
import { adminRoutes } from './auth/routes.ts';
import { ApiDoc } from './http/api_doc.ts';
import { createMetrics, type Metrics, renderMetrics } from './metrics/metrics.ts';
import { httpMetrics } from './metrics/http.ts';
import { queryRoutes } from './queries/routes.ts';
import { AppError } from './errors.ts';
import { handleError } from './http/errors.ts';
import { apiBodyLimit, limitBody } from './http/body_limit.ts';
import { clientInfo } from './http/client_ip.ts';
import { log } from './log.ts';
import { databaseUnavailableReason, DB_RETRY_AFTER_SECONDS } from './db/unavailable.ts';
import { staticRoutes } from './http/static.ts';
import { rejectNulInUrl } from './http/nul.ts';
import { agentRoutes } from './agents/routes.ts';
import { alertRoutes } from './alerts/routes.ts';
import { changeRoutes } from './changes/routes.ts';
import { ingestRoutes } from './ingest/routes.ts';
import { vmTextMemos } from './ingest/vm_text_memo.ts';
import type { StoreResult } from './ingest/store_capture.ts';
import { inventoryRoutes } from './inventory/routes.ts';
import { notificationRoutes } from './notifications/routes.ts';
import { costRoutes } from './costs/routes.ts';
import { dbInsightRoutes } from './dbinsight/routes.ts';
import { USAGE_RETENTION, type UsageRetention } from './aggregate/usage_retention.ts';
import { pageRoutes } from './pages/routes.ts';
import type { LdapConfig } from './auth/ldap.ts';
import { oidcClient, type OidcConfig } from './auth/oidc.ts';

/** Directory sign-in settings (server/config.ts `signIn`). */
export type SignInSettings = {
  ldap?: LdapConfig;
  oidc?: OidcConfig & { label: string };
  idleMinutes?: number;
};
import { aggregationRoutes } from './aggregate/routes.ts';
import type { Jobs } from './jobs/boss.ts';
import { IngestGate, type IngestGateOptions } from './ingest/admission.ts';
import { jobsRoutes } from './jobs/routes.ts';
import { reportRoutes } from './reports/routes.ts';
import { rvtoolsRoutes } from './rvtools/routes.ts';
import { siteRoutes } from './sites/routes.ts';

export type AppOptions = {
  maxBodyBytes: number;
  /** VMs whose previous capture text ingest keeps (ingest/vm_text_memo.ts); default 100,000. */
  ingestMemoVms?: number;
  ingestMemoMb?: number;
  /** Up to how many VMs the list keeps its in-memory model (inventory/list_model.ts; default 300,000). */
  listModelMaxVms?: number;
  /** Captures ingested at once on this node (server/ingest/admission.ts; default 2). */
  ingestConcurrency?: number;
  /** The whole admission of captures (how many wait, for how long); tests narrow it, or pass
   * a gate of their own to watch who is admitted and who waits. */
  ingestGate?: Partial<IngestGateOptions> | IngestGate;
  sessionHours: number;
  /** Directory sign-in for the pages (LDAP, OIDC, idle timeout); tokens only without it. */
  signIn?: SignInSettings;
  /** Called after each newly stored capture (e.g. to re-aggregate a closed day); errors are logged. */
  onCaptureStored?: (result: StoreResult) => void | Promise<void>;
  /** Called after each recorded heartbeat (e.g. to request an alert evaluation); must not throw. */
  onHeartbeat?: () => void | Promise<void>;
  /** Time zone of report days and months when no job runner carries it (default UTC). */
  reportTz?: string;
  /** Days a generated report is kept (default 90). */
  reportRetentionDays?: number;
  /** Usage tiers' retention: usage reads pick their tier by it (default: the jobs', else the defaults). */
  usageRetention?: UsageRetention;
  /** The route registry (tests read it); a fresh one by default. */
  doc?: ApiDoc;
  /** Failed authentications per client address in 5 minutes before failing ones get 429 (default 20; 10 for logins). */
  authFailureLimit?: number;
  /** Proxies (addresses or CIDRs) whose X-Forwarded-For/-Proto are believed (VMLEDGER_TRUSTED_PROXIES). */
  trustedProxies?: string[];
  /** Process metrics; by default the jobs' (one per node), else fresh. */
  metrics?: Metrics;
  /** Background jobs (pg-boss); without them job-backed routes answer 503. */
  jobs?: Jobs;
  /** Where list and detail reads go (a read replica when configured); the primary by default. */
  reads?: Reads;
};

export function createApp(sql: Sql, options: AppOptions) {
  const app = new Hono<{ Variables: AuthVariables }>();
  const doc = options.doc ?? new ApiDoc();
  // One set of report settings for the API and the pages: the same action, the same zone.
  const reports = {
    jobs: options.jobs,
    tz: options.reportTz,
    retentionDays: options.reportRetentionDays,
  };
  const reads = options.reads ?? createReads(sql, undefined);
  const metrics = options.metrics ?? options.jobs?.metrics ?? createMetrics();
  if (options.ingestMemoVms !== undefined) {
    vmTextMemos(scopedSql(sql)).maxVms = options.ingestMemoVms; // the handle ingest is given
  }
  if (options.listModelMaxVms !== undefined) {
    setListModelMaxVms(sql, options.listModelMaxVms);
    if (reads.replicaPool) setListModelMaxVms(reads.replicaPool, options.listModelMaxVms);
  }
  if (options.ingestMemoMb !== undefined) {
    vmTextMemos(scopedSql(sql)).maxBytes = options.ingestMemoMb * 1024 * 1024;
  }
  // Guessing tokens: 20 failures per address in 5 minutes, then failing attempts get 429
  // until the window passes; valid tokens always pass (auth/rate_limit.ts).
  const apiLimiter = createAuthLimiter({
    max: options.authFailureLimit ?? 20,
    windowMs: 5 * 60_000,
    db: { sql, scope: 'api' },
  });
  app.onError(handleError);
  app.notFound((c) =>
    c.json(
      { error: { code: 'not_found', message: `no route for ${c.req.method} ${c.req.path}` } },
      404,
    )
  );
  // First: requests by route template and status, timed over every other middleware.
  app.use(httpMetrics(metrics));
  app.use(clientInfo(options.trustedProxies));
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

  // PostgreSQL text cannot hold a NUL: refused in the path or a query parameter (400).
  app.use(rejectNulInUrl);

  // Request log at debug level: method, path and status only — never headers or bodies.
  app.use(async function requestLog(c, next) {
    const started = performance.now();
    await next();
    log.debug('request', {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Math.round(performance.now() - started),
    });
  });

  app.get('/healthz', async (c) => {
    try {
      // A health check answers within seconds, even while connections are being retried.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        sql`select 1`.execute(),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error('PostgreSQL did not answer within 3 s')),
            3000,
          );
        }),
      ]).finally(() => clearTimeout(timer));
      return c.json({ status: 'ok', db: 'ok', ...(await reads.health()) });
    } catch (err) {
      const reason = databaseUnavailableReason(err) ?? (err as Error).message;
      return c.json({ status: 'degraded', db: 'unavailable', reason }, 503, {
        'retry-after': String(DB_RETRY_AFTER_SECONDS),
      });
    }
  });

  app.route('/', staticRoutes());

  const api = new Hono<{ Variables: AuthVariables }>();
  api.use(
    '*',
    bearerAuth(sql, {
      limiter: apiLimiter,
      onFailure: () => metrics.authFailures.inc({ channel: 'api' }),
    }),
  );
  // Bodies are limited per route before any handler reads them (captures limit themselves).
  api.use('*', limitBody((c) => apiBodyLimit(c.req.method, c.req.path)));
  // A viewer limited to some sources runs in their scope (auth/scope.ts); routes read
  // through `data`, which follows the request's scope, never through `sql`.
  api.use('*', scopeRequests(sql));
  const data = scopedSql(sql);
  api.route(
    '/',
    ingestRoutes(data, doc, {
      ...options,
      metrics,
      ingestGate: options.ingestGate instanceof IngestGate ? options.ingestGate : {
        ...(options.ingestConcurrency ? { maxActive: options.ingestConcurrency } : {}),
        ...options.ingestGate,
      },
    }),
  );
  api.route('/', agentRoutes(data, doc, { onHeartbeat: options.onHeartbeat }));
  const usageRetention = options.usageRetention ?? options.jobs?.usageRetention ??
    USAGE_RETENTION;
  api.route('/', inventoryRoutes(data, doc, { usageRetention, reads }));
  api.route('/', changeRoutes(data, doc));
  api.route('/', alertRoutes(data, doc));
  api.route('/', queryRoutes(data, doc));
  api.route('/', siteRoutes(data, doc));
  api.route('/', adminRoutes(data, doc));
  api.route('/', aggregationRoutes(data, doc, options.jobs));
  api.route('/', jobsRoutes(data, doc, options.jobs));
  api.route('/', notificationRoutes(data, doc, options.jobs));
  api.route('/', costRoutes(data, doc));
  api.route('/', dbInsightRoutes(data, doc));
  api.route('/', reportRoutes(data, doc, reports));
  api.route('/', rvtoolsRoutes(data, doc, reports));
  doc.define(api, {
    method: 'get',
    path: '/openapi.json',
    operationId: 'getOpenApi',
    tag: 'Meta',
    roles: ['viewer'],
    summary: 'This document (OpenAPI 3.1), built from the same zod schemas that validate requests',
    responses: {
      200: {
        description: 'The OpenAPI 3.1 document',
        schema: z.looseObject({
          openapi: z.literal('3.1.0'),
          info: z.looseObject({ title: z.string(), version: z.string() }),
          paths: z.record(z.string(), z.record(z.string(), z.unknown())),
        }),
      },
    },
  }, (c) => c.json(doc.openapi({ title: 'vmledger API', version: '1' })));
  api.all('*', (c) => {
    throw new AppError('not_found', `no route for ${c.req.method} ${c.req.path}`);
  });
  app.route('/api/v1', api);

  app.get(
    '/metrics',
    bearerAuth(sql, { limiter: apiLimiter }),
    requireRole('admin', 'metrics'),
    async (c) =>
      c.body(await renderMetrics(sql, metrics), 200, {
        'content-type': 'text/plain; version=0.0.4; charset=utf-8',
      }),
  );

  app.route(
    '/',
    pageRoutes(sql, {
      sessionHours: options.sessionHours,
      signIn: options.signIn && {
        ldap: options.signIn.ldap,
        idleMinutes: options.signIn.idleMinutes,
        oidc: options.signIn.oidc &&
          { client: oidcClient(options.signIn.oidc), label: options.signIn.oidc.label },
      },
      loginLimiter: createAuthLimiter({
        max: Math.min(10, options.authFailureLimit ?? 10),
        windowMs: 5 * 60_000,
        db: { sql, scope: 'login' },
      }),
      onLoginFailure: () => metrics.authFailures.inc({ channel: 'login' }),
      jobs: options.jobs,
      reports,
      apiDoc: doc,
      usageRetention,
      reads,
    }),
  );
  return app;
}
