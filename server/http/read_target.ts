/**
 * The HTTP side of read routing (server/db/reads.ts): the LSN a reader was last shown comes
 * from the `X-Vmledger-Min-Lsn` header or the `vmledger_lsn` cookie; every routed answer says
 * where it was read (`X-Vmledger-Read: replica|primary`) and how far (`X-Vmledger-Lsn`), and
 * pages keep that in the cookie, so the person's next page is never older than this one.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import type { Sql } from '../db/connect.ts';
import { parseLsn, type Reads } from '../db/reads.ts';
import { requestScope } from '../auth/scope.ts';

export const LSN_COOKIE = 'vmledger_lsn';

function remember(c: Context, lsn: string) {
  if (!lsn) return;
  c.header('x-vmledger-lsn', lsn);
  setCookie(c, LSN_COOKIE, lsn, { httpOnly: true, sameSite: 'Strict', path: '/' });
}

/**
 * The handle this request's list or detail read uses: the replica's pool, or `primary` (the
 * route's own handle). A request limited to some sources always reads through `primary`,
 * where its scope is enforced (auth/scope.ts): the replica's connections run as the tables'
 * owner, which row-level security does not limit.
 */
export async function readTarget(c: Context, reads: Reads, primary: Sql): Promise<Sql> {
  if (!reads.configured || requestScope()) return primary;
  const min = parseLsn(c.req.header('x-vmledger-min-lsn')) ??
    parseLsn(getCookie(c, LSN_COOKIE));
  const t = await reads.target(min);
  c.header('x-vmledger-read', t.from);
  remember(c, t.lsn);
  return t.from === 'replica' ? t.sql : primary;
}

/**
 * For pages read from the primary (the dashboard, sources…): with a replica configured, the
 * primary's position goes into the cookie, so a list opened next waits for the replica to
 * catch up with what this page showed (or reads the primary).
 */
export function rememberPrimaryLsn(primary: Sql, reads: Reads): MiddlewareHandler {
  return async function rememberPrimaryLsn(c, next) {
    await next();
    if (!reads.configured || c.req.method !== 'GET' || c.res.headers.has('x-vmledger-lsn')) return;
    if (!(c.res.headers.get('content-type') ?? '').startsWith('text/html')) return;
    if (c.res.status !== 200) return;
    const [r] = await primary`select pg_current_wal_lsn()::text as lsn`;
    c.res.headers.append(
      'set-cookie',
      `${LSN_COOKIE}=${r.lsn}; Path=/; HttpOnly; SameSite=Strict`,
    );
  };
}
