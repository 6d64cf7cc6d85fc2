/** Reports: list, download and (admins) request one through the same action as the API. */
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import type { Sql } from '../db/connect.ts';
import type { AppError } from '../errors.ts';
import { actorOf, refusal } from '../http/actions.ts';
import { parseOr400 } from '../http/validate.ts';
import { getReport, listReports } from '../reports/report_store.ts';
import { ReportRequest, type ReportSettings, requestReport } from '../reports/request_report.ts';
import { reportFile } from '../reports/routes.ts';
import { requestRvtools, RvtoolsRequest } from '../rvtools/request_rvtools.ts';
import { capturedSources } from '../rvtools/scope.ts';
import { reportsPage, reportsTable } from '../../web/pages/reports.ts';
import { notFound, type PageEnv, requireAdminPage, requireCsrf, viewerOf } from './guard.ts';

export function reportRoutes(sql: Sql, auth: MiddlewareHandler<PageEnv>, settings: ReportSettings) {
  const app = new Hono<PageEnv>();

  const list = async (
    c: Context<PageEnv>,
    extra: { error?: string; requested?: string } = {},
    status: 200 | AppError['status'] = 200,
  ) => {
    const { items: reports } = await listReports(sql, { limit: 200 });
    if (c.req.query('part') === 'table' && c.req.header('hx-request')) {
      return c.html(reportsTable(reports));
    }
    const sources = viewerOf(c).role === 'admin' ? await capturedSources(sql) : [];
    return c.html(reportsPage(viewerOf(c), { reports, sources, ...extra }), status);
  };

  app.get('/reports', auth, (c) => list(c, { requested: c.req.query('requested') }));

  // Request: the same action as POST /api/v1/reports, then back to the list.
  app.post('/reports', auth, requireAdminPage(), requireCsrf(), async (c) => {
    const form = await c.req.parseBody();
    const text = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : undefined);
    try {
      const input = { kind: text(form.kind), period: text(form.period), format: text(form.format) };
      const r = await requestReport(
        sql,
        settings,
        parseOr400(ReportRequest, input, 'invalid_body'),
        actorOf(c),
      );
      return c.redirect(`/reports?requested=${encodeURIComponent(r.fileName)}`, 303);
    } catch (err) {
      const e = refusal(err);
      return list(c, { error: e.message }, e.status);
    }
  });

  // An RVTools workbook: the same action as POST /api/v1/rvtools. The form's datetime-local
  // value has no zone: it is read as UTC, as the form says.
  app.post('/reports/rvtools', auth, requireAdminPage(), requireCsrf(), async (c) => {
    const form = await c.req.parseBody();
    const text = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : undefined);
    try {
      const source = text(form.source);
      const asOf = text(form.asOf);
      const input = {
        source: source === undefined ? undefined : /^\d+$/.test(source) ? Number(source) : source,
        asOf: asOf && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(asOf)
          ? `${asOf}${asOf.length === 16 ? ':00' : ''}Z`
          : asOf,
        format: text(form.format),
      };
      const r = await requestRvtools(
        sql,
        settings,
        parseOr400(RvtoolsRequest, input, 'invalid_body'),
        actorOf(c),
      );
      return c.redirect(`/reports?requested=${encodeURIComponent(r.fileName)}`, 303);
    } catch (err) {
      const e = refusal(err);
      return list(c, { error: e.message }, e.status);
    }
  });

  app.get('/reports/:id/download', auth, async (c) => {
    const r = await getReport(sql, c.req.param('id'));
    if (r?.status === 'ready') return reportFile(sql, r);
    return notFound(c, {
      title: 'Report not available',
      message: 'That report does not exist, has expired or is not ready yet.',
      back: { href: '/reports', label: 'All reports' },
    });
  });

  return app;
}
