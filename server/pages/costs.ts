/**
 * The Costs page (showback) and its CSV: the same query and data as `GET /api/v1/costs`
 * (server/costs/showback.ts). Without a month it shows the last costed month.
 */
import { Hono, type MiddlewareHandler } from 'hono';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { csvResponse } from '../http/csv.ts';
import { parseOr400, query as nonEmpty } from '../http/validate.ts';
import { showbackCsvPages, ShowbackParams, showbackQuery } from '../costs/routes.ts';
import { costedMonths, lastCostedMonth, showback, SHOWBACK_CSV } from '../costs/showback.ts';
import { costsPage } from '../../web/pages/costs.ts';
import { notFound, type PageEnv, viewerOf } from './guard.ts';

export function costPageRoutes(sql: Sql, auth: MiddlewareHandler<PageEnv>) {
  const app = new Hono<PageEnv>();

  /** The validated query, the month defaulting to the last costed one (null: none yet). */
  async function params(raw: Record<string, string>) {
    const query = nonEmpty(raw);
    const month = query.month || (await lastCostedMonth(sql))?.slice(0, 7);
    if (!month) return null;
    return parseOr400(ShowbackParams, { ...query, month }, 'invalid_query');
  }

  app.get('/costs', auth, async (c) => {
    let p;
    try {
      p = await params(c.req.query());
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      return notFound(c, {
        title: 'Not a costs view',
        message: err.message,
        back: { href: '/costs', label: 'Back to the last costed month' },
      }, err.status);
    }
    const [months, view] = await Promise.all([
      costedMonths(sql),
      p ? showback(sql, showbackQuery(p)) : null,
    ]);
    return c.html(costsPage(viewerOf(c), { months, view, cursor: p?.cursor }));
  });

  // The groups shown, as CSV: the same rows as the API's `format=csv`.
  app.get('/costs.csv', auth, async (c) => {
    const p = await params(c.req.query());
    if (!p) throw new AppError('not_found', 'no month has been costed yet');
    const q = showbackQuery(p);
    return csvResponse(
      `vmledger-costs-${q.month.slice(0, 7)}-${q.groupBy}.csv`,
      SHOWBACK_CSV,
      showbackCsvPages(sql, q),
    );
  });

  return app;
}
