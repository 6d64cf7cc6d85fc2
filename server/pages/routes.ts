/**
 * Page routes: login/logout here, each page area in its own module. Every page is behind a
 * session (sessionAuth, per route so unknown paths still answer 404); pages get data from
 * query modules and render templates from web/; form posts carry the session's CSRF token.
 */
import { Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Sql } from '../db/connect.ts';
import type { Jobs } from '../jobs/boss.ts';
import { SESSION_COOKIE, sessionAuth } from '../auth/middleware.ts';
import { createSession, deleteSession } from '../auth/sessions.ts';
import { verifyToken } from '../auth/tokens.ts';
import type { AuthLimiter } from '../auth/rate_limit.ts';
import { audit } from '../audit/audit_log.ts';
import { clientIp, requestClient } from '../http/client_ip.ts';
import { log } from '../log.ts';
import { loginPage } from '../../web/pages/login.ts';
import { adminRoutes } from './admin.ts';
import { benchmarkRoutes } from './benchmarks.ts';
import { changeRoutes } from './changes.ts';
import { costPageRoutes } from './costs.ts';
import { alertPageRoutes } from './alerts.ts';
import { databasePageRoutes } from './database.ts';
import { dashboardRoutes } from './dashboard.ts';
import { limitPageBody, type PageEnv, requireCsrf, viewerOf } from './guard.ts';
import type { ApiDoc } from '../http/api_doc.ts';
import { apiReferencePage } from '../../web/pages/api_reference.ts';
import { historyRoutes } from './history.ts';
import { reportRoutes } from './reports.ts';
import type { ReportSettings } from '../reports/request_report.ts';
import { siteRoutes } from './sites.ts';
import { sourceRoutes } from './sources.ts';
import { vmRoutes } from './vms.ts';
import { USAGE_RETENTION, type UsageRetention } from '../aggregate/usage_retention.ts';

const DUMMY_ORIGIN = 'http://vmledger.invalid';

/**
 * Where to go after login: only a same-origin relative path is followed (no open
 * redirect); anything else is `/`. The value must start with one `/`, hold only visible
 * ASCII (no control characters, spaces or backslashes, which browsers strip or turn into
 * `/`), and resolve against a dummy origin to that same origin.
 */
export function safeNext(value: unknown): string {
  if (typeof value !== 'string' || value.length > 2000) return '/';
  if (!/^\/(?![/\\])[\x21-\x7e]*$/.test(value) || value.includes('\\')) return '/';
  try {
    return new URL(value, DUMMY_ORIGIN).origin === DUMMY_ORIGIN ? value : '/';
  } catch {
    return '/';
  }
}

export function pageRoutes(sql: Sql, options: {
  sessionHours: number;
  loginLimiter?: AuthLimiter;
  onLoginFailure?: () => void;
  eventPollMs?: number;
  /** The API's route registry, for the API reference page. */
  apiDoc?: ApiDoc;
  /** The job runner (report generation is queued on it when present). */
  jobs?: Jobs;
  /** The report settings the API's report routes use too. */
  reports?: ReportSettings;
  /** Usage tiers' retention: the VM page's usage chart picks its tier by it. */
  usageRetention?: UsageRetention;
}) {
  const app = new Hono<PageEnv>();
  const auth = sessionAuth(sql);

  app.get('/login', (c) => c.html(loginPage({ next: safeNext(c.req.query('next')) })));

  // The form is read (16 KiB at most) before the token is checked; a valid token always
  // logs in, failing ones are limited per address and per presented token (rate_limit.ts).
  app.post('/login', limitPageBody(), async (c) => {
    const form = await c.req.parseBody();
    const next = safeNext(form.next);
    const token = typeof form.token === 'string' ? form.token.trim() : '';
    const info = token ? await verifyToken(sql, token) : null;
    if (!info || info.role === 'agent' || info.role === 'metrics') {
      const ip = clientIp(c);
      options.onLoginFailure?.();
      const wait = options.loginLimiter?.failure(ip, token) ?? 0;
      if (wait > 0) {
        c.header('Retry-After', String(wait));
        return c.html(
          loginPage({
            next,
            error: `Too many failed logins from this address. Try again in ${wait} seconds.`,
          }),
          429,
        );
      }
      log.warn('login failed', { ip });
      await audit(sql, {
        action: 'auth.failure',
        ip,
        target: 'POST /login',
        detail: { kind: 'login' },
      });
      return c.html(loginPage({ next, error: 'That token is not valid for logging in.' }), 401);
    }
    const session = await createSession(sql, info.id, options.sessionHours);
    setCookie(c, SESSION_COOKIE, session.id, {
      httpOnly: true,
      sameSite: 'Strict',
      // Over https directly, or through a trusted proxy that says so (X-Forwarded-Proto).
      secure: requestClient(c).https,
      path: '/',
      maxAge: Math.round(options.sessionHours * 3600),
    });
    return c.redirect(next, 303);
  });

  app.post('/logout', auth, requireCsrf(), async (c) => {
    await deleteSession(sql, getCookie(c, SESSION_COOKIE) ?? '');
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    return c.redirect('/login', 303);
  });

  app.route('/', dashboardRoutes(sql, auth, options.eventPollMs));
  app.route('/', vmRoutes(sql, auth, options.usageRetention ?? USAGE_RETENTION));
  app.route('/', changeRoutes(sql, auth));
  app.route('/', costPageRoutes(sql, auth));
  app.route('/', alertPageRoutes(sql, auth));
  app.route('/', databasePageRoutes(sql, auth));
  app.route('/', sourceRoutes(sql, auth));
  app.route('/', siteRoutes(sql, auth));
  app.route('/', historyRoutes(sql, auth));
  app.route(
    '/',
    reportRoutes(sql, auth, options.reports ?? { jobs: options.jobs }),
  );
  app.route('/', benchmarkRoutes(sql, auth, options.jobs));
  app.route('/', adminRoutes(sql, auth, options.jobs));
  const doc = options.apiDoc;
  if (doc) {
    app.get('/api-reference', auth, (c) => {
      const spec = doc.openapi({ title: 'vmledger API', version: '1' });
      return c.html(apiReferencePage(viewerOf(c), spec as Parameters<typeof apiReferencePage>[1]));
    });
  }
  return app;
}
