/** Page routes: login/logout and the HTMX pages. Pages get data from query modules and render it. */
import { Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Sql } from '../db/connect.ts';
import { SESSION_COOKIE, sessionAuth, type AuthVariables } from '../auth/middleware.ts';
import { createSession, deleteSession } from '../auth/sessions.ts';
import { verifyToken } from '../auth/tokens.ts';
import { fleetSummary, listSources, listVms } from '../inventory/list_vms.ts';
import { parseVmListParams } from '../inventory/routes.ts';
import { ApiError } from '../http/errors.ts';
import { audit } from '../audit/audit_log.ts';
import type { FailureLimiter } from '../auth/rate_limit.ts';
import { clientIp } from '../http/client_ip.ts';
import { log } from '../log.ts';
import { loginPage } from '../../web/pages/login.ts';
import { dashboardPage } from '../../web/pages/dashboard.ts';
import { vmsPage } from '../../web/pages/vms.ts';
import { vmTable } from '../../web/partials/vm_table.ts';

/** Only same-site relative paths are followed after login (no open redirect). */
function safeNext(value: unknown): string {
  return typeof value === 'string' && /^\/(?!\/)/.test(value) ? value : '/';
}

export function pageRoutes(sql: Sql, options: { sessionHours: number; loginLimiter?: FailureLimiter; onLoginFailure?: () => void }) {
  const app = new Hono<{ Variables: AuthVariables }>();

  app.get('/login', (c) => c.html(loginPage({ next: safeNext(c.req.query('next')) })));

  app.post('/login', async (c) => {
    const form = await c.req.parseBody();
    const next = safeNext(form.next);
    const ip = clientIp(c);
    const wait = options.loginLimiter?.blockedFor(ip) ?? 0;
    if (wait > 0) {
      c.header('Retry-After', String(wait));
      return c.html(loginPage({ next, error: `Too many failed logins from this address. Try again in ${wait} seconds.` }), 429);
    }
    const info = await verifyToken(sql, typeof form.token === 'string' ? form.token.trim() : '');
    if (!info || info.role === 'agent' || info.role === 'metrics') {
      options.loginLimiter?.fail(ip);
      options.onLoginFailure?.();
      log.warn('login failed', { ip });
      await audit(sql, { action: 'auth.failure', ip, target: 'POST /login', detail: { kind: 'login' } });
      return c.html(loginPage({ next, error: 'That token is not valid for logging in.' }), 401);
    }
    options.loginLimiter?.succeed(ip);
    const session = await createSession(sql, info.id, options.sessionHours);
    setCookie(c, SESSION_COOKIE, session.id, {
      httpOnly: true,
      sameSite: 'Strict',
      secure: new URL(c.req.url).protocol === 'https:',
      path: '/',
      maxAge: Math.round(options.sessionHours * 3600),
    });
    return c.redirect(next, 303);
  });

  app.post('/logout', sessionAuth(sql), async (c) => {
    const form = await c.req.parseBody();
    if (form.csrf !== c.get('session')!.csrfToken) throw new ApiError(403, 'csrf', 'missing or wrong CSRF token');
    await deleteSession(sql, getCookie(c, SESSION_COOKIE) ?? '');
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    return c.redirect('/login', 303);
  });

  app.get('/', sessionAuth(sql), async (c) => {
    const s = c.get('session')!;
    const [summary, sources] = await Promise.all([fleetSummary(sql), listSources(sql)]);
    return c.html(dashboardPage({ user: s.name, csrf: s.csrfToken, summary, sources }));
  });

  app.get('/vms', sessionAuth(sql), async (c) => {
    const s = c.get('session')!;
    const query = c.req.query();
    const params = parseVmListParams(query);
    const result = await listVms(sql, params);
    const nextUrl = result.next
      ? `/vms?${new URLSearchParams({ ...query, cursor: result.next }).toString()}`
      : null;
    if (c.req.header('hx-request')) return c.html(vmTable(result, nextUrl));
    const sources = await listSources(sql);
    return c.html(vmsPage({ user: s.name, csrf: s.csrfToken, filters: params, sources, result, nextUrl }));
  });

  return app;
}
