/**
 * Page routes: login/logout here, each page area in its own module. Every page is behind a
 * session (sessionAuth, per route so unknown paths still answer 404); pages get data from
 * query modules and render templates from web/; form posts carry the session's CSRF token.
 */
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Sql } from '../db/connect.ts';
import type { Jobs } from '../jobs/boss.ts';
import { SESSION_COOKIE, sessionAuth } from '../auth/middleware.ts';
import { scopedSql, scopeRequests } from '../auth/scope.ts';
import { createSession, deleteSession, type SignInMethod } from '../auth/sessions.ts';
import { verifyToken } from '../auth/tokens.ts';
import { createReads, type Reads } from '../db/reads.ts';
import { rememberPrimaryLsn } from '../http/read_target.ts';
import type { AuthLimiter } from '../auth/rate_limit.ts';
import type { LdapConfig } from '../auth/ldap.ts';
import type { OidcClient } from '../auth/oidc.ts';
import {
  ldapSignInAction,
  oidcSignInAction,
  tokenRefused,
  tokenSignedIn,
} from '../auth/sign_in.ts';
import { endSessionsOfAction } from '../auth/session_actions.ts';
import { actorOf } from '../http/actions.ts';
import { clientIp, requestClient } from '../http/client_ip.ts';
import {
  type LoginOptions,
  loginPage,
  signedInPage,
  signedOutPage,
} from '../../web/pages/login.ts';
import { log } from '../log.ts';
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

/** Directory sign-in for the pages (docs/sign-in.md); without it, tokens only. */
export type SignInOptions = {
  ldap?: LdapConfig;
  oidc?: { client: OidcClient; label: string };
  /** Minutes without a request after which a session ends (0 or absent: none). */
  idleMinutes?: number;
};

const OIDC_STATE_COOKIE = 'vmledger_oidc_state';

export function pageRoutes(sql: Sql, options: {
  sessionHours: number;
  signIn?: SignInOptions;
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
  /** Where list and detail reads go (a read replica when configured). */
  reads?: Reads;
}) {
  const app = new Hono<PageEnv>();
  const reads = options.reads ?? createReads(sql, undefined);
  app.use(rememberPrimaryLsn(sql, reads));
  // A session, then its visibility (auth/scope.ts): page data reads through `data`.
  const session = sessionAuth(sql);
  const scope = scopeRequests(sql);
  const auth: MiddlewareHandler<PageEnv> = (c, next) =>
    session(c, async () => {
      await scope(c, next);
    });
  const data = scopedSql(sql);

  const signIn = options.signIn ?? {};
  const login = (o: LoginOptions) =>
    loginPage({ ldap: !!signIn.ldap, oidc: signIn.oidc?.label ?? null, ...o });

  const startSession = async (
    c: Context<PageEnv>,
    principalId: number,
    method: SignInMethod,
    idToken: string | null = null,
  ) => {
    const session = await createSession(
      sql,
      principalId,
      { hours: options.sessionHours, idleMinutes: signIn.idleMinutes },
      { method, ip: clientIp(c), idToken },
    );
    setCookie(c, SESSION_COOKIE, session.id, {
      httpOnly: true,
      sameSite: 'Strict',
      // Over https directly, or through a trusted proxy that says so (X-Forwarded-Proto).
      secure: requestClient(c).https,
      path: '/',
      maxAge: Math.round(options.sessionHours * 3600),
    });
  };

  /** A failing sign-in: 429 once the address (or the same secret) is over the limit. */
  const limited = async (c: Context<PageEnv>, key: string, o: LoginOptions) => {
    options.onLoginFailure?.();
    const wait = (await options.loginLimiter?.failure(clientIp(c), key)) ?? 0;
    if (wait <= 0) return null;
    c.header('Retry-After', String(wait));
    return c.html(
      login({
        ...o,
        error: `Too many failed logins from this address. Try again in ${wait} seconds.`,
      }),
      429,
    );
  };

  app.get('/login', (c) => c.html(login({ next: safeNext(c.req.query('next')) })));

  // The form is read (16 KiB at most) before the token is checked; a valid token always
  // logs in, failing ones are limited per address and per presented token (rate_limit.ts).
  app.post('/login', limitPageBody(), async (c) => {
    const form = await c.req.parseBody();
    const next = safeNext(form.next);
    const token = typeof form.token === 'string' ? form.token.trim() : '';
    const info = token ? await verifyToken(sql, token) : null;
    if (!info || info.role === 'agent' || info.role === 'metrics') {
      const tooMany = await limited(c, token, { next, errorFor: 'token' });
      if (tooMany) return tooMany;
      await tokenRefused(sql, clientIp(c));
      return c.html(
        login({ next, errorFor: 'token', error: 'That token is not valid for logging in.' }),
        401,
      );
    }
    const p = await tokenSignedIn(sql, clientIp(c), info);
    await startSession(c, p.principalId, 'token');
    return c.redirect(next, 303);
  });

  // LDAP: user name and password checked against the directory (server/auth/ldap.ts).
  app.post('/login/ldap', limitPageBody(), async (c) => {
    const form = await c.req.parseBody();
    const next = safeNext(form.next);
    if (!signIn.ldap) return c.html(login({ next }), 404);
    const username = typeof form.username === 'string' ? form.username.trim() : '';
    const password = typeof form.password === 'string' ? form.password : '';
    const o: LoginOptions = { next, errorFor: 'ldap', username };
    // Over the limit, the directory is not even asked: guesses must not lock the account there.
    const key = `ldap:${username.toLowerCase()}`;
    const wait = (await options.loginLimiter?.blockedFor(clientIp(c), key)) ?? 0;
    if (wait > 0) {
      c.header('Retry-After', String(wait));
      return c.html(
        login({
          ...o,
          error: `Too many failed logins from this address. Try again in ${wait} seconds.`,
        }),
        429,
      );
    }
    const r = await ldapSignInAction(sql, signIn.ldap, { username, password }, clientIp(c));
    if (!r.ok) {
      if (r.status !== 503) await limited(c, key, o);
      return c.html(login({ ...o, error: r.message }), r.status);
    }
    await startSession(c, r.principalId, 'ldap');
    return c.redirect(next, 303);
  });

  // OpenID Connect: to the provider with state, nonce and PKCE; back to the callback.
  app.get('/login/oidc', async (c) => {
    const next = safeNext(c.req.query('next'));
    if (!signIn.oidc) return c.html(login({ next }), 404);
    let started;
    try {
      started = await signIn.oidc.client.start(sql, next);
    } catch (err) {
      log.warn('OIDC discovery failed', { error: err as Error });
      return c.html(
        login({
          next,
          errorFor: 'oidc',
          error: 'The identity provider could not be reached. Try again, or sign in with a token.',
        }),
        503,
      );
    }
    // Lax: the provider's redirect back is a cross-site top-level navigation.
    setCookie(c, OIDC_STATE_COOKIE, started.state, {
      httpOnly: true,
      sameSite: 'Lax',
      secure: requestClient(c).https,
      path: '/login/oidc',
      maxAge: 600,
    });
    return c.redirect(started.url, 303);
  });

  app.get('/login/oidc/callback', async (c) => {
    if (!signIn.oidc) return c.html(login({ next: '/' }), 404);
    const cookieState = getCookie(c, OIDC_STATE_COOKIE) ?? '';
    deleteCookie(c, OIDC_STATE_COOKIE, { path: '/login/oidc' });
    const r = await oidcSignInAction(
      sql,
      signIn.oidc.client,
      new URL(c.req.url),
      cookieState,
      clientIp(c),
    );
    if (!r.ok) {
      return c.html(login({ next: '/', errorFor: 'oidc', error: r.message }), r.status);
    }
    await startSession(c, r.principalId, 'oidc', r.idToken || null);
    return c.html(signedInPage(safeNext(r.next)));
  });

  app.post('/logout', auth, requireCsrf(), async (c) => {
    const ended = await deleteSession(sql, getCookie(c, SESSION_COOKIE) ?? '');
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    // Signed in with OpenID Connect: sign out at the provider too when it offers that.
    const atProvider = ended.idToken && signIn.oidc
      ? await signIn.oidc.client.endSessionUrl(ended.idToken)
      : null;
    return atProvider ? c.html(signedOutPage(atProvider)) : c.redirect('/login', 303);
  });

  // Logout everywhere: every session of the signed-in person (all browsers), audited.
  app.post('/logout/everywhere', auth, requireCsrf(), async (c) => {
    await endSessionsOfAction(sql, c.get('auth').id, actorOf(c));
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    return c.redirect('/login', 303);
  });

  app.route('/', dashboardRoutes(data, auth, options.eventPollMs));
  app.route('/', vmRoutes(data, auth, options.usageRetention ?? USAGE_RETENTION, reads));
  app.route('/', changeRoutes(data, auth));
  app.route('/', costPageRoutes(data, auth));
  app.route('/', alertPageRoutes(data, auth));
  app.route('/', databasePageRoutes(data, auth));
  app.route('/', sourceRoutes(data, auth));
  app.route('/', siteRoutes(data, auth));
  app.route('/', historyRoutes(data, auth));
  app.route(
    '/',
    reportRoutes(data, auth, options.reports ?? { jobs: options.jobs }),
  );
  app.route('/', benchmarkRoutes(data, auth, options.jobs));
  app.route('/', adminRoutes(data, auth, options.jobs));
  const doc = options.apiDoc;
  if (doc) {
    app.get('/api-reference', auth, (c) => {
      const spec = doc.openapi({ title: 'vmledger API', version: '1' });
      return c.html(apiReferencePage(viewerOf(c), spec as Parameters<typeof apiReferencePage>[1]));
    });
  }
  return app;
}
