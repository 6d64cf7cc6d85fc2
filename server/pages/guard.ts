/**
 * What every page route needs from the session: the viewer (name, role, CSRF token), a
 * CSRF check for form posts, and an admin-only guard that answers with a page, not JSON.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import type { AuthVariables } from '../auth/middleware.ts';
import { AppError } from '../errors.ts';
import { limitBody, PAGE_FORM_MAX_BYTES, pageTooLarge } from '../http/body_limit.ts';
import type { Viewer } from '../../web/layout.ts';
import { notFoundPage } from '../../web/pages/not_found.ts';

export type PageEnv = { Variables: AuthVariables };

/** The logged-in viewer of a page (sessionAuth has run). */
export function viewerOf(c: Context<PageEnv>): Viewer {
  const s = c.get('session')!;
  return { name: s.name, role: s.role, csrf: s.csrfToken };
}

/** The not-found page; a refused action (a 404 or another status) is shown with it too. */
export function notFound(
  c: Context<PageEnv>,
  o: Parameters<typeof notFoundPage>[1],
  status: AppError['status'] = 404,
) {
  return c.html(notFoundPage(viewerOf(c), o), status);
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Page form bodies: at most 16 KiB, checked before reading; over it a plain 413 page. */
export function limitPageBody(): MiddlewareHandler<PageEnv> {
  return limitBody<PageEnv>(PAGE_FORM_MAX_BYTES, pageTooLarge);
}

/**
 * Form posts from pages must carry the session's CSRF token, as the `csrf` form field or
 * an `X-CSRF-Token` header (htmx requests). SameSite=Strict cookies already stop most
 * cross-site posts; this covers same-site attackers and older browsers.
 */
export function requireCsrf(): MiddlewareHandler<PageEnv> {
  const limit = limitPageBody();
  return async function requireCsrf(c, next) {
    // Every form post passes here: its body is limited before anything reads it.
    const tooLarge = await limit(c, () => Promise.resolve());
    if (tooLarge) return tooLarge;
    const expected = c.get('session')?.csrfToken ?? '';
    let given = c.req.header('x-csrf-token') ?? '';
    if (!given && c.req.header('content-type')?.includes('form')) {
      const { csrf } = await c.req.parseBody();
      given = typeof csrf === 'string' ? csrf : '';
    }
    if (!expected || !given || !same(given, expected)) {
      throw new AppError('csrf', 'missing or wrong CSRF token');
    }
    await next();
  };
}

/** Admin-only pages and actions; a viewer gets 403. */
export function requireAdminPage(): MiddlewareHandler<PageEnv> {
  return async function requireAdminPage(c, next) {
    if (c.get('session')?.role !== 'admin') {
      throw new AppError('forbidden', 'this page needs the admin role');
    }
    await next();
  };
}

/** A positive integer path or query value, or null. */
export function positiveInt(v: string | undefined): number | null {
  if (!v || !/^\d{1,9}$/.test(v)) return null;
  const n = Number(v);
  return n > 0 ? n : null;
}

/**
 * A page's "as of" time: a datetime-local value (UTC, to the minute), a date, or an ISO time;
 * null when absent or not a time.
 */
/**
 * What a datetime-local field sends (a UTC time to the minute, written without its offset) as
 * a time with its offset; any other value as it is.
 */
export function fromLocalField(v: string): string {
  return /^\d{4}-\d\d-\d\dT\d\d:\d\d$/.test(v) ? `${v}:00Z` : v;
}

export function asOfParam(v: string | undefined): Date | null {
  if (!v || v.length > 40) return null;
  const text = fromLocalField(v);
  if (!/^\d{4}-\d\d-\d\d([T ][\d:.]+(Z|[+-]\d\d:?\d\d)?)?$/.test(text)) return null;
  const t = Date.parse(text);
  return Number.isNaN(t) ? null : new Date(t);
}
