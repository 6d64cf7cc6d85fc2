/**
 * The Database page (admin): the same actions as `/api/v1/db/…` (server/dbinsight/). The
 * findings come after the first paint (`/database/findings`, loaded by HTMX); a statement's
 * plan on demand, a refused EXPLAIN shown on the page.
 */
import { Hono, type MiddlewareHandler } from 'hono';
import type { Sql } from '../db/connect.ts';
import { dbFindings, overview, statementDetail, statementList } from '../dbinsight/actions.ts';
import { StatementListQuery, StatementParams, StatementQuery } from '../dbinsight/routes.ts';
import { AppError } from '../errors.ts';
import { parseOr400, query as nonEmpty } from '../http/validate.ts';
import { databasePage, findingsPartial, statementPage } from '../../web/pages/database.ts';
import { notFound, type PageEnv, requireAdminPage, viewerOf } from './guard.ts';

export function databasePageRoutes(sql: Sql, auth: MiddlewareHandler<PageEnv>) {
  const app = new Hono<PageEnv>();
  const admin = requireAdminPage();

  app.get('/database', auth, admin, async (c) => {
    const q = parseOr400(StatementListQuery, nonEmpty(c.req.query()), 'invalid_query');
    const [o, list] = await Promise.all([overview(sql), statementList(sql, q)]);
    return c.html(databasePage(viewerOf(c), {
      status: o.status,
      order: list.order,
      cacheHit: o.cacheHit,
      statements: list.items,
      tables: o.tables,
      unusedIndexes: o.indexes.filter((i) => i.scans === 0 && !i.constraint && !i.unique)
        .sort((a, b) => b.bytes - a.bytes).slice(0, 30),
      snapshots: o.snapshots,
      window: list.window,
    }));
  });

  app.get(
    '/database/findings',
    auth,
    admin,
    async (c) => c.html(findingsPartial(await dbFindings(sql))),
  );

  app.get('/database/statements/:id', auth, admin, async (c) => {
    const params = parseOr400(StatementParams, c.req.param(), 'invalid_path');
    const q = parseOr400(StatementQuery, nonEmpty(c.req.query()), 'invalid_query');
    try {
      const d = await statementDetail(sql, params.id, q.explain);
      return c.html(statementPage(viewerOf(c), { ...d, refusal: null }));
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      if (err.code === 'invalid_request') {
        const d = await statementDetail(sql, params.id);
        return c.html(statementPage(viewerOf(c), { ...d, refusal: err.message }), 400);
      }
      return notFound(c, {
        title: 'No such statement',
        message: err.message,
        back: { href: '/database', label: 'Back to the Database page' },
      }, err.status);
    }
  });

  return app;
}
