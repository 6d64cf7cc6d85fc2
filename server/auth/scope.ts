/**
 * Per-source visibility (docs/sign-in.md "Per-source visibility"; migration 0059). A viewer's
 * grant may be limited to some sources: by id (`source:12`), by key (`vcenter:vc-acme`) or by
 * tag (`tag:tenant=acme`). It holds by construction, not by a filter in each query:
 *
 * - `scopeRequests` (after the API's or the pages' authentication) resolves the principal's
 *   selectors to source ids once, takes one connection of the pool and sets it to the role
 *   `vmledger_scoped` with those ids in `vmledger.sources` for the rest of the request;
 * - `scopedSql(sql)`, the handle every route module is given, sends each query of a scoped
 *   request to that connection (found through AsyncLocalStorage), and every other query to
 *   the pool as before;
 * - row-level security on every source-keyed table (and the tables keyed through them) hides
 *   the rows of other sources from `vmledger_scoped`. Lists, details, totals, rollups,
 *   reports, costs, alerts, changes and exports read the same tables, so they all agree, and
 *   a VM of another source is not found (404) rather than forbidden.
 *
 * Unscoped requests (admins, unscoped viewers, agents) run as the pool's own role, which owns
 * the tables and so skips row-level security: no extra connection, no policy, no cost. In-memory
 * caches of answers must not be shared between scopes: they ask `requestScope()` and keep
 * nothing for a scoped request.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { MiddlewareHandler } from 'hono';
import type { Sql } from '../db/connect.ts';
import type { TokenInfo } from './tokens.ts';

/** The scope of the request being served: its transaction and the sources it may see. */
export type RequestScope = {
  /** The request's own connection, set to the scope (not a transaction: statements commit). */
  conn: Sql;
  sourceIds: number[];
  selectors: string[];
  done?: boolean;
};

const current = new AsyncLocalStorage<RequestScope>();

/** The scope of the request in progress, or undefined when it sees every source. */
export function requestScope(): RequestScope | undefined {
  return current.getStore();
}

/** A selector is `source:<id>`, `<kind>:<external id>` or `tag:<key>=<value>`. */
export const SELECTOR = /^(source:\d+|tag:[^=\s]+=.+|(vcenter|proxmox|demo):.+)$/;

/** The ids of the sources the selectors name (tags and keys read now: a new tagged source counts). */
export async function resolveScope(sql: Sql, selectors: string[]): Promise<number[]> {
  const [r] = await sql`select (${scopeIdsQuery(sql, selectors)}) as ids`;
  return r.ids ? String(r.ids).split(',').map(Number) : [];
}

/** The ids the selectors name, comma-separated in order ('' for none): a scalar sub-select. */
function scopeIdsQuery(sql: Sql, selectors: string[]) {
  return sql`select coalesce(string_agg(id::text, ',' order by id), '') from sources
    where 'source:' || id = any (${selectors}::text[])
       or kind || ':' || external_id = any (${selectors}::text[])
       or tags && array(select substr(s, 5) from unnest(${selectors}::text[]) s where s like 'tag:%')`;
}

const handles = new WeakMap<Sql, Sql>();
const pools = new WeakMap<Sql, Sql>();

/**
 * The pool behind a handle, for process-wide work started from a request that must not run
 * in its scope (the dashboard's capture poller: timers keep the context they were made in).
 */
export function poolOf(sql: Sql): Sql {
  return pools.get(sql) ?? sql;
}

/** The connection of the scope, refusing once it was given back (never falling back to the pool). */
function connOf(scope: RequestScope): Sql {
  if (scope.done) throw new Error('a query of a scoped request after its end');
  return scope.conn;
}

type Savepoints = { savepoint(...args: unknown[]): Promise<unknown> };
let savepointNo = 0;

/**
 * A transaction on the scope's own connection, as postgres.js's `begin` gives one: the pool's
 * `begin` would take another connection, outside the scope. Savepoints nest inside it.
 */
async function beginOn(conn: Sql, args: unknown[]): Promise<unknown> {
  const fn = args[args.length - 1] as (tx: Sql) => unknown;
  const options = args.length > 1 ? String(args[0]).replace(/[^a-z ]/gi, '') : '';
  const tx = new Proxy(conn, {
    get(target, prop) {
      if (prop !== 'savepoint') return Reflect.get(target, prop);
      return async (...a: unknown[]) => {
        const inner = a[a.length - 1] as (tx: Sql) => unknown;
        const name = `s${++savepointNo}`;
        await conn.unsafe(`savepoint ${name}`);
        try {
          const result = await settle(inner(tx));
          await conn.unsafe(`release savepoint ${name}`);
          return result;
        } catch (e) {
          await conn.unsafe(`rollback to savepoint ${name}`);
          throw e;
        }
      };
    },
  }) as Sql & Savepoints;
  await conn.unsafe(`begin ${options}`);
  try {
    const result = await settle(fn(tx));
    await conn.unsafe('commit');
    return result;
  } catch (e) {
    await conn.unsafe('rollback').catch(() => {});
    throw e;
  }
}

/** postgres.js lets a transaction's function return an array of queries: all awaited. */
function settle(value: unknown): Promise<unknown> {
  return Array.isArray(value) ? Promise.all(value) : Promise.resolve(value);
}

/**
 * The handle route modules get: a scoped request's queries go to its connection, the others
 * to the pool. `begin` in a scoped request is a transaction on that connection; `reserve`
 * (jobs, admin tools) is refused there. One handle per pool, so caches keyed by the handle
 * stay one cache.
 */
export function scopedSql(sql: Sql): Sql {
  const known = handles.get(sql);
  if (known) return known;
  const handle = new Proxy(sql, {
    apply(target, self, args) {
      const scope = current.getStore();
      return Reflect.apply(scope ? connOf(scope) : target, self, args);
    },
    get(target, prop) {
      const scope = current.getStore();
      if (!scope || prop === 'end' || prop === 'options') return Reflect.get(target, prop);
      const conn = connOf(scope);
      if (prop === 'begin') return (...args: unknown[]) => beginOn(conn, args);
      if (prop === 'reserve' || prop === 'release' || prop === 'listen') {
        return () => Promise.reject(new Error(`no ${String(prop)} in a scoped request`));
      }
      return Reflect.get(conn, prop);
    },
  });
  handles.set(sql, handle);
  pools.set(handle, sql);
  return handle;
}

/**
 * Runs the rest of a request of a scoped principal inside its scope (see the module comment);
 * anyone else passes straight on. The scope is one connection of the pool, set to the role
 * `vmledger_scoped` and the visible sources for the request and reset before it goes back:
 * its statements commit as they run (a report recorded here is seen at once by the worker
 * that builds it). The answer's body is read before (a CSV streamed from a cursor needs it).
 */
export function scopeRequests(
  sql: Sql,
): MiddlewareHandler<{ Variables: { auth: TokenInfo } }> {
  return async function scopeRequests(c, next) {
    const auth = c.get('auth');
    if (!auth.scope || auth.role !== 'viewer') return next();
    const selectors = auth.scope;
    const conn = (await sql.reserve()) as unknown as Sql & { release(): void };
    const scope: RequestScope = { conn, sourceIds: [], selectors };
    try {
      // One round trip: the selectors resolved (as the pool's role, the sub-select runs
      // first), the ids set, then the role (set_config('role') is SET ROLE).
      const [set] = await conn`
        select set_config('vmledger.sources', (${scopeIdsQuery(conn, selectors)}), false) as ids,
          set_config('role', 'vmledger_scoped', false) as role`;
      scope.sourceIds = set.ids ? String(set.ids).split(',').map(Number) : [];
      await current.run(scope, async () => {
        await next();
        // Server-sent events never end: they are sent as they come, reading nothing scoped.
        const events = c.res.headers.get('content-type')?.startsWith('text/event-stream');
        if (c.res.body && !events) {
          const body = await c.res.arrayBuffer();
          c.res = new Response(body, { status: c.res.status, headers: c.res.headers });
        }
      });
    } finally {
      scope.done = true;
      // Back to the pool's own role; a connection that cannot be reset is closed, not reused.
      try {
        await conn.unsafe(
          "rollback; reset role; select set_config('vmledger.sources', '', false)",
        );
        conn.release();
      } catch {
        await conn.unsafe('select pg_terminate_backend(pg_backend_pid())').catch(() => {});
        conn.release();
      }
    }
  };
}
