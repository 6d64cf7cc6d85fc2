/**
 * Authentication for the two kinds of client: API callers with `Authorization: Bearer`,
 * and browsers with a session cookie from the login page.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { audit } from '../audit/audit_log.ts';
import type { Sql } from '../db/connect.ts';
import { clientIp, type ClientVariables } from '../http/client_ip.ts';
import { AppError } from '../errors.ts';
import { log } from '../log.ts';
import type { AuthLimiter } from './rate_limit.ts';
import { findSession, type Session } from './sessions.ts';
import { type Role, tokenCache, type TokenInfo } from './tokens.ts';

export const SESSION_COOKIE = 'vmledger_session';

export type AuthVariables = { auth: TokenInfo; session?: Session } & ClientVariables;

/** Which roles satisfy a required role: admin implies viewer. */
function allows(have: Role, need: Role): boolean {
  if (have === need) return true;
  return have === 'admin' && need === 'viewer';
}

/**
 * Requires a valid Bearer token; sets `c.var.auth`. 401 without or with a bad token. A
 * valid token always passes; a failing one gets 429 once its address (or the same wrong
 * token from that address) is over the failure limits (./rate_limit.ts). Counted failures
 * are audited (never the token's value).
 */
export function bearerAuth(
  sql: Sql,
  options: { limiter?: AuthLimiter; onFailure?: () => void } = {},
): MiddlewareHandler<{ Variables: AuthVariables }> {
  // A live token is checked against the table at most every few seconds per node; any
  // change to it reaches every node's cache at once (./tokens.ts TokenCache).
  const tokens = tokenCache(sql);
  return async function bearerAuth(c, next) {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) {
      throw new AppError('unauthorized', 'missing Authorization: Bearer <token> header');
    }
    const info = await tokens.verify(match[1]);
    if (!info) {
      const ip = clientIp(c);
      options.onFailure?.();
      const wait = (await options.limiter?.failure(ip, match[1])) ?? 0;
      if (wait > 0) {
        throw new AppError(
          'too_many_failures',
          `too many failed authentications from this address; retry in ${wait} s`,
          {},
          { 'retry-after': String(wait) },
        );
      }
      log.warn('API authentication failed', { ip, method: c.req.method, path: c.req.path });
      await audit(sql, {
        action: 'auth.failure',
        ip,
        target: `${c.req.method} ${c.req.path}`,
        detail: { kind: 'api' },
      });
      throw new AppError('unauthorized', 'invalid, expired or revoked token');
    }
    c.set('auth', info);
    await next();
  };
}

/** Requires one of the roles (admin implies viewer); 403 otherwise. */
export function requireRole(...roles: Role[]): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async function requireRole(c, next) {
    const have = c.get('auth').role;
    if (!roles.some((need) => allows(have, need))) {
      throw new AppError(
        'forbidden',
        `this route needs the ${roles.join(' or ')} role; the token has ${have}`,
      );
    }
    await next();
  };
}

/** Page guard: a valid session cookie, else a redirect to the login page. */
export function sessionAuth(sql: Sql): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async function sessionAuth(c, next) {
    const session = await findSession(sql, getCookie(c, SESSION_COOKIE) ?? '');
    if (!session || session.role === 'agent') return redirectToLogin(c);
    c.set('auth', session);
    c.set('session', session);
    await next();
  };
}

function redirectToLogin(c: Context) {
  const back = encodeURIComponent(c.req.path + (new URL(c.req.url).search || ''));
  // htmx requests get a full-page redirect instead of a login form inside a fragment.
  if (c.req.header('hx-request')) {
    c.header('HX-Redirect', `/login?next=${back}`);
    return c.body(null, 401);
  }
  return c.redirect(`/login?next=${back}`, 303);
}
